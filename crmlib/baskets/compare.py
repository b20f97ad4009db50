"""The same rules measured within groups of baskets: per weekday, channel, region or segment.

This is where "diapers and beer on Fridays" becomes visible: a rule's lift among Friday baskets
against its lift on the other days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..definitions import items_text
from ..errors import ParameterError
from .counting import confidence_lift
from .encode import WEEKDAYS, Baskets

__all__ = ["COMPARE_COLUMNS", "CONTRAST_COLUMNS", "lift_by", "lift_contrast"]

#: Columns of :func:`lift_by` (the group column is named after ``by``).
COMPARE_COLUMNS = ("rule", "antecedents", "consequents", "n_baskets", "count", "support",
                   "confidence", "lift")
#: Columns of :func:`lift_contrast`.
CONTRAST_COLUMNS = ("rule", "antecedents", "consequents", "lift", "lift_in", "lift_out",
                    "lift_ratio", "confidence_in", "confidence_out", "count_in", "count_out",
                    "n_in", "n_out")


def lift_by(baskets: Baskets, rules: pd.DataFrame, by: str = "weekday", *,
            top_n: int | None = 10) -> pd.DataFrame:
    """Support, confidence and lift of each rule within every group of baskets.

    Parameters
    ----------
    baskets : Baskets
        The baskets the rules were mined from (or any baskets with the same item labels).
    rules : pandas.DataFrame
        ``antecedents`` and ``consequents`` (frozensets of item labels).
    by : str, default='weekday'
        A column of ``baskets.baskets``: ``weekday``, ``channel``, ``channel_id``, ``region``,
        ``segment`` or any other present.
    top_n : int or None, default=10
        Use the first ``top_n`` rules (all when None).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per rule and group: ``rule`` (str "a, b -> c"), ``antecedents``,
        ``consequents``, the group column ``by``, ``n_baskets`` (int64), ``count`` (int64,
        baskets with all items of the rule), ``support``, ``confidence`` and ``lift`` (float64,
        NaN where the group has no basket with the antecedent or the consequent). Groups keep
        their natural order (Mon..Sun for weekdays).

    Raises
    ------
    ParameterError
        ``by`` is not a column of ``baskets.baskets``, or a rule names an unknown item.

    Examples
    --------
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["beer"], ["beer", "diapers"]])
    >>> b.baskets["day"] = ["Fri", "Mon", "Fri"]
    >>> rules = pd.DataFrame({"antecedents": [frozenset({"diapers"})],
    ...                       "consequents": [frozenset({"beer"})]})
    >>> lift_by(b, rules, "day")[["day", "n_baskets", "confidence"]]
       day  n_baskets  confidence
    0  Fri          2         1.0
    1  Mon          1         NaN
    """
    where = "baskets.lift_by"
    groups, labels = _groups(baskets, by, where)
    rules = _head(rules, top_n, where)
    n_groups = len(labels)
    n_per = np.bincount(groups[groups >= 0], minlength=n_groups)
    rows = []
    for ante, cons, has_a, has_c in _rule_hits(baskets, rules, where):
        both = has_a & has_c
        ca = _count(groups, has_a, n_groups)
        cc = _count(groups, has_c, n_groups)
        cac = _count(groups, both, n_groups)
        conf, lift = confidence_lift(cac, ca, cc, n_per)
        for g in range(n_groups):
            rows.append((_rule_text(ante, cons), ante, cons, labels[g], n_per[g], cac[g],
                         cac[g] / n_per[g] if n_per[g] else np.nan, conf[g], lift[g]))
    cols = ["rule", "antecedents", "consequents", by, "n_baskets", "count", "support",
            "confidence", "lift"]
    out = pd.DataFrame(rows, columns=cols)
    out[by] = pd.Categorical(out[by], categories=list(labels),
                             ordered=isinstance(labels, pd.CategoricalIndex) or by == "weekday")
    return out.astype({"n_baskets": "int64", "count": "int64", "support": float,
                       "confidence": float, "lift": float})


def lift_contrast(baskets: Baskets, rules: pd.DataFrame, by: str = "weekday", value="Fri", *,
                  top_n: int | None = 10) -> pd.DataFrame:
    """Each rule's lift inside one group (``by == value``) against all other baskets.

    Parameters
    ----------
    baskets : Baskets
    rules : pandas.DataFrame
        ``antecedents`` and ``consequents``; a ``lift`` column, if present, is carried over.
    by : str, default='weekday'
        A column of ``baskets.baskets``.
    value : scalar or list, default='Fri'
        The group (or groups) forming the inside.
    top_n : int or None, default=10
        Use the first ``top_n`` rules (all when None).

    Returns
    -------
    pandas.DataFrame
        :data:`CONTRAST_COLUMNS`: ``lift`` (overall, from ``rules`` or recomputed), ``lift_in``,
        ``lift_out``, ``lift_ratio`` (in / out), ``confidence_in`` / ``_out``, ``count_in`` /
        ``_out`` (baskets with all items of the rule), ``n_in`` / ``n_out`` (baskets), sorted by
        ``lift_ratio`` descending.

    Raises
    ------
    ParameterError
        ``by`` is not a column, or ``value`` matches no basket.

    Examples
    --------
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["beer"], ["diapers"], ["beer"]])
    >>> b.baskets["day"] = ["Fri", "Mon", "Mon", "Fri"]
    >>> rules = pd.DataFrame({"antecedents": [frozenset({"diapers"})],
    ...                       "consequents": [frozenset({"beer"})]})
    >>> lift_contrast(b, rules, "day", "Fri")[["lift_in", "lift_out"]]
       lift_in  lift_out
    0      1.0       0.0
    """
    where = "baskets.lift_contrast"
    groups, labels = _groups(baskets, by, where)
    wanted = value if isinstance(value, (list, tuple, set)) else [value]
    if by == "weekday":
        wanted = [WEEKDAYS[v] if isinstance(v, (int, np.integer)) else str(v)[:3].title()
                  for v in wanted]
    inside_codes = [i for i, lab in enumerate(labels) if lab in wanted]
    if not inside_codes:
        raise ParameterError(f"{where}: 'value' must be one of {list(labels)}; got {value!r}.",
                             name="value")
    inside = np.isin(groups, inside_codes)
    side = np.where(groups < 0, -1, np.where(inside, 0, 1))
    rules = _head(rules, top_n, where)
    n_side = np.bincount(side[side >= 0], minlength=2)
    n = baskets.n_baskets
    rows = []
    for i, (ante, cons, has_a, has_c) in enumerate(_rule_hits(baskets, rules, where)):
        both = has_a & has_c
        ca, cc, cac = (_count(side, x, 2) for x in (has_a, has_c, both))
        conf, lift = confidence_lift(cac, ca, cc, n_side)
        overall = (rules["lift"].iloc[i] if "lift" in rules
                   else confidence_lift(np.array([both.sum()]), np.array([has_a.sum()]),
                                   np.array([has_c.sum()]), np.array([n]))[1][0])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = lift[0] / lift[1]
        rows.append((_rule_text(ante, cons), ante, cons, overall, lift[0], lift[1], ratio,
                     conf[0], conf[1], cac[0], cac[1], n_side[0], n_side[1]))
    out = pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))
    out = out.astype({c: "int64" for c in ("count_in", "count_out", "n_in", "n_out")})
    out = out.sort_values("lift_ratio", ascending=False, kind="stable", na_position="last")
    out.attrs.update(by=by, value=value)
    return out.reset_index(drop=True)


# -- helpers -------------------------------------------------------------------------------------

def _groups(baskets: Baskets, by: str, where: str):
    if not isinstance(baskets, Baskets):
        raise ParameterError(f"{where}: 'baskets' must be Baskets; got {type(baskets).__name__}.",
                             name="baskets")
    if by not in baskets.baskets.columns or by == "order_id":
        present = [c for c in baskets.baskets.columns if c != "order_id"]
        raise ParameterError(f"{where}: 'by' must be one of {present}; got {by!r}.", name="by")
    col = baskets.baskets[by]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy().astype(np.int64), col.cat.categories
    codes, labels = pd.factorize(col, sort=True)
    return codes.astype(np.int64), pd.Index(labels)


def _head(rules, top_n, where):
    check_columns(rules, ("antecedents", "consequents"), where=where)
    if top_n is not None:
        check_interval(top_n, 1, None, name="top_n", where=where, integer=True, closed="left")
        rules = rules.head(top_n)
    return rules


def _rule_hits(baskets: Baskets, rules: pd.DataFrame, where: str):
    """Per rule: antecedent, consequent, and boolean vectors 'basket holds all of A' / 'of C'."""
    X = baskets.matrix.tocsc()
    pos = {label: i for i, label in enumerate(baskets.items)}

    def holds(itemset):
        missing = [x for x in itemset if x not in pos]
        if missing:
            raise ParameterError(f"{where}: rule item(s) {missing} are not items of these "
                                 "baskets.", name="rules")
        cols = [pos[x] for x in itemset]
        return np.asarray(X[:, cols].sum(axis=1)).ravel() == len(cols)

    pairs = zip(rules["antecedents"], rules["consequents"], strict=True)
    for ante, cons in pairs:
        yield ante, cons, holds(ante), holds(cons)


def _count(groups, mask, n_groups):
    g = groups[mask]
    return np.bincount(g[g >= 0], minlength=n_groups)


def _rule_text(ante, cons):
    return f"{items_text(ante)} -> {items_text(cons)}"
