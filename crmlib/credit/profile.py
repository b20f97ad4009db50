"""Which rows of a table are events: event rates by attribute and WoE / IV tables, on any table
with a 0/1 label.

Each row is a *trial* and its label says whether it is an *event* (1) or not (0). Pass the label
as ``y=``: a column name or an array of 0/1 values, e.g. ``iv_table(loans, ["age", "purpose"],
y="bad")`` on a public credit file.

In the CRM (the default when ``y`` is not given) a row is a customer,
typically :func:`crmlib.credit.features.customer_features` as of the end of the data, and the label
comes from the ``defaults`` count: a *defaulter* has at least one default, a *repeat defaulter*
at least two (``target=``).

Rates come with Wilson score intervals (good for small groups and rates near 0). Information value
(IV) measures how well an attribute separates events from non-events after optimal binning
(optbinning's ``OptimalBinning``: adjacent bins, or for a category the categories, are merged
until each bin is large enough and the bins differ); the usual reading is < 0.02 useless,
0.02-0.1 weak, 0.1-0.3 medium, > 0.3 strong. The Gini and AUC of the binned attribute say the
same as a ranking (AUC = (1 + Gini) / 2; 0.5 = no better than chance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_type, examples
from ..definitions import wilson_interval  # public here too: crmlib.credit.wilson_interval
from ..errors import DataContractError, EmptyDataError, ParameterError
from ._common import bin_labels
from ._common import quiet as _quiet
from .features import ATTRIBUTES

__all__ = ["PROFILE_COLUMNS", "RATE_COLUMNS", "default_profile", "iv_table", "population",
           "rate_table", "wilson_interval", "woe_table"]

#: Columns of :func:`rate_table` and :func:`default_profile` on the CRM counts (no ``y``).
PROFILE_COLUMNS = ("attribute", "value", "customers", "defaulters", "default_rate", "default_low",
                   "default_high", "repeat_defaulters", "repeat_rate", "repeat_low", "repeat_high",
                   "repeat_lift")

#: Columns of :func:`rate_table` and :func:`default_profile` with a label ``y``.
RATE_COLUMNS = ("attribute", "value", "trials", "events", "event_rate", "event_low", "event_high",
                "event_lift")

#: The targets derived from the CRM ``defaults`` count when no ``y`` is given.
TARGETS = ("repeat_defaulter", "defaulter")


def _flags(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The CRM's defaulter and repeat-defaulter flags from the ``defaults`` count."""
    _check_frame(frame, where)
    if "defaults" not in frame.columns:
        raise DataContractError(
            f"{where}: no 'y' given, and the CRM default (a 'defaults' count per customer) is not in "
            f"the frame; pass y= a column name or an array of 0/1 labels (found columns "
            f"{list(frame.columns)}).", column="defaults")
    d = frame["defaults"].to_numpy(float)
    return d >= 1, d >= 2


def _check_frame(frame, where: str) -> None:
    check_type(frame, pd.DataFrame, name="frame", where=where, type_name="a DataFrame")
    if frame.empty:
        raise EmptyDataError(f"{where}: no rows to profile")


def _labels(frame: pd.DataFrame, y, where: str) -> np.ndarray:
    """``y`` (a column name or an array, one 0/1 value per row) as an int array."""
    _check_frame(frame, where)
    if isinstance(y, str):
        check_columns(frame, (y,), where=where)
        values, what = frame[y], f"column {y!r}"
    else:
        array = np.asarray(y)
        if array.ndim != 1 or len(array) != len(frame):
            raise ParameterError(f"{where}: 'y' must be a column name or an array with one 0/1 "
                                 f"label per row ({len(frame)}); got shape {array.shape}.", name="y")
        values, what = pd.Series(array), "'y'"
    missing = values.isna().to_numpy()
    if missing.any():
        raise ParameterError(f"{where}: {what} must hold a 0/1 label on every row; "
                             f"{int(missing.sum())} rows have none (e.g. rows "
                             f"{examples(frame.index[missing])}).", name="y")
    codes = values.to_numpy()
    bad = ~np.isin(codes, [0, 1])
    if bad.any():
        raise ParameterError(f"{where}: {what} must hold 0/1 or bool labels; got "
                             f"{examples(pd.unique(codes[bad]))}.", name="y")
    return codes.astype(int)


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


def rate_table(frame: pd.DataFrame, by: str, *, y=None, confidence: float = 0.95) -> pd.DataFrame:
    """Event rates by the values of one attribute, with Wilson intervals.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per trial with the column ``by``; without ``y``, one row per CRM customer with
        ``defaults`` (count).
    by : str
        The attribute.
    y : str or array-like of 0/1, optional
        The label of each row (1 = event): a column of ``frame`` or one value per row. Default:
        the CRM's defaulters and repeat defaulters from ``defaults``.
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        With ``y``, the :data:`RATE_COLUMNS`: ``attribute`` (= by), ``value`` (str), ``trials``
        (rows), ``events``, ``event_rate`` with ``event_low`` / ``event_high``, and ``event_lift``
        (rate / overall rate).
        Without ``y``, the :data:`PROFILE_COLUMNS`: ``attribute``, ``value``, ``customers``,
        ``defaulters``, ``default_rate`` with ``default_low`` / ``default_high``,
        ``repeat_defaulters``, ``repeat_rate`` with ``repeat_low`` / ``repeat_high``, and
        ``repeat_lift``.
        In the attribute's category order (else sorted), missing values as 'unknown'.

    Examples
    --------
    >>> loans = pd.DataFrame({"purpose": ["car", "car", "car", "home"], "bad": [1, 0, 0, 1]})
    >>> rate_table(loans, "purpose", y="bad")[["value", "trials", "events", "event_rate"]]
      value  trials  events  event_rate
    0   car       3       1    0.333333
    1  home       1       1    1.000000
    """
    where = "credit.rate_table"
    if y is None:
        any_, repeat = _flags(frame, where)
        flags = {"defaulters": any_, "repeat_defaulters": repeat}
    else:
        flags = {"events": _labels(frame, y, where)}
    check_columns(frame, (by,), where=where)
    values = frame[by]
    key = values.astype("str").where(values.notna(), "unknown")
    if isinstance(values.dtype, pd.CategoricalDtype):
        order = [str(c) for c in values.cat.categories] + ["unknown"]
    else:
        order = sorted(key.unique())
    g = pd.DataFrame({"value": key.to_numpy(), **flags}).groupby("value", sort=False)
    out = pd.concat([g.size().rename("trials"), g[list(flags)].sum()], axis=1)
    out = out.reindex([v for v in order if v in out.index])
    if y is None:
        prefixes = {"defaulters": "default", "repeat_defaulters": "repeat"}
        out = out.rename(columns={"trials": "customers"})
        trials, columns = "customers", PROFILE_COLUMNS
    else:
        prefixes = {"events": "event"}
        trials, columns = "trials", RATE_COLUMNS
    for events, prefix in prefixes.items():
        out[f"{prefix}_rate"] = out[events] / out[trials]
        out[f"{prefix}_low"], out[f"{prefix}_high"] = wilson_interval(
            out[events], out[trials], confidence=confidence)
    # lift of the rate the table is about: repeat defaults in the CRM, the label otherwise
    events, prefix = list(prefixes.items())[-1]
    overall = flags[events].mean()
    out[f"{prefix}_lift"] = out[f"{prefix}_rate"] / overall if overall > 0 else np.nan
    out = out.reset_index().assign(attribute=by)
    for c in (trials, *flags):
        out[c] = out[c].astype(int)
    return out[list(columns)]


def default_profile(frame: pd.DataFrame, attributes=None, *, y=None,
                    confidence: float = 0.95) -> pd.DataFrame:
    """:func:`rate_table` for several attributes, stacked.

    Parameters
    ----------
    frame : pandas.DataFrame
    attributes : list of str, optional
        Default (CRM only): :data:`crmlib.credit.features.ATTRIBUTES` present in ``frame``.
    y : str or array-like of 0/1, optional
        As for :func:`rate_table`.
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`rate_table`, attribute by attribute.
    """
    attributes = _attributes(frame, attributes, "credit.default_profile")
    return pd.concat([rate_table(frame, a, y=y, confidence=confidence) for a in attributes],
                     ignore_index=True)


def iv_table(frame: pd.DataFrame, attributes=None, *, y=None, target: str | None = None,
             max_n_bins: int = 6, min_bin_size: float = 0.05) -> pd.DataFrame:
    """Information value, Gini and AUC of each attribute for a 0/1 label, after optimal binning;
    highest IV first.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per trial with the attributes (and the label column if ``y`` names one).
    attributes : list of str, optional
        The columns to rate. Numeric columns are binned as numbers, others as categories.
        Default (CRM only): :data:`crmlib.credit.features.ATTRIBUTES` present in ``frame``.
    y : str or array-like of 0/1, optional
        The label of each row (1 = event): a column of ``frame`` or one value per row.
        Default: the CRM ``target`` derived from the ``defaults`` count.
    target : {'repeat_defaulter', 'defaulter'}, optional
        CRM only, when ``y`` is not given: customers with 2+ (default) or 1+ ``defaults``.
    max_n_bins : int, default=6
        In [2, 20].
    min_bin_size : float, default=0.05
        In (0, 0.5].

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = highest IV), ``attribute``, ``iv``, ``strength`` ('useless', 'weak',
        'medium', 'strong'), ``gini`` and ``auc`` (of the binned attribute as a ranking of the
        events, AUC = (1 + Gini) / 2), ``n_bins``. An attribute that separates events from
        non-events perfectly (a threshold, or categories each of one label) has ``iv`` inf,
        ``gini`` and ``auc`` 1 and 2 bins: its bins are pure, and optbinning cannot bin it.

    Raises
    ------
    ParameterError
        Bad ``y``, ``target`` or binning parameters, or no row (or every row) is an event.
    DataContractError
        A named column is missing, or neither ``y`` nor the CRM's ``defaults`` is there.

    Examples
    --------
    Category 'a' has 10 events in 20 rows, 'b' 2 in 20: AUC = (10 * 18 + (10 * 10 + 2 * 18) / 2)
    / (12 * 28) = 0.738.

    >>> frame = pd.DataFrame({"x": ["a"] * 20 + ["b"] * 20,
    ...                       "label": [1] * 10 + [0] * 10 + [1] * 2 + [0] * 18})
    >>> iv_table(frame, ["x"], y="label")[["attribute", "iv", "gini", "auc"]].round(3)
      attribute     iv   gini    auc
    0         x  1.046  0.476  0.738
    """
    where = "credit.iv_table"
    attributes = _attributes(frame, attributes, where)
    y = _target(frame, y, target, where)
    check_interval(max_n_bins, 2, 20, name="max_n_bins", where=where, integer=True)
    check_interval(min_bin_size, 0, 0.5, name="min_bin_size", where=where, closed="right")
    rows = []
    for a in attributes:
        if _separates(frame[a], y):  # optbinning refuses pure bins (infinite WoE)
            rows.append((a, np.inf, 1.0, 1.0, 2))
            continue
        binning = _fit_binning(frame[a], y, name=a, max_n_bins=max_n_bins, min_bin_size=min_bin_size)
        table = binning.binning_table
        with _quiet():
            built = table.build().iloc[:-1]
            table.analysis(print_output=False)
        n_bins = int(((built["Count"] > 0) & ~built["Bin"].astype(str).isin(["Special", "Missing"])).sum())
        gini = float(table.gini)
        rows.append((a, float(table.iv), gini, (1 + gini) / 2, n_bins))
    out = pd.DataFrame(rows, columns=["attribute", "iv", "gini", "auc", "n_bins"])
    out = out.sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    iv = out["iv"].to_numpy(float)
    out.insert(3, "strength", np.select([iv < 0.02, iv < 0.1, iv < 0.3],
                                        ["useless", "weak", "medium"], "strong"))
    return out


def woe_table(frame: pd.DataFrame, attribute: str, *, y=None, target: str | None = None,
              max_n_bins: int = 6, min_bin_size: float = 0.05) -> pd.DataFrame:
    """Weight-of-evidence table of one attribute for a 0/1 label, after optimal binning.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per trial with ``attribute``.
    attribute : str
    y : str or array-like of 0/1, optional
    target : {'repeat_defaulter', 'defaulter'}, optional
    max_n_bins : int, default=6
    min_bin_size : float, default=0.05
        As for :func:`iv_table`.

    Returns
    -------
    pandas.DataFrame
        One row per bin (empty 'Special' / 'Missing' bins left out): ``attribute``, ``bin``
        (str: '[0.5, 2.0)', 'missing', 'a, b' for a group of categories), ``customers`` (rows
        in the bin: customers in the CRM, trials in general), ``share``, ``events`` (rows
        labelled 1), ``event_rate``, ``woe`` (log of non-event share over event share:
        negative = more events than average), ``iv`` (contribution of the bin).
    """
    where = "credit.woe_table"
    _attributes(frame, [attribute], where)
    y = _target(frame, y, target, where)
    binning = _fit_binning(frame[attribute], y, name=attribute, max_n_bins=max_n_bins,
                           min_bin_size=min_bin_size)
    with _quiet():
        t = binning.binning_table.build().iloc[:-1]  # without the totals row
    t = t.assign(label=bin_labels(binning))
    t = t[(t["Count"] > 0) | ~t["Bin"].astype(str).isin(["Special", "Missing"])]
    bins = t["label"].tolist()
    return pd.DataFrame({
        "attribute": attribute, "bin": bins, "customers": t["Count"].to_numpy(int),
        "share": t["Count (%)"].to_numpy(float), "events": t["Event"].to_numpy(int),
        "event_rate": t["Event rate"].to_numpy(float), "woe": t["WoE"].to_numpy(float),
        "iv": t["IV"].to_numpy(float),
    })


def _target(frame: pd.DataFrame, y, target, where: str) -> np.ndarray:
    """The 0/1 label: ``y`` if given, else the CRM ``target`` from the ``defaults`` count."""
    if y is not None:
        if target is not None:
            raise ParameterError(f"{where}: pass either 'y' (any label) or 'target' (a CRM "
                                 f"target from 'defaults'), not both; got target={target!r}.",
                                 name="target")
        labels, what = _labels(frame, y, where), "events (label 1)"
    else:
        target = "repeat_defaulter" if target is None else target
        if target not in TARGETS:
            raise ParameterError(f"{where}: 'target' must be one of {list(TARGETS)}; got {target!r}.",
                                 name="target")
        _check_frame(frame, where)
        any_, repeat = _flags(frame, where)
        labels = (repeat if target == "repeat_defaulter" else any_).astype(int)
        what = f"{target}s"
    if labels.sum() == 0 or labels.sum() == len(labels):
        hint = ("" if y is not None else
                "; use more history or a smaller default_days, or pass y= a label column")
        rows = "rows" if y is not None else "customers"
        raise ParameterError(
            f"{where}: need both {what} and other {rows}; got {int(labels.sum())} of {len(labels)} "
            f"{rows}{hint}.", name="y" if y is not None else "target")
    return labels


def _attributes(frame, attributes, where: str) -> list[str]:
    check_type(frame, pd.DataFrame, name="frame", where=where, type_name="a DataFrame")
    if attributes is None:
        attributes = [a for a in ATTRIBUTES if a in frame.columns]
    else:
        check_type(attributes, (list, tuple), name="attributes", where=where, type_name="a list of str")
        attributes = list(attributes)
        check_columns(frame, attributes, where=where)
    if not attributes:
        raise ParameterError(f"{where}: 'attributes' must name at least one column; the default "
                             f"(the CRM attributes {list(ATTRIBUTES)}) found none in "
                             f"{list(frame.columns)}; pass attributes=[...].", name="attributes")
    return attributes


def _fit_binning(x: pd.Series, y: np.ndarray, *, name: str, max_n_bins: int, min_bin_size: float):
    from optbinning import OptimalBinning

    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    values = x.to_numpy(float) if numeric else x.astype("str").where(x.notna(), "unknown").to_numpy()
    binning = OptimalBinning(name=name, dtype="numerical" if numeric else "categorical",
                             max_n_bins=max_n_bins, min_bin_size=min_bin_size)
    with _quiet():
        binning.fit(values, y)
    return binning


def _separates(x: pd.Series, y: np.ndarray) -> bool:
    """Whether one threshold (numbers) or the categories split the labels into pure groups."""
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if numeric:
        v = x.to_numpy(float)
        seen = ~np.isnan(v)
        if (~seen).any() and np.unique(y[~seen]).size > 1:
            return False
        v, labels = v[seen], y[seen]
        if np.unique(labels).size < 2:
            return False
        lo0, hi0 = v[labels == 0].min(), v[labels == 0].max()
        lo1, hi1 = v[labels == 1].min(), v[labels == 1].max()
        return bool(hi0 < lo1 or hi1 < lo0)
    key = x.astype("str").where(x.notna(), "unknown").to_numpy()
    return bool((pd.Series(y).groupby(key).nunique() == 1).all())
