"""Next-purchase rules across a customer's orders: "customers who bought X buy Y within N days".

A sequential rule, as arulesSequences' cSPADE finds them, read the way marketers ask:

* a customer's **anchor** for X is the first order holding X; it counts only when the data run
  at least ``within_days`` past it (otherwise the window is cut short: censored);
* a **hit**: an order holding Y later than the anchor and at most ``within_days`` after it;
* ``support``: hits over all customers; ``confidence``: hits over anchored customers;
* ``base_rate``: the same window after the first order of the customers who never bought X,
  i.e. how often Y is bought in N days anyway; ``lift`` = confidence / base_rate;
* ``median_lag_days``: days from the anchor to the first Y in the window.

Everything is vectorised: orders sorted by (customer, time), each anchor's window found with two
``searchsorted`` calls and expanded with ``np.repeat``; no loop per customer or per rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..errors import ParameterError
from .encode import Baskets

__all__ = ["SEQUENCE_COLUMNS", "next_purchase_rules", "sequence_findings"]

#: Columns of the next-purchase rules table, in order.
SEQUENCE_COLUMNS = ("antecedent", "consequent", "within_days", "customers", "anchored",
                    "hits", "support", "confidence", "base_rate", "lift", "median_lag_days")
_WHERE = "baskets.next_purchase_rules"
_DAY_S = 86_400  # seconds


def next_purchase_rules(baskets: Baskets, *, within_days: int = 60, antecedents=None,
                        consequents=None, min_support: float = 0.001,
                        min_confidence: float = 0.0, until=None) -> pd.DataFrame:
    """Rules "bought X, then Y within ``within_days`` days", one row per (X, Y), X != Y.

    Parameters
    ----------
    baskets : Baskets
        From :func:`~crmlib.baskets.make_baskets` with ``orders``, so ``baskets.baskets`` holds
        ``customer_id`` and ``ordered_at``.
    within_days : int, default=60
        The window after the anchor, in days (> 0).
    antecedents, consequents : list of item labels, optional
        Only these X (Y); default every item.
    min_support : float, default=0.001
        Keep rules whose support (hits / customers) reaches this, in [0, 1].
    min_confidence : float, default=0.0
    until : date-like, optional
        End of the observed data (windows ending later are censored); default the last order.

    Returns
    -------
    pandas.DataFrame
        :data:`SEQUENCE_COLUMNS`, by lift descending. ``attrs``: ``customers``,
        ``within_days``, ``until``.

    Raises
    ------
    ParameterError
        ``within_days`` not a positive int, an unknown item, or baskets without customers and
        dates.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 6], "customer_id": [1, 1, 2, 2, 3, 3],
    ...     "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-01", "2024-03-30",
    ...                                   "2024-01-01", "2024-02-01"])})
    >>> lines = pd.DataFrame({"order_id": [1, 2, 3, 4, 5, 6],
    ...                       "product_id": [10, 11, 10, 11, 12, 12]})
    >>> from crmlib.baskets import make_baskets
    >>> r = next_purchase_rules(make_baskets(lines, orders=orders), within_days=30,
    ...                         antecedents=[10], consequents=[11], until="2024-06-30")
    >>> r[["antecedent", "consequent", "anchored", "hits", "confidence", "median_lag_days"]]
      antecedent consequent  anchored  hits  confidence  median_lag_days
    0         10         11         2     1         0.5             19.0
    """
    if not isinstance(baskets, Baskets):
        raise ParameterError(f"{_WHERE}: 'baskets' must be Baskets; got "
                             f"{type(baskets).__name__}.", name="baskets")
    check_interval(within_days, 1, None, name="within_days", where=_WHERE, closed="left",
                   integer=True)
    check_interval(min_support, 0, 1, name="min_support", where=_WHERE)
    check_interval(min_confidence, 0, 1, name="min_confidence", where=_WHERE)
    missing = [c for c in ("customer_id", "ordered_at") if c not in baskets.baskets]
    if missing:
        raise ParameterError(
            f"{_WHERE}: the baskets lack {missing}; build them with make_baskets(lines, "
            "orders=orders) so each basket has its customer and date.", name="baskets")
    items = pd.Index(baskets.items)
    x_cols = _columns(items, antecedents, "antecedents")
    y_cols = _columns(items, consequents, "consequents")

    X = baskets.matrix
    cust, _ = pd.factorize(baskets.baskets["customer_id"].to_numpy())
    when = baskets.baskets["ordered_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    end_s = (int(pd.Timestamp(until).to_datetime64().astype("datetime64[s]").astype(np.int64))
             if until is not None else int(when.max()))
    window = int(within_days) * _DAY_S
    n_items = X.shape[1]
    n_customers = int(cust.max()) + 1 if len(cust) else 0

    # purchase events (customer, second, item), sorted by customer then time
    row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    ev_c, ev_t, ev_i = cust[row_of].astype(np.int64), when[row_of], X.indices.astype(np.int64)
    order = np.lexsort((ev_i, ev_t, ev_c))
    ev_c, ev_t, ev_i = ev_c[order], ev_t[order], ev_i[order]
    t0 = int(ev_t.min()) if len(ev_t) else 0
    span = int(ev_t.max()) - t0 + window + 1 if len(ev_t) else 1
    ev_key = ev_c * span + (ev_t - t0)

    # anchors: each customer's first purchase of each antecedent, with a full window
    first = np.unique(ev_c * n_items + ev_i, return_index=True)[1]
    is_x = np.zeros(n_items, dtype=bool)
    is_x[x_cols] = True
    sel = first[is_x[ev_i[first]] & (ev_t[first] + window <= end_s)]
    a_c, a_t, a_i = ev_c[sel], ev_t[sel], ev_i[sel]
    anchored = np.bincount(a_i, minlength=n_items)
    is_y = np.zeros(n_items, dtype=bool)
    is_y[y_cols] = True

    # hits: per anchor, the first purchase of each Y in (t, t + N]
    anchor, ev = _in_window(ev_key, a_c * span + (a_t - t0), window)
    y = ev_i[ev]
    ok = is_y[y] & (y != a_i[anchor])
    anchor, ev, y = anchor[ok], ev[ok], y[ok]
    firsts = np.unique(anchor * n_items + y, return_index=True)[1]  # events are time-ordered
    anchor, y = anchor[firsts], y[firsts]
    lag = (ev_t[ev[firsts]] - a_t[anchor]) / _DAY_S
    pair = a_i[anchor] * n_items + y
    order = np.lexsort((lag, pair))
    pair, lag = pair[order], lag[order]
    pairs, start, hits = np.unique(pair, return_index=True, return_counts=True)
    median = (lag[start + (hits - 1) // 2] + lag[start + hits // 2]) / 2

    # base rate: Y in the window after the first order, among customers who never bought X
    base_hits, base_den = _base_rates(ev_c, ev_t, ev_i, ev_key, span, t0, window, end_s,
                                      n_items, n_customers, is_x, is_y, pairs)
    x, yy = pairs // n_items, pairs % n_items
    with np.errstate(divide="ignore", invalid="ignore"):
        base = base_hits / base_den
        confidence = hits / anchored[x]
        lift = confidence / base
    out = pd.DataFrame({
        "antecedent": pd.Index(items[x], dtype=object), "consequent": pd.Index(items[yy],
                                                                               dtype=object),
        "within_days": int(within_days), "customers": n_customers, "anchored": anchored[x],
        "hits": hits, "support": hits / max(n_customers, 1), "confidence": confidence,
        "base_rate": base, "lift": lift, "median_lag_days": median,
    }, columns=list(SEQUENCE_COLUMNS))
    out = out[(out["support"] >= min_support) & (out["confidence"] >= min_confidence)]
    # a zero base rate makes the lift infinite: those rules go after the measurable ones
    rank = out["lift"].where(np.isfinite(out["lift"]), -1.0)
    out = out.assign(_rank=rank).sort_values(["_rank", "hits"], ascending=False, kind="stable")
    out = out.drop(columns="_rank").reset_index(drop=True)
    out.attrs.update(customers=n_customers, within_days=int(within_days),
                     until=pd.Timestamp(end_s, unit="s"))
    return out


def _in_window(ev_key: np.ndarray, a_key: np.ndarray, window: int):
    """(anchor index, event index) for every event with key in (a_key, a_key + window]."""
    lo = np.searchsorted(ev_key, a_key, side="right")
    hi = np.searchsorted(ev_key, a_key + window, side="right")
    counts = hi - lo
    anchor = np.repeat(np.arange(len(a_key)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return anchor, lo[anchor] + offset


def _base_rates(ev_c, ev_t, ev_i, ev_key, span, t0, window, end_s, n_items, n_customers, is_x,
                is_y, pairs):
    """Per (X, Y) pair: customers who never bought X with Y in the window after their first
    order (numerator) and such customers with a full window (denominator)."""
    first = np.unique(ev_c, return_index=True)[1]
    first = first[ev_t[first] + window <= end_s]
    f_c, f_t = ev_c[first], ev_t[first]
    eligible = np.zeros(n_customers, dtype=bool)
    eligible[f_c] = True
    anchor, ev = _in_window(ev_key, f_c * span + (f_t - t0), window)
    y = ev_i[ev]
    keep = is_y[y]
    hit_key = np.unique(f_c[anchor[keep]] * n_items + y[keep])  # (customer, Y) base hits
    hit_c, hit_y = hit_key // n_items, hit_key % n_items
    all_hits = np.bincount(hit_y, minlength=n_items)
    # what each customer ever bought (antecedents only)
    ever = np.unique(ev_c * n_items + ev_i)
    ever_c, ever_i = ever // n_items, ever % n_items
    sel = is_x[ever_i]
    ever_c, ever_i = ever_c[sel], ever_i[sel]
    x_buyers = np.bincount(ever_i[eligible[ever_c]], minlength=n_items)
    # base hits of customers who bought X: join hits and purchases on the customer
    by_c = np.searchsorted(ever_c, np.arange(n_customers + 1))
    counts = by_c[hit_c + 1] - by_c[hit_c]
    rep = np.repeat(np.arange(len(hit_c)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    both = ever_i[by_c[hit_c][rep] + offset] * n_items + hit_y[rep]
    both = np.sort(both)
    x, yy = pairs // n_items, pairs % n_items
    lo = np.searchsorted(both, pairs, side="left")
    hi = np.searchsorted(both, pairs, side="right")
    numerator = all_hits[yy] - (hi - lo)
    denominator = int(eligible.sum()) - x_buyers[x]
    return numerator.astype(float), denominator.astype(float)


def _columns(items: pd.Index, wanted, name: str) -> np.ndarray:
    if wanted is None:
        return np.arange(len(items))
    wanted = [wanted] if isinstance(wanted, str) or not np.iterable(wanted) else list(wanted)
    cols = items.get_indexer(wanted)
    if (cols < 0).any():
        unknown = [w for w, c in zip(wanted, cols, strict=True) if c < 0]
        raise ParameterError(f"{_WHERE}: unknown item(s) in '{name}': {unknown!r}; not among "
                             f"the {len(items):,} items of the baskets.", name=name)
    return cols


def sequence_findings(rules: pd.DataFrame, *, top_n: int = 3) -> list[str]:
    """Sentences for the strongest next-purchase rules (finite lift), e.g. for a report.

    >>> r = pd.DataFrame({"antecedent": ["A"], "consequent": ["B"], "within_days": [30],
    ...                   "confidence": [0.3], "base_rate": [0.01], "lift": [30.0],
    ...                   "median_lag_days": [12.0], "hits": [40]})
    >>> sequence_findings(r)[0]
    '30% of customers who bought A bought B within 30 days, a median 12 days later: 30.0x the 1.0% of other customers.'
    """
    check_columns(rules, ("antecedent", "consequent", "within_days", "confidence", "base_rate",
                          "lift", "median_lag_days"), where="baskets.sequence_findings")
    shown = rules[np.isfinite(rules["lift"])].head(top_n)
    return [f"{r.confidence:.0%} of customers who bought {r.antecedent} bought {r.consequent} "
            f"within {r.within_days} days, a median {r.median_lag_days:.0f} days later: "
            f"{r.lift:.1f}x the {r.base_rate:.1%} of other customers."
            for r in shown.itertuples()]
