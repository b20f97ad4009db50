"""Baskets from order lines: one transaction per order, encoded as a sparse one-hot matrix.

The encoding goes straight from integer codes to a ``scipy.sparse`` CSR matrix (orders x items):
no Python loop per transaction and no dense transactions x items frame. Items can be products or
a level of the item taxonomy (subcategory, category), as arules' ``aggregate`` does, and the
orders can be filtered by a date window, weekday, channel, region or customer segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_columns, check_one_of, examples
from ..errors import DataContractError, EmptyDataError, ParameterError
from .counting import item_counts

__all__ = [
    "FILTERS",
    "LEVELS",
    "WEEKDAYS",
    "Baskets",
    "make_baskets",
]

#: Item levels of the taxonomy: a product, or the subcategory / category it belongs to.
LEVELS = ("product", "subcategory", "category")
#: Filters ``make_baskets`` understands (keys of its ``filters`` mapping).
FILTERS = ("weekday", "channel", "region", "segment")
#: Weekday labels, Monday first (pandas ``dayofweek`` order).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ORDER_LINE_COLUMNS = ("order_id", "product_id")
_TAKE_BLOCK = 1 << 18  # items coded per block from integer transactions
PRODUCT_COLUMNS = ("product_id", "name")
_WHERE = "baskets.make_baskets"


@dataclass(frozen=True)
class Baskets:
    """Transactions as a sparse one-hot matrix plus what is known about each basket.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of bool, shape (n_baskets, n_items)
        ``matrix[i, j]`` is True when basket ``i`` holds item ``j`` (duplicates collapsed).
    items : pandas.Index, length n_items
        Item labels (product names, or subcategory / category names), in column order.
    baskets : pandas.DataFrame, length n_baskets
        One row per basket, in row order: ``order_id`` and, when orders were given,
        ``customer_id``, ``channel_id``, ``ordered_at``, ``weekday`` (categorical Mon..Sun) and
        ``channel`` / ``region`` / ``segment`` when those inputs were given.
    level : str
        The item level, one of :data:`LEVELS` (``"transactions"`` for ``from_transactions``).

    Baskets made by :meth:`from_transactions` keep the caller's lists (:attr:`lists`) and
    encode ``matrix`` and ``items`` on first use.
    """

    matrix: sp.csr_matrix
    items: pd.Index
    baskets: pd.DataFrame
    level: str = "product"

    def __getattr__(self, name):
        # reached only when an attribute is missing: the matrix and items of baskets made by
        # ``from_transactions``, encoded on first use (mining that hands the caller's lists to
        # pyfim never needs them)
        lists = self.__dict__.get("_lists")
        if name in ("matrix", "items") and lists is not None:
            matrix, items = _encode_transactions(lists)
            object.__setattr__(self, "matrix", matrix)
            object.__setattr__(self, "items", items)
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def lists(self) -> list | None:
        """The caller's transactions (lists of items) for baskets made by ``from_transactions``,
        else None. A compiled engine reads them as they are."""
        return self.__dict__.get("_lists")

    @property
    def n_baskets(self) -> int:
        """Number of baskets (rows)."""
        return len(self.baskets)

    @property
    def n_items(self) -> int:
        """Number of distinct items (columns)."""
        return len(self.items)

    def __len__(self) -> int:
        return self.n_baskets

    def __repr__(self) -> str:
        return (f"Baskets(n_baskets={self.n_baskets}, n_items={self.n_items}, "
                f"nnz={self.matrix.nnz}, level={self.level!r})")

    def sizes(self) -> pd.Series:
        """Number of distinct items per basket, indexed like ``baskets``."""
        return pd.Series(np.diff(self.matrix.indptr), index=self.baskets.index, name="basket_size")

    def item_support(self) -> pd.DataFrame:
        """Per item: ``item``, ``count`` (baskets holding it), ``support``; most frequent first."""
        counts = np.bincount(self.matrix.indices, minlength=self.n_items)
        out = pd.DataFrame({"item": self.items, "count": counts,
                            "support": counts / float(max(self.n_baskets, 1))})
        return out.sort_values(["count", "item"], ascending=[False, True],
                               kind="stable").reset_index(drop=True)

    def subset(self, mask) -> Baskets:
        """The baskets where the boolean ``mask`` (length n_baskets) is True; items unchanged."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_baskets,):
            raise ParameterError(
                f"Baskets.subset: 'mask' must have length {self.n_baskets}; "
                f"got shape {mask.shape}.",
                name="mask")
        rows = np.flatnonzero(mask)
        return Baskets(self.matrix[rows], self.items,
                       self.baskets.iloc[rows].reset_index(drop=True), self.level)

    def to_frame(self, *, sparse: bool = True) -> pd.DataFrame:
        """The one-hot DataFrame mlxtend expects (columns = item labels), sparse by default."""
        if sparse:
            return pd.DataFrame.sparse.from_spmatrix(self.matrix, columns=self.items)
        return pd.DataFrame(self.matrix.toarray(), columns=self.items)

    @classmethod
    def from_transactions(cls, transactions: Iterable[Iterable]) -> Baskets:
        """Baskets from a list of transactions (each an iterable of hashable items).

        Items are sorted (by their string form when they are not mutually comparable), as
        mlxtend's ``TransactionEncoder`` sorts its columns. The lists are kept as given (a list
        of lists is not copied; do not change it afterwards); ``matrix`` and ``items`` are
        encoded from them on first use.
        """
        if not isinstance(transactions, list):
            transactions = list(transactions)
        if set(map(type, transactions)) - {list}:
            transactions = [t if isinstance(t, list) else list(t) for t in transactions]
        baskets = cls.__new__(cls)
        object.__setattr__(baskets, "_lists", transactions)
        object.__setattr__(baskets, "baskets",
                           pd.DataFrame({"order_id": np.arange(len(transactions))}))
        object.__setattr__(baskets, "level", "transactions")
        return baskets

    @classmethod
    def from_onehot(cls, df: pd.DataFrame) -> Baskets:
        """Baskets from a one-hot DataFrame (dense or sparse; values True/False/0/1)."""
        matrix = onehot_matrix(df, where="Baskets.from_onehot")
        return cls(matrix, pd.Index(df.columns), pd.DataFrame({"order_id": np.asarray(df.index)}),
                   "transactions")


def make_baskets(
    order_lines: pd.DataFrame,
    *,
    orders: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
    segments: pd.Series | pd.DataFrame | None = None,
    level: str = "product",
    since=None,
    until=None,
    filters: Mapping | None = None,
) -> Baskets:
    """Build baskets (one per order) from order lines as a sparse one-hot matrix.

    Parameters
    ----------
    order_lines : pandas.DataFrame
        Columns ``order_id``, ``product_id`` (others are ignored). Not modified.
    orders : pandas.DataFrame, optional
        Columns ``order_id`` and, as needed, ``customer_id``, ``channel_id``, ``ordered_at``.
        When given, it is the selection: only orders listed here become baskets, so loading
        orders for a date window windows the baskets. Needed for ``since``/``until`` and every
        filter.
    products : pandas.DataFrame, optional
        Columns ``product_id``, ``name`` and, for the taxonomy levels, ``subcategory`` /
        ``category``. With it, product items are labelled by name (a name shared by two products
        gets `` (#id)`` appended); without it, by ``product_id``.
    customers : pandas.DataFrame, optional
        Columns ``customer_id``, ``region``; needed for the ``region`` filter.
    channels : pandas.DataFrame, optional
        Columns ``channel_id``, ``name``, ``kind``; lets the ``channel`` filter take names or kinds.
    segments : pandas.Series or pandas.DataFrame, optional
        Customer segment: a Series indexed by ``customer_id``, or a frame with ``customer_id`` and
        ``segment``; needed for the ``segment`` filter.
    level : {'product', 'subcategory', 'category'}, default='product'
        What an item is.
    since, until : date-like, optional
        Keep orders with ``since <= ordered_at < until``.
    filters : mapping, optional
        Keys from :data:`FILTERS`, values a scalar or a list of accepted values: ``weekday``
        (0-6 with Monday 0, or names such as ``'Fri'`` / ``'Friday'``), ``channel`` (ids, or names
        and kinds when ``channels`` is given), ``region``, ``segment``.

    Returns
    -------
    Baskets
        ``matrix`` (CSR bool, n_baskets x n_items), ``items`` (labels), ``baskets`` (one row per
        order: ``order_id`` int64 and the order columns given), ``level``.

    Raises
    ------
    DataContractError
        A required column is missing, or order lines refer to products missing from ``products``.
    ParameterError
        Unknown ``level`` or filter key, a bad weekday, or a filter whose input frame is missing.
    EmptyDataError
        No order line is left after the window and the filters.

    Examples
    --------
    >>> lines = pd.DataFrame({"order_id": [1, 1, 2], "product_id": [10, 11, 10]})
    >>> b = make_baskets(lines)
    >>> b.n_baskets, b.n_items, list(b.items)
    (2, 2, [10, 11])
    """
    check_one_of(level, LEVELS, name="level", where=_WHERE)
    filters = dict(filters or {})
    for key in filters:
        check_one_of(key, FILTERS, name="filters", where=_WHERE)
    check_columns(order_lines, ORDER_LINE_COLUMNS, where=_WHERE)
    if level != "product" and products is None:
        raise ParameterError(f"{_WHERE}: level={level!r} needs the `products` frame.", name="level")

    lines = order_lines[list(ORDER_LINE_COLUMNS)]
    meta = None
    needs_orders = since is not None or until is not None or bool(filters)
    if orders is None and needs_orders:
        raise ParameterError(f"{_WHERE}: since/until and filters need the `orders` frame.",
                             name="orders")
    if orders is not None:
        meta = _order_meta(orders, customers=customers, channels=channels, segments=segments,
                           since=since, until=until, filters=filters)
        lines = lines[lines["order_id"].isin(meta["order_id"])]
    if len(lines) == 0:
        raise EmptyDataError(
            f"{_WHERE}: no order lines left"
            + (" after the date window and filters" if needs_orders else "")
            + "; widen the window or relax the filters.", table="order_lines")

    labels_per_line, item_labels = _item_codes(lines["product_id"].to_numpy(), products, level)
    row_codes, order_ids = pd.factorize(lines["order_id"].to_numpy(), sort=True)
    matrix = _csr(row_codes, labels_per_line, len(order_ids), len(item_labels))
    frame = pd.DataFrame({"order_id": np.asarray(order_ids)})
    if meta is not None:
        frame = frame.merge(meta, on="order_id", how="left", sort=False)
    return Baskets(matrix, item_labels, frame, level)


# -- helpers -------------------------------------------------------------------------------------

def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """One-hot CSR (bool) from row / column codes; duplicate pairs collapse to one True."""
    data = np.ones(len(rows), dtype=np.int32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(n_rows, n_cols))
    m.sum_duplicates()
    m.sort_indices()
    return sp.csr_matrix((np.ones(m.nnz, dtype=bool), m.indices, m.indptr), shape=m.shape)



def _encode_transactions(transactions: list) -> tuple[sp.csr_matrix, pd.Index]:
    """The one-hot CSR matrix and the sorted item labels of a list of lists."""
    n = len(transactions)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, transactions), dtype=np.int64, count=n), out=indptr[1:])
    codes, labels = _factorize_items(transactions, int(indptr[-1]))
    codes = codes.astype(np.int32, copy=False)
    # rows are already in order: CSR straight from the codes (no row array, no COO). When
    # every row is strictly increasing (sorted baskets without repeats, as the FIMI files
    # are), the codes are already canonical CSR indices: no sort, no copy
    if _strictly_increasing_rows(codes, indptr):
        matrix = sp.csr_matrix((np.ones(len(codes), dtype=bool), codes, indptr),
                               shape=(n, len(labels)))
        matrix.has_canonical_format = True
        return matrix, labels
    m = sp.csr_matrix((np.ones(len(codes), dtype=np.int8), codes, indptr),
                      shape=(n, len(labels)))
    del codes
    m.sum_duplicates()
    return sp.csr_matrix((np.ones(m.nnz, dtype=bool), m.indices, m.indptr), shape=m.shape), labels

def _strictly_increasing_rows(codes: np.ndarray, indptr: np.ndarray) -> bool:
    """True when the codes rise strictly within every row (indptr delimits the rows)."""
    if len(codes) < 2:
        return True
    rises = codes[1:] > codes[:-1]
    # a fall is allowed only where a new row starts (positions indptr[1:-1], shifted by one)
    starts = indptr[1:-1]
    starts = starts[(starts > 0) & (starts < len(codes))] - 1
    rises[starts] = True
    return bool(rises.all())


def _factorize_items(transactions: list, total: int) -> tuple[np.ndarray, pd.Index]:
    """Column code of every item (basket by basket) and the sorted labels (object Index).

    Integer items (the usual coded baskets) go straight into one numpy array (no flat Python
    list) and are coded with a lookup table (or ``np.unique`` when sparse); other items are
    sorted as Python objects (by their string form when not mutually comparable).
    """
    if not total:
        return np.empty(0, dtype=np.int32), pd.Index([], dtype=object)
    arr = None
    if set(map(type, chain.from_iterable(transactions))) == {int}:
        for dtype in (np.int32, np.int64):  # int32 when the items fit: half the memory
            try:
                arr = np.fromiter(chain.from_iterable(transactions), dtype=dtype, count=total)
                break
            except OverflowError:  # ints beyond int32 (then int64)
                arr = None
    if arr is not None:
        low, high = int(arr.min()), int(arr.max())
        span = high - low + 1
        if span <= 4 * len(arr) + 1024:  # compact codes: a lookup table instead of a sort
            arr -= arr.dtype.type(low)  # in place; fits, as span is small
            present = item_counts(arr, span) > 0
            table = (np.cumsum(present) - 1).astype(np.int32)
            # code every item in place, in blocks (take casts its indices to int64)
            for lo in range(0, len(arr), _TAKE_BLOCK):
                part = arr[lo:lo + _TAKE_BLOCK]
                part[...] = table[part]
            codes = arr.astype(np.int32, copy=False)
            del arr
            uniques = np.flatnonzero(present) + low
            return codes, pd.Index(uniques.tolist(), dtype=object)
        uniques, codes = np.unique(arr, return_inverse=True)  # sparse codes: sort them
        return codes, pd.Index(uniques.tolist(), dtype=object)
    flat = list(chain.from_iterable(transactions))
    try:
        labels = sorted(set(flat))
    except TypeError:
        labels = sorted(set(flat), key=str)
    index = pd.Index(labels, dtype=object)
    return index.get_indexer(flat), index


def onehot_matrix(df: pd.DataFrame, *, where: str) -> sp.csr_matrix:
    """CSR bool matrix from a one-hot DataFrame, rejecting values other than True/False/0/1."""
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{where}: expected a one-hot DataFrame; got {type(df).__name__}.",
                             name="df")
    if hasattr(df, "sparse") and df.shape[1] and all(
            isinstance(t, pd.SparseDtype) for t in df.dtypes):
        m = df.sparse.to_coo().tocsr()
    else:
        m = sp.csr_matrix(np.asarray(df.to_numpy(), dtype=float)) if df.size else \
            sp.csr_matrix(df.shape, dtype=float)
    m.eliminate_zeros()
    bad = m.data[(m.data != 1)]
    if bad.size:
        raise ParameterError(
            f"{where}: one-hot values must be True, False, 0 or 1; found {float(bad[0]):g}.",
            name="df")
    return sp.csr_matrix((np.ones(m.nnz, dtype=bool), m.indices, m.indptr), shape=m.shape)


def _item_codes(product_ids: np.ndarray, products: pd.DataFrame | None, level: str):
    """Column code per line and the item labels, for the requested taxonomy level."""
    if products is None:
        codes, uniques = pd.factorize(product_ids, sort=True)
        return codes, pd.Index(uniques)
    need = PRODUCT_COLUMNS if level == "product" else ("product_id", level)
    check_columns(products, need, where=_WHERE)
    catalog = pd.Index(products["product_id"].to_numpy())
    if not catalog.is_unique:
        dup = catalog[catalog.duplicated()].unique()
        raise DataContractError(
            f"{_WHERE}: {len(dup)} product_id values repeat in `products` "
            f"(e.g. {examples(dup)})", table="products", column="product_id")
    pos = catalog.get_indexer(product_ids)
    if (pos < 0).any():
        unknown = pd.unique(product_ids[pos < 0])
        raise DataContractError(
            f"{_WHERE}: {len(unknown)} product_id values in order_lines are missing from "
            f"`products` (e.g. {examples(unknown)})", table="products", column="product_id")
    if level == "product":
        names = products["name"].astype(str).to_numpy()
        dup = pd.Series(names).duplicated(keep=False).to_numpy()
        if dup.any():
            ids = products["product_id"].to_numpy()
            names = names.astype(object)
            names[dup] = [f"{n} (#{i})"
                          for n, i in zip(names[dup], ids[dup], strict=True)]
        labels = np.asarray(names, dtype=object)
    else:
        labels = products[level].astype(str).to_numpy(dtype=object)
    codes, uniques = pd.factorize(labels[pos], sort=True)  # only the items that were bought
    return codes, pd.Index(uniques, dtype=object)


def weekday_code(value) -> int:
    """Monday 0 .. Sunday 6 from 0-6 or a day name ('Fri', 'Friday'); ParameterError otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value <= 6:
        return int(value)
    if isinstance(value, str):
        key = value.strip()[:3].title()
        if key in WEEKDAYS and (len(value.strip()) == 3 or
                                 value.strip().lower() in _FULL_DAYS):
            return WEEKDAYS.index(key)
    raise ParameterError(
        f"{_WHERE}: 'weekday' must be one of {list(WEEKDAYS)} (or 0-6, Monday 0); got {value!r}.",
        name="weekday")


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _as_list(value) -> list:
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
        return list(value)
    return [value]


def _order_meta(orders, *, customers, channels, segments, since, until, filters) -> pd.DataFrame:
    """Order-level columns for the baskets, after the window and the filters."""
    wanted = ["order_id"] + [c for c in ("customer_id", "channel_id", "ordered_at")
                             if c in orders.columns]
    need = ["order_id"]
    if since is not None or until is not None or "weekday" in filters:
        need.append("ordered_at")
    if "channel" in filters:
        need.append("channel_id")
    if "region" in filters or "segment" in filters:
        need.append("customer_id")
    check_columns(orders, need, where=_WHERE)
    meta = orders[wanted].copy()
    if "ordered_at" in meta:
        meta["ordered_at"] = pd.to_datetime(meta["ordered_at"])
        day = meta["ordered_at"].dt.day_of_week
        meta["weekday"] = pd.Categorical.from_codes(
            day.fillna(-1).astype(int), categories=list(WEEKDAYS), ordered=True)
    keep = np.ones(len(meta), dtype=bool)
    if since is not None:
        keep &= (meta["ordered_at"] >= pd.Timestamp(since)).to_numpy()
    if until is not None:
        keep &= (meta["ordered_at"] < pd.Timestamp(until)).to_numpy()

    if channels is not None and "channel_id" in meta:
        check_columns(channels, ("channel_id", "name"), where=_WHERE)
        names = channels.set_index("channel_id")["name"]
        meta["channel"] = meta["channel_id"].map(names).astype(object)
    if customers is not None and "customer_id" in meta and "region" in customers.columns:
        meta["region"] = meta["customer_id"].map(
            customers.set_index("customer_id")["region"]).astype(object)
    if segments is not None and "customer_id" in meta:
        meta["segment"] = meta["customer_id"].map(_segment_series(segments)).astype(object)

    for key, value in filters.items():
        values = _as_list(value)
        if key == "weekday":
            codes = {weekday_code(v) for v in values}
            keep &= meta["ordered_at"].dt.day_of_week.isin(codes).to_numpy()
        elif key == "channel":
            ok = meta["channel_id"].isin(values).to_numpy()
            if channels is not None:
                by_text = channels.loc[channels["name"].isin(values)
                                       | (channels["kind"].isin(values)
                                          if "kind" in channels else False), "channel_id"]
                ok = ok | meta["channel_id"].isin(by_text).to_numpy()
            keep &= ok
        elif key == "region":
            if customers is None:
                raise ParameterError(f"{_WHERE}: filter 'region' needs the `customers` frame.",
                                     name="filters")
            check_columns(customers, ("customer_id", "region"), where=_WHERE)
            keep &= meta["region"].isin(values).to_numpy()
        elif key == "segment":
            if segments is None:
                raise ParameterError(f"{_WHERE}: filter 'segment' needs `segments`.",
                                     name="filters")
            keep &= meta["segment"].isin(values).to_numpy()
    return meta[keep].reset_index(drop=True)


def _segment_series(segments) -> pd.Series:
    if isinstance(segments, pd.Series):
        return segments
    check_columns(segments, ("customer_id", "segment"), where=_WHERE)
    return segments.set_index("customer_id")["segment"]
