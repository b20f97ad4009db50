"""Population stability: has the scored population moved away from the one the model learnt from?

The population stability index (PSI) of a variable compares its distribution in a reference
sample (the training window) with a current one (the newest data):
``PSI = sum over bins of (current% - reference%) * ln(current% / reference%)``. Numbers are cut
into bins at the reference deciles, categories (and scorecard bins) are their own bins, missing
values form a bin. The usual reading: below 0.1 stable, 0.1 to 0.25 a moderate shift worth
watching, 0.25 or more a significant shift (refit the model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval, check_type
from ..errors import ParameterError

__all__ = ["PSI_THRESHOLDS", "psi", "psi_counts", "psi_status", "psi_table"]

#: (moderate, significant) PSI thresholds.
PSI_THRESHOLDS = (0.1, 0.25)
_EPS = 1e-4


def psi(reference, current, *, bins: int = 10) -> float:
    """Population stability index of one variable.

    Parameters
    ----------
    reference, current : array-like or pandas.Series
        Values of the variable. Numbers are binned at the reference quantiles; anything else is
        compared category by category.
    bins : int, default=10
        Quantile bins for numbers, in [2, 50].

    Returns
    -------
    float
        0 for identical distributions; larger is more different. Empty bins count as 0.01%.

    Examples
    --------
    >>> round(psi([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25), 6)
    0.0
    """
    check_interval(bins, 2, 50, name="bins", where="credit.psi", integer=True)
    ref = pd.Series(reference)
    cur = pd.Series(current)
    if len(ref) == 0 or len(cur) == 0:
        raise ParameterError("credit.psi: 'reference' and 'current' must not be empty; got "
                             f"{len(ref)} and {len(cur)} values.", name="reference")
    numeric = all(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
                  for s in (ref, cur))
    if numeric:
        r = ref.to_numpy(float)
        c = cur.to_numpy(float)
        edges = np.unique(np.nanquantile(r, np.linspace(0, 1, bins + 1)[1:-1])) if np.isfinite(r).any() \
            else np.array([])
        rk = np.where(np.isnan(r), -1, np.searchsorted(edges, r, side="right"))
        ck = np.where(np.isnan(c), -1, np.searchsorted(edges, c, side="right"))
    else:
        rk = ref.astype("str").where(ref.notna(), "<missing>").to_numpy()
        ck = cur.astype("str").where(cur.notna(), "<missing>").to_numpy()
    return psi_counts(pd.Series(rk).value_counts(), pd.Series(ck).value_counts())


def psi_counts(reference: pd.Series, current: pd.Series) -> float:
    """:func:`psi` from the counts per bin (or category) of the two samples.

    Parameters
    ----------
    reference, current : pandas.Series
        Rows per bin, indexed by the bin; a bin missing from one side counts 0 there.

    Returns
    -------
    float
    """
    keys = np.union1d(reference.index.to_numpy(), current.index.to_numpy())
    rp = (reference / reference.sum()).reindex(keys, fill_value=0).to_numpy(float)
    cp = (current / current.sum()).reindex(keys, fill_value=0).to_numpy(float)
    rp, cp = np.maximum(rp, _EPS), np.maximum(cp, _EPS)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def psi_status(value: float) -> str:
    """'stable' below 0.1, 'moderate' below 0.25, else 'significant' (:data:`PSI_THRESHOLDS`).

    Parameters
    ----------
    value : float
        A population stability index.

    Returns
    -------
    str
    """
    return "stable" if value < PSI_THRESHOLDS[0] else "moderate" if value < PSI_THRESHOLDS[1] else "significant"


def psi_table(reference: pd.DataFrame, current: pd.DataFrame, columns=None, *,
              bins: int = 10) -> pd.DataFrame:
    """PSI of several variables, flagged at the :data:`PSI_THRESHOLDS`; largest first.

    Parameters
    ----------
    reference, current : pandas.DataFrame
        The same columns in both.
    columns : list of str, optional
        Default: the columns the two frames share.
    bins : int, default=10

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``psi`` (float64), ``status`` ('stable' below 0.1, 'moderate' below 0.25,
        else 'significant').
    """
    where = "credit.psi_table"
    check_type(reference, pd.DataFrame, name="reference", where=where, type_name="a DataFrame")
    check_type(current, pd.DataFrame, name="current", where=where, type_name="a DataFrame")
    shared = [c for c in reference.columns if c in current.columns]
    columns = shared if columns is None else list(columns)
    missing = [c for c in columns if c not in shared]
    if missing:
        raise ParameterError(f"{where}: 'columns' must be in both frames; got {missing} missing; "
                             f"shared columns are {shared}.", name="columns")
    rows = [(c, psi(reference[c], current[c], bins=bins)) for c in columns]
    out = pd.DataFrame(rows, columns=["variable", "psi"])
    out["status"] = [psi_status(v) for v in out["psi"]]
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
