"""Fewer, non-redundant patterns: redundant rules (arules' ``is.redundant``), closed and maximal
itemsets."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_one_of
from .counting import kind_masks
from .mine import ITEMSET_KINDS, ItemsetTable
from .rules import MEASURES

__all__ = [
    "ITEMSET_KINDS",
    "closed_itemsets",
    "is_redundant",
    "maximal_itemsets",
    "prune_redundant",
    "select_itemsets",
]

def is_redundant(rules: pd.DataFrame, *, measure: str = "confidence") -> pd.Series:
    """Flag rules that a more general rule in ``rules`` makes redundant (arules' ``is.redundant``).

    A rule ``X -> Y`` is redundant when the table holds a more general rule ``X' -> Y`` (same
    consequent, ``X'`` a proper, non-empty subset of ``X``) whose ``measure`` is at least as
    high, i.e. its improvement ``measure(X -> Y) - max measure(X' -> Y)`` is <= 0 (Bayardo et al.
    1999; Zaki 2000). Rules with no more general rule in the table are never redundant.

    Parameters
    ----------
    rules : pandas.DataFrame
        ``antecedents``, ``consequents`` (frozensets) and the ``measure`` column.
    measure : str, default='confidence'
        A column of :data:`~crmlib.baskets.MEASURES` to compare (arules' ``measure``).

    Returns
    -------
    pandas.Series of bool
        Indexed like ``rules``; True for a redundant rule.

    Examples
    --------
    >>> rules = pd.DataFrame({"antecedents": [frozenset("a"), frozenset("ab")],
    ...                       "consequents": [frozenset("c"), frozenset("c")],
    ...                       "confidence": [0.8, 0.7]})
    >>> is_redundant(rules).tolist()
    [False, True]
    """
    where = "baskets.is_redundant"
    check_one_of(measure, MEASURES, name="measure", where=where)
    check_columns(rules, ("antecedents", "consequents", measure), where=where)
    ante = list(rules["antecedents"])
    cons = list(rules["consequents"])
    value = rules[measure].to_numpy(dtype=float)
    best = {}
    for a, c, q in zip(ante, cons, value, strict=True):
        key = (a, c)
        best[key] = max(q, best.get(key, -np.inf))
    out = np.zeros(len(rules), dtype=bool)
    for i, (a, c, q) in enumerate(zip(ante, cons, value, strict=True)):
        if len(a) < 2:
            continue
        items = tuple(a)
        for size in range(len(items) - 1, 0, -1):
            if any(best.get((frozenset(sub), c), -np.inf) >= q
                   for sub in combinations(items, size)):
                out[i] = True
                break
    return pd.Series(out, index=rules.index, name="redundant")


def prune_redundant(rules: pd.DataFrame, *, measure: str = "confidence") -> pd.DataFrame:
    """``rules`` without the redundant ones (see :func:`is_redundant`); attrs are kept and
    ``n_redundant`` is added.

    >>> rules = pd.DataFrame({"antecedents": [frozenset("a"), frozenset("ab")],
    ...                       "consequents": [frozenset("c"), frozenset("c")],
    ...                       "confidence": [0.8, 0.9]})
    >>> len(prune_redundant(rules))
    2
    """
    mask = is_redundant(rules, measure=measure)
    out = rules[~mask.to_numpy()]
    out.attrs = {**rules.attrs, "n_redundant": int(mask.sum())}
    return out


def select_itemsets(itemsets: pd.DataFrame, *, kind: str = "closed") -> pd.DataFrame:
    """Keep the closed or maximal itemsets of a complete frequent-itemset table.

    An itemset is *closed* when no proper superset has the same support, *maximal* when no
    proper superset is frequent at all (both judged within the table, so with ``max_len`` they
    are relative to that length). Checking the supersets one item larger is enough: support only
    falls as items are added.

    Parameters
    ----------
    itemsets : pandas.DataFrame
        ``support`` and ``itemsets`` with every subset of every itemset present.
    kind : {'all', 'closed', 'maximal'}, default='closed'

    Returns
    -------
    pandas.DataFrame
        The kept rows of ``itemsets`` (same columns and attrs; ``attrs['kind']`` set).

    Examples
    --------
    >>> sets = pd.DataFrame({"support": [0.5, 0.5, 0.5],
    ...                      "itemsets": [frozenset("a"), frozenset("b"), frozenset("ab")]})
    >>> select_itemsets(sets, kind="closed")["itemsets"].map(sorted).tolist()
    [['a', 'b']]
    """
    where = "baskets.select_itemsets"
    check_one_of(kind, ITEMSET_KINDS, name="kind", where=where)
    check_columns(itemsets, ("support", "itemsets"), where=where)
    if kind == "all" or not len(itemsets):
        out = itemsets.copy()
    else:
        table = ItemsetTable.from_frame(itemsets, None, where=where)
        keep = kind_masks(table, kind)
        # map the table's (size, row) back to the frame's rows
        positions = {}
        labels = table.items
        for k, codes in table.codes.items():
            for r, row in enumerate(np.asarray(labels, dtype=object)[codes].tolist()):
                positions[frozenset(row)] = keep[k][r]
        out = itemsets[[bool(positions[s]) for s in itemsets["itemsets"]]]
    out.attrs = {**itemsets.attrs, "kind": kind}
    return out


def closed_itemsets(itemsets: pd.DataFrame) -> pd.DataFrame:
    """Shorthand for ``select_itemsets(itemsets, kind='closed')``."""
    return select_itemsets(itemsets, kind="closed")


def maximal_itemsets(itemsets: pd.DataFrame) -> pd.DataFrame:
    """Shorthand for ``select_itemsets(itemsets, kind='maximal')``."""
    return select_itemsets(itemsets, kind="maximal")
