"""The business rules every report shares, each written once (see docs/definitions.md).

Every analysis, the cube, the KPIs, the mart, the Spark code and the notebooks take these from here,
so two reports of the same run cannot disagree on what a sale is, which day a date falls on, or
how a rule is told.

- **Order statuses.** :data:`ORDER_STATUSES` is the vocabulary (what the importer accepts).
  An order counts, as revenue and as a purchase alike, when its status is in
  :data:`REVENUE_STATUSES` (``completed`` and ``open``); ``cancelled`` and ``returned`` never count
  (:data:`NON_PURCHASE_STATUSES`). ``open`` means placed and not yet fulfilled: it counts on the
  day it was ordered, like a completed order, and stops counting if it is later cancelled or
  returned. Revenue and purchases are the same set on purpose: the KPIs, the cube, RFM monetary,
  the profit tiers and the mart then agree to the cent for the same period.
  Features *as of a past date* (credit, targeting) count every placed order whatever its status,
  because the CRM keeps only an order's current status, which may have changed after that date.
- **Line revenue** (:func:`line_revenue`): ``quantity * unit_price * (1 - discount)``.
- **Dates** (:func:`as_timestamp`, :func:`as_day`, :func:`wall_clock`): every ``as_of``, cutoff,
  ``since`` and ``until`` is wall-clock time. A time-zone-aware value keeps its wall-clock time and
  day and drops the zone (``2025-03-01 23:30+05:00`` is 1 March 23:30, never 1 March 18:30 UTC),
  the way the CRM stores its own timestamps.
- **Wilson interval** (:func:`wilson_interval`) for every rate with an interval.
- **Rule text** (:func:`items_text`, :func:`rule_text`): "customers who buy X are N times as
  likely to buy Y".
- **Measures and levels** of the sales cube (:data:`MEASURES`, :data:`HIERARCHIES`,
  :data:`LEVELS`, :data:`DATE_LEVELS`, :data:`MEASURE_TEXT`).

>>> line_revenue(2, 10.0, 0.25)
15.0
>>> as_day("2025-03-01T23:30:00+05:00", name="as_of", where="example")
Timestamp('2025-03-01 00:00:00')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validation import check_interval
from .errors import ParameterError

__all__ = [
    "ADDITIVE", "DATE_LEVELS", "DISTINCT", "HIERARCHIES", "LEVELS", "MEASURES", "MEASURE_TEXT",
    "NON_PURCHASE_STATUSES", "ORDER_STATUSES", "PURCHASE_STATUSES", "REVENUE_STATUSES", "RATIOS",
    "as_day", "as_timestamp", "counts_as_revenue", "items_text", "line_revenue", "rule_text",
    "wall_clock", "wilson_interval",
]

# ---------------------------------------------------------------------- order statuses
#: Every order status a CRM may hold (the importer accepts exactly these).
ORDER_STATUSES: tuple[str, ...] = ("completed", "open", "cancelled", "returned")
#: Statuses whose orders are revenue: completed, and open (placed, not yet fulfilled).
REVENUE_STATUSES: tuple[str, ...] = ("completed", "open")
#: Statuses whose orders are purchases (RFM, CLV, profit, pricing): the same set as revenue.
PURCHASE_STATUSES: tuple[str, ...] = REVENUE_STATUSES
#: Statuses that are never revenue nor a purchase (the sample marks a refunded order 'returned').
NON_PURCHASE_STATUSES: tuple[str, ...] = ("cancelled", "returned")


def counts_as_revenue(status) -> np.ndarray:
    """Boolean mask: which of ``status`` (a Series or array of statuses) count as revenue.

    >>> counts_as_revenue(pd.Series(["completed", "open", "returned"])).tolist()
    [True, True, False]
    """
    return np.asarray(pd.Series(status).isin(REVENUE_STATUSES).to_numpy(dtype=bool))


# ---------------------------------------------------------------------- line revenue
def line_revenue(quantity, unit_price, discount):
    """Revenue of order lines after discount: ``quantity * unit_price * (1 - discount)``.

    Parameters
    ----------
    quantity, unit_price, discount : scalar, array-like or pandas.Series
        ``discount`` is a fraction of the price (0.1 = 10% off).

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Same shape as the inputs, float64.
    """
    return quantity * unit_price * (1.0 - discount)


# ---------------------------------------------------------------------- dates
def as_timestamp(value, *, name: str, where: str) -> pd.Timestamp:
    """A date parameter (``as_of``, ``cutoff``, ``since``, ``until``) as a wall-clock Timestamp.

    A time-zone-aware value keeps its wall-clock time and drops its zone.

    Raises
    ------
    ParameterError
        ``value`` is None, a bool, or not a date.

    >>> as_timestamp("2025-03-01 23:30+05:00", name="cutoff", where="example")
    Timestamp('2025-03-01 23:30:00')
    """
    bad = ParameterError(f"{where}: '{name}' must be a date such as '2025-03-01'; got {value!r}.",
                         name=name)
    if value is None or isinstance(value, bool):
        raise bad
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise bad from None
    if ts is pd.NaT or pd.isna(ts):
        raise bad
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def as_day(value, *, name: str = "as_of", where: str, default=None) -> pd.Timestamp:
    """A date parameter as its day (midnight, wall clock); ``None`` takes the day of ``default``.

    Raises
    ------
    ParameterError
        ``value`` is not a date, or ``value`` and ``default`` are both missing.
    """
    if value is None:
        if default is None or pd.isna(default):
            raise ParameterError(f"{where}: '{name}' is None and there is no order to take a date from.",
                                 name=name)
        value = default
    return as_timestamp(value, name=name, where=where).normalize()


def wall_clock(values) -> pd.Series:
    """A datetime64 Series without time zone, each value at its wall-clock time (strings are parsed)."""
    out = pd.to_datetime(values)
    if not isinstance(out, pd.Series):
        out = pd.Series(out)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out


# ---------------------------------------------------------------------- rates
def wilson_interval(events, trials, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a rate ``events / trials``.

    Parameters
    ----------
    events, trials : array-like
        Counts; where ``trials`` is 0 the interval is NaN.
    confidence : float, default=0.95
        In (0, 1).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray of float64

    Examples
    --------
    >>> low, high = wilson_interval([5], [100])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.0215, 0.1118)
    """
    from scipy.stats import norm

    check_interval(confidence, 0, 1, name="confidence", where="wilson_interval", closed="neither")
    k = np.atleast_1d(np.asarray(events, float))
    n = np.atleast_1d(np.asarray(trials, float))
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


# ---------------------------------------------------------------------- rule text
def items_text(itemset, sep: str = ", ") -> str:
    """An itemset (or one item) as text, items sorted: ``{'beer', 'diapers'}`` -> 'beer, diapers'."""
    if isinstance(itemset, str) or not hasattr(itemset, "__iter__"):
        return str(itemset)
    try:
        return sep.join(str(x) for x in sorted(itemset))
    except TypeError:  # items of mixed types
        return sep.join(sorted(str(x) for x in itemset))


def rule_text(antecedents, consequents, lift: float, *, sep: str = " and ") -> str:
    """The sentence every report uses for a rule (lower case, no full stop).

    >>> rule_text(frozenset({"diapers"}), frozenset({"beer"}), 2.04)
    'customers who buy diapers are 2.0 times as likely to buy beer'
    """
    return (f"customers who buy {items_text(antecedents, sep)} are {lift:.1f} times as likely to buy "
            f"{items_text(consequents, sep)}")


# ---------------------------------------------------------------------- measures and levels
#: hierarchy -> its levels, top to bottom (every level is also a column name in cube results)
HIERARCHIES: dict[str, tuple[str, ...]] = {
    "date": ("year", "quarter", "month", "day"),
    "week": ("week",),
    "product": ("category", "subcategory", "product"),
    "price_band": ("price_band",),
    "customer": ("customer_region", "customer"),
    "segment": ("segment",),
    "channel": ("channel_kind", "channel"),
    "rep": ("rep_region", "manager", "rep"),
}
#: level -> hierarchy
LEVELS: dict[str, str] = {lvl: h for h, levels in HIERARCHIES.items() for lvl in levels}
#: date level -> pandas Period frequency
DATE_LEVELS: dict[str, str] = {"year": "Y", "quarter": "Q", "month": "M", "week": "W-SUN", "day": "D"}
#: measures that add up along every hierarchy
ADDITIVE: tuple[str, ...] = ("revenue", "margin", "cost", "quantity", "gross", "discount", "lines")
#: distinct counts: exact for every cell, but a parent is not the sum of its children
DISTINCT: tuple[str, ...] = ("orders", "customers")
MEASURES: tuple[str, ...] = ADDITIVE + DISTINCT
#: ratio -> (numerator, denominator), computed from summed measures, never summed themselves
RATIOS: dict[str, tuple[str, str]] = {"margin_pct": ("margin", "revenue"), "avg_price": ("revenue", "quantity"),
                                      "discount_pct": ("discount", "gross"),
                                      "order_value": ("revenue", "orders")}
#: what each measure means, for docs and report captions
MEASURE_TEXT: dict[str, str] = {
    "revenue": "quantity x unit_price x (1 - discount) of the lines of orders that count as revenue",
    "gross": "quantity x unit_price (revenue + discount: at the line's list price)",
    "discount": "the discount amount: gross - revenue",
    "cost": "quantity x the product's unit_cost",
    "margin": "revenue - cost",
    "quantity": "units sold",
    "lines": "order lines",
    "orders": "distinct orders",
    "customers": "distinct customers",
}
