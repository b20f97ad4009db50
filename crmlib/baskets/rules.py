"""Association rules from frequent itemsets, generated with the thresholds applied on the way.

Rule generation can explode (millions of rules from one dense set), so ``association_rules``
never builds the full table first: for every itemset size it walks the consequents from one item
upwards, drops a consequent's supersets as soon as it misses ``min_confidence`` (confidence can
only fall as the consequent grows), filters ``min_lift`` per block, and keeps at most
``max_rules`` rules (the best by ``sort_by``), saying in ``attrs`` and in a warning how many it cut.

The columns and values are those of mlxtend's ``association_rules`` (called with
``num_itemsets=n_transactions``), computed with the same arithmetic so they agree to the last
bit, plus ``count`` and a one-sided Fisher exact test per rule (``p_value``) corrected for the
number of rules (``p_adjusted``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_one_of
from ..definitions import items_text
from ..errors import ParameterError
from ._fisher import fisher_greater as _fisher
from .counting import ItemsetLookup, rule_measures
from .mine import EmptyResultWarning, ItemsetTable, mine

__all__ = [
    "CORRECTIONS",
    "MEASURES",
    "RULE_COLUMNS",
    "RulesCappedWarning",
    "adjust_pvalues",
    "association_rules",
    "mine_rules",
    "readable",
    "significant",
]

#: mlxtend's measures, in mlxtend's column order.
MLXTEND_MEASURES = (
    "antecedent support", "consequent support", "support", "confidence", "lift",
    "representativity", "leverage", "conviction", "zhangs_metric", "jaccard", "certainty",
    "kulczynski",
)
#: Every numeric column of a rules table (the values ``sort_by`` accepts).
MEASURES = (*MLXTEND_MEASURES, "count", "p_value", "p_adjusted")
#: Columns of the rules table, in order.
RULE_COLUMNS = ("antecedents", "consequents", *MEASURES)
#: Multiple-testing corrections for ``p_adjusted`` (None: no correction).
CORRECTIONS = ("fdr_bh", "holm", "bonferroni", None)

_WHERE = "baskets.association_rules"
_BUFFER = 2_000_000  # candidate rules held before the max_rules cut is applied again


class RulesCappedWarning(UserWarning):
    """More rules passed the thresholds than ``max_rules``; the weakest were cut."""


def association_rules(
    itemsets,
    *,
    n_transactions: int | None = None,
    min_confidence: float = 0.0,
    min_lift: float | None = None,
    max_len: int | None = None,
    max_rules: int | None = 100_000,
    sort_by: str = "lift",
    correction: str | None = "fdr_bh",
    max_consequent_len: int | None = None,
) -> pd.DataFrame:
    """Rules ``antecedents -> consequents`` from frequent itemsets, with every measure.

    Parameters
    ----------
    itemsets : pandas.DataFrame
        ``support`` and ``itemsets`` (frozensets), as :func:`frequent_itemsets` or mlxtend
        return them; every subset of an itemset must be present (it is, for a mining result).
    n_transactions : int, optional
        Number of transactions mined; default ``itemsets.attrs['n_transactions']``.
    min_confidence : float, default=0.0
        Keep rules with confidence >= this, in [0, 1].
    min_lift : float, optional
        Keep rules with lift >= this (>= 0).
    max_len : int, optional
        Longest rule (antecedent plus consequent items), >= 1.
    max_rules : int or None, default=100_000
        Keep at most this many rules, the best by ``sort_by``; ``None`` keeps all.
    sort_by : str, default='lift'
        Measure to sort by (descending), one of :data:`MEASURES`.
    correction : {'fdr_bh', 'holm', 'bonferroni', None}, default='fdr_bh'
        Multiple-testing correction of the Fisher p-values over all rules that pass the
        thresholds (before the ``max_rules`` cut).
    max_consequent_len : int, optional
        Most items in a consequent, >= 1; 1 gives arules' rules (one item on the right-hand
        side), None every split of each itemset (mlxtend's default).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RULE_COLUMNS`: ``antecedents``, ``consequents`` (frozenset); mlxtend's
        measures (float64; ``conviction`` is inf when confidence is 1); ``count`` (int64,
        transactions holding all items of the rule); ``p_value`` (one-sided Fisher exact test
        that antecedent and consequent occur together more often than by chance) and
        ``p_adjusted`` (float64). Sorted by ``sort_by`` descending. ``attrs``: ``n_transactions``,
        ``n_rules_total`` (rules passing the thresholds), ``n_rules_cut``, and
        ``empty_reason`` when no rule was found (an :class:`EmptyResultWarning` says why).

    Raises
    ------
    ParameterError
        A threshold out of range, an unknown ``sort_by`` or ``correction``, or no
        ``n_transactions``.
    DataContractError
        ``itemsets`` lacks a column, or lacks the support of a subset of one of its itemsets.

    Examples
    --------
    >>> from crmlib.baskets import Baskets, frequent_itemsets
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["beer", "diapers"], ["milk"]])
    >>> rules = association_rules(frequent_itemsets(b, min_support=0.5))
    >>> readable(rules)[["if bought", "then also", "confidence", "lift"]]
      if bought then also  confidence  lift
    0   diapers      beer         1.0   1.5
    1      beer   diapers         1.0   1.5
    """
    _check_rule_params(min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                       max_rules=max_rules, sort_by=sort_by, correction=correction,
                       max_consequent_len=max_consequent_len)
    if isinstance(itemsets, ItemsetTable):
        table = itemsets
    else:
        if not isinstance(itemsets, pd.DataFrame):
            raise ParameterError(f"{_WHERE}: 'itemsets' must be a DataFrame with 'support' and "
                                 f"'itemsets'; got {type(itemsets).__name__}.", name="itemsets")
        check_columns(itemsets, ("support", "itemsets"), where=_WHERE)
        n = n_transactions if n_transactions is not None else itemsets.attrs.get("n_transactions")
        if n is None:
            raise ParameterError(
                f"{_WHERE}: 'n_transactions' is needed (it is in itemsets.attrs when the "
                "itemsets come from crmlib.baskets.frequent_itemsets).", name="n_transactions")
        check_interval(n, 1, None, name="n_transactions", where=_WHERE, integer=True, closed="left")
        table = ItemsetTable.from_frame(itemsets, int(n), where=_WHERE)
    return _generate(table, min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                     max_rules=max_rules, sort_by=sort_by, correction=correction,
                     max_consequent_len=max_consequent_len)


def mine_rules(
    data,
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    min_lift: float | None = None,
    max_len: int | None = None,
    max_rules: int | None = 100_000,
    sort_by: str = "lift",
    correction: str | None = "fdr_bh",
    engine: str = "auto",
    items=None,
    max_consequent_len: int | None = None,
) -> pd.DataFrame:
    """Frequent itemsets and rules in one call (no frozenset round trip in between).

    Parameters are those of :func:`~crmlib.baskets.frequent_itemsets` and
    :func:`association_rules`; ``max_len`` limits both. ``max_consequent_len=1`` keeps the
    rules with one item on the right-hand side, as R's arules does (its rule count is then
    comparable). Returns the rules table of :func:`association_rules`, whose ``attrs`` also
    hold ``n_itemsets`` and ``engine``.

    Examples
    --------
    >>> from crmlib.baskets import Baskets
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["beer", "diapers"], ["milk"]])
    >>> mine_rules(b, min_support=0.5, min_confidence=0.9)["lift"].tolist()
    [1.5, 1.5]
    >>> b3 = Baskets.from_transactions([["a", "b", "c"], ["a", "b", "c"], ["a"]])
    >>> one = mine_rules(b3, min_support=0.5, max_consequent_len=1)
    >>> len(mine_rules(b3, min_support=0.5)), len(one)
    (12, 9)
    """
    _check_rule_params(min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                       max_rules=max_rules, sort_by=sort_by, correction=correction,
                       max_consequent_len=max_consequent_len, where="baskets.mine_rules")
    table = mine(data, min_support=min_support, max_len=max_len, engine=engine, items=items,
                 where="baskets.mine_rules")
    rules = _generate(table, min_confidence=min_confidence, min_lift=min_lift, max_len=max_len,
                      max_rules=max_rules, sort_by=sort_by, correction=correction,
                      max_consequent_len=max_consequent_len, where="baskets.mine_rules")
    rules.attrs.update(n_itemsets=len(table), engine=table.engine, min_support=min_support)
    return rules


def significant(rules: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The rules whose corrected Fisher p-value is at most ``alpha`` (in (0, 1])."""
    check_interval(alpha, 0, 1, name="alpha", where="baskets.significant", closed="right")
    check_columns(rules, ("p_adjusted",), where="baskets.significant")
    return rules[rules["p_adjusted"] <= alpha]


def adjust_pvalues(p, method: str | None = "fdr_bh") -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg ('fdr_bh'), Holm, Bonferroni, or None (unchanged).

    >>> adjust_pvalues([0.01, 0.04, 0.03], "fdr_bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    check_one_of(method, CORRECTIONS, name="correction", where="baskets.adjust_pvalues")
    p = np.asarray(p, dtype=float)
    m = p.size
    if method is None or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "fdr_bh":
        adj = ranked * m / np.arange(1, m + 1)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    else:  # holm
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(1.0, adj)
    return out


def readable(rules: pd.DataFrame, *, sep: str = ", ", top_n: int | None = None) -> pd.DataFrame:
    """A display table: ``if bought`` / ``then also`` as text, with the key measures.

    Returns columns ``if bought``, ``then also`` (str), ``support``, ``confidence``, ``lift``,
    ``count`` and, when present, ``p_adjusted``; the first ``top_n`` rules (all when None).
    """
    check_columns(rules, ("antecedents", "consequents", "support", "confidence", "lift"),
                  where="baskets.readable")
    head = rules if top_n is None else rules.head(top_n)
    out = pd.DataFrame({
        "if bought": [items_text(s, sep) for s in head["antecedents"]],
        "then also": [items_text(s, sep) for s in head["consequents"]],
    }, index=head.index)
    for col in ("support", "confidence", "lift", "count", "p_adjusted"):
        if col in head:
            out[col] = head[col]
    return out.reset_index(drop=True)


# -- parameters ----------------------------------------------------------------------------------

def _check_rule_params(*, min_confidence, min_lift, max_len, max_rules, sort_by, correction,
                       max_consequent_len=None, where=_WHERE):
    check_interval(min_confidence, 0, 1, name="min_confidence", where=where)
    if max_consequent_len is not None:
        check_interval(max_consequent_len, 1, None, name="max_consequent_len", where=where,
                       closed="left", integer=True)
    if min_lift is not None:
        check_interval(min_lift, 0, None, name="min_lift", where=where, closed="left")
    if max_len is not None:
        check_interval(max_len, 1, None, name="max_len", where=where, closed="left", integer=True)
    if max_rules is not None:
        check_interval(max_rules, 1, None, name="max_rules", where=where, closed="left",
                       integer=True)
    check_one_of(sort_by, MEASURES, name="sort_by", where=where)
    check_one_of(correction, CORRECTIONS, name="correction", where=where)


# -- generation ----------------------------------------------------------------------------------

def _generate(table: ItemsetTable, *, min_confidence, min_lift, max_len, max_rules, sort_by,
              correction, max_consequent_len=None, where=_WHERE) -> pd.DataFrame:
    n = table.n_transactions
    lookup = ItemsetLookup(table)
    sizes = [k for k in sorted(table.codes) if k >= 2 and (max_len is None or k <= max_len)]
    chunks = []       # per block: dict of arrays (k, cm scalars; rows, counts, key, seq)
    counts = []       # every passing rule's (cAC, cA, cC), in seq order, for the p-values
    seq = 0
    buffered = 0
    best = {"confidence": 0.0, "lift": 0.0}

    for k in sizes:
        R, cI = table.codes[k], table.counts[k]
        full = (1 << k) - 1
        masks = sorted(range(1, full), key=lambda m: (bin(m).count("1"), m))
        if max_consequent_len is not None:  # masks mark the consequent's items
            masks = [m for m in masks if bin(m).count("1") <= max_consequent_len]
        alive = {}
        for cm in masks:
            h = bin(cm).count("1")
            if h >= 3 and any(bin(a).count("1") < h - 1 for a in list(alive)[:1]):
                alive = {a: v for a, v in alive.items() if bin(a).count("1") == h - 1}
            if min_confidence > 0 and h >= 2:
                cand = np.ones(len(R), dtype=bool)
                for j in range(k):
                    if cm >> j & 1:
                        cand &= alive[cm ^ (1 << j)]
                idx = np.flatnonzero(cand)
            else:
                idx = np.arange(len(R))
            cpos = [j for j in range(k) if cm >> j & 1]
            apos = [j for j in range(k) if not cm >> j & 1]
            keep_alive = (min_confidence > 0 and h < k - 1
                          and (max_consequent_len is None or h < max_consequent_len))
            if not len(idx):
                if keep_alive:
                    alive[cm] = np.zeros(len(R), dtype=bool)
                continue
            sub = R[idx]
            cA = lookup(sub[:, apos])
            cC = lookup(sub[:, cpos])
            cAC = cI[idx]
            m = rule_measures(cAC, cA, cC, n)
            ok = m["confidence"] >= min_confidence
            if len(ok):
                best["confidence"] = max(best["confidence"], float(m["confidence"].max()))
            if keep_alive:
                a = np.zeros(len(R), dtype=bool)
                a[idx[ok]] = True
                alive[cm] = a
            if min_lift is not None:
                if ok.any():
                    best["lift"] = max(best["lift"], float(m["lift"][ok].max()))
                ok &= m["lift"] >= min_lift
            sel = np.flatnonzero(ok)
            if not len(sel):
                continue
            counts.append((cAC[sel], cA[sel], cC[sel]))
            if sort_by in ("p_value", "p_adjusted"):
                key = _fisher(cAC[sel], cA[sel], cC[sel], n)
            else:
                key = cAC[sel].astype(float) if sort_by == "count" else m[sort_by][sel]
            chunks.append({"k": k, "cm": cm, "rows": idx[sel], "cA": cA[sel], "cC": cC[sel],
                           "cAC": cAC[sel], "key": key, "seq": seq + np.arange(len(sel))})
            seq += len(sel)
            buffered += len(sel)
            if max_rules is not None and buffered > max(_BUFFER, 2 * max_rules):
                chunks = _cut(chunks, max_rules, sort_by)
                buffered = sum(len(c["seq"]) for c in chunks)
    n_total = seq
    if max_rules is not None and n_total > max_rules:
        chunks = _cut(chunks, max_rules, sort_by)
    p_all = (_fisher(*(np.concatenate(part) for part in zip(*counts, strict=True)), n)
             if counts else np.empty(0))
    p_adj = adjust_pvalues(p_all, correction)
    rules = _assemble(table, chunks, p_all, p_adj, sort_by)
    n_cut = n_total - len(rules)
    rules.attrs.update(n_transactions=n, n_rules_total=int(n_total), n_rules_cut=int(n_cut),
                       max_rules=max_rules, min_confidence=min_confidence, min_lift=min_lift,
                       correction=correction, sort_by=sort_by,
                       max_consequent_len=max_consequent_len)
    if n_cut:
        warnings.warn(
            f"{where}: kept {len(rules):,} of {n_total:,} rules (max_rules={max_rules:,}); "
            f"cut {n_cut:,} with the lowest {sort_by!r}. Raise min_confidence / min_lift / "
            "min_support to see fewer, stronger rules.", RulesCappedWarning, stacklevel=3)
    if not len(rules):
        reason = _empty_reason(table, sizes, best, min_confidence, min_lift)
        rules.attrs["empty_reason"] = reason
        warnings.warn(f"{where}: {reason}.", EmptyResultWarning, stacklevel=3)
    return rules


def _empty_reason(table, sizes, best, min_confidence, min_lift):
    if not sizes or not any(len(table.codes[k]) for k in sizes):
        ms = table.info.get("min_support")
        at = f" at min_support={ms}" if ms is not None else ""
        return (f"no rule: no frequent itemset has two or more items{at}; lower min_support"
                + (" or raise max_len" if table.codes and max(table.codes) > 1 else ""))
    if best["confidence"] < min_confidence:
        return (f"no rule reaches min_confidence={min_confidence} (the best has "
                f"{best['confidence']:.3g}); lower min_confidence or min_support")
    return (f"no rule reaches min_lift={min_lift} (the best has {best['lift']:.3g}); lower "
            "min_lift or min_support")


def _order(key: np.ndarray, seq: np.ndarray, sort_by: str) -> np.ndarray:
    """Best first: descending key (ascending for p-values), ties by generation order."""
    k = key if sort_by in ("p_value", "p_adjusted") else -key
    k = np.where(np.isnan(k), np.inf, k)
    return np.lexsort((seq, k))


def _cut(chunks, max_rules, sort_by):
    key = np.concatenate([c["key"] for c in chunks])
    seq = np.concatenate([c["seq"] for c in chunks])
    keep = np.zeros(len(key), dtype=bool)
    keep[_order(key, seq, sort_by)[:max_rules]] = True
    out, start = [], 0
    for c in chunks:
        sel = keep[start:start + len(c["seq"])]
        start += len(c["seq"])
        if sel.any():
            out.append({**{f: c[f][sel] for f in ("rows", "cA", "cC", "cAC", "key", "seq")},
                        "k": c["k"], "cm": c["cm"]})
    return out


def _assemble(table, chunks, p_all, p_adj, sort_by) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame({col: pd.Series(dtype=object if col in ("antecedents", "consequents")
                                            else ("int64" if col == "count" else float))
                             for col in RULE_COLUMNS})
    sides = _SideSets(table)
    ante, cons, parts = [], [], {f: [] for f in ("cA", "cC", "cAC", "key", "seq")}
    for c in chunks:
        k, cm = c["k"], c["cm"]
        cpos = [j for j in range(k) if cm >> j & 1]
        apos = [j for j in range(k) if not cm >> j & 1]
        sub = table.codes[k][c["rows"]]
        ante.append(sides.request(sub[:, apos]))
        cons.append(sides.request(sub[:, cpos]))
        for f in parts:
            parts[f].append(c[f])
    arr = {f: np.concatenate(v) for f, v in parts.items()}
    order = _order(arr["key"], arr["seq"], sort_by)
    m = rule_measures(arr["cAC"][order], arr["cA"][order], arr["cC"][order], table.n_transactions)
    built = sides.build()
    out = pd.DataFrame({"antecedents": np.concatenate([built[i] for i in ante])[order],
                        "consequents": np.concatenate([built[i] for i in cons])[order], **m})
    out["count"] = arr["cAC"][order].astype(np.int64)
    out["p_value"] = p_all[arr["seq"][order]]
    out["p_adjusted"] = p_adj[arr["seq"][order]]
    return out


class _SideSets:
    """Frozensets for rule sides, one object per distinct itemset shared by every rule using it.

    A rule side is a frequent itemset: ``request`` notes which itemsets the rules use, ``build``
    makes one frozenset for each of those, and each rule holds a reference to it, so millions of
    rules cost a pointer each rather than an object each.
    """

    def __init__(self, table: ItemsetTable):
        self.table = table
        self.lookup = ItemsetLookup(table)
        self.labels = np.asarray(table.items, dtype=object)
        self.asked: list[tuple[int, np.ndarray]] = []

    def request(self, rows: np.ndarray) -> int:
        """Note the itemsets (rows of codes) of one side of a block; returns a ticket."""
        k = rows.shape[1]
        pos = rows[:, 0] if k == 1 else self.lookup.index(rows)
        self.asked.append((k, pos))
        return len(self.asked) - 1

    def build(self) -> list[np.ndarray]:
        """Object arrays of frozensets, one per ticket, sharing one object per itemset."""
        out: list[np.ndarray] = [None] * len(self.asked)
        for k in sorted({k for k, _ in self.asked}):
            tickets = [i for i, (kk, _) in enumerate(self.asked) if kk == k]
            pos = np.concatenate([self.asked[i][1] for i in tickets])
            used, inverse = np.unique(pos, return_inverse=True)
            codes = used[:, None] if k == 1 else self.table.codes[k][used]
            objects = np.empty(len(used), dtype=object)
            objects[:] = list(map(frozenset, self.labels[codes].tolist()))
            shared = objects[inverse]
            start = 0
            for i in tickets:
                size = len(self.asked[i][1])
                out[i] = shared[start:start + size]
                start += size
        return out
