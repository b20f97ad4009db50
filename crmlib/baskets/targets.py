"""Rules about chosen items: what leads to them (consequent) or what they lead to (antecedent).

arules calls this ``appearance`` (``rhs = c("Printer Ink")``) and mlxtend users filter after mining
(mlxtend #658). Here only what can lead to a rule about the targets is mined:

1. a rule about the targets holds a target item, so its itemset is frequent among the baskets
   that hold a target; those baskets are mined alone (same absolute count), and only itemsets
   holding a target are kept, their counts exact;
2. the other side of such a rule may hold no target item: its support comes from mining the
   whole database on the few columns that occur in step 1's itemsets.

The rules are then generated from those itemsets by :func:`~crmlib.baskets.association_rules`, so
they equal mining everything and filtering (tested), with the multiple-testing correction taken
over the rules about the targets (the ones a user tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_one_of
from ..errors import ParameterError
from . import counting
from .encode import Baskets
from .mine import ItemsetTable, mine
from .rules import adjust_pvalues, association_rules

__all__ = ["SIDES", "rules_about", "target_items"]

#: Where the chosen items must be: the whole consequent, or the whole antecedent.
SIDES = ("consequent", "antecedent")
_WHERE = "baskets.rules_about"
_MOST = 0.5  # above this share of baskets holding a target, mining everything is cheaper


def target_items(baskets: Baskets, targets, *, products: pd.DataFrame | None = None) -> list:
    """Item labels of ``baskets`` named by ``targets``: item labels, or category / subcategory
    names (with ``products``, columns ``name`` and ``category`` / ``subcategory``).

    Raises
    ------
    ParameterError
        A target that is neither an item of the baskets nor a known category, naming it.
    """
    wanted = [targets] if isinstance(targets, str) or not np.iterable(targets) else list(targets)
    if not wanted:
        raise ParameterError(f"{_WHERE}: 'targets' is empty; name at least one item or "
                             "category.", name="targets")
    items = pd.Index(baskets.items)
    out, unknown = [], []
    for t in wanted:
        if t in items:
            out.append(t)
            continue
        found = []
        if products is not None:
            check_columns(products, ("name",), where=_WHERE)
            for level in ("category", "subcategory"):
                if level in products:
                    names = products.loc[products[level] == t, "name"]
                    found += [n for n in names if n in items]
        if found:
            out += found
        else:
            unknown.append(t)
    if unknown:
        hint = " or categories (pass `products`)" if products is None else " or categories"
        raise ParameterError(
            f"{_WHERE}: unknown item(s) {unknown!r}: not among the {len(items):,} items of the "
            f"baskets{hint}; e.g. {list(items[:3])}.", name="targets")
    return list(dict.fromkeys(out))


def rules_about(baskets: Baskets, targets, *, side: str = "consequent",
                products: pd.DataFrame | None = None, min_support: float = 0.01,
                min_confidence: float = 0.0, min_lift: float | None = None,
                max_len: int | None = None, max_rules: int | None = 100_000,
                sort_by: str = "lift", correction: str | None = "fdr_bh",
                max_consequent_len: int | None = None) -> pd.DataFrame:
    """Rules whose consequent (or antecedent) consists of chosen items, mining only what leads there.

    Parameters
    ----------
    baskets : Baskets
    targets : item label, category name, or a list of them
        With ``products`` a category or subcategory name stands for its products.
    side : {'consequent', 'antecedent'}, default='consequent'
        ``'consequent'``: rules ``X -> Y`` with every item of Y a target ("what leads to buying
        Y"); ``'antecedent'``: every item of X a target ("what do buyers of X also buy").
    products : pandas.DataFrame, optional
        ``name`` and ``category`` / ``subcategory``, to name targets by category.
    min_support, min_confidence, min_lift, max_len, max_rules, sort_by, correction, max_consequent_len
        As :func:`~crmlib.baskets.mine_rules`.

    Returns
    -------
    pandas.DataFrame
        The rules table of :func:`~crmlib.baskets.association_rules`; ``p_adjusted`` is corrected
        over the rules about the targets. ``attrs`` adds ``targets``, ``side`` and
        ``n_itemsets`` (itemsets mined, both steps).

    Examples
    --------
    >>> b = Baskets.from_transactions([["ink", "printer"], ["ink", "printer"], ["milk", "ink"],
    ...                                ["milk", "bread"]])
    >>> r = rules_about(b, ["ink"], min_support=0.25)
    >>> [(sorted(a), sorted(c)) for a, c in zip(r["antecedents"], r["consequents"])]
    [(['printer'], ['ink']), (['milk'], ['ink'])]
    """
    check_one_of(side, SIDES, name="side", where=_WHERE)
    if not isinstance(baskets, Baskets):
        raise ParameterError(f"{_WHERE}: 'baskets' must be Baskets; got "
                             f"{type(baskets).__name__}.", name="baskets")
    check_interval(min_support, 0, 1, name="min_support", where=_WHERE, closed="right")
    labels = target_items(baskets, targets, products=products)
    cols = pd.Index(baskets.items).get_indexer(labels)
    X = baskets.matrix
    n = X.shape[0]
    is_target = np.zeros(X.shape[1], dtype=bool)
    is_target[cols] = True

    # step 1: the baskets holding a target, mined alone at the same absolute count; when most
    # baskets hold a target that saves nothing, and everything is mined (then filtered)
    holding = np.flatnonzero(np.asarray(X[:, cols].sum(axis=1)).ravel() > 0)
    sub = X[holding]
    min_count = counting.min_count(min_support, n)
    parts_codes: dict[int, list] = {}
    parts_counts: dict[int, list] = {}
    used = np.zeros(X.shape[1], dtype=bool)
    if len(holding) > _MOST * n:
        parts = mine(X, min_support=min_support, max_len=max_len, where=_WHERE)
        parts_codes = {k: [c] for k, c in parts.codes.items()}
        parts_counts = {k: [c] for k, c in parts.counts.items()}
    elif len(holding) >= min_count:
        # the threshold min_count / n_sub gives exactly min_count on the smaller database
        step1 = mine(sub, min_support=min(1.0, min_count / len(holding)), max_len=max_len,
                     where=_WHERE)
        for k, codes in step1.codes.items():
            keep = is_target[codes].any(axis=1)
            parts_codes.setdefault(k, []).append(codes[keep])
            parts_counts.setdefault(k, []).append(step1.counts[k][keep])
            used[codes[keep].ravel()] = True
    # step 2: the other side's supports, on the whole database and the columns that matter
    others = np.flatnonzero(used & ~is_target) if len(holding) <= _MOST * n else []
    if len(others):
        longest = max(parts_codes) - 1 if parts_codes else 1
        step2 = mine(X[:, others], min_support=min_support,
                     max_len=longest if max_len is None else min(longest, max_len), where=_WHERE)
        for k, codes in step2.codes.items():
            parts_codes.setdefault(k, []).append(others[codes])
            parts_counts.setdefault(k, []).append(step2.counts[k])
    table = _table(parts_codes, parts_counts, n, baskets.items, min_support, min_count)
    rules = association_rules(table, min_confidence=min_confidence, min_lift=min_lift,
                              max_len=max_len, max_rules=None, sort_by=sort_by, correction=None,
                              max_consequent_len=max_consequent_len)
    target_set = frozenset(labels)
    column = "consequents" if side == "consequent" else "antecedents"
    keep = np.fromiter((s <= target_set for s in rules[column]), dtype=bool, count=len(rules))
    out = rules[keep].reset_index(drop=True)
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), correction)
    n_total = len(out)
    if max_rules is not None and n_total > max_rules:
        out = out.head(max_rules)
    out.attrs = {**rules.attrs, "n_rules_total": n_total, "n_rules_cut": n_total - len(out),
                 "correction": correction, "max_rules": max_rules, "targets": labels,
                 "side": side, "n_itemsets": len(table), "min_support": min_support}
    out.attrs.pop("empty_reason", None)
    return out




def _table(parts_codes, parts_counts, n, items, min_support, min_count) -> ItemsetTable:
    codes, counts = {}, {}
    for k in sorted(parts_codes):
        c = np.concatenate(parts_codes[k]).reshape(-1, k)
        m = np.concatenate(parts_counts[k])
        c = np.sort(c, axis=1)
        # an item can come from both steps (a target-free singleton): keep one row per itemset
        order = np.lexsort(c.T[::-1])
        c, m = c[order], m[order]
        first = np.ones(len(c), dtype=bool)
        first[1:] = (c[1:] != c[:-1]).any(axis=1)
        codes[k], counts[k] = c[first], m[first]
    return ItemsetTable(codes, counts, n, pd.Index(items), engine="targets",
                        info={"min_support": min_support, "min_count": min_count})
