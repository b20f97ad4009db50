"""Synthetic order lines for benchmarks and tests: Zipf-like item popularity plus planted patterns.

Vectorised (no Python loop per order), so a million orders take a couple of seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval

__all__ = ["zipf_order_lines"]


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
