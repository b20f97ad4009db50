"""Which types of customers repeatedly default: rates by attribute and WoE / IV tables.

Input is one row per customer with attributes and default counts, typically
:func:`crmlib.credit.features.customer_features` as of the end of the data. A *defaulter* has at
least one default, a *repeat defaulter* at least two.

Rates come with Wilson score intervals (good for small groups and rates near 0). Information value
(IV) measures how well an attribute separates repeat defaulters from the rest after optimal binning
(optbinning's ``OptimalBinning``: adjacent bins, or for a category the categories, are merged
until each bin is large enough and the bins differ); the usual reading is < 0.02 useless,
0.02-0.1 weak, 0.1-0.3 medium, > 0.3 strong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_type
from ..definitions import wilson_interval  # public here too: crmlib.credit.wilson_interval
from ..errors import EmptyDataError, ParameterError
from ._common import quiet as _quiet
from .features import ATTRIBUTES

__all__ = ["PROFILE_COLUMNS", "default_profile", "iv_table", "population", "rate_table",
           "wilson_interval", "woe_table"]

#: Columns of :func:`default_profile`.
PROFILE_COLUMNS = ("attribute", "value", "customers", "defaulters", "default_rate", "default_low",
                   "default_high", "repeat_defaulters", "repeat_rate", "repeat_low", "repeat_high",
                   "repeat_lift")


def _flags(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    check_type(frame, pd.DataFrame, name="frame", where=where, type_name="a DataFrame")
    check_columns(frame, ("defaults",), where=where)
    if frame.empty:
        raise EmptyDataError(f"{where}: no customers to profile")
    d = frame["defaults"].to_numpy(float)
    return d >= 1, d >= 2


def population(features: pd.DataFrame, *, min_matured: int = 2) -> pd.DataFrame:
    """The customers to profile: those with at least ``min_matured`` invoices old enough to show a
    default, so that each of them could have become a repeat defaulter.

    Parameters
    ----------
    features : pandas.DataFrame
        :func:`~crmlib.credit.features.customer_features` (``matured_invoices`` is needed).
    min_matured : int, default=2
        In [1, 100].

    Returns
    -------
    pandas.DataFrame
        The qualifying rows of ``features``, index reset.
    """
    where = "credit.population"
    check_columns(features, ("matured_invoices", "defaults"), where=where)
    check_interval(min_matured, 1, 100, name="min_matured", where=where, integer=True)
    return features[features["matured_invoices"] >= min_matured].reset_index(drop=True)


def rate_table(frame: pd.DataFrame, by: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """Default and repeat-default rates of the customers, by the values of one attribute.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer with ``defaults`` (count) and the column ``by``.
    by : str
        The attribute.
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        The :data:`PROFILE_COLUMNS`: ``attribute`` (= by), ``value`` (str), ``customers``,
        ``defaulters``, ``default_rate`` with ``default_low`` / ``default_high``,
        ``repeat_defaulters``, ``repeat_rate`` with ``repeat_low`` / ``repeat_high``, and
        ``repeat_lift`` (repeat rate / overall repeat rate). In the attribute's category order,
        missing values as 'unknown'.
    """
    where = "credit.rate_table"
    any_, repeat = _flags(frame, where)
    check_columns(frame, (by,), where=where)
    values = frame[by]
    key = values.astype("str").where(values.notna(), "unknown")
    if isinstance(values.dtype, pd.CategoricalDtype):
        order = [str(c) for c in values.cat.categories] + ["unknown"]
    else:
        order = sorted(key.unique())
    g = pd.DataFrame({"value": key.to_numpy(), "d": any_, "r": repeat}).groupby("value", sort=False)
    out = pd.DataFrame({"customers": g.size(), "defaulters": g["d"].sum(),
                        "repeat_defaulters": g["r"].sum()})
    out = out.reindex([v for v in order if v in out.index])
    out["default_rate"] = out["defaulters"] / out["customers"]
    out["default_low"], out["default_high"] = wilson_interval(out["defaulters"], out["customers"],
                                                              confidence=confidence)
    out["repeat_rate"] = out["repeat_defaulters"] / out["customers"]
    out["repeat_low"], out["repeat_high"] = wilson_interval(out["repeat_defaulters"], out["customers"],
                                                            confidence=confidence)
    overall = repeat.mean()
    out["repeat_lift"] = out["repeat_rate"] / overall if overall > 0 else np.nan
    out = out.reset_index().assign(attribute=by)
    for c in ("customers", "defaulters", "repeat_defaulters"):
        out[c] = out[c].astype(int)
    return out[list(PROFILE_COLUMNS)]


def default_profile(frame: pd.DataFrame, attributes=None, *, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`rate_table` for several attributes, stacked.

    Parameters
    ----------
    frame : pandas.DataFrame
    attributes : list of str, optional
        Default: :data:`crmlib.credit.features.ATTRIBUTES` present in ``frame``.
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        The :data:`PROFILE_COLUMNS`, attribute by attribute.
    """
    attributes = _attributes(frame, attributes, "credit.default_profile")
    return pd.concat([rate_table(frame, a, confidence=confidence) for a in attributes],
                     ignore_index=True)


def iv_table(frame: pd.DataFrame, attributes=None, *, target: str = "repeat_defaulter",
             max_n_bins: int = 6, min_bin_size: float = 0.05) -> pd.DataFrame:
    """Information value of each attribute for ``target``, after optimal binning; highest first.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer with ``defaults`` and the attributes.
    attributes : list of str, optional
        Default: :data:`crmlib.credit.features.ATTRIBUTES` present in ``frame``. Numeric columns
        are binned as numbers, others as categories.
    target : {'repeat_defaulter', 'defaulter'}, default='repeat_defaulter'
    max_n_bins : int, default=6
        In [2, 20].
    min_bin_size : float, default=0.05
        In (0, 0.5].

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = highest IV), ``attribute``, ``iv``, ``strength`` ('useless', 'weak',
        'medium', 'strong'), ``gini`` (of the binned attribute), ``n_bins``.

    Raises
    ------
    ParameterError
        Bad ``target`` or binning parameters, or no customer (or every customer) is a ``target``.
    """
    where = "credit.iv_table"
    attributes = _attributes(frame, attributes, where)
    y = _target(frame, target, where)
    check_interval(max_n_bins, 2, 20, name="max_n_bins", where=where, integer=True)
    check_interval(min_bin_size, 0, 0.5, name="min_bin_size", where=where, closed="right")
    rows = []
    for a in attributes:
        binning = _fit_binning(frame[a], y, name=a, max_n_bins=max_n_bins, min_bin_size=min_bin_size)
        table = binning.binning_table
        with _quiet():
            built = table.build().iloc[:-1]
            table.analysis(print_output=False)
        n_bins = int(((built["Count"] > 0) & ~built["Bin"].astype(str).isin(["Special", "Missing"])).sum())
        rows.append((a, float(table.iv), float(table.gini), n_bins))
    out = pd.DataFrame(rows, columns=["attribute", "iv", "gini", "n_bins"])
    out = out.sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.insert(3, "strength", pd.cut(out["iv"], [-np.inf, 0.02, 0.1, 0.3, np.inf],
                                     labels=["useless", "weak", "medium", "strong"], right=False)
               .astype(str))
    return out


def woe_table(frame: pd.DataFrame, attribute: str, *, target: str = "repeat_defaulter",
              max_n_bins: int = 6, min_bin_size: float = 0.05) -> pd.DataFrame:
    """Weight-of-evidence table of one attribute for ``target``, after optimal binning.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer with ``defaults`` and ``attribute``.
    attribute : str
    target : {'repeat_defaulter', 'defaulter'}, default='repeat_defaulter'
    max_n_bins : int, default=6
    min_bin_size : float, default=0.05
        As for :func:`iv_table`.

    Returns
    -------
    pandas.DataFrame
        One row per bin (empty 'Special' / 'Missing' bins left out): ``attribute``, ``bin``
        (str), ``customers``, ``share``, ``events`` (customers who are ``target``),
        ``event_rate``, ``woe`` (log of non-event share over event share: negative = riskier),
        ``iv`` (contribution of the bin).
    """
    where = "credit.woe_table"
    _attributes(frame, [attribute], where)
    y = _target(frame, target, where)
    binning = _fit_binning(frame[attribute], y, name=attribute, max_n_bins=max_n_bins,
                           min_bin_size=min_bin_size)
    with _quiet():
        t = binning.binning_table.build().iloc[:-1]  # without the totals row
    t = t[(t["Count"] > 0) | ~t["Bin"].astype(str).isin(["Special", "Missing"])]
    bins = [_bin_text(b) for b in t["Bin"]]
    return pd.DataFrame({
        "attribute": attribute, "bin": bins, "customers": t["Count"].to_numpy(int),
        "share": t["Count (%)"].to_numpy(float), "events": t["Event"].to_numpy(int),
        "event_rate": t["Event rate"].to_numpy(float), "woe": t["WoE"].to_numpy(float),
        "iv": t["IV"].to_numpy(float),
    })


_TARGETS = ("repeat_defaulter", "defaulter")


def _target(frame: pd.DataFrame, target: str, where: str) -> np.ndarray:
    if target not in _TARGETS:
        raise ParameterError(f"{where}: 'target' must be one of {list(_TARGETS)}; got {target!r}.",
                             name="target")
    any_, repeat = _flags(frame, where)
    y = (repeat if target == "repeat_defaulter" else any_).astype(int)
    if y.sum() == 0 or y.sum() == len(y):
        raise ParameterError(
            f"{where}: need both {target}s and other customers; got {int(y.sum())} of {len(y)} "
            f"customers; use more history or a smaller default_days.", name="target")
    return y


def _attributes(frame, attributes, where: str) -> list[str]:
    check_type(frame, pd.DataFrame, name="frame", where=where, type_name="a DataFrame")
    if attributes is None:
        attributes = [a for a in ATTRIBUTES if a in frame.columns]
    else:
        check_type(attributes, (list, tuple), name="attributes", where=where, type_name="a list of str")
        attributes = list(attributes)
        check_columns(frame, attributes, where=where)
    if not attributes:
        raise ParameterError(f"{where}: 'attributes' must name at least one column; found none of "
                             f"{list(ATTRIBUTES)} in {list(frame.columns)}.", name="attributes")
    return attributes


def _bin_text(b) -> str:
    """'[18-24, 25-29]' for a group of categories, '[20.5, 30.1)' for an interval."""
    if isinstance(b, str):
        return b
    return ", ".join(str(x) for x in list(b))


def _fit_binning(x: pd.Series, y: np.ndarray, *, name: str, max_n_bins: int, min_bin_size: float):
    from optbinning import OptimalBinning

    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    values = x.to_numpy(float) if numeric else x.astype("str").where(x.notna(), "unknown").to_numpy()
    binning = OptimalBinning(name=name, dtype="numerical" if numeric else "categorical",
                             max_n_bins=max_n_bins, min_bin_size=min_bin_size)
    with _quiet():
        binning.fit(values, y)
    return binning
