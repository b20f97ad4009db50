"""Counting shared by mining, rules, pruning, comparisons and the Spark version.

The arithmetic of each measure lives here once, so the pandas path (``mine``, ``rules``,
``prune``, ``compare``) and :mod:`crmlib.baskets.spark` cannot drift apart. The tables passed in
are :class:`crmlib.baskets.mine.ItemsetTable` instances (codes and counts by itemset size).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import DataContractError

__all__ = ["ItemsetLookup", "confidence_lift", "filter_table", "item_counts", "kind_masks",
           "min_count", "rule_measures"]

_CHUNK = 1 << 18  # entries per block in item_counts (a 2 MB int64 copy at most)


def min_count(min_support: float, n: int) -> int:
    """Smallest count c with c / n >= min_support in float64, the comparison mlxtend makes."""
    c = int(np.ceil(min_support * n))
    while c > 1 and (c - 1) / float(n) >= min_support:
        c -= 1
    while c / float(n) < min_support:
        c += 1
    return max(c, 1)


def item_counts(indices: np.ndarray, n_items: int) -> np.ndarray:
    """``np.bincount(indices, minlength=n_items)`` in blocks.

    ``bincount`` casts int32 input (CSR indices) to int64 first: a copy twice the size of the
    indices, the largest temporary of a mining run on sparse data. Blocks keep it small.
    """
    counts = np.zeros(n_items, dtype=np.int64)
    for lo in range(0, len(indices), _CHUNK):
        counts += np.bincount(indices[lo:lo + _CHUNK], minlength=n_items)
    return counts


def rule_measures(cAC, cA, cC, n):
    """mlxtend's measure formulas (num_itemsets=n, no null values), same arithmetic."""
    N = float(n)
    sAC, sA, sC = cAC / N, cA / N, cC / N
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = (sAC * N) / (sA * N)
        lift = conf / sC
        leverage = sAC - sA * sC
        conviction = np.full(conf.shape, np.inf)
        below = conf < 1.0
        conviction[below] = (1.0 - sC[below]) / (1.0 - conf[below])
        denom = np.maximum(sAC * (1 - sA), sA * (sC - sAC))
        zhang = np.where(denom == 0, 0, leverage / denom)
        jaccard = sAC / (sA + sC - sAC)
        certainty = np.where(1 - sC == 0, 0, (conf - sC) / (1 - sC))
        kulczynski = ((sAC * N) / (sA * N) + (sAC * N) / (sC * N)) / 2
    return {
        "antecedent support": sA, "consequent support": sC, "support": sAC,
        "confidence": conf, "lift": lift, "representativity": np.full(conf.shape, (N - 0) / N),
        "leverage": leverage, "conviction": conviction, "zhangs_metric": zhang,
        "jaccard": jaccard, "certainty": certainty, "kulczynski": kulczynski,
    }


def confidence_lift(cac, ca, cc, n):
    """Confidence and lift of rules from counts (NaN where a side never occurs), per group."""
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = np.where(ca > 0, cac / np.maximum(ca, 1), np.nan)
        base = np.where(n > 0, cc / np.maximum(n, 1), np.nan)
        lift = np.where((ca > 0) & (cc > 0), conf / base, np.nan)
    return conf, lift


class ItemsetLookup:
    """Count of an itemset given as a row of codes: binary search over the sorted rows of a size."""

    def __init__(self, table):
        top = max((int(c.max()) for c in table.codes.values() if c.size), default=0)
        self.bits = max(1, top.bit_length())
        self.keys = {k: self.key(c) for k, c in table.codes.items()}
        self.counts = table.counts

    def key(self, rows: np.ndarray) -> np.ndarray:
        k = rows.shape[1]
        if k * self.bits <= 63:
            key = np.zeros(len(rows), dtype=np.int64)
            for i in range(k):
                key = (key << self.bits) | rows[:, i]
            return key
        return np.ascontiguousarray(rows.astype(">u4")).view(f"V{4 * k}").ravel()

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return self.counts[rows.shape[1]][self.index(rows)]

    def index(self, rows: np.ndarray) -> np.ndarray:
        """Row position of each queried itemset within its size (raises if one is missing)."""
        k = rows.shape[1]
        keys = self.keys.get(k)
        query = self.key(rows)
        if keys is None:
            pos = np.zeros(len(rows), dtype=np.int64)
            found = np.zeros(len(rows), dtype=bool)
        else:
            pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
            found = keys[pos] == query
        if not found.all():
            missing = rows[np.flatnonzero(~found)[0]]
            raise DataContractError(
                f"baskets.association_rules: 'itemsets' lacks the support of the itemset with columns "
                f"{missing.tolist()} (a subset of a listed itemset); pass every frequent itemset.",
                column="itemsets")
        return pos


def kind_masks(table, kind: str) -> dict[int, np.ndarray]:
    """Per size, True where the itemset is closed (or maximal) within the table."""
    lookup = ItemsetLookup(table)
    keep = {k: np.ones(len(c), dtype=bool) for k, c in table.codes.items()}
    for k, codes in table.codes.items():
        if k == 1 or not len(codes):
            continue
        counts = table.counts[k]
        for drop in range(k):
            subsets = np.delete(codes, drop, axis=1)
            pos = lookup.index(subsets)
            if kind == "maximal":
                keep[k - 1][pos] = False
            else:
                same = table.counts[k - 1][pos] == counts
                keep[k - 1][pos[same]] = False
    return keep


def filter_table(table, kind: str):
    """The closed / maximal part of an internal table (used by ``frequent_itemsets(kind=)``)."""
    if kind == "all":
        return table
    keep = kind_masks(table, kind)
    return replace(table, codes={k: c[keep[k]] for k, c in table.codes.items()},
                   counts={k: n[keep[k]] for k, n in table.counts.items()},
                   info={**table.info, "kind": kind})
