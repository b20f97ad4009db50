"""Grouping-set aggregation of the fact table, in two passes.

1. **Base cuboids.** Grouping sets that touch the same dimensions (a whole drill-down: total,
   region, manager, rep per month) share one base cuboid: the additive measures summed per
   combination of the dimensions' *surrogate keys* (per month and rep_key). This is the only pass
   over the order lines, and it groups small integers without joining any dimension.
   ``engine='pandas'`` does it with numpy: the keys are combined into one integer per line and
   ``numpy.bincount`` sums each measure (``pandas.factorize`` first when the key space is sparse,
   such as month x customer). ``engine='duckdb'`` runs ``GROUP BY`` in DuckDB over the fact's
   columns in place (Arrow-style zero copy, parallel).
2. **Roll-up.** Each grouping set maps the base cuboid's keys to level codes through the
   dimension tables and sums again: a few thousand rows, not millions.

Distinct counts cannot be summed, except where every order belongs to one member: orders per
date, customer, channel and rep are counted once per order in the base pass and summed; orders per
product level and customers are counted as distinct (group, order) or (group, customer) pairs.

Both engines return the same frames: the set's level codes (Period ordinals for date levels,
category codes otherwise), then the measures. ``engine='auto'`` picks the one measured faster on
this data size (``benchmarks/cube.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_one_of, examples
from ..errors import ParameterError
from .star import DATE_LEVELS, DIM_KEY, DIMENSION, LEVELS, MEASURES, Star, check_level

__all__ = ["DUCKDB_MIN_ROWS", "CUBE_ENGINES", "all_filters", "grouping_sets", "local_where", "remote_dims",
           "resolve_where"]

CUBE_ENGINES = ("auto", "duckdb", "pandas")
#: ``engine='auto'`` uses DuckDB from this many fact rows on; None: never (see benchmarks/cube.py)
DUCKDB_MIN_ROWS: int | None = None
#: dimensions whose member is fixed per order: order counts add up along them
ORDER_DIMS = frozenset({"date", "customer", "channel", "rep"})
_COUNTS = ("quantity", "lines", "orders", "customers")
_DATE_ORDER = ("day", "month", "quarter", "year")  # nested date levels, fine to coarse


def choose_engine(star: Star, engine: str, *, where: str) -> str:
    check_one_of(engine, CUBE_ENGINES, name="engine", where=where)
    if star.is_summary:  # a few rows per dimension combination: numpy sums them
        return "pandas"
    if engine == "auto":
        big = DUCKDB_MIN_ROWS is not None and len(star.fact) >= DUCKDB_MIN_ROWS
        return "duckdb" if big else "pandas"
    return engine


def check_measures(measures, *, where: str) -> tuple[str, ...]:
    measures = (measures,) if isinstance(measures, str) else tuple(measures)
    for m in measures:
        check_one_of(m, MEASURES, name="measures", where=where)
    return measures


# ------------------------------------------------------------------------------ codes, filters
def fact_codes(star: Star, level: str, rows=None) -> np.ndarray:
    """Code of ``level`` for every fact row (or for the fact rows ``rows``)."""
    dim = DIMENSION[LEVELS[level]]
    keys = star.fact[DIM_KEY[dim]].to_numpy()
    if rows is not None:
        keys = keys[rows]
    if dim == "date":
        keys = keys - star.day0
    return star.level_codes(level)[keys]


def member_codes(star: Star, level: str, members, *, where: str) -> np.ndarray:
    """Integer codes of the given members (labels; for date levels Periods or text like '2025Q2')."""
    many = isinstance(members, (list, tuple, set, frozenset, pd.Index, np.ndarray, pd.Series))
    values = list(members) if many else [members]
    if level in DATE_LEVELS:
        out = []
        for v in values:
            try:
                v = str(v) if isinstance(v, (int, np.integer)) else v
                out.append(pd.Period(v, freq=DATE_LEVELS[level]).ordinal)
            except (ValueError, TypeError):
                example = str(pd.Period("2025-06-15", freq=DATE_LEVELS[level]))
                raise ParameterError(f"{where}: a {level} must be a period such as {example!r}; "
                                     f"got {v!r}.", name=level) from None
        return np.asarray(out, dtype=np.int64)
    categories = star.dims[DIMENSION[LEVELS[level]]][level].cat.categories
    if level == "customer":
        values = [int(v) if str(v).lstrip("-").isdigit() else v for v in values]
    codes = categories.get_indexer(values)
    bad = [v for v, c in zip(values, codes, strict=True) if c < 0]
    if bad:
        raise ParameterError(
            f"{where}: {level!r} has no member(s) {bad}; members are {examples(categories, 8)}.",
            name=level)
    return codes.astype(np.int64)


def resolve_where(star: Star, where_: Mapping | None, *, where: str) -> dict[str, np.ndarray]:
    """{level: members} -> {level: allowed codes}; checks levels and members."""
    if not where_:
        return {}
    if not isinstance(where_, Mapping):
        raise ParameterError(f"{where}: 'where' must be a dict of level -> member(s); got {where_!r}.",
                             name="where")
    return {check_level(star, lvl, where=where): member_codes(star, lvl, m, where=where)
            for lvl, m in where_.items()}


def fact_mask(star: Star, allowed: Mapping[str, np.ndarray]) -> np.ndarray | None:
    mask = None
    for level, codes in allowed.items():
        m = np.isin(fact_codes(star, level), codes)
        mask = m if mask is None else mask & m
    return mask


# ------------------------------------------------------------------------------ entry point
def grouping_sets(star: Star, sets: Sequence[tuple[str, ...]], measures: Sequence[str],
                  allowed: Mapping[str, np.ndarray], engine: str) -> list[pd.DataFrame]:
    """One frame per grouping set: the set's level codes, then the measures."""
    sets = [tuple(s) for s in sets]
    measures = tuple(measures)
    if star.date_grain == "month":
        fine = sorted({lvl for s in sets for lvl in s if lvl in ("day", "week")} |
                      {lvl for lvl in allowed if lvl in ("day", "week")})
        if fine:
            raise ParameterError(f"cube: this summary star holds months, so it cannot group or filter "
                                 f"by {fine}; use month, quarter or year (or the star of order lines).",
                                 name="by")
    # a summary star without some dimensions in its fact asks Spark for the sets that need them
    remote = remote_dims(star)
    filtered_remotely = bool(remote & set(_dims([*allowed, *star.filters])))
    mask = None if filtered_remotely else fact_mask(star, allowed)
    rows = None if mask is None else np.flatnonzero(mask)
    # margin and gross follow from the others, so the pass over the lines sums only these
    summed = ["lines"] + [m for m in ("revenue", "cost", "quantity", "discount")
                          if m in measures or (m in ("revenue", "cost") and "margin" in measures)
                          or (m in ("revenue", "discount") and "gross" in measures)]
    count_orders = "orders" in measures
    plan = _plan(sets)
    bases: dict[tuple, pd.DataFrame] = {}
    out = []
    for s in sets:
        if filtered_remotely or remote & set(_dims(s)):
            asked = [*summed, *[m for m in ("orders", "customers") if m in measures]]
            res = star.counter.aggregate(star, s, asked, all_filters(star, allowed))
            out.append(_finish(res, s, measures))
            continue
        base_key = plan[s]
        # orders add up from the base when every dimension of the base fixes one member per order
        with_orders = count_orders and {dim for dim, _lvl in base_key} <= ORDER_DIMS
        if base_key not in bases:
            bases[base_key] = _base(star, base_key, summed, with_orders, rows, engine)
        base = bases[base_key]
        res = _roll(star, base, base_key, s, [c for c in [*summed, "orders"] if c in base.columns])
        if count_orders and not with_orders:
            res = _distinct(star, s, res, "order_key", rows, allowed)
        if "customers" in measures:
            res = _distinct(star, s, res, "customer_key", rows, allowed)
        out.append(_finish(res, s, measures))
    return out


def _finish(res: pd.DataFrame, levels, measures) -> pd.DataFrame:
    if "margin" in measures:
        res["margin"] = res["revenue"] - res["cost"]
    if "gross" in measures:
        res["gross"] = res["revenue"] + res["discount"]
    for m in measures:
        res[m] = res[m].astype(np.int64 if m in _COUNTS else np.float64)
    return res[[*levels, *measures]].reset_index(drop=True)


def remote_dims(star: Star) -> set[str]:
    """Dimensions a summary star's fact does not hold: sets over them are summed on Spark."""
    if not star.is_summary:
        return set()
    return {dim for dim, key in DIM_KEY.items() if key not in star.fact.columns}


def local_where(star: Star, allowed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The part of ``allowed`` the star's fact can filter itself (all of it but for a summary star)."""
    remote = remote_dims(star)
    return {lvl: codes for lvl, codes in allowed.items() if DIMENSION[LEVELS[lvl]] not in remote}


def all_filters(star: Star, allowed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The star's own filters and ``allowed`` as codes, intersected per level."""
    every = {lvl: member_codes(star, lvl, members, where="cube") for lvl, members in star.filters.items()}
    for lvl, codes in allowed.items():
        every[lvl] = np.intersect1d(every[lvl], codes) if lvl in every else np.asarray(codes)
    return every


def _plan(sets: list[tuple[str, ...]]) -> dict[tuple, tuple]:
    """Base cuboid key per grouping set: sets over the same dimensions share one base, keyed by
    the surrogate keys and the finest date level any of them needs. The empty set (grand total)
    reuses the smallest base."""
    needs: dict[frozenset, set] = {}
    for s in sets:
        needs.setdefault(frozenset(_dims(s)), set()).update(lvl for lvl in s if lvl in DATE_LEVELS)
    keys = {}
    for dims, date_levels in needs.items():
        key = []
        for dim in sorted(dims):
            if dim != "date":
                key.append((dim, "key"))
            elif len(date_levels) == 1:
                key.append((dim, next(iter(date_levels))))
            elif "week" in date_levels:
                key.append((dim, "day"))
            else:
                key.append((dim, next(lvl for lvl in _DATE_ORDER if lvl in date_levels)))
        keys[dims] = tuple(key)
    plan = {s: keys[frozenset(_dims(s))] for s in sets}
    if () in plan and len(keys) > 1:
        plan[()] = min((k for d, k in keys.items() if d),
                       key=lambda k: (not {dim for dim, _ in k} <= ORDER_DIMS, _base_size(k)))
    return plan


def _base_size(key) -> int:
    sizes = {"key": 10_000, "day": 1000, "week": 150, "month": 36, "quarter": 12, "year": 3}
    out = 1
    for dim, level in key:
        out *= sizes[level] if dim == "date" else {"customer": 1_000_000}.get(dim, 1000)
    return out


def _dims(levels) -> list[str]:
    return sorted({DIMENSION[LEVELS[lvl]] for lvl in levels})


def _key_values(star: Star, dim: str, level: str, rows) -> tuple[np.ndarray, int, int]:
    """Per fact row: the key as 0..card-1, the cardinality and the offset to add back."""
    if dim == "date":
        codes = star.level_codes(level)
        lo = int(codes.min())
        keys = star.fact["date_key"].to_numpy()
        keys = keys if rows is None else keys[rows]
        return codes[keys - star.day0] - lo, int(codes.max()) - lo + 1, lo
    keys = star.fact[DIM_KEY[dim]].to_numpy()
    return (keys if rows is None else keys[rows]), len(star.dims[dim]), 0


def _group_ids(columns: list[np.ndarray], cards: list[int], n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Combine integer columns into one group id per row.

    Returns ``(ids, keys, n_groups)`` where ``ids[i]`` in 0..n_groups-1 and ``keys[g]`` is the
    combined key of group ``g`` (mixed radix of the columns). Dense key spaces use the combined
    key itself (ids with empty groups, filtered by the caller); sparse ones are factorized.
    """
    combined = np.zeros(n, dtype=np.int64)
    space = 1
    for col, card in zip(columns, cards, strict=True):
        combined = combined * card + col
        space *= card
    if space <= max(2 * n, 1 << 16):
        return combined, np.arange(space, dtype=np.int64), space
    ids, keys = pd.factorize(combined, sort=False)
    return ids, np.asarray(keys, dtype=np.int64), len(keys)


def _split(keys: np.ndarray, cards: list[int]) -> list[np.ndarray]:
    out = []
    for card in reversed(cards):
        keys, rem = np.divmod(keys, card)
        out.append(rem)
    return out[::-1]


def _base(star: Star, base_key, additive: list[str], with_orders: bool, rows, engine) -> pd.DataFrame:
    """Additive measures (and order counts) per combination of the base's keys."""
    names = [f"{dim}:{level}" for dim, level in base_key]
    if engine == "duckdb":
        return _base_duckdb(star, base_key, names, additive, with_orders, rows)
    n = len(star.fact) if rows is None else len(rows)
    parts = [_key_values(star, dim, level, rows) for dim, level in base_key]
    ids, keys, n_groups = _group_ids([p[0] for p in parts], [p[1] for p in parts], n)
    present = np.bincount(ids, minlength=n_groups)
    data = {}
    for m in [*additive, *(["orders"] if with_orders and star.is_summary else [])]:
        if m == "lines" and not star.is_summary:
            data[m] = present
        else:  # a summary star's rows carry their lines and first-line order counts as columns
            values = star.fact[m].to_numpy()
            values = values if rows is None else values[rows]
            data[m] = np.bincount(ids, weights=values, minlength=n_groups)
    if with_orders and not star.is_summary:
        first = _first_line_of_order(star, rows)
        data["orders"] = np.bincount(ids[first], minlength=n_groups)
    keep = present > 0
    frame = pd.DataFrame({k: v[keep] for k, v in data.items()}, copy=False)
    for name, col, (_v, _card, lo) in zip(names, _split(keys[keep], [p[1] for p in parts]), parts,
                                          strict=True):
        frame[name] = col + lo
    return frame


def _first_line_of_order(star: Star, rows) -> np.ndarray:
    """Index (into ``rows`` or the fact) of one line per order."""
    order = star.fact["order_key"].to_numpy()
    order = order if rows is None else order[rows]
    first = np.full(star.n_orders, -1, dtype=np.int64)
    first[order[::-1]] = np.arange(len(order) - 1, -1, -1)
    return first[first >= 0]


def _roll(star: Star, base: pd.DataFrame, base_key, levels: tuple[str, ...],
          measures: list[str]) -> pd.DataFrame:
    """Aggregate a base cuboid to the level codes of one grouping set."""
    if not levels:
        return pd.DataFrame({m: [base[m].sum()] for m in measures})
    columns, cards, offsets = [], [], []
    for lvl in levels:
        dim = DIMENSION[LEVELS[lvl]]
        key_level = dict(base_key)[dim]
        keys = base[f"{dim}:{key_level}"].to_numpy()
        if dim == "date":
            codes = _date_map(star, key_level, lvl, keys)
        else:
            codes = star.level_codes(lvl)[keys]
        lo = int(codes.min()) if len(codes) else 0
        columns.append(codes - lo)
        cards.append(int(codes.max()) - lo + 1 if len(codes) else 1)
        offsets.append(lo)
    ids, keys, n_groups = _group_ids(columns, cards, len(base))
    present = np.bincount(ids, minlength=n_groups) > 0
    data = {}
    for lvl, col, lo in zip(levels, _split(keys[present], cards), offsets, strict=True):
        data[lvl] = col + lo
    for m in measures:
        weights = base[m].to_numpy(dtype=np.float64)
        data[m] = np.bincount(ids, weights=weights, minlength=n_groups)[present]
    frame = pd.DataFrame(data)
    return frame.sort_values(list(levels), kind="stable").reset_index(drop=True)


def _date_map(star: Star, from_level: str, to_level: str, ordinals: np.ndarray) -> np.ndarray:
    """Map ordinals of one date level to a coarser (or the same) date level."""
    if from_level == to_level:
        return ordinals
    dim = star.dims["date"]
    lookup = pd.Series(dim[to_level].to_numpy(), index=dim[from_level].to_numpy())
    lookup = lookup[~lookup.index.duplicated()]
    return lookup.reindex(ordinals).to_numpy(dtype=np.int64)


def _distinct(star: Star, levels: tuple[str, ...], res: pd.DataFrame, entity: str,
              rows, allowed: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Count distinct ``entity`` (order_key / customer_key) per group of ``res``."""
    name = "orders" if entity == "order_key" else "customers"
    if star.is_summary:  # counted where the order lines are, under the star's filters and ``allowed``
        counted = star.counter(star, tuple(levels), name, all_filters(star, allowed))
        if not levels:
            return res.assign(**{name: [int(counted[name].sum())]})
        return res.merge(counted, on=list(levels), how="left").fillna({name: 0})
    by_order = set(_dims(levels)) <= ORDER_DIMS
    if by_order:  # one line per order is enough: the group is the same for every line
        first = _first_line_of_order(star, rows)
        rows = first if rows is None else rows[first]
    ent = star.fact[entity].to_numpy()
    ent = ent if rows is None else ent[rows]
    n = len(ent)
    if not levels:
        return res.assign(**{name: [len(pd.unique(ent))]})
    columns, cards, offsets = [], [], []
    for lvl in levels:
        codes = fact_codes(star, lvl, rows)
        lo = int(codes.min()) if n else 0
        columns.append(codes - lo)
        cards.append(int(codes.max()) - lo + 1 if n else 1)
        offsets.append(lo)
    ids, keys, n_groups = _group_ids(columns, cards, n)
    pairs = pd.unique(ids.astype(np.int64) * (int(ent.max()) + 1 if n else 1) + ent)
    group = pairs // (int(ent.max()) + 1 if n else 1)
    counts = np.bincount(group, minlength=n_groups)
    present = np.bincount(ids, minlength=n_groups) > 0
    found = dict(zip(levels, [c + lo for c, lo in zip(_split(keys[present], cards), offsets,
                                                         strict=True)], strict=True))
    found[name] = counts[present]
    frame = pd.DataFrame(found)
    return res.merge(frame, on=list(levels), how="left").fillna({name: 0})


# ------------------------------------------------------------------------------ duckdb
def _base_duckdb(star: Star, base_key, names, additive, with_orders, rows) -> pd.DataFrame:
    import duckdb

    cols = sorted({DIM_KEY[dim] for dim, _lvl in base_key} | {m for m in additive if m != "lines"})
    data = {c: (star.fact[c].to_numpy() if rows is None else star.fact[c].to_numpy()[rows]) for c in cols}
    n = len(star.fact) if rows is None else len(rows)
    if with_orders:  # one flag per order (on its first line): orders add up like any measure
        flag = np.zeros(n, dtype=np.int8)
        flag[_first_line_of_order(star, rows)] = 1
        data["first_line"] = flag
    if not data:
        data["_one"] = np.ones(n, dtype=np.int8)
    con = duckdb.connect()
    try:
        con.register("fact", pd.DataFrame(data, copy=False))
        select, joins = [], []
        for (dim, level), name in zip(base_key, names, strict=True):
            if dim == "date":
                codes = star.level_codes(level)
                con.register("d_date", pd.DataFrame({
                    "k": np.arange(star.day0, star.day0 + len(codes), dtype=np.int64), "v": codes}))
                joins.append("JOIN d_date ON f.date_key = d_date.k")
                select.append(f'd_date.v AS "{name}"')
            else:
                select.append(f'f."{DIM_KEY[dim]}" AS "{name}"')
        aggs = ["COUNT(*) AS lines" if m == "lines" else
                (f'SUM(f."{m}")::BIGINT AS "{m}"' if m == "quantity" else f'SUM(f."{m}") AS "{m}"')
                for m in additive]
        if with_orders:
            aggs.append("SUM(f.first_line)::BIGINT AS orders")
        group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(select)))}" if select else ""
        sql = f"SELECT {', '.join(select + aggs)} FROM fact f {' '.join(joins)} {group}"
        frame = con.sql(sql).to_arrow_table().to_pandas()
    finally:
        con.close()
    if not select and frame["lines"].iloc[0] == 0:
        frame = frame.iloc[:0]
    return frame.fillna(0)
