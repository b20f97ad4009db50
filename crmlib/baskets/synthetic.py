"""Synthetic basket data for benchmarks and tests.

* :func:`zipf_order_lines`: order lines with Zipf-like item popularity plus planted patterns
  (sparse, short baskets, like a CRM sample);
* :func:`quest_transactions`: the IBM Quest generator's shape (Agrawal & Srikant 1994), e.g. the
  classic T10I4D100K: average basket size 10, average pattern length 4, 100,000 baskets;
* :func:`dense_transactions`: a very dense set like UCI chess / mushroom: attributes with two
  values, one value of each per basket, so half of the items are in every basket.

All are vectorised (no Python loop per basket), so a million baskets take a couple of seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval

__all__ = ["dense_transactions", "quest_transactions", "zipf_order_lines"]


def zipf_order_lines(n_orders: int = 1_000_000, n_items: int = 5_000, *, mean_size: float = 4.0,
                     exponent: float = 1.0, n_patterns: int = 40,
                     pattern_support: tuple[float, float] = (0.0005, 0.005),
                     seed: int = 0) -> pd.DataFrame:
    """Order lines with Zipf-distributed item popularity and a few planted itemsets.

    Basket sizes are ``1 + Poisson(mean_size - 1)``; each line draws an item with probability
    proportional to ``rank ** -exponent`` (popularity ranks are shuffled over product ids, so id
    order says nothing). ``n_patterns`` groups of 2-3 mid-popularity items are then added together
    to 500-5,000 random orders each, so there are rules to find.

    Returns
    -------
    pandas.DataFrame
        The canonical ``order_lines`` columns: ``order_id``, ``line_no`` (1-based within the
        order), ``product_id`` (1..n_items), ``quantity``, ``unit_price``, ``discount``; sorted by
        order. An item can appear on two lines of one order.

    Examples
    --------
    >>> lines = zipf_order_lines(1000, 50, n_patterns=2, seed=1)
    >>> list(lines.columns)
    ['order_id', 'line_no', 'product_id', 'quantity', 'unit_price', 'discount']
    """
    where = "baskets.zipf_order_lines"
    check_interval(n_orders, 1, None, name="n_orders", where=where, integer=True, closed="left")
    check_interval(n_items, 2, None, name="n_items", where=where, integer=True, closed="left")
    check_interval(mean_size, 1, None, name="mean_size", where=where, closed="left")
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** exponent
    p /= p.sum()
    product_of_rank = rng.permutation(n_items)
    sizes = 1 + rng.poisson(mean_size - 1, n_orders)
    order = np.repeat(np.arange(n_orders), sizes)
    item = product_of_rank[rng.choice(n_items, size=order.size, p=p)]

    lo, hi = min(50, n_items // 4), max(min(1000, n_items), min(50, n_items // 4) + 3)
    extra_orders, extra_items = [order], [item]
    for _ in range(n_patterns):
        pattern = rng.choice(np.arange(lo, hi), size=int(rng.integers(2, 4)), replace=False)
        k = max(2, int(rng.uniform(*pattern_support) * n_orders))
        hit = rng.choice(n_orders, size=k, replace=False)
        extra_orders.append(np.repeat(hit, len(pattern)))
        extra_items.append(np.tile(product_of_rank[pattern], k))
    order = np.concatenate(extra_orders)
    item = np.concatenate(extra_items)
    by_order = np.argsort(order, kind="stable")
    order, item = order[by_order], item[by_order]
    line_no = np.arange(order.size) - np.searchsorted(order, order) + 1
    return pd.DataFrame({
        "order_id": order + 1,
        "line_no": line_no,
        "product_id": item + 1,
        "quantity": rng.integers(1, 4, order.size),
        "unit_price": np.round(rng.gamma(2.0, 10.0, order.size), 2),
        "discount": np.zeros(order.size),
    })


def _as_lists(rows: np.ndarray, items: np.ndarray, n: int) -> list[list[int]]:
    """Transactions as lists of ints from (row, item) pairs sorted by row (duplicates dropped)."""
    key = np.unique(rows.astype(np.int64) * (int(items.max(initial=0)) + 1) + items)
    width = int(items.max(initial=0)) + 1
    rows, items = key // width, key % width
    bounds = np.searchsorted(rows, np.arange(n + 1)).tolist()
    flat = items.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def quest_transactions(n_transactions: int = 100_000, *, avg_size: float = 10.0,
                       avg_pattern: float = 4.0, n_items: int = 1_000, n_patterns: int = 2_000,
                       correlation: float = 0.5, corruption: float = 0.5,
                       seed: int = 0) -> list[list[int]]:
    """Transactions of the IBM Quest shape (T10I4D100K with the defaults).

    As in Agrawal & Srikant (1994), section 4.1: ``n_patterns`` potentially frequent itemsets
    with Poisson(``avg_pattern``) sizes, each sharing an exponentially distributed fraction
    (mean ``correlation``) of its items with the previous one, weighted by Exponential(1) and
    given a corruption level ~ N(``corruption``, 0.1). A basket has Poisson(``avg_size``) size and
    is filled with patterns drawn by weight; each pattern loses items while a uniform draw stays
    below its corruption level; a pattern that overflows the size is kept half of the time, as
    in Quest (which carries the other half over to the next basket; here it is dropped).

    Returns
    -------
    list of list of int
        Item codes 0..n_items-1, sorted within a basket; empty baskets are possible.

    Examples
    --------
    >>> t = quest_transactions(1000, n_items=100, n_patterns=50, seed=1)
    >>> len(t), all(b == sorted(set(b)) for b in t)
    (1000, True)
    """
    where = "baskets.quest_transactions"
    check_interval(n_transactions, 1, None, name="n_transactions", where=where, integer=True,
                   closed="left")
    check_interval(n_items, 2, None, name="n_items", where=where, integer=True, closed="left")
    check_interval(n_patterns, 1, None, name="n_patterns", where=where, integer=True,
                   closed="left")
    check_interval(avg_size, 0, None, name="avg_size", where=where, closed="neither")
    check_interval(avg_pattern, 0, None, name="avg_pattern", where=where, closed="neither")
    rng = np.random.default_rng(seed)
    # potentially frequent itemsets, padded to the longest with -1
    sizes = np.maximum(1, rng.poisson(avg_pattern, n_patterns))
    width = int(sizes.max())
    shared = np.minimum(np.rint(rng.exponential(correlation, n_patterns) * sizes), sizes - 1)
    fresh = rng.integers(0, n_items, (n_patterns, width))
    patterns = fresh.copy()
    for i in range(1, n_patterns):  # one step per pattern (2,000), not per basket
        m = int(min(shared[i], sizes[i - 1]))
        if m:
            patterns[i, :m] = rng.choice(patterns[i - 1, :sizes[i - 1]], m, replace=False)
    patterns[np.arange(width)[None, :] >= sizes[:, None]] = -1
    weight = rng.exponential(1.0, n_patterns)
    weight /= weight.sum()
    level = np.clip(rng.normal(corruption, 0.1, n_patterns), 0.0, 1.0)

    target = rng.poisson(avg_size, n_transactions)
    picks_per = int(np.ceil(3 * avg_size / max(avg_pattern, 1.0))) + 2
    picks = rng.choice(n_patterns, size=(n_transactions, picks_per), p=weight)
    # corruption: drop j items with probability level**j (1 - level), from a random position
    u = rng.random((n_transactions, picks_per))
    c = level[picks]
    with np.errstate(divide="ignore"):
        dropped = np.where(c > 0, np.floor(np.log(np.maximum(u, 1e-300)) / np.log(
            np.where(c > 0, c, 0.5))), 0)
    dropped = np.where(c >= 1, sizes[picks], dropped)
    kept = np.maximum(0, sizes[picks] - dropped).astype(np.int64)
    # which pattern items stay: the first `kept` of a random permutation of the pattern's slots
    cells = patterns[picks]  # (n, picks, width)
    order = np.argsort(rng.random(cells.shape) + (cells < 0), axis=2)
    cells = np.take_along_axis(cells, order, axis=2)
    cells[np.arange(width)[None, None, :] >= kept[:, :, None]] = -1
    # fill up to the target size: patterns in draw order while the basket is not yet full
    before = np.cumsum(kept, axis=1) - kept
    over = before + kept > target[:, None]
    use = (before < target[:, None]) & ~(over & (rng.random(over.shape) < 0.5))
    cells[~use] = -1
    rows = np.broadcast_to(np.arange(n_transactions)[:, None, None], cells.shape)
    ok = cells >= 0
    return _as_lists(rows[ok], cells[ok], n_transactions)


def dense_transactions(n_transactions: int = 10_000, *, n_attributes: int = 50,
                       n_classes: int = 4, seed: int = 0) -> list[list[int]]:
    """A very dense set like UCI chess / mushroom: every basket holds half of the items.

    ``n_attributes`` binary attributes give ``2 * n_attributes`` items (``2a`` and ``2a + 1`` for
    the two values of attribute ``a``); every basket holds exactly one value per attribute. The
    values depend on a latent class (``n_classes``, unequal sizes), and within a class most
    attributes are nearly constant, as in chess's board positions: many long itemsets reach
    high support, which is what makes such sets hard.

    Returns
    -------
    list of list of int
        Exactly ``n_attributes`` sorted item codes per basket.

    Examples
    --------
    >>> t = dense_transactions(100, n_attributes=10, seed=1)
    >>> {len(b) for b in t}
    {10}
    """
    where = "baskets.dense_transactions"
    check_interval(n_transactions, 1, None, name="n_transactions", where=where, integer=True,
                   closed="left")
    check_interval(n_attributes, 1, None, name="n_attributes", where=where, integer=True,
                   closed="left")
    check_interval(n_classes, 1, None, name="n_classes", where=where, integer=True,
                   closed="left")
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.full(n_classes, 2.0))
    # P(value 1 | class): mostly near 0 or 1 (Beta(0.3, 0.3)), so attributes are near-constant
    prob = rng.beta(0.3, 0.3, (n_classes, n_attributes))
    cls = rng.choice(n_classes, size=n_transactions, p=share)
    value = rng.random((n_transactions, n_attributes)) < prob[cls]
    items = 2 * np.arange(n_attributes)[None, :] + value
    return items.tolist()
