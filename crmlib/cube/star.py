"""The sales star schema: one fact row per order line, five dimensions with their hierarchies.

:func:`build_star` takes the canonical tables as DataFrames (as ``crmlib.connect(url).orders()``
etc. return them) and returns a :class:`Star`. Nothing is cached between stars: build a new one
from freshly loaded tables and the cube follows the database.

Fact (``Star.fact``, one row per order line of an order with a kept status)
    ``order_id``, ``order_key`` (row of the order in the source orders frame); dimension keys ``date_key`` (days since 1970-01-01), ``product_key``,
    ``customer_key``, ``channel_key``, ``rep_key`` (row positions in the dimension frames); and
    the measures ``quantity``, ``revenue`` (quantity x unit_price x (1 - discount), as
    :func:`crmlib.definitions.line_revenue`), ``discount`` (the discount amount: quantity x unit_price
    - revenue) and ``cost`` (quantity x the product's unit_cost). The cube also reports ``gross``
    (revenue + discount, at list price of the line), ``margin`` (revenue - cost), ``lines``, and
    the distinct counts ``orders`` and ``customers``.

Hierarchies (top to bottom; every level is also a column name in the cube's results)
    ========== =====================================================
    date       year > quarter > month > day
    week       week (ISO weeks, Monday to Sunday)
    product    category > subcategory > product
    price_band price_band (budget / standard / premium)
    customer   customer_region > customer (customer_id)
    segment    segment (only when ``segments`` is given)
    channel    channel_kind (store / online / phone) > channel
    rep        rep_region > manager > rep
    ========== =====================================================

Date levels come out as :class:`pandas.Period` values (``2025Q2``, ``2025-06``); the other levels
as categoricals of labels (names; customers by id). Missing attributes (a customer without a
region, an order without a rep) become the member ``"(unknown)"``, so every fact row lands in
exactly one member of every level and children always sum to their parent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._validation import check_columns, check_one_of, examples
from ..definitions import (
    ADDITIVE,
    DATE_LEVELS,
    DISTINCT,
    HIERARCHIES,
    LEVELS,
    MEASURES,
    ORDER_STATUSES,
    REVENUE_STATUSES,
    line_revenue,
)
from ..errors import DataContractError, ParameterError

__all__ = [
    "ADDITIVE",
    "DATE_LEVELS",
    "DISTINCT",
    "HIERARCHIES",
    "LEVELS",
    "MEASURES",
    "Star",
    "NA_CODE",
    "UNKNOWN",
    "build_star",
    "date_dimension",
    "dimensions",
    "labels",
    "load_star",
    "with_segments",
]

#: hierarchy -> dimension frame holding its levels
DIMENSION = {"date": "date", "week": "date", "product": "product", "price_band": "product",
             "customer": "customer", "segment": "customer", "channel": "channel", "rep": "rep"}
UNKNOWN = "(unknown)"
#: integer code of a missing member (pandas' NaT ordinal, so Period arrays read it as NaT)
NA_CODE = np.iinfo(np.int64).min

ORDER_COLUMNS = ("order_id", "customer_id", "channel_id", "rep_id", "ordered_at", "status")
LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price", "discount")
PRODUCT_COLUMNS = ("product_id", "name", "category", "subcategory", "unit_cost", "price_band")
CHANNEL_COLUMNS = ("channel_id", "name", "kind")
REP_COLUMNS = ("rep_id", "name", "region", "manager_id")
CUSTOMER_COLUMNS = ("customer_id", "region")
TARGET_COLUMNS = ("rep_id", "month", "target_amount")

DIM_KEY = {"date": "date_key", "product": "product_key", "customer": "customer_key",
           "channel": "channel_key", "rep": "rep_key"}


@dataclass(frozen=True, eq=False)
class Star:
    """A sales star schema; make one with :func:`build_star` or :func:`load_star`.

    Attributes
    ----------
    fact : pandas.DataFrame
        One row per order line (columns in the module docstring).
    dims : dict of str to pandas.DataFrame
        ``date`` (one row per day from the first to the last order day: integer period ordinals
        ``day``, ``week``, ``month``, ``quarter``, ``year``), ``product``, ``customer``,
        ``channel``, ``rep``: the source key column and one categorical column per level. Row
        ``i`` of a dimension is the member with key ``i`` in the fact (date: ``day0 + i``).
    targets : pandas.DataFrame
        ``rep_key``, ``month`` (Period[M]), ``target_amount``; empty when no targets were given.
    day0 : int
        ``date_key`` of the first row of the date dimension.
    n_orders : int
        Rows of the source orders frame (``order_key`` is below it).
    filters : dict
        Slices and dices applied to the fact so far (level -> tuple of members).
    statuses : tuple of str
        Order statuses kept in the fact.
    date_grain : {'day', 'month'}
        The finest date of the fact: 'month' for a summary star (its ``date_key`` is the month's
        first day), which cannot group by day or week.
    counter : callable, optional
        Set on a *summary star* (:func:`crmlib.cube.spark.summary_star`), whose fact holds sums
        per combination of dimension keys (with the columns ``lines`` and ``orders``, the orders
        whose first line falls in the row) instead of order lines. Distinct counts that do not add
        up (customers; orders per product level) are asked of it: ``counter(star, levels, name,
        allowed)`` returns the level codes and the count ``name`` ('orders' or 'customers') per
        group, counted where the order lines are.
    """

    fact: pd.DataFrame
    dims: dict[str, pd.DataFrame]
    targets: pd.DataFrame
    day0: int
    n_orders: int = 0
    filters: dict = field(default_factory=dict)
    statuses: tuple[str, ...] = REVENUE_STATUSES
    date_grain: str = "day"
    counter: Callable | None = field(default=None, repr=False)

    @property
    def is_summary(self) -> bool:
        """Whether the fact holds pre-aggregated rows (a summary star) rather than order lines."""
        return self.counter is not None

    @property
    def levels(self) -> list[str]:
        """Level names available in this star (``segment`` only when segments were given)."""
        return [lvl for lvl in LEVELS if self.has_level(lvl)]

    def has_level(self, level: str) -> bool:
        return level in LEVELS and level in self.dims[DIMENSION[LEVELS[level]]].columns

    def __len__(self) -> int:
        return len(self.fact)

    def __repr__(self) -> str:
        filt = f", filters={self.filters}" if self.filters else ""
        rows = (f"{len(self.fact):,} summary rows by {self.date_grain}" if self.is_summary
                else f"{len(self.fact):,} order lines")
        return f"<Star {rows}, statuses={list(self.statuses)}{filt}>"

    # -- codes: what the engines group by ------------------------------------------------
    def level_codes(self, level: str) -> np.ndarray:
        """Integer code of ``level`` per row of its dimension (period ordinals for date levels)."""
        dim = self.dims[DIMENSION[LEVELS[level]]]
        col = dim[level]
        if level in DATE_LEVELS:
            return col.to_numpy()
        return col.cat.codes.to_numpy().astype(np.int32)

    def decode(self, level: str, codes) -> pd.api.extensions.ExtensionArray:
        """Labels for integer codes of ``level``; the code ``NA_CODE`` (or a pandas NA) is missing."""
        if not (isinstance(codes, np.ndarray) and codes.dtype.kind in "iu"):
            codes = pd.array(codes, dtype="Int64").fillna(NA_CODE)
        codes = np.asarray(codes, dtype=np.int64)
        if level in DATE_LEVELS:
            return pd.arrays.PeriodArray(codes, dtype=pd.PeriodDtype(DATE_LEVELS[level]))
        categories = self.dims[DIMENSION[LEVELS[level]]][level].cat.categories
        return pd.Categorical.from_codes(np.where(codes == NA_CODE, -1, codes), categories=categories)

    def members(self, level: str) -> pd.Index:
        """Every member of ``level`` (in the dimension, not only those with sales)."""
        check_level(self, level, where="Star.members")
        if level in DATE_LEVELS:
            return pd.PeriodIndex.from_ordinals(np.unique(self.level_codes(level)),
                                                freq=DATE_LEVELS[level])
        return self.dims[DIMENSION[LEVELS[level]]][level].cat.categories

    def with_fact(self, fact: pd.DataFrame, filters: Mapping) -> Star:
        return replace(self, fact=fact, filters=dict(filters))


def check_level(star: Star, level, *, where: str) -> str:
    """Raise ParameterError unless ``level`` is a level of ``star``."""
    check_one_of(level, star.levels, name="level", where=where)
    return level


def build_star(
    orders: pd.DataFrame,
    order_lines: pd.DataFrame,
    products: pd.DataFrame,
    channels: pd.DataFrame,
    sales_reps: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    rep_targets: pd.DataFrame | None = None,
    segments: str | pd.DataFrame | None = None,
    statuses: tuple[str, ...] = REVENUE_STATUSES,
) -> Star:
    """Build the sales star schema from canonical tables.

    Parameters
    ----------
    orders, order_lines, products, channels, sales_reps : pandas.DataFrame
        Canonical tables (columns ``ORDER_COLUMNS``, ``LINE_COLUMNS``, ...; extra columns ignored).
    customers : pandas.DataFrame, optional
        ``customer_id``, ``region`` (and the segment column if ``segments`` names one). Without
        it every customer's region is ``"(unknown)"``.
    rep_targets : pandas.DataFrame, optional
        ``rep_id``, ``month``, ``target_amount``: monthly targets per rep.
    segments : str or pandas.DataFrame, optional
        A column of ``customers`` to use as the segment (e.g. ``'income_band'``), or a frame with
        ``customer_id`` and ``segment`` (e.g. from crmlib.segments). Without it there is no
        ``segment`` level.
    statuses : tuple of str, default=REVENUE_STATUSES
        Order statuses whose lines are sales (:data:`crmlib.definitions.REVENUE_STATUSES`:
        completed and open), each one of :data:`crmlib.definitions.ORDER_STATUSES`.

    Returns
    -------
    Star

    Raises
    ------
    DataContractError
        A required column is missing, or order lines point to orders, products, channels or
        reps that do not exist (the message gives the count and up to 5 ids).
    ParameterError
        A status outside :data:`crmlib.definitions.ORDER_STATUSES`, or an unknown segments column.
    """
    where = "cube.build_star"
    check_columns(orders, ORDER_COLUMNS, where=f"{where}(orders)")
    check_columns(order_lines, LINE_COLUMNS, where=f"{where}(order_lines)")
    check_columns(products, PRODUCT_COLUMNS, where=f"{where}(products)")
    check_columns(channels, CHANNEL_COLUMNS, where=f"{where}(channels)")
    check_columns(sales_reps, REP_COLUMNS, where=f"{where}(sales_reps)")
    if customers is not None:
        check_columns(customers, CUSTOMER_COLUMNS, where=f"{where}(customers)")
    if rep_targets is not None:
        check_columns(rep_targets, TARGET_COLUMNS, where=f"{where}(rep_targets)")
    statuses = tuple([statuses] if isinstance(statuses, str) else statuses)
    for s in statuses:
        check_one_of(s, ORDER_STATUSES, name="statuses", where=where)

    # -- orders kept, and their lines ------------------------------------------------------
    status_ok = np.asarray(orders["status"].isin(statuses), dtype=bool)
    order_ids = orders["order_id"].to_numpy(dtype=np.int64)
    pos = _positions(order_ids, order_lines["order_id"].to_numpy(dtype=np.int64))
    _orphans(order_lines["order_id"].to_numpy()[pos < 0], "order lines", "orders", "order_id")
    line_ok = status_ok[pos]
    opos = pos[line_ok].astype(np.int32)                  # order row of every kept line
    del pos

    # -- dimensions ----------------------------------------------------------------------------
    product_dim = _product_dim(products)
    channel_dim = _channel_dim(channels)
    rep_dim = _rep_dim(sales_reps)
    customer_ids = orders["customer_id"].to_numpy(dtype=np.int64)
    customer_dim = _customer_dim(customer_ids[status_ok], customers, segments)

    product_key = _keys(product_dim["product_id"], order_lines["product_id"].to_numpy()[line_ok],
                        "order lines", "products", "product_id")
    channel_key = _keys(channel_dim["channel_id"], orders["channel_id"].to_numpy(), "orders",
                        "channels", "channel_id")
    rep_ids = pd.array(orders["rep_id"], dtype="Int64").fillna(-1).to_numpy(dtype=np.int64)
    rep_key = _keys(rep_dim["rep_id"], rep_ids, "orders", "sales_reps", "rep_id", unknown=-1)
    customer_key = _positions(customer_dim["customer_id"].to_numpy(), customer_ids)
    stamps = orders["ordered_at"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if status_ok.any():
        day0, day1 = int(stamps[status_ok].min()), int(stamps[status_ok].max())
    else:
        day0 = day1 = int(np.datetime64("2000-01-01", "D").astype(np.int64))
    date_dim = _date_dim(day0, day1)

    # the measures, built one at a time so that the peak stays near the size of the fact
    qty = order_lines["quantity"].to_numpy()[line_ok].astype(np.int32)
    price = order_lines["unit_price"].to_numpy(dtype=np.float64)[line_ok]
    revenue = line_revenue(qty, price, order_lines["discount"].to_numpy(dtype=np.float64)[line_ok])
    gross = np.multiply(price, qty, out=price)  # reuses the price array
    discount = np.subtract(gross, revenue, out=gross)
    cost = product_dim["unit_cost"].to_numpy(dtype=np.float64)[product_key]
    np.multiply(cost, qty, out=cost)
    fact = pd.DataFrame({
        "order_id": order_ids[opos],
        "order_key": opos,
        "date_key": stamps.astype(np.int32)[opos],
        "product_key": product_key.astype(np.int32),
        "customer_key": customer_key.astype(np.int32)[opos],
        "channel_key": channel_key.astype(np.int32)[opos],
        "rep_key": rep_key.astype(np.int32)[opos],
        "quantity": qty,
        "revenue": revenue,
        "discount": discount,
        "cost": cost,
    }, copy=False)
    targets = _targets(rep_targets, rep_dim)
    return Star(fact=fact, dims={"date": date_dim, "product": product_dim, "customer": customer_dim,
                                 "channel": channel_dim, "rep": rep_dim},
                targets=targets, day0=day0, n_orders=len(orders), statuses=statuses)


def with_segments(star: Star, segments: pd.DataFrame) -> Star:
    """The star with its customers' ``segment`` level set (or replaced) from a frame.

    Parameters
    ----------
    star : Star
    segments : pandas.DataFrame
        ``customer_id`` and ``segment``, e.g. RFM segments from :mod:`crmlib.segments`
        as of the start of the period under review. Customers not listed get ``"(unknown)"``.

    Returns
    -------
    Star
        A new star sharing the fact; the original is unchanged.
    """
    check_columns(segments, ("customer_id", "segment"), where="cube.with_segments(segments)")
    if star.is_summary:
        raise ParameterError("cube.with_segments: a summary star groups customers by region and segment; "
                             "build it with its segments (crmlib.cube.spark.summary_star(segments=...)).",
                             name="star")
    dim = star.dims["customer"].copy()
    seg = segments.drop_duplicates("customer_id").set_index("customer_id")["segment"]
    dim["segment"] = _labels(seg.reindex(dim["customer_id"].to_numpy()).to_numpy(dtype=object))
    return replace(star, dims={**star.dims, "customer": dim})


def load_star(crm, *, since=None, until=None, segments: str | pd.DataFrame | None = None,
              statuses: tuple[str, ...] = REVENUE_STATUSES) -> Star:
    """Load the tables the cube needs from an open :class:`crmlib.db.Crm` and build the star.

    Parameters
    ----------
    crm : crmlib.db.Crm
        An open connection (``crmlib.connect(url)``); read only.
    since, until : str or date, optional
        Order window, as for :meth:`crmlib.db.Crm.load`.
    segments, statuses
        As for :func:`build_star`.

    Returns
    -------
    Star
    """
    cust_cols = ["customer_id", "region"]
    if isinstance(segments, str):
        cust_cols.append(segments)
    return build_star(
        crm.orders(list(ORDER_COLUMNS), since=since, until=until),
        crm.order_lines(list(LINE_COLUMNS), since=since, until=until),
        crm.products(list(PRODUCT_COLUMNS)),
        crm.channels(list(CHANNEL_COLUMNS)),
        crm.sales_reps(list(REP_COLUMNS)),
        crm.customers(cust_cols),
        rep_targets=crm.rep_targets(list(TARGET_COLUMNS)),
        segments=segments, statuses=statuses,
    )


# ---------------------------------------------------------------------- dimension builders
def dimensions(products: pd.DataFrame, channels: pd.DataFrame, sales_reps: pd.DataFrame,
               rep_targets: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The ``product``, ``channel`` and ``rep`` dimension frames and the ``targets`` frame, as
    :func:`build_star` makes them: for a star whose fact is built elsewhere
    (:func:`crmlib.cube.spark.summary_star`)."""
    rep = _rep_dim(sales_reps)
    return {"product": _product_dim(products), "channel": _channel_dim(channels), "rep": rep,
            "targets": _targets(rep_targets, rep)}


def date_dimension(day0: int, day1: int) -> pd.DataFrame:
    """The date dimension from day ``day0`` to ``day1`` (days since 1970-01-01), as in a Star."""
    return _date_dim(day0, day1)


def labels(values) -> pd.Categorical:
    """A level's categorical of labels, as a Star's dimensions hold them (missing: '(unknown)')."""
    return _labels(values)


def _labels(values, *, ids=None) -> pd.Categorical:
    """Categorical of text labels; missing -> '(unknown)'; duplicate labels get ' (#id)' appended."""
    text = pd.Series(values, dtype="object").where(pd.notna(values), UNKNOWN).astype(str).to_numpy()
    if ids is not None:
        dup = pd.Series(text).duplicated(keep=False).to_numpy()
        if dup.any():
            text = np.where(dup, [f"{t} (#{i})" for t, i in zip(text, ids, strict=True)], text)
    return pd.Categorical(text, categories=sorted(set(text)))


def _product_dim(products: pd.DataFrame) -> pd.DataFrame:
    ids = products["product_id"].to_numpy()
    return pd.DataFrame({
        "product_id": ids,
        "category": _labels(products["category"]),
        "subcategory": _labels(products["subcategory"]),
        "product": _labels(products["name"], ids=ids),
        "price_band": _labels(products["price_band"]),
        "unit_cost": products["unit_cost"].to_numpy(dtype=np.float64),
    })


def _channel_dim(channels: pd.DataFrame) -> pd.DataFrame:
    ids = channels["channel_id"].to_numpy()
    return pd.DataFrame({"channel_id": ids, "channel_kind": _labels(channels["kind"]),
                         "channel": _labels(channels["name"], ids=ids)})


def _rep_dim(reps: pd.DataFrame) -> pd.DataFrame:
    ids = reps["rep_id"].to_numpy(dtype=np.int64)
    names = _labels(reps["name"], ids=ids)
    name_of = dict(zip(ids, np.asarray(names), strict=True))
    manager_ids = pd.array(reps["manager_id"], dtype="Int64")
    # a manager heads their own team: manager level of a manager is the manager
    head = np.where(manager_ids.isna(), ids, manager_ids.fillna(-1).to_numpy(dtype=np.int64))
    managers = [name_of.get(m, UNKNOWN) for m in head]
    dim = pd.DataFrame({"rep_id": np.append(ids, -1),
                        "rep_region": _labels(np.append(reps["region"].to_numpy(dtype=object), None)),
                        "manager": _labels(np.append(np.array(managers, dtype=object), None)),
                        "rep": _labels(np.append(np.asarray(names, dtype=object), None))})
    return dim  # the last row is the '(unknown)' rep of orders without one


def _customer_dim(customer_ids: np.ndarray, customers: pd.DataFrame | None, segments) -> pd.DataFrame:
    ids = _unique_ints(customer_ids)
    dim = pd.DataFrame({"customer_id": ids})
    if customers is not None:
        info = customers.drop_duplicates("customer_id").set_index("customer_id")
        region = info["region"].reindex(ids).to_numpy(dtype=object)
    else:
        region = np.full(len(ids), None, dtype=object)
    dim["customer_region"] = _labels(region)
    dim["customer"] = pd.Categorical(ids, categories=ids)
    if segments is not None:
        if isinstance(segments, str):
            if customers is None or segments not in customers.columns:
                found = [] if customers is None else list(customers.columns)
                raise ParameterError(
                    f"cube.build_star: 'segments' must name a column of customers; got {segments!r} "
                    f"(found {found}).", name="segments")
            seg = customers.drop_duplicates("customer_id").set_index("customer_id")[segments]
        else:
            check_columns(segments, ("customer_id", "segment"), where="cube.build_star(segments)")
            seg = segments.drop_duplicates("customer_id").set_index("customer_id")["segment"]
        dim["segment"] = _labels(seg.reindex(ids).to_numpy(dtype=object))
    return dim


def _date_dim(day0: int, day1: int) -> pd.DataFrame:
    days = pd.DatetimeIndex(np.arange(day0, day1 + 1).astype("datetime64[D]"))
    return pd.DataFrame({lvl: days.to_period(freq).asi8 for lvl, freq in DATE_LEVELS.items()})


def _targets(rep_targets: pd.DataFrame | None, rep_dim: pd.DataFrame) -> pd.DataFrame:
    if rep_targets is None or rep_targets.empty:
        return pd.DataFrame({"rep_key": pd.Series(dtype=np.int32),
                             "month": pd.Series(dtype="period[M]"),
                             "target_amount": pd.Series(dtype=np.float64)})
    key = _keys(rep_dim["rep_id"], rep_targets["rep_id"], "rep_targets", "sales_reps", "rep_id")
    month = pd.PeriodIndex(pd.to_datetime(rep_targets["month"]), freq="M")
    return pd.DataFrame({"rep_key": key.astype(np.int32), "month": month,
                         "target_amount": rep_targets["target_amount"].to_numpy(dtype=np.float64)})


def _unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (a presence table when they are dense, else np.unique)."""
    if len(values) and values.min() >= 0 and values.max() < 4 * len(values) + 1024:
        seen = np.zeros(int(values.max()) + 1, dtype=bool)
        seen[values] = True
        return np.flatnonzero(seen)
    return np.unique(values)


def _positions(ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Position of every ``query`` value in ``ids`` (-1 if absent). Database keys are mostly dense
    integers: then a lookup table is much faster than hashing."""
    ids = np.asarray(ids)
    query = np.asarray(query)
    if (ids.dtype.kind in "iu" and query.dtype.kind in "iu" and len(ids)
            and ids.min() >= 0 and ids.max() < 4 * len(ids) + 1024):
        table = np.full(int(ids.max()) + 2, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        inside = (query >= 0) & (query <= ids.max())
        return np.where(inside, table[np.clip(query, 0, len(table) - 1)], -1)
    return pd.Index(ids).get_indexer(query)


def _keys(dim_ids: pd.Series, ids, what: str, table: str, column: str, unknown=None) -> np.ndarray:
    """Row positions of ``ids`` in ``dim_ids``; unknown ids raise DataContractError (or map to
    the last row, when they equal ``unknown``)."""
    pos = _positions(np.asarray(dim_ids), np.asarray(ids))
    missing = pos < 0
    if unknown is not None:
        pos = np.where(np.asarray(ids) == unknown, len(dim_ids) - 1, pos)
        missing = pos < 0
    _orphans(np.asarray(ids)[missing], what, table, column)
    return pos


def _orphans(bad, what: str, table: str, column: str) -> None:
    if len(bad):
        distinct = pd.unique(bad)
        raise DataContractError(
            f"cube.build_star: {len(bad)} {what} have a {column} not found in {table} "
            f"(e.g. {examples(distinct)})", table=table, column=column)
