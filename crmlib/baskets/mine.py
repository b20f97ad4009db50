"""Frequent itemsets: one DataFrame-in, DataFrame-out API over three engines.

``frequent_itemsets`` returns what mlxtend's ``apriori`` / ``fpgrowth`` return (columns ``support``
and ``itemsets`` of frozensets) and the same values: support is ``count / n_transactions`` and an
itemset is kept when that fraction is ``>= min_support``, exactly as mlxtend compares.

Engines
-------
``'vertical'``
    crmlib's own miner on numpy / scipy.sparse: depth-first over conditional databases (the rows
    holding a prefix). On a large sparse database all pair counts of a node come from one sparse
    product ``D.T @ D``; once a database is small or dense it becomes column bitsets and pair
    counts are popcounts of ANDed words. No Python loop per transaction or per candidate.
``'pyfim'``
    Christian Borgelt's compiled FP-growth (PyPI ``pyfim``, ``import fim``). If it is not
    installed, the call falls back to ``'mlxtend'`` with a one-line warning.
``'mlxtend'``
    The reference: mlxtend's ``apriori`` on a sparse one-hot frame. Slow and memory-hungry on
    large data; used to prove the others exact.
``'auto'`` (default)
    the cheaper engine by a cost estimate (pyfim only when it is installed): the vertical
    search costs about a constant per conditional database (estimated from the number of
    frequent pairs and the density), pyfim a constant per transaction plus one per itemset.
    Baskets from lists (``Baskets.from_transactions``) are estimated from a sample of the
    lists and, when pyfim is cheaper, handed to it as they are: no matrix is built. Other data
    is estimated from its matrix (frequent pairs counted on a sample of the rows). The
    estimate is in ``attrs['cost']``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._validation import check_interval, check_one_of
from ..errors import InsufficientMemoryError, ParameterError
from . import counting
from .encode import Baskets, onehot_matrix
from .estimate import check_memory

__all__ = ["MINING_ENGINES", "ITEMSET_KINDS", "EmptyResultWarning", "EngineFallbackWarning",
           "frequent_itemsets"]

#: Mining engines ``frequent_itemsets`` accepts.
MINING_ENGINES = ("auto", "vertical", "pyfim", "mlxtend")
#: Which frequent itemsets to return: all of them, the closed or the maximal ones.
ITEMSET_KINDS = ("all", "closed", "maximal")

_WHERE = "baskets.frequent_itemsets"
_BITSET_CELLS = 4_000_000  # a conditional database this small (rows x items) becomes bitsets ...
_BITSET_DENSITY = 1 / 16  # ... and so does a denser one up to 64x that size
_BITSET_BLOCK = 4_000_000  # words per block when ANDing bitset columns pairwise
_PAIR_BLOCK = 8_000_000  # pair keys per block when counting pairs row by row
_PAIR_BINS = 4_000_000  # count pairs with bincount up to this many (n_items ** 2) bins
# 'auto' cost model (seconds), calibrated on retail.dat, T10I4D100K, a dense chess-like set, the
# sample and 1M Zipf orders (benchmarks/rules.py): the vertical search costs about 0.45 ms of
# Python per conditional database, and there are about 0.6 per frequent pair on sparse data but
# ~20 per pair on dense data (long itemsets); pyfim costs about 6 us per transaction (the Python
# lists it needs) plus ~15 us per itemset found (about 2.5 per frequent pair).
_COST_NODE = 4.5e-4
_COST_ROOT_NNZ = 5e-7
_COST_PYFIM_ROW = 6e-6
_COST_PYFIM_SET = 1.5e-5
# from the caller's lists (Baskets.from_transactions): encoding them into a matrix costs about
# 85 ns per entry, pyfim reading them about 105 ns per entry (retail.dat, T10I4D100K)
_COST_ENCODE_ENTRY = 8.5e-8
_COST_PYFIM_ENTRY = 1.05e-7
_LIST_SAMPLE = 5_000  # lists sampled for that estimate (and the memory check) ...
_LIST_PAIRS = 250_000  # ... and at most about this many item pairs in them
_DENSE = 0.1  # a root database this dense (share of cells set) searches deep
_COST_SAMPLE = 20_000  # rows of the root database sampled to count its frequent pairs ...
_COST_PAIRS = 2_000_000  # ... and at most this many pairs in those rows,
_COST_PAIR_BLOCK = 250_000  # counted in blocks of this many keys (a few 2 MB temporaries)


class EmptyResultWarning(UserWarning):
    """Mining found nothing at the given thresholds (the result is an empty, well-formed frame)."""


class EngineFallbackWarning(UserWarning):
    """The requested compiled engine is not installed; another engine was used."""


@dataclass
class ItemsetTable:
    """Frequent itemsets as integer codes, grouped by size (internal, shared with ``rules``).

    ``codes[k]`` is an (n_k, k) int array of item columns, ascending within a row and rows in
    lexicographic order; ``counts[k]`` the number of transactions holding each itemset.
    """

    codes: dict[int, np.ndarray]
    counts: dict[int, np.ndarray]
    n_transactions: int
    items: pd.Index
    engine: str = "vertical"
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(sum(len(c) for c in self.counts.values()))

    def to_frame(self, *, use_colnames: bool = True) -> pd.DataFrame:
        """mlxtend's layout: ``support`` (float64) and ``itemsets`` (frozenset), by size."""
        labels = np.asarray(self.items, dtype=object) if use_colnames else None
        supports, sets = [], []
        n = float(self.n_transactions)
        for k in sorted(self.codes):
            codes = self.codes[k]
            if not len(codes):
                continue
            values = labels[codes] if use_colnames else codes
            sets.extend(frozenset(row) for row in values.tolist())
            supports.append(self.counts[k] / n)
        support = np.concatenate(supports) if supports else np.empty(0, dtype=float)
        df = pd.DataFrame({"support": support, "itemsets": pd.Series(sets, dtype=object)})
        df.attrs.update(n_transactions=self.n_transactions, engine=self.engine, **self.info)
        return df

    def on_columns(self, items: pd.Index) -> ItemsetTable:
        """The same itemsets coded by their positions in ``items`` (a superset of the labels)."""
        position = items.get_indexer(self.items)
        codes, counts = _canonical({k: [position[c]] for k, c in self.codes.items()},
                                   {k: [c] for k, c in self.counts.items()})
        return ItemsetTable(codes, counts, self.n_transactions, items, engine=self.engine,
                            info=self.info)

    @classmethod
    def from_frame(cls, itemsets: pd.DataFrame, n_transactions: int | None, *, where: str
                   ) -> ItemsetTable:
        """Codes from a ``support`` / ``itemsets`` frame (supports -> counts via n_transactions).

        Without ``n_transactions`` the "counts" are the ranks of the distinct support values:
        enough to compare supports (closed itemsets), not to compute measures.
        """
        sets = list(itemsets["itemsets"])
        flat = [x for s in sets for x in s]
        try:
            labels = sorted(set(flat))
        except TypeError:
            labels = sorted(set(flat), key=str)
        index = pd.Index(labels, dtype=object)
        lengths = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        if (lengths == 0).any():
            raise ParameterError(f"{where}: 'itemsets' holds an empty itemset.", name="itemsets")
        flat_codes = index.get_indexer(flat) if flat else np.empty(0, dtype=np.int64)
        support = itemsets["support"].to_numpy(dtype=float)
        if n_transactions is None:
            counts_all = np.unique(support, return_inverse=True)[1]
        else:
            counts_all = np.rint(support * n_transactions)
        codes, counts = {}, {}
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for k in np.unique(lengths):
            rows = np.flatnonzero(lengths == k)
            idx = starts[rows][:, None] + np.arange(k)
            c = np.sort(flat_codes[idx], axis=1)
            order = np.lexsort(c.T[::-1]) if len(c) else np.empty(0, dtype=np.intp)
            codes[int(k)] = c[order].astype(np.int64)
            counts[int(k)] = counts_all[rows][order].astype(np.int64)
        return cls(codes, counts, int(n_transactions or 0), index, engine="frame")


def frequent_itemsets(
    data,
    *,
    min_support: float = 0.01,
    max_len: int | None = None,
    engine: str = "auto",
    use_colnames: bool = True,
    items=None,
    kind: str = "all",
) -> pd.DataFrame:
    """Find every itemset whose support reaches ``min_support``.

    Parameters
    ----------
    data : Baskets, scipy.sparse matrix or pandas.DataFrame
        Transactions: :class:`~crmlib.baskets.Baskets`, a 0/1 sparse matrix (transactions x
        items), or a one-hot DataFrame as mlxtend takes (dense or sparse, values
        True/False/0/1).
    min_support : float, default=0.01
        Minimum fraction of transactions, in (0, 1].
    max_len : int, optional
        Longest itemset to return (>= 1); ``None`` means no limit.
    engine : {'auto', 'vertical', 'pyfim', 'mlxtend'}, default='auto'
        See the module docstring. All engines return the same itemsets and supports.
    use_colnames : bool, default=True
        Itemsets hold item labels (True) or column positions (False). Unlike mlxtend, labels
        are the default.
    items : sequence, optional
        Item labels for a sparse-matrix ``data`` (default: column positions).
    kind : {'all', 'closed', 'maximal'}, default='all'
        Return every frequent itemset, or only the closed ones (no superset with the same
        support) or the maximal ones (no frequent superset). Rules need ``'all'``.

    Returns
    -------
    pandas.DataFrame
        ``support`` (float64) and ``itemsets`` (frozenset), shortest itemsets first and
        lexicographic by column within a size. ``attrs`` holds ``n_transactions``, ``engine``
        (the engine that ran), ``min_support``, ``min_count`` and ``max_len``. An empty result
        keeps both columns and comes with an :class:`EmptyResultWarning` saying how far off the
        threshold was.

    Raises
    ------
    ParameterError
        ``min_support`` outside (0, 1], ``max_len`` < 1, an unknown ``engine`` or ``kind``, or
        one-hot values other than True/False/0/1.
    InsufficientMemoryError
        The itemsets, estimated from the item supports before mining
        (:func:`crmlib.baskets.estimate.estimate_memory`), would not fit in the memory available.

    Examples
    --------
    >>> from crmlib.baskets import Baskets
    >>> b = Baskets.from_transactions([["beer", "diapers"], ["beer", "diapers", "milk"], ["milk"]])
    >>> found = frequent_itemsets(b, min_support=0.6)
    >>> found.assign(itemsets=found["itemsets"].map(sorted))
        support         itemsets
    0  0.666667           [beer]
    1  0.666667        [diapers]
    2  0.666667           [milk]
    3  0.666667  [beer, diapers]
    """
    check_one_of(kind, ITEMSET_KINDS, name="kind", where=_WHERE)
    table = mine(data, min_support=min_support, max_len=max_len, engine=engine, items=items,
                 where=_WHERE)
    if kind != "all":
        table = counting.filter_table(table, kind)
    if not use_colnames and isinstance(data, Baskets) and table.items is not data.items:
        table = table.on_columns(data.items)  # pyfim on the lists coded the frequent items only
    return table.to_frame(use_colnames=use_colnames)


def mine(data, *, min_support, max_len=None, engine="auto", items=None, where=_WHERE
         ) -> ItemsetTable:
    """Validate, pick the engine and mine; returns the internal :class:`ItemsetTable`."""
    check_interval(min_support, 0, 1, name="min_support", where=where, closed="right")
    if max_len is not None:
        check_interval(max_len, 1, None, name="max_len", where=where, closed="left", integer=True)
    check_one_of(engine, MINING_ENGINES, name="engine", where=where)
    cost = {}
    lists = data.lists if isinstance(data, Baskets) else None
    if lists and engine in ("auto", "pyfim") and _fim() is not None:
        # the caller's lists go to pyfim as they are: no matrix is built unless the estimate
        # (from a sample of the lists) says the vertical search is cheaper
        table, cost = _mine_lists(data, min_support=min_support, max_len=max_len,
                                  auto=engine == "auto", where=where)
        if table is not None:
            if not len(table):
                table.items = data.items
                _warn_empty(table, min_support, table.info["min_count"], data.matrix, where)
            return table
        engine = "vertical"
    matrix, labels = _as_matrix(data, items=items, where=where)
    n = matrix.shape[0]
    if n == 0:
        table = ItemsetTable({}, {}, 0, labels, engine=engine)
        _warn_empty(table, min_support, 0, matrix, where)
        return table
    min_count = counting.min_count(min_support, n)
    item_counts = counting.item_counts(matrix.indices, matrix.shape[1])
    if engine != "mlxtend":
        check_memory(item_counts, n, min_support=min_support, max_len=max_len, where=where)

    ran = engine
    if engine == "pyfim" and _fim() is None:
        warnings.warn(f"{where}: engine 'pyfim' is not installed (pip install pyfim); "
                      "falling back to 'mlxtend'.", EngineFallbackWarning, stacklevel=3)
        ran = "mlxtend"
    if ran == "auto":
        ran = "vertical"
    if ran == "vertical":
        codes, counts = _mine_vertical(matrix, min_count, max_len,
                                       hand_over=engine == "auto" and _fim() is not None,
                                       cost=cost, item_counts=item_counts)
        if codes is None:  # 'auto': pyfim is estimated cheaper
            ran = "pyfim"
    if ran == "pyfim":
        codes, counts = _mine_pyfim(matrix, min_count, max_len, item_counts)
    elif ran == "mlxtend":
        codes, counts = _mine_mlxtend(matrix, min_support, max_len)
    codes, counts = _canonical(codes, counts)
    table = ItemsetTable(codes, counts, n, labels, engine=ran,
                         info={"min_support": min_support, "min_count": min_count,
                               "max_len": max_len, **({"cost": cost} if cost else {})})
    if not len(table):
        _warn_empty(table, min_support, min_count, matrix, where)
    return table


# -- input ---------------------------------------------------------------------------------------

def _as_matrix(data, *, items, where):
    if isinstance(data, Baskets):
        return data.matrix, data.items
    if sp.issparse(data):
        m = sp.csr_matrix(data)
        m.eliminate_zeros()
        if m.nnz and not np.all(m.data == 1):
            bad = float(m.data[m.data != 1][0])
            raise ParameterError(f"{where}: one-hot values must be True, False, 0 or 1; "
                                 f"found {bad:g}.", name="data")
        m = sp.csr_matrix((np.ones(m.nnz, dtype=bool), m.indices, m.indptr), shape=m.shape)
        m.sort_indices()
        labels = pd.Index(items if items is not None else range(m.shape[1]))
        if len(labels) != m.shape[1]:
            raise ParameterError(f"{where}: 'items' has {len(labels)} labels for "
                                 f"{m.shape[1]} columns.", name="items")
        return m, labels
    if isinstance(data, pd.DataFrame):
        m = onehot_matrix(data, where=where)
        m.sort_indices()
        return m, pd.Index(data.columns)
    raise ParameterError(f"{where}: 'data' must be Baskets, a scipy.sparse matrix or a one-hot "
                         f"DataFrame; got {type(data).__name__}.", name="data")


def _warn_empty(table, min_support, min_count, matrix, where):
    counts = counting.item_counts(matrix.indices, matrix.shape[1]) if matrix.nnz else []
    best = (max(counts) / matrix.shape[0]) if len(counts) and matrix.shape[0] else 0.0
    reason = (f"no itemset reaches min_support={min_support} (the most frequent item has "
              f"support {best:.4g}); lower min_support")
    table.info["empty_reason"] = reason
    warnings.warn(f"{where}: {reason}.", EmptyResultWarning, stacklevel=4)


def _canonical(codes: dict, counts: dict):
    """Sort items within each itemset and itemsets lexicographically, per size."""
    out_codes, out_counts = {}, {}
    for k in sorted(codes):
        c = np.concatenate([np.asarray(x, dtype=np.int64).reshape(-1, k) for x in codes[k]])
        n = np.concatenate([np.asarray(x, dtype=np.int64).ravel() for x in counts[k]])
        if not len(c):
            continue
        c = np.sort(c, axis=1)
        order = np.lexsort(c.T[::-1])
        out_codes[k], out_counts[k] = c[order], n[order]
    return out_codes, out_counts


# -- engine: vertical (numpy / scipy.sparse) -----------------------------------------------------

def _select(D: sp.csr_matrix, rows, cols: np.ndarray) -> sp.csr_matrix:
    """D[rows][:, cols] (cols ascending), keeping only rows with at least two items."""
    sub = D[rows] if rows is not None else D
    # int32 / bool throughout and no per-entry row array: these arrays are as long as the data
    # (memory, not range, is the limit)
    lookup = np.full(D.shape[1], -1, dtype=np.int32)
    lookup[cols] = np.arange(len(cols), dtype=np.int32)
    new = lookup[sub.indices]
    keep = new >= 0
    per_row = _row_sums(keep, sub.indptr)
    good = per_row >= 2
    keep &= np.repeat(good, np.diff(sub.indptr))
    indptr = np.zeros(int(good.sum()) + 1, dtype=np.int64)
    np.cumsum(per_row[good], out=indptr[1:])
    indices = new[keep]
    del new, keep
    # only the pattern is read (pairs, bitsets, the CSC view): bool data, one byte per entry
    return sp.csr_matrix((np.ones(len(indices), dtype=bool), indices, indptr),
                         shape=(len(indptr) - 1, len(cols)))


def _row_sums(mask: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """True entries per CSR row (``indptr`` delimits the rows of ``mask``), without a running
    count as long as the data."""
    out = np.add.reduceat(np.append(mask, False), indptr[:-1], dtype=np.int32) \
        if len(indptr) > 1 else np.zeros(0, dtype=np.int32)
    out[indptr[:-1] == indptr[1:]] = 0  # reduceat gives an empty row its next entry
    return out


def _mine_vertical(X: sp.csr_matrix, min_count: int, max_len, hand_over: bool = False,
                   cost: dict | None = None, item_counts=None):
    """Depth-first over conditional databases; pair counts of a node from one product D.T @ D.

    With ``hand_over``, the root's frequent pairs feed the 'auto' cost model; returns
    ``(None, None)`` when pyfim is estimated cheaper (the estimate goes into ``cost``).
    """
    limit = max_len if max_len is not None else np.inf
    if item_counts is None:
        item_counts = counting.item_counts(X.indices, X.shape[1])
    freq = np.flatnonzero(item_counts >= min_count)
    codes = {1: [freq[:, None]]}
    counts = {1: [item_counts[freq]]}
    if limit < 2 or len(freq) < 2:
        return codes, counts
    # rarest items first: a prefix's conditional database is then as small as it gets
    order = freq[np.argsort(item_counts[freq], kind="stable")]
    state = {"codes": codes, "counts": counts, "limit": limit, "min": min_count}
    if hand_over and (max_len is None or max_len > 2):
        # the estimate reads only a sample of the root database: building the whole root is
        # left to the vertical search, so a hand-over to pyfim never pays for it
        estimate = _cost_estimate(X, order, min_count)
        if estimate is None:  # fewer than min_count rows hold two frequent items
            return codes, counts
        if cost is not None:
            cost.update(estimate)
        if estimate["pyfim_s"] < estimate["vertical_s"]:
            return None, None
    root = _select(X, None, order)
    if root.shape[0] < min_count:
        return codes, counts
    D = _as_node_database(root)
    bits = not sp.issparse(D)
    pairs = _pairs_bits(D, min_count) if bits else _pairs_sparse(D, min_count)
    _expand(state, (), D, order, pairs, bits=bits)
    return codes, counts


def _cost_estimate(X: sp.csr_matrix, order: np.ndarray, min_count: int) -> dict | None:
    """Seconds the vertical search and pyfim would take (the 'auto' choice).

    The root database is X restricted to the frequent items (``order``) and to the rows holding
    two of them. Its size comes from per-row counts of frequent items (one pass over X), and
    the number of frequent pairs is counted on a regular sample of at most ``_COST_SAMPLE`` of
    its rows (threshold scaled to the sample), so the estimate stays a small share of either
    engine's time. ``None`` when the root has fewer than ``min_count`` rows (no pair can be
    frequent).
    """
    frequent = np.zeros(X.shape[1], dtype=bool)
    frequent[order] = True
    per_row = _row_sums(frequent[X.indices], X.indptr)
    rows = np.flatnonzero(per_row >= 2)
    if len(rows) < min_count:
        return None
    lengths = per_row[rows].astype(np.float64)
    in_pairs = float((lengths * (lengths - 1) / 2).sum())
    root_nnz = float(lengths.sum())
    # at most _COST_SAMPLE rows and _COST_PAIRS pairs: long (dense) baskets are sampled thinner
    step = max(1, -(-len(rows) // _COST_SAMPLE), int(np.ceil(in_pairs / _COST_PAIRS)))
    threshold = max(1, int(np.ceil(min_count / step)))
    sample = X[rows[::step]]
    # a pair is no more frequent than either item: the items below the threshold in the sample
    # are left out before pairing (same frequent pairs, far fewer pairs to count on sparse data)
    in_sample = counting.item_counts(sample.indices, X.shape[1])
    sample = _select(sample, None, order[in_sample[order] >= threshold])
    n_pairs = _count_frequent_pairs(sample, threshold)
    density = root_nnz / max(1, len(rows) * len(order))
    vertical = (_COST_NODE * n_pairs * (20 if density >= _DENSE else 0.6)
                + _COST_ROOT_NNZ * root_nnz)
    pyfim = _COST_PYFIM_ROW * X.shape[0] + _COST_PYFIM_SET * 2.5 * n_pairs
    return {"vertical_s": round(vertical, 3), "pyfim_s": round(pyfim, 3),
            "frequent_pairs_estimate": n_pairs, "density": round(density, 4)}


def _count_frequent_pairs(D: sp.csr_matrix, min_count: int) -> int:
    """How many column pairs of D occur in at least ``min_count`` rows (the estimate's count).

    As ``_pairs_sparse`` but counting only: keys index the upper triangle (half the bins) and
    are counted in blocks of ``_COST_PAIR_BLOCK`` into int32 totals, so the temporaries stay
    a few MB; above ``_PAIR_BINS`` bins it falls back to ``_pairs_sparse``.
    """
    c = D.shape[1]
    bins = c * (c - 1) // 2
    if bins > _PAIR_BINS:
        return len(_pairs_sparse(D, min_count, block=_COST_PAIR_BLOCK)[0])
    total = np.zeros(bins, dtype=np.int32)
    lengths = np.diff(D.indptr)
    pending, size = [], 0

    def flush():  # one bincount per block of keys, not one per basket length
        nonlocal pending, size, total
        if pending:
            total += np.bincount(np.concatenate(pending), minlength=bins).astype(np.int32)
            pending, size = [], 0

    for L in np.unique(lengths[lengths >= 2]).tolist():
        rows = np.flatnonzero(lengths == L)
        ii, jj = np.triu_indices(L, 1)
        step = max(1, _COST_PAIR_BLOCK // len(ii))
        for lo in range(0, len(rows), step):
            r = rows[lo:lo + step]
            cells = D.indices[D.indptr[r][:, None] + np.arange(L)].astype(np.int64)
            low = np.minimum(cells[:, ii], cells[:, jj])
            high = np.maximum(cells[:, ii], cells[:, jj])
            pending.append((high * (high - 1) // 2 + low).ravel())
            size += pending[-1].size
            if size >= _COST_PAIR_BLOCK:
                flush()
    flush()
    return int(np.count_nonzero(total >= min_count))


def _as_node_database(D: sp.csr_matrix):
    """A conditional database as CSR, or as column bitsets once it is small or dense."""
    cells = D.shape[0] * D.shape[1]
    if cells <= _BITSET_CELLS or (D.nnz >= cells * _BITSET_DENSITY
                                  and cells <= 64 * _BITSET_CELLS):
        return _to_bits(D)
    return D


def _pairs_sparse(D: sp.csr_matrix, min_count: int, use_bincount: bool | None = None,
                  block: int = _PAIR_BLOCK):
    """Frequent pairs of a CSR database, counted from the pairs inside each row.

    Rows are grouped by length L, so each group is an (n_L, L) matrix whose L(L-1)/2 column
    pairs are keyed ``low * n_cols + high`` and counted with ``bincount`` (or ``unique`` when
    n_cols**2 is large). The work is proportional to the number of pairs in the data.
    """
    c = D.shape[1]
    lengths = np.diff(D.indptr)
    if use_bincount is None:
        use_bincount = c * c <= _PAIR_BINS
    total = np.zeros(c * c if use_bincount else 0, dtype=np.int64)
    pending, size = [], 0

    def flush():
        nonlocal pending, size, total
        if pending and use_bincount:
            total += np.bincount(np.concatenate(pending), minlength=c * c)
            pending, size = [], 0

    for L in np.unique(lengths[lengths >= 2]):
        rows = np.flatnonzero(lengths == L)
        ii, jj = np.triu_indices(int(L), 1)
        step = max(1, block // len(ii))
        for lo in range(0, len(rows), step):
            r = rows[lo:lo + step]
            cells = D.indices[D.indptr[r][:, None] + np.arange(L)].astype(np.int64)
            left, right = cells[:, ii], cells[:, jj]
            pending.append((np.minimum(left, right) * c + np.maximum(left, right)).ravel())
            size += pending[-1].size
            if size >= block:
                flush()
    if use_bincount:
        flush()
        keys = np.flatnonzero(total >= min_count)
        counts = total[keys]
    elif pending:
        keys, counts = np.unique(np.concatenate(pending), return_counts=True)
        keep = counts >= min_count
        keys, counts = keys[keep], counts[keep].astype(np.int64)
    else:
        keys = counts = np.empty(0, dtype=np.int64)
    return keys // c, keys % c, counts


def _to_bits(D: sp.csr_matrix) -> np.ndarray:
    """Column bitsets of a CSR 0/1 matrix: (n_cols, ceil(n_rows / 64)) uint64."""
    n_rows, n_cols = D.shape
    words = max(1, -(-n_rows // 64))
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(D.indptr))
    flat = D.indices.astype(np.int64) * words + (row_of >> 6)
    bits = np.left_shift(np.uint64(1), (row_of & 63).astype(np.uint64))
    B = np.zeros(n_cols * words, dtype=np.uint64)
    np.bitwise_or.at(B, flat, bits)
    return B.reshape(n_cols, words)


def _pairs_bits(B: np.ndarray, min_count: int):
    """Frequent pairs of bitset columns: popcount of every pairwise AND (in row blocks)."""
    c, w = B.shape
    G = np.empty((c, c), dtype=np.int64)
    step = max(1, _BITSET_BLOCK // max(1, c * w))
    for lo in range(0, c, step):
        hi = min(c, lo + step)
        G[lo:hi] = np.bitwise_count(B[lo:hi, None, :] & B[None, :, :]).sum(axis=2, dtype=np.int64)
    a, b = np.nonzero(np.triu(G >= min_count, 1))
    return a, b, G[a, b]


def _node(state, prefix: tuple, D, cols: np.ndarray) -> None:
    """Emit prefix + every frequent pair of D's columns, then recurse into each first item.

    ``D`` is the conditional database of ``prefix``: a CSR matrix (rows = transactions holding
    the prefix and at least two candidate items) or, once small or dense, column bitsets.
    """
    if sp.issparse(D):
        if D.shape[0] < state["min"]:
            return
        D = _as_node_database(D)
    bits = not sp.issparse(D)
    pairs = _pairs_bits(D, state["min"]) if bits else _pairs_sparse(D, state["min"])
    _expand(state, prefix, D, cols, pairs, bits=bits)


def _expand(state, prefix, D, cols, pairs, *, bits: bool) -> None:
    a, b, c = pairs
    if not len(a):
        return
    depth = len(prefix) + 2
    block = np.empty((len(a), depth), dtype=np.int64)
    block[:, : len(prefix)] = prefix
    block[:, -2] = cols[a]
    block[:, -1] = cols[b]
    state["codes"].setdefault(depth, []).append(block)
    state["counts"].setdefault(depth, []).append(c)
    if depth + 1 > state["limit"]:
        return
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    ends = np.r_[starts[1:], len(a)]
    Dc = None if bits else D.tocsc()
    for s, e in zip(starts, ends, strict=True):
        if e - s < 2:
            continue
        first = a[s]
        partners = b[s:e]
        if bits:
            words = D[first]
            live = np.flatnonzero(words)
            if len(live) * 2 < len(words):
                sub = D[partners][:, live] & words[live]
            else:
                sub = D[partners] & words
        else:
            rows = Dc.indices[Dc.indptr[first]:Dc.indptr[first + 1]]
            sub = _select(D, rows, partners)
        _node(state, prefix + (int(cols[first]),), sub, cols[partners])


# -- engine: pyfim -------------------------------------------------------------------------------

def _fim():
    try:
        import fim  # noqa: PLC0415  (optional compiled engine)
    except ImportError:
        return None
    return fim


def _mine_pyfim(X: sp.csr_matrix, min_count: int, max_len, item_counts=None):
    """pyfim on the rows of a matrix (built as lists of column codes)."""
    indices = X.indices.tolist()
    bounds = X.indptr.tolist()
    tracts = [indices[s:e] for s, e in zip(bounds[:-1], bounds[1:], strict=True)]
    del indices
    counts = (counting.item_counts(X.indices, X.shape[1]) if item_counts is None
              else item_counts)
    frequent = counts[counts >= min_count]
    density = frequent.sum() / max(1, X.shape[0] * len(frequent))
    found = _run_pyfim(tracts, min_count, max_len, dense=density >= _DENSE)
    del tracts
    return _from_pyfim(found)


def _run_pyfim(tracts, min_count: int, max_len, *, dense: bool) -> list:
    """pyfim's frequent itemsets (tuple of items, count) of any iterable of transactions."""
    fim = _fim()
    # pyfim drops the itemsets made only of items found in *every* transaction (they extend the
    # unreported empty set); one empty transaction changes no count and avoids it. chain: pyfim
    # reads any iterable, so the caller's list is not copied
    tracts = chain(tracts, [[]])
    kwargs = {} if max_len is None else {"zmax": int(max_len)}
    # FP-growth on dense data (chess-like); on sparse data Borgelt's RElim, which needs 30-50%
    # less memory than his Eclat on retail.dat (12 vs 18 MB at 0.002, 21 vs 31 MB at 0.0002)
    # at about its speed there; on IBM Quest it is up to 30% slower, inside that set's margin
    # (benchmarks/rules.py). All give the same sets
    algorithm = fim.fpgrowth if dense else fim.relim
    return algorithm(tracts, target="s", supp=-min_count, zmin=1, report="a", **kwargs)


def _from_pyfim(found: list, *, labelled: bool = False):
    """pyfim's (itemset tuple, count) pairs -> codes and counts per size, with no Python loop.

    ``zip``, ``map(len)`` and ``chain`` walk the list in C and ``np.fromiter`` fills the arrays,
    so no Python object is made per itemset beyond the ones pyfim returned. Items are column
    codes, or with ``labelled`` the caller's items: they are then coded by their rank among the
    frequent items (the one-item sets), sorted as ``Baskets.from_transactions`` sorts them, and
    those labels are returned too.
    """
    if not found:
        return ({}, {}, pd.Index([], dtype=object)) if labelled else ({}, {})
    sets, counts = zip(*found, strict=True)
    found.clear()
    n = len(sets)
    lengths = np.fromiter(map(len, sets), dtype=np.int64, count=n)
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    if labelled:
        # every item of an itemset is a frequent item, so the one-item sets name them all
        singles = [sets[i][0] for i in np.flatnonzero(lengths == 1).tolist()]
        if set(map(type, singles)) == {int}:
            labels = np.sort(np.fromiter(singles, dtype=np.int64, count=len(singles)))
            flat = np.fromiter(chain.from_iterable(sets), dtype=np.int64, count=total)
            flat = np.searchsorted(labels, flat)
            labels = pd.Index(labels.tolist(), dtype=object)
        else:
            try:
                labels = pd.Index(sorted(singles), dtype=object)
            except TypeError:
                labels = pd.Index(sorted(singles, key=str), dtype=object)
            flat = labels.get_indexer(np.fromiter(chain.from_iterable(sets), dtype=object,
                                                  count=total))
    else:
        flat = np.fromiter(chain.from_iterable(sets), dtype=np.int64, count=total)
    del sets
    counts = np.fromiter(counts, dtype=np.int64, count=n)
    codes_out, counts_out = {}, {}
    for k in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == k)
        codes_out[k] = [flat[starts[rows][:, None] + np.arange(k)]]
        counts_out[k] = [counts[rows]]
    return (codes_out, counts_out, labels) if labelled else (codes_out, counts_out)


# -- 'auto' and 'pyfim' on the caller's lists ------------------------------------------------------

def _mine_lists(data: Baskets, *, min_support, max_len, auto: bool, where: str):
    """pyfim on the caller's lists, no matrix; ``(None, estimate)`` when 'auto' estimates the
    vertical search cheaper."""
    lists = data.lists
    n = len(lists)
    min_count = counting.min_count(min_support, n)
    estimate = _list_estimate(lists, min_count)
    try:
        check_memory(estimate.pop("item_counts"), n, min_support=min_support, max_len=max_len,
                     where=where)
    except InsufficientMemoryError:  # refuse on the exact item counts, not the sample's
        check_memory(counting.item_counts(data.matrix.indices, data.matrix.shape[1]), n,
                     min_support=min_support, max_len=max_len, where=where)
    dense = estimate.pop("item_density") >= _DENSE
    if auto and estimate["vertical_s"] < estimate["pyfim_s"]:
        return None, estimate
    codes, counts, labels = _from_pyfim(_run_pyfim(lists, min_count, max_len, dense=dense),
                                        labelled=True)
    codes, counts = _canonical(codes, counts)
    info = {"min_support": min_support, "min_count": min_count, "max_len": max_len}
    if auto:
        info["cost"] = estimate
    return ItemsetTable(codes, counts, n, labels, engine="pyfim", info=info), estimate


def _list_estimate(lists: list, min_count: int) -> dict:
    """The 'auto' costs of both engines from a regular sample of the caller's lists.

    At most ``_LIST_SAMPLE`` lists and about ``_LIST_PAIRS`` item pairs in them are coded and
    counted: item counts (scaled to all lists; they also feed the memory check), the entries
    and the frequent pairs (threshold scaled to the sample), so the estimate costs a few ms
    whatever the size. The vertical search must first encode every entry into a matrix; pyfim
    reads the lists as they are.
    """
    n = len(lists)
    step = max(1, -(-n // _LIST_SAMPLE))
    sample = lists[::step]
    lengths = np.fromiter(map(len, sample), dtype=np.int64, count=len(sample))
    pairs = float((lengths * (lengths - 1) // 2).sum())
    if pairs > _LIST_PAIRS:  # long (dense) baskets are sampled thinner
        thin = int(np.ceil(pairs / _LIST_PAIRS))
        sample, lengths, step = sample[::thin], lengths[::thin], step * thin
    flat = list(chain.from_iterable(sample))
    if set(map(type, flat)) <= {int}:
        values = np.fromiter(flat, dtype=np.int64, count=len(flat))
    else:
        values = np.fromiter(flat, dtype=object, count=len(flat))
    del flat
    codes, uniques = pd.factorize(values)
    indptr = np.zeros(len(sample) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    S = sp.csr_matrix((np.ones(len(codes), dtype=np.int8), codes.astype(np.int32), indptr),
                      shape=(len(sample), len(uniques)))
    S.sum_duplicates()  # repeated items in a basket count once
    in_sample = np.bincount(S.indices, minlength=S.shape[1])
    scale = n / max(1, len(sample))
    threshold = max(1, int(np.ceil(min_count / step)))
    frequent = np.flatnonzero(in_sample >= threshold)
    root = _select(S, None, frequent)
    n_pairs = _count_frequent_pairs(root, threshold) if root.shape[0] else 0
    density = root.nnz / max(1, root.shape[0] * len(frequent))
    entries = S.nnz * scale
    vertical = (_COST_ENCODE_ENTRY * entries + _COST_ROOT_NNZ * root.nnz * scale
                + _COST_NODE * n_pairs * (20 if density >= _DENSE else 0.6))
    pyfim = _COST_PYFIM_ENTRY * entries + _COST_PYFIM_SET * 2.5 * n_pairs
    return {"vertical_s": round(vertical, 3), "pyfim_s": round(pyfim, 3),
            "frequent_pairs_estimate": n_pairs, "density": round(density, 4),
            "sampled_lists": len(sample), "item_counts": in_sample * scale,
            "item_density": in_sample[frequent].sum() / max(1, len(sample) * len(frequent))}


# -- engine: mlxtend (reference) -----------------------------------------------------------------

def _mine_mlxtend(X: sp.csr_matrix, min_support: float, max_len):
    from mlxtend.frequent_patterns import apriori  # noqa: PLC0415  (heavy import, on demand)

    frame = pd.DataFrame.sparse.from_spmatrix(X.astype(bool))
    found = apriori(frame, min_support=min_support, use_colnames=False, max_len=max_len)
    n = float(X.shape[0])
    codes, counts = {}, {}
    for support, itemset in zip(found["support"], found["itemsets"], strict=True):
        k = len(itemset)
        codes.setdefault(k, []).append(sorted(int(i) for i in itemset))
        counts.setdefault(k, []).append(int(round(support * n)))
    return ({k: [np.asarray(v, dtype=np.int64).reshape(-1, k)] for k, v in codes.items()},
            {k: [np.asarray(v, dtype=np.int64)] for k, v in counts.items()})
