"""Comparisons on cube tables: period-over-period growth, share of total, rank within parent, and
actual revenue against the reps' monthly targets.

``growth``, ``share_of_total`` and ``rank_within`` take a flat table from
:func:`~crmlib.cube.ops.aggregate` or a drill-down tree from :func:`~crmlib.cube.ops.drill_down`
and return a copy with new columns; ``attainment`` reads the star.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_columns, check_one_of
from ..errors import ParameterError
from . import _engine
from ._tree import build_tree
from .star import DATE_LEVELS, HIERARCHIES, LEVELS, Star

__all__ = ["COMPARE_TO", "attainment", "base_period", "growth", "parse_period", "rank_within",
           "share_of_total"]

#: 'previous': the period before (month on month, quarter on quarter); 'sply': the same period
#: last year (year on year for years); 'ytd': year to date against the same span last year
COMPARE_TO = ("previous", "sply", "ytd")
_PER_YEAR = {"year": 1, "quarter": 4, "month": 12, "week": 52}
TARGET_PERIODS = ("month", "quarter", "year")


def parse_period(value) -> tuple[str, pd.Period]:
    """The date level and Period of a value such as '2025Q2', '2025-06', '2025' or a Period.

    Raises
    ------
    ParameterError
        The value is not a year, quarter, month, ISO week or day.
    """
    if isinstance(value, pd.Period):
        for level, freq in DATE_LEVELS.items():
            if value.freqstr == pd.Period("2025-01-01", freq=freq).freqstr:
                return level, value
    text = str(value).strip()
    patterns = [("quarter", r"^\d{4}Q[1-4]$"), ("year", r"^\d{4}$"), ("month", r"^\d{4}-\d{2}$"),
                ("day", r"^\d{4}-\d{2}-\d{2}$")]
    for level, pattern in patterns:
        if re.match(pattern, text, flags=re.IGNORECASE):
            return level, pd.Period(text.upper(), freq=DATE_LEVELS[level])
    m = re.match(r"^(\d{4})-W(\d{2})$", text, flags=re.IGNORECASE)
    if m:
        monday = pd.Timestamp.fromisocalendar(int(m[1]), int(m[2]), 1)
        return "week", monday.to_period(DATE_LEVELS["week"])
    raise ParameterError(
        f"cube.parse_period: a period must look like '2025', '2025Q2', '2025-06', '2025-W23' or "
        f"'2025-06-30'; got {value!r}.", name="period")


def base_period(period: pd.Period, level: str, compare_to: str) -> pd.Period:
    """The period a value is compared with: the one before, or the same one last year.

    Parameters
    ----------
    period : pandas.Period
    level : str
        Its date level ('year', 'quarter', 'month', 'week', 'day').
    compare_to : {'previous', 'sply', 'ytd'}
        'ytd' compares with the same period last year, like 'sply'.

    Returns
    -------
    pandas.Period
    """
    check_one_of(compare_to, COMPARE_TO, name="compare_to", where="cube.base_period")
    if compare_to == "previous":
        return period - 1
    if level == "day":
        return (period.to_timestamp() - pd.DateOffset(years=1)).to_period("D")
    return period - _PER_YEAR[level]


# ------------------------------------------------------------------------------ growth
def growth(table: pd.DataFrame, *, compare_to: str = "sply", measures: str | Sequence[str] = ("revenue",),
           period: str | None = None) -> pd.DataFrame:
    """Period-over-period growth of measures, per member.

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table or drill-down tree with one date-level column (the period).
    compare_to : {'previous', 'sply', 'ytd'}, default='sply'
        'previous': the period before (month on month for months); 'sply': the same period last
        year (year on year for years); 'ytd': the year-to-date sum against the same span last year.
    measures : str or sequence of str, default=('revenue',)
        Additive measures to compare.
    period : str, optional
        The period column, if the table has more than one date level.

    Returns
    -------
    pandas.DataFrame
        The table plus, per measure ``m``: ``m_base`` (the value compared with; 0 when the member
        had no sales then, NaN when that period is before the table's first period), ``m_change``
        (current - base) and ``m_growth`` (change / base, NaN when base is 0 or NaN); for 'ytd'
        also ``m_ytd``, the year-to-date value the others refer to.

    Raises
    ------
    ParameterError
        Bad ``compare_to``, no or several period columns, a missing measure.
    """
    where = "cube.growth"
    check_one_of(compare_to, COMPARE_TO, name="compare_to", where=where)
    measures = [measures] if isinstance(measures, str) else list(measures)
    check_columns(table, measures, where=where)
    period = _period_column(table, period, where=where)
    level = period
    keys = _member_keys(table, exclude=[period])
    out = table.copy()
    if out.empty:
        for m in measures:
            for suffix in (["ytd"] if compare_to == "ytd" else []) + ["base", "change", "growth"]:
                out[f"{m}_{suffix}"] = pd.Series(dtype=float)
        return out
    periods = pd.period_range(out[period].min(), out[period].max(), freq=DATE_LEVELS[level])
    first = periods[0]
    key_frame = out[keys].astype(object).astype(str) if keys else pd.DataFrame(index=out.index)
    row_key = pd.MultiIndex.from_frame(key_frame) if keys else pd.Index(np.zeros(len(out), int))
    for m in measures:
        wide = pd.Series(out[m].to_numpy(dtype=float),
                         index=pd.MultiIndex.from_arrays([row_key.to_flat_index(), out[period]])) \
            .groupby(level=[0, 1]).sum().unstack(1).reindex(columns=periods, fill_value=0).fillna(0.0)
        if compare_to == "ytd":
            years = np.array([p.year for p in periods])
            current = wide.T.groupby(years).cumsum().T
        else:
            current = wide
        base_periods = [base_period(p, level, "previous" if compare_to == "previous" else "sply")
                        for p in periods]
        base = pd.DataFrame({p: (current[b] if b >= first else np.nan)
                             for p, b in zip(periods, base_periods, strict=True)},
                            index=current.index)
        look = pd.MultiIndex.from_arrays([row_key.to_flat_index(), out[period]])
        cur_values = current.stack().reindex(look).to_numpy(dtype=float)
        base_values = base.stack().reindex(look).to_numpy(dtype=float)
        if compare_to == "ytd":
            out[f"{m}_ytd"] = cur_values
        out[f"{m}_base"] = base_values
        out[f"{m}_change"] = cur_values - base_values
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{m}_growth"] = np.where(base_values > 0, cur_values / base_values - 1, np.nan)
    return out


# ------------------------------------------------------------------------------ share, rank
def share_of_total(table: pd.DataFrame, measure: str = "revenue", *,
                   within: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Each row's share of a total, as ``<measure>_share`` (0..1).

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table or a drill-down tree.
    measure : str, default='revenue'
    within : {'parent', 'total'} or sequence of str, optional
        The total: 'parent' (trees: the row's parent node), 'total' (the grand total of the same
        period), or columns whose equal values form a group. Default: 'parent' for trees, the
        period columns for flat tables.

    Returns
    -------
    pandas.DataFrame
        The table plus ``<measure>_share``; NaN where the total is 0.
    """
    where = "cube.share_of_total"
    check_columns(table, [measure], where=where)
    tree = "node" in table.columns
    within = ("parent" if tree else "total") if within is None else within
    out = table.copy()
    if within in ("parent", "total") and tree:
        by = tree_by(table)
        if within == "parent":
            ref = out[[*by, "node", measure]].rename(columns={"node": "parent", measure: "_total"})
            merged = out[[*by, "parent"]].astype({"parent": object}).merge(
                ref.astype({"parent": object}), on=[*by, "parent"], how="left")
        else:
            ref = out.loc[out["depth"] == 0, [*by, measure]].rename(columns={measure: "_total"})
            merged = out[by].merge(ref, on=by, how="left") if by else \
                pd.DataFrame({"_total": np.full(len(out), ref["_total"].sum())})
        total = merged["_total"].to_numpy(dtype=float)
        if within == "parent":  # the root is all of itself
            total = np.where(out["depth"].to_numpy() == 0, out[measure].to_numpy(dtype=float), total)
    else:
        if within == "parent":
            raise ParameterError(f"{where}: within='parent' needs a drill-down tree; for a flat "
                                 "table pass the parent's columns, e.g. within=['rep_region'].",
                                 name="within")
        cols = [c for c in table.columns if c in DATE_LEVELS] if within == "total" else \
            ([within] if isinstance(within, str) else list(within))
        check_columns(table, cols, where=where)
        total = (out.groupby(cols, observed=True, dropna=False)[measure].transform("sum")
                 if cols else pd.Series(out[measure].sum(), index=out.index)).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[f"{measure}_share"] = np.where(total != 0, out[measure].to_numpy(dtype=float) / total, np.nan)
    return out


def rank_within(table: pd.DataFrame, measure: str = "revenue", *,
                within: str | Sequence[str] | None = None, ascending: bool = False) -> pd.DataFrame:
    """Rank of each row among its siblings, as ``<measure>_rank`` (1 = largest).

    Parameters
    ----------
    table : pandas.DataFrame
    measure : str, default='revenue'
    within : 'parent' or sequence of str, optional
        Who competes: 'parent' (trees: children of the same parent in the same period) or columns
        whose equal values form a group. Default: 'parent' for trees, the period columns for flat
        tables.
    ascending : bool, default=False
        Rank 1 for the smallest value instead.

    Returns
    -------
    pandas.DataFrame
        The table plus ``<measure>_rank`` (int64, ties share the best rank).
    """
    where = "cube.rank_within"
    check_columns(table, [measure], where=where)
    tree = "node" in table.columns
    within = ("parent" if tree else None) if within is None else within
    if within == "parent":
        if not tree:
            raise ParameterError(f"{where}: within='parent' needs a drill-down tree; for a flat "
                                 "table pass the parent's columns, e.g. within=['rep_region'].",
                                 name="within")
        cols = [*tree_by(table), "parent"]
    elif within is None:
        cols = [c for c in table.columns if c in DATE_LEVELS]
    else:
        cols = [within] if isinstance(within, str) else list(within)
        check_columns(table, cols, where=where)
    out = table.copy()
    values = out[measure].astype(float)
    if cols:
        ranks = values.groupby([out[c].astype(object) for c in cols], dropna=False) \
            .rank(method="min", ascending=ascending)
    else:
        ranks = values.rank(method="min", ascending=ascending)
    out[f"{measure}_rank"] = ranks.fillna(0).astype(np.int64)
    return out


# ------------------------------------------------------------------------------ targets
def attainment(star: Star, *, to: str = "rep", period: str | None = "quarter",
               where: Mapping | None = None, engine: str = "auto") -> pd.DataFrame:
    """Revenue against the reps' monthly targets, down the rep hierarchy (a drill-down tree).

    Parameters
    ----------
    star : Star
        Built with ``rep_targets``. It may be sliced by rep and date levels only: targets are set
        per rep and month, not per channel or product.
    to : {'rep_region', 'manager', 'rep'}, default='rep'
        Deepest level.
    period : {'month', 'quarter', 'year'} or None, default='quarter'
        One row per node and period; None: the whole time range of the star.
    where : dict, optional
        Dice on rep levels and year/quarter/month, as for :func:`~crmlib.cube.ops.aggregate`.
    engine : {'auto', 'duckdb', 'pandas'}, default='auto'

    Returns
    -------
    pandas.DataFrame
        A drill-down tree with ``revenue``, ``quantity``, ``orders``, ``target``, ``attainment``
        (revenue / target; NaN without a target), ``gap`` (revenue - target). Targets count for
        the months the star covers.

    Raises
    ------
    ParameterError
        A star without targets, a slice or dice on another dimension, a bad level or period.
    """
    name = "cube.attainment"
    check_one_of(to, HIERARCHIES["rep"], name="to", where=name)
    if period is not None:
        check_one_of(period, TARGET_PERIODS, name="period", where=name)
    where = dict(where or {})
    for lvl in [*star.filters, *where]:
        if lvl not in HIERARCHIES["rep"] and lvl not in TARGET_PERIODS:
            raise ParameterError(
                f"{name}: targets are set per rep and month, so actual revenue cannot be sliced by "
                f"{lvl!r} to compare with them; slice by {[*HIERARCHIES['rep'], *TARGET_PERIODS]} only.",
                name="where")
    if star.targets.empty:
        raise ParameterError(f"{name}: the star has no targets; build it with rep_targets=...",
                             name="star")
    levels = HIERARCHIES["rep"][:HIERARCHIES["rep"].index(to) + 1]
    by = [period] if period else []
    allowed = _engine.resolve_where(star, where, where=name)
    engine = _engine.choose_engine(star, engine, where=name)
    sets = [tuple(by) + levels[:i] for i in range(len(levels) + 1)]
    actual = _engine.grouping_sets(star, sets, ("revenue", "quantity", "orders"), allowed, engine)

    # targets: the months the star covers, filtered like the fact
    t = star.targets
    months = star.dims["date"]["month"].to_numpy()
    t = t[np.isin(t["month"].array.asi8, months)]
    codes = {lvl: star.level_codes(lvl)[t["rep_key"].to_numpy()] for lvl in levels}
    for lvl in HIERARCHIES["rep"]:
        if lvl not in codes:
            codes[lvl] = star.level_codes(lvl)[t["rep_key"].to_numpy()]
    month_ord = t["month"].array.asi8
    for lvl in TARGET_PERIODS:
        codes[lvl] = _month_to(month_ord, lvl)
    keep = np.ones(len(t), bool)
    for lvl, members in list(star.filters.items()) + list(allowed.items()):
        allowed_codes = members if isinstance(members, np.ndarray) else \
            _engine.member_codes(star, lvl, members, where=name)
        keep &= np.isin(codes[lvl], allowed_codes)
    target = pd.DataFrame({**{k: v[keep] for k, v in codes.items()},
                           "target": t["target_amount"].to_numpy()[keep]})
    parts = []
    for s, act in zip(sets, actual, strict=True):
        tgt = target.groupby(list(s))["target"].sum().reset_index() if s else \
            pd.DataFrame({"target": [target["target"].sum()]})
        merged = act.merge(tgt, on=list(s), how="outer") if s else act.assign(target=tgt["target"].iloc[0])
        for m in ("revenue", "target"):
            merged[m] = merged[m].astype(float).fillna(0.0)
        for m in ("quantity", "orders"):
            merged[m] = merged[m].fillna(0).astype(np.int64)
        for lvl in s:
            merged[lvl] = merged[lvl].astype(np.int64)
        parts.append(merged)
    tree = build_tree(star, by, levels, parts, ["revenue", "quantity", "orders", "target"])
    with np.errstate(divide="ignore", invalid="ignore"):
        tree["attainment"] = np.where(tree["target"] > 0, tree["revenue"] / tree["target"], np.nan)
    tree["gap"] = tree["revenue"] - tree["target"]
    return tree


# ------------------------------------------------------------------------------ helpers
def _month_to(month_ordinals: np.ndarray, level: str) -> np.ndarray:
    if level == "month":
        return month_ordinals.astype(np.int64)
    return pd.PeriodIndex.from_ordinals(month_ordinals, freq="M").asfreq(DATE_LEVELS[level]).asi8


def tree_by(table: pd.DataFrame) -> list[str]:
    """The ``by`` columns of a drill-down tree: level columns before 'level'."""
    cols = list(table.columns)
    return [c for c in cols[:cols.index("level")] if c in LEVELS]


def _period_column(table: pd.DataFrame, period: str | None, *, where: str) -> str:
    if period is not None:
        check_one_of(period, [c for c in table.columns if c in DATE_LEVELS], name="period", where=where)
        return period
    candidates = [c for c in table.columns if c in DATE_LEVELS and not table[c].isna().any()]
    if len(candidates) != 1:
        raise ParameterError(
            f"{where}: the table needs exactly one period column among {list(DATE_LEVELS)} "
            f"(or pass period=...); found {candidates}.", name="period")
    return candidates[0]


def _member_keys(table: pd.DataFrame, *, exclude: Sequence[str]) -> list[str]:
    if "node" in table.columns:
        return [*[c for c in tree_by(table) if c not in exclude], "node"]
    return [c for c in table.columns if c in LEVELS and c not in exclude]

