"""How big a mining result will be, from the item supports alone, before mining starts.

Frequent-itemset mining can return far more itemsets than a machine can hold (mlxtend #948 asks
for a warning first). :func:`estimate_itemsets` counts, per size, the itemsets whose support would
reach ``min_support`` if items were bought independently: the number of k-subsets of the frequent
items whose product of supports is at least ``min_support``, counted exactly over supports binned
on a log scale (a dynamic programme over the bins, no enumeration). :func:`estimate_memory` turns
that into bytes for the itemsets and rules tables, and :func:`check_memory` refuses with the
estimate and a hint when it exceeds the memory available.

Independence is the baseline real baskets depart from: on retail.dat and Zipf-like baskets the
estimate is within a factor of about 2 of the truth; on strongly correlated data (planted
patterns, chess-like sets) it is low, because correlated items form more long frequent itemsets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_interval
from ..errors import InsufficientMemoryError

__all__ = ["available_memory", "check_memory", "estimate_itemsets", "estimate_memory"]

_BIN = 0.01  # width of a log-support bin: the estimate counts itemsets to this resolution
_MAX_SIZE = 64
#: Bytes per itemset / rule in the result tables: a frozenset (216 bytes up to 4 items, about 730
#: up to 18) plus the row's numbers and pointers; a rule row holds 15 float columns and 2 pointers.
_SET_BYTES = {"small": 240, "large": 760}
_RULE_BYTES = 150


def estimate_itemsets(item_counts, n_transactions: int, *, min_support: float,
                      max_len: int | None = None) -> pd.Series:
    """Expected number of frequent itemsets per size if items were independent.

    Parameters
    ----------
    item_counts : array-like of int
        Transactions holding each item.
    n_transactions : int
    min_support : float, in (0, 1]
    max_len : int, optional

    Returns
    -------
    pandas.Series
        Index: itemset size 1, 2, ...; values: estimated number of itemsets (float).

    Examples
    --------
    >>> estimate_itemsets([50, 50, 50], 100, min_support=0.2).tolist()
    [3.0, 3.0]
    """
    where = "baskets.estimate_itemsets"
    check_interval(min_support, 0, 1, name="min_support", where=where, closed="right")
    counts = np.asarray(item_counts, dtype=float)
    p = counts[counts >= min_support * n_transactions] / float(max(n_transactions, 1))
    p = p[p > 0]
    # no itemset is longer than the most frequent items' product allows
    longest = int(np.searchsorted(np.cumsum(np.sort(-np.log(p))), -np.log(min_support),
                                  side="right")) if len(p) else 0
    top = max(1, min(longest, _MAX_SIZE if max_len is None else int(max_len)))
    n_bins = int(np.ceil(-np.log(min_support) / _BIN)) + 1
    # a bin holds -log(support) rounded down: a subset is counted when its bins sum to < n_bins
    bins = np.minimum(np.floor(-np.log(p) / _BIN).astype(np.int64), n_bins)
    table = np.zeros((top + 1, n_bins), dtype=float)
    table[0, 0] = 1.0
    values, multiplicity = np.unique(bins, return_counts=True)
    for b, m in zip(values.tolist(), multiplicity.tolist(), strict=True):
        # add m items of the same bin at once: choose j of them (binomial coefficients)
        new = table.copy()
        coef = 1.0
        for j in range(1, min(m, top) + 1):
            shift = j * b
            if shift >= n_bins:
                break
            coef = coef * (m - j + 1) / j
            new[j:, shift:] += coef * table[:-j, :n_bins - shift]
        table = new
    sizes = table[1:].sum(axis=1)
    last = int(np.flatnonzero(sizes)[-1]) + 1 if sizes.any() else 1
    return pd.Series(sizes[:last], index=pd.RangeIndex(1, last + 1, name="size"),
                     name="itemsets")


def estimate_memory(item_counts, n_transactions: int, *, min_support: float,
                    max_len: int | None = None, max_consequent_len: int | None = None) -> dict:
    """Estimated itemsets, rules (at confidence 0) and bytes of both result tables.

    Returns
    -------
    dict
        ``itemsets``, ``rules`` (float counts), ``itemset_bytes``, ``rule_bytes`` (int) and
        ``by_size`` (the Series of :func:`estimate_itemsets`).
    """
    by_size = estimate_itemsets(item_counts, n_transactions, min_support=min_support,
                                max_len=max_len)
    k = by_size.index.to_numpy(dtype=float)
    per_set = np.where(k <= 4, _SET_BYTES["small"], _SET_BYTES["large"]) + 8 * k
    if max_consequent_len is None:
        rules_per_set = 2.0 ** k - 2
    else:
        rules_per_set = sum(_binom(k, j) for j in range(1, int(max_consequent_len) + 1))
        rules_per_set = np.where(k >= 2, np.minimum(rules_per_set, 2.0 ** k - 2), 0)
    itemsets = float(by_size.sum())
    rules = float((by_size.to_numpy() * rules_per_set).sum())
    set_bytes = float((by_size.to_numpy() * per_set).sum())
    return {"itemsets": itemsets, "rules": rules, "itemset_bytes": int(min(set_bytes, 2 ** 62)),
            "rule_bytes": int(min(rules * _RULE_BYTES, 2 ** 62)), "by_size": by_size}


def available_memory() -> int:
    """Bytes the machine can give this process now (MemAvailable; psutil where /proc is missing)."""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    import psutil  # noqa: PLC0415  (only off Linux)

    return int(psutil.virtual_memory().available)


def check_memory(item_counts, n_transactions: int, *, min_support: float,
                 max_len: int | None = None, available: int | None = None,
                 where: str = "baskets") -> dict:
    """Refuse (:class:`~crmlib.errors.InsufficientMemoryError`) when the itemsets would not fit.

    The itemsets must fit (rules are thinned by ``min_confidence``, which the item supports say
    nothing about). ``available`` defaults to :func:`available_memory`. Returns the estimate.
    """
    est = estimate_memory(item_counts, n_transactions, min_support=min_support, max_len=max_len)
    have = available_memory() if available is None else int(available)
    if est["itemset_bytes"] > have:
        raise InsufficientMemoryError(
            f"{where}: mining at min_support={min_support} would need about "
            f"{_size(est['itemset_bytes'])} for {est['itemsets']:,.0f} itemsets (estimated from "
            f"the item supports) but {_size(have)} is available; raise min_support or set "
            "max_len.", estimate_bytes=est["itemset_bytes"], available_bytes=have)
    return est


def _binom(k: np.ndarray, j: int) -> np.ndarray:
    out = np.ones_like(k)
    for i in range(j):
        out = out * (k - i) / (i + 1)
    return np.maximum(out, 0)


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PB"
