"""RFM: recency, frequency and monetary value per customer, quintile scores and named segments.

The named segments come from a documented score map: a 5 x 5 grid that gives a segment name to each
(R score, X score) cell, where X is the FM score (``round_half_up((F + M) / 2)``) for the ``"rfm"``
map or the F score for the ``"rf"`` map. Both grids are in :data:`SEGMENT_MAPS`, printed in
docs/segments.md, and can be replaced by any grid of the same shape.

Map ``"rfm"`` (11 segments; rows R = 5 .. 1, columns FM = 1 .. 5)::

    R=5  New             Potential Loyalist  Potential Loyalist  Champions        Champions
    R=4  Promising       Potential Loyalist  Potential Loyalist  Loyal            Champions
    R=3  About to Sleep  Need Attention      Need Attention      Loyal            Loyal
    R=2  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
    R=1  Lost            Lost                At Risk             Can't Lose Them  Can't Lose Them

Map ``"rf"`` (the widely used 10-segment R x F map; rows R = 5 .. 1, columns F = 1 .. 5)::

    R=5  New             Potential Loyalist  Potential Loyalist  Champions        Champions
    R=4  Promising       Potential Loyalist  Potential Loyalist  Loyal            Loyal
    R=3  About to Sleep  About to Sleep      Need Attention      Loyal            Loyal
    R=2  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
    R=1  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them

Customers without a purchase on or before ``as_of`` (listed only when a ``customers`` frame is
given) get scores 0 and the segment ``"No Purchase"``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validation import check_frame, check_one_of, check_type
from ..definitions import as_day, wall_clock
from ..errors import ParameterError

__all__ = [
    "NO_PURCHASE",
    "RFM_COLUMNS",
    "SEGMENT_MAPS",
    "SEGMENT_ORDER",
    "TRANSACTION_COLUMNS",
    "assign_segments",
    "rfm_scores",
    "rfm_table",
    "segment_summary",
]

#: Columns the RFM functions need in the transaction frame (see :func:`~.features.order_values`).
TRANSACTION_COLUMNS: tuple[str, ...] = ("customer_id", "ordered_at", "amount")
#: Columns of the frame :func:`rfm_table` returns.
RFM_COLUMNS: tuple[str, ...] = (
    "customer_id", "first_purchase", "last_purchase", "recency", "frequency", "monetary",
)
#: Segment given to customers with no purchase.
NO_PURCHASE = "No Purchase"

_CH, _LO, _PL, _NE, _PR = "Champions", "Loyal", "Potential Loyalist", "New", "Promising"
_NA, _AS, _AR, _CL = "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them"
_HI, _LT = "Hibernating", "Lost"

#: Score maps: name -> grid whose row i is R score 5 - i and column j is X score j + 1.
SEGMENT_MAPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "rfm": (
        (_NE, _PL, _PL, _CH, _CH),
        (_PR, _PL, _PL, _LO, _CH),
        (_AS, _NA, _NA, _LO, _LO),
        (_HI, _HI, _AR, _AR, _CL),
        (_LT, _LT, _AR, _CL, _CL),
    ),
    "rf": (
        (_NE, _PL, _PL, _CH, _CH),
        (_PR, _PL, _PL, _LO, _LO),
        (_AS, _AS, _NA, _LO, _LO),
        (_HI, _HI, _AR, _AR, _CL),
        (_HI, _HI, _AR, _AR, _CL),
    ),
}
#: Display order of the segments, best first.
SEGMENT_ORDER: tuple[str, ...] = (_CH, _LO, _PL, _NE, _PR, _NA, _AS, _AR, _CL, _HI, _LT, NO_PURCHASE)


def rfm_table(transactions, *, as_of=None, customers=None) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer as of a reference day.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per order with ``customer_id, ordered_at, amount`` (the output of
        :func:`~crmlib.segments.order_values`).
    as_of : date-like, optional
        Reference day: orders placed on or before it count, later ones are ignored. Default: the
        day of the last order.
    customers : pandas.DataFrame, optional
        With ``customer_id``: every listed customer gets a row, also those without a purchase.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``; ``first_purchase`` and ``last_purchase`` (datetime64, NaT without
        a purchase); ``recency`` (float, days from the last purchase to ``as_of``, NaN without a
        purchase); ``frequency`` (int, orders with a positive amount); ``monetary`` (float, net
        sum of all amounts, so refunds are subtracted and can make it negative). A purchase is an
        order with a positive amount; zero-amount orders and refunds are not purchases. Customers
        whose only orders are refunds or zero appear only through ``customers``, with frequency 0.
        Sorted by ``customer_id``; empty with these columns when there is nothing to show.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-08", "2025-01-05"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> rfm_table(tx, as_of="2025-01-10")[["customer_id", "recency", "frequency", "monetary"]]
       customer_id  recency  frequency  monetary
    0            1      2.0          2      30.0
    1            2      5.0          1       5.0
    """
    where = "segments.rfm_table"
    check_frame(transactions, TRANSACTION_COLUMNS, where=where, name="transactions")
    if customers is not None:
        check_frame(customers, ("customer_id",), where=where, name="customers")
    tx = transactions[list(TRANSACTION_COLUMNS)].copy()
    tx["ordered_at"] = wall_clock(tx["ordered_at"])
    tx["amount"] = tx["amount"].astype(float)
    day = as_day(as_of, where=where, default=tx["ordered_at"].max() if len(tx) else None)
    tx = tx[tx["ordered_at"].dt.normalize() <= day]
    bought = tx[tx["amount"] > 0]
    gb = bought.groupby("customer_id")
    out = pd.DataFrame({
        "first_purchase": gb["ordered_at"].min(),
        "last_purchase": gb["ordered_at"].max(),
        "frequency": gb.size(),
    })
    out["monetary"] = tx.groupby("customer_id")["amount"].sum().reindex(out.index)
    if customers is not None:
        ids = pd.Index(pd.unique(customers["customer_id"]), name="customer_id")
        out = out.reindex(ids)
        net = tx.groupby("customer_id")["amount"].sum()
        out["monetary"] = net.reindex(out.index).fillna(0.0)
    out.index = out.index.rename("customer_id")
    out["frequency"] = out["frequency"].fillna(0).astype(int)
    out["monetary"] = out["monetary"].astype(float)
    out["first_purchase"] = pd.to_datetime(out["first_purchase"])
    out["last_purchase"] = pd.to_datetime(out["last_purchase"])
    out["recency"] = (day - out["last_purchase"].dt.normalize()).dt.days.astype(float)
    out = out.reset_index().sort_values("customer_id", kind="stable").reset_index(drop=True)
    return out[list(RFM_COLUMNS)]


def _quintile(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Score 1..5 from the percentile rank (ties share a score): ceil(5 * rank / n)."""
    v = values if higher_is_better else -values
    pct = v.rank(method="average", pct=True)
    return np.ceil(pct * 5).clip(1, 5).astype(int)


def rfm_scores(rfm, *, segment_map="rfm") -> pd.DataFrame:
    """Add quintile scores R, F, M (1 to 5, 5 best) and the named segment to an RFM table.

    Scores are ``ceil(5 * percentile rank)`` among customers with a purchase, ties sharing the
    average rank, so equal values always get equal scores (many one-time buyers share one F).
    Recency scores higher when more recent.

    Parameters
    ----------
    rfm : pandas.DataFrame
        Output of :func:`rfm_table` (``customer_id, recency, frequency, monetary``).
    segment_map : {'rfm', 'rf'} or tuple of 5 tuples of 5 str, default='rfm'
        The score map (see the module docstring): a name in :data:`SEGMENT_MAPS` or a grid.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``R``, ``F``, ``M``, ``FM`` (int; 0 without a purchase),
        ``rfm_score`` (str such as '545') and ``segment`` (str; 'No Purchase' without a purchase).
        The input is not changed.

    Examples
    --------
    >>> rfm = pd.DataFrame({"customer_id": [1, 2], "recency": [1.0, 50.0], "frequency": [5, 1],
    ...                     "monetary": [500.0, 10.0]})
    >>> rfm_scores(rfm)[["customer_id", "rfm_score", "segment"]]  # doctest: +NORMALIZE_WHITESPACE
       customer_id rfm_score     segment
    0            1       555   Champions
    1            2       333  Need Attention
    """
    where = "segments.rfm_scores"
    check_frame(rfm, ("customer_id", "recency", "frequency", "monetary"), where=where, name="rfm")
    grid = resolve_segment_map(segment_map, where=where)
    out = rfm.copy()
    active = out["frequency"] > 0
    for col, name, better in (("recency", "R", False), ("frequency", "F", True), ("monetary", "M", True)):
        score = pd.Series(0, index=out.index, dtype=int)
        if active.any():
            score.loc[active] = _quintile(out.loc[active, col].astype(float), better)
        out[name] = score
    out["FM"] = np.where(active, np.floor((out["F"] + out["M"]) / 2 + 0.5), 0).astype(int)
    out["rfm_score"] = (out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str))
    x = out["FM"] if segment_map != "rf" else out["F"]
    out["segment"] = assign_segments(out["R"], x, segment_map=grid)
    return out


def resolve_segment_map(segment_map, *, where: str):
    """The 5 x 5 grid of segment names for 'rfm', 'rf' or a given grid (checked); shared with Spark."""
    if isinstance(segment_map, str):
        check_one_of(segment_map, SEGMENT_MAPS, name="segment_map", where=where)
        return SEGMENT_MAPS[segment_map]
    check_type(segment_map, (tuple, list), name="segment_map", where=where,
               type_name=f"one of {list(SEGMENT_MAPS)} or a 5 x 5 grid of segment names")
    if len(segment_map) != 5 or any(len(row) != 5 for row in segment_map):
        raise ParameterError(
            f"{where}: 'segment_map' must be a 5 x 5 grid (rows R = 5 .. 1, columns 1 .. 5); "
            f"got {len(segment_map)} rows.", name="segment_map")
    return tuple(tuple(str(c) for c in row) for row in segment_map)


def assign_segments(r, x, *, segment_map="rfm") -> pd.Series:
    """Segment name for each pair of scores (R, X) from a score map; score 0 gives 'No Purchase'.

    Parameters
    ----------
    r, x : pandas.Series of int
        R score and the column score (FM for the 'rfm' map, F for the 'rf' map), 0 to 5.
    segment_map : {'rfm', 'rf'} or tuple of 5 tuples of 5 str, default='rfm'
        Name in :data:`SEGMENT_MAPS` or a grid whose row i is R = 5 - i and column j is X = j + 1.

    Returns
    -------
    pandas.Series of str
        Aligned with ``r``.

    Examples
    --------
    >>> assign_segments(pd.Series([5, 1, 0]), pd.Series([5, 1, 0])).tolist()
    ['Champions', 'Lost', 'No Purchase']
    """
    grid = resolve_segment_map(segment_map, where="segments.assign_segments")
    lookup = {(5 - i, j + 1): name for i, row in enumerate(grid) for j, name in enumerate(row)}
    pairs = zip(pd.Series(r).astype(int), pd.Series(x).astype(int), strict=True)
    return pd.Series([lookup.get(p, NO_PURCHASE) for p in pairs], index=pd.Series(r).index,
                     dtype=object, name="segment")


def segment_summary(scored) -> pd.DataFrame:
    """Size, revenue share and average value of each segment.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of :func:`rfm_scores` (``customer_id, recency, frequency, monetary, segment``).

    Returns
    -------
    pandas.DataFrame
        One row per segment present, best segment first (:data:`SEGMENT_ORDER`, then any custom
        names alphabetically): ``segment`` (str), ``customers`` (int), ``customer_share`` (float),
        ``revenue`` (float, net), ``revenue_share`` (float; of the total net revenue, NaN if the
        total is not positive), ``avg_monetary``, ``avg_frequency``, ``avg_recency`` (float, days).

    Examples
    --------
    >>> scored = pd.DataFrame({"customer_id": [1, 2], "recency": [1.0, 9.0],
    ...     "frequency": [2, 1], "monetary": [30.0, 10.0], "segment": ["Champions", "Lost"]})
    >>> segment_summary(scored)[["segment", "customers", "revenue_share"]]
         segment  customers  revenue_share
    0  Champions          1           0.75
    1       Lost          1           0.25
    """
    where = "segments.segment_summary"
    check_frame(scored, ("customer_id", "recency", "frequency", "monetary", "segment"), where=where,
                name="scored")
    g = scored.groupby(scored["segment"].astype(object))
    out = pd.DataFrame({
        "customers": g["customer_id"].nunique(),
        "revenue": g["monetary"].sum().astype(float),
        "avg_monetary": g["monetary"].mean().astype(float),
        "avg_frequency": g["frequency"].mean().astype(float),
        "avg_recency": g["recency"].mean().astype(float),
    })
    total_customers = out["customers"].sum()
    total_revenue = out["revenue"].sum()
    out["customer_share"] = out["customers"] / total_customers if total_customers else np.nan
    out["revenue_share"] = out["revenue"] / total_revenue if total_revenue > 0 else math.nan
    rank = {name: i for i, name in enumerate(SEGMENT_ORDER)}
    order = sorted(out.index, key=lambda s: (rank.get(s, len(rank)), str(s)))
    out = out.loc[order].rename_axis("segment").reset_index()
    cols = ["segment", "customers", "customer_share", "revenue", "revenue_share", "avg_monetary",
            "avg_frequency", "avg_recency"]
    out = out[cols]
    out["customers"] = out["customers"].astype(int)
    return out
