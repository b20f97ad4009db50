"""OLAP operations on the sales star: aggregate, drill down, roll up, slice, dice, pivot.

``aggregate`` and ``drill_down`` read a :class:`~crmlib.cube.star.Star`; ``roll_up``, ``pivot``
take the DataFrames they return; ``slice_`` and ``dice`` take either (a sliced star keeps only the
fact rows of the chosen members, so every later query is sliced too).

Two result shapes:

flat table (``aggregate``)
    One column per requested level (plus, for non-date levels, their ancestors in the hierarchy,
    so ``by='rep'`` also gives ``rep_region`` and ``manager``), then the measures.
drill-down tree (``drill_down``)
    The ``by`` columns, ``level`` ('total' or the level name), ``depth`` (0 = total), one column per
    level of the hierarchy (missing below the row's depth), ``member`` (label at the row's level,
    'All' for the total), ``node`` (the path, e.g. ``'East / Monica Herrera'``), ``parent`` (the
    parent's node; missing for the total), then the measures. Rows come parent first, children in
    label order (depth-first), per ``by`` value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_one_of
from ..definitions import RATIOS
from ..errors import ParameterError
from . import _engine
from ._tree import SEP, TOTAL, build_tree, decode_path
from .star import ADDITIVE, DATE_LEVELS, DISTINCT, HIERARCHIES, LEVELS, MEASURES, Star, check_level

__all__ = [
    "TREE_COLUMNS",
    "add_ratios",
    "aggregate",
    "dice",
    "drill_down",
    "drill_down_all",
    "pivot",
    "roll_up",
    "slice_",
    "subtree",
]

#: columns a drill-down tree has besides its ``by`` columns, level columns and measures
TREE_COLUMNS = ("level", "depth", "member", "node", "parent")


# ------------------------------------------------------------------------------ aggregate
def aggregate(star: Star, by: str | Sequence[str] = (), *, measures: Sequence[str] = MEASURES,
              where: Mapping | None = None, ancestors: bool = True, engine: str = "auto") -> pd.DataFrame:
    """Measures grouped by levels of any hierarchies (a flat table).

    Parameters
    ----------
    star : Star
    by : str or sequence of str, default=()
        Levels to group by (``star.levels``); empty gives the grand total.
    measures : sequence of str, default=MEASURES
        Among ``revenue, margin, cost, quantity, gross, discount, lines`` (additive) and
        ``orders, customers`` (distinct counts).
    where : dict, optional
        Dice before grouping: ``{level: member or list of members}``, e.g.
        ``{'rep_region': 'East', 'quarter': ['2025Q1', '2025Q2']}``.
    ancestors : bool, default=True
        Also return the ancestors of each non-date level (``rep`` brings ``rep_region`` and
        ``manager``), which :func:`roll_up` needs.
    engine : {'auto', 'duckdb', 'pandas'}, default='auto'
        'auto' picks DuckDB from ``_engine.DUCKDB_MIN_ROWS`` fact rows on.

    Returns
    -------
    pandas.DataFrame
        Level columns (Period for date levels, categorical labels otherwise), then the measures
        (float64 money, int64 counts), sorted by the level columns. An empty selection gives an
        empty frame with every column (a total row of zeros when ``by`` is empty).

    Raises
    ------
    ParameterError
        Unknown level, measure, engine, or member in ``where``.

    Examples
    --------
    >>> aggregate(star, ["rep", "quarter"], measures=["revenue"])      # doctest: +SKIP
    """
    where_ = "cube.aggregate"
    levels = _levels(star, by, where=where_)
    if ancestors:
        levels = _with_ancestors(levels)
    measures = _engine.check_measures(measures, where=where_)
    allowed = _engine.resolve_where(star, where, where=where_)
    engine = _engine.choose_engine(star, engine, where=where_)
    [part] = _engine.grouping_sets(star, [tuple(levels)], measures, allowed, engine)
    part = part.sort_values(levels, kind="stable").reset_index(drop=True) if levels else part
    return decode_path(star, part, levels)


def drill_down(star: Star, hierarchy: str, *, to: str | None = None, by: str | Sequence[str] = (),
               measures: Sequence[str] = MEASURES, where: Mapping | None = None,
               engine: str = "auto") -> pd.DataFrame:
    """Every level of one hierarchy from the total down to ``to``, as a drill-down tree.

    Parameters
    ----------
    star : Star
    hierarchy : str
        One of ``HIERARCHIES`` ('date', 'week', 'product', 'price_band', 'customer', 'segment',
        'channel', 'rep').
    to : str, optional
        The deepest level to show; default the hierarchy's finest level.
    by : str or sequence of str, default=()
        Levels of other hierarchies repeated for every node (e.g. ``'quarter'``).
    measures, where, engine
        As for :func:`aggregate`.

    Returns
    -------
    pandas.DataFrame
        A drill-down tree (see the module docstring).

    Raises
    ------
    ParameterError
        Unknown hierarchy or level, ``to`` outside the hierarchy, a ``by`` level of the same
        hierarchy.
    """
    return drill_down_all(star, by=by, hierarchies={hierarchy: to}, measures=measures, where=where,
                          engine=engine, _where="cube.drill_down")[hierarchy]


def drill_down_all(star: Star, *, by: str | Sequence[str] = ("month",),
                   hierarchies: Sequence[str] | Mapping[str, str | None] | None = None,
                   measures: Sequence[str] = MEASURES, where: Mapping | None = None,
                   engine: str = "auto", _where: str = "cube.drill_down_all") -> dict[str, pd.DataFrame]:
    """Drill-down trees of several hierarchies at once, computed in one pass over the fact.

    Parameters
    ----------
    star : Star
    by : str or sequence of str, default=('month',)
        Levels repeated for every node. A hierarchy that contains a ``by`` level (the date
        hierarchy for ``'month'``) is drilled without it.
    hierarchies : sequence of str or dict of str to str, optional
        Hierarchies to drill (all to their finest level), or ``{hierarchy: to_level}``. Default:
        every hierarchy of the star.
    measures, where, engine
        As for :func:`aggregate`.

    Returns
    -------
    dict of str to pandas.DataFrame
        One drill-down tree per hierarchy.
    """
    by = _levels(star, by, where=_where)
    if hierarchies is None:
        hierarchies = {h: None for h in HIERARCHIES if star.has_level(HIERARCHIES[h][0])}
    elif not isinstance(hierarchies, Mapping):
        hierarchies = {h: None for h in ([hierarchies] if isinstance(hierarchies, str) else hierarchies)}
    plan = {}
    for h, to in hierarchies.items():
        check_one_of(h, [k for k in HIERARCHIES if star.has_level(HIERARCHIES[k][0])],
                     name="hierarchy", where=_where)
        levels = HIERARCHIES[h]
        if to is not None:
            check_one_of(to, levels, name="to", where=_where)
            levels = levels[:levels.index(to) + 1]
        h_by = [b for b in by if LEVELS[b] != h and not (h == "date" and b in DATE_LEVELS)]
        plan[h] = (h_by, levels)
    measures = _engine.check_measures(measures, where=_where)
    allowed = _engine.resolve_where(star, where, where=_where)
    engine = _engine.choose_engine(star, engine, where=_where)
    sets, index = [], {}
    for h_by, levels in plan.values():
        for i in range(len(levels) + 1):
            s = tuple(h_by) + levels[:i]
            index.setdefault(s, len(sets))
            if index[s] == len(sets):
                sets.append(s)
    parts = _engine.grouping_sets(star, sets, measures, allowed, engine)
    return {h: build_tree(star, h_by, levels, [parts[index[tuple(h_by) + levels[:i]]]
                                          for i in range(len(levels) + 1)], measures)
            for h, (h_by, levels) in plan.items()}


# ------------------------------------------------------------------------------ roll up
def roll_up(table: pd.DataFrame, hierarchy: str, *, to: str | None = None) -> pd.DataFrame:
    """Aggregate a flat table one level up a hierarchy (or to ``to``, or to its total with 'all').

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table from :func:`aggregate` (non-date levels with their ancestors).
    hierarchy : str
        The hierarchy to roll up.
    to : str, optional
        Target level (coarser than the table's); 'all' removes the hierarchy; default one level up.

    Returns
    -------
    pandas.DataFrame
        The remaining level columns and the additive measures, summed. Distinct counts
        (``orders``, ``customers``) and derived columns are dropped: a parent's count is not the
        sum of its children's; use :func:`aggregate` for them.

    Raises
    ------
    ParameterError
        A drill-down tree, a hierarchy the table does not hold, or a ``to`` that is not coarser.
    """
    where = "cube.roll_up"
    if "node" in table.columns:
        raise ParameterError(f"{where}: takes a flat table from cube.aggregate, not a drill-down "
                             "tree (which already holds every level).", name="table")
    check_one_of(hierarchy, list(HIERARCHIES), name="hierarchy", where=where)
    levels = HIERARCHIES[hierarchy]
    present = [lvl for lvl in levels if lvl in table.columns]
    if not present:
        raise ParameterError(f"{where}: the table has no level of hierarchy {hierarchy!r} "
                             f"({list(levels)}); found {list(table.columns)}", name="hierarchy")
    finest = present[-1]
    options = ["all", *levels[:levels.index(finest)]]
    if to is None:
        to = options[-1]
    check_one_of(to, options, name="to", where=where)
    frame = table.copy()
    drop = [lvl for lvl in levels if lvl in frame.columns and (to == "all" or
                                                               levels.index(lvl) > levels.index(to))]
    if hierarchy == "date" and to != "all" and to not in frame.columns:
        frame[to] = frame[finest].dt.asfreq(DATE_LEVELS[to])
    elif hierarchy != "date" and to != "all" and to not in frame.columns:
        raise ParameterError(
            f"{where}: the table has no column {to!r} to roll up to; build it with "
            "cube.aggregate(..., ancestors=True)", name="to")
    keys = [c for c in LEVELS if c in frame.columns and c not in drop]
    keys = [c for c in frame.columns if c in keys]
    if hierarchy == "date" and to != "all" and to not in keys:
        keys.append(to)
    sums = [m for m in ADDITIVE if m in frame.columns]
    if keys:
        out = frame.groupby(keys, observed=True, sort=True, dropna=False)[sums].sum().reset_index()
    else:
        out = frame[sums].sum().to_frame().T.astype({m: frame[m].dtype for m in sums})
    return out


# ------------------------------------------------------------------------------ slice, dice
def slice_(obj: Star | pd.DataFrame, level: str, member) -> Star | pd.DataFrame:
    """Fix one member of one level.

    Parameters
    ----------
    obj : Star or pandas.DataFrame
        A star (its fact is filtered and the slice is remembered in ``star.filters``) or a table
        from :func:`aggregate` / :func:`drill_down` (its rows are filtered and, for a flat table,
        the level column is dropped).
    level : str
    member
        A label, or for date levels a Period or text such as '2025Q2'.

    Returns
    -------
    Star or pandas.DataFrame
    """
    if isinstance(obj, Star):
        return dice(obj, {level: [member]})
    out = dice(obj, {level: [member]})
    return out if "node" in out.columns else out.drop(columns=[level])


def dice(obj: Star | pd.DataFrame, where: Mapping) -> Star | pd.DataFrame:
    """Keep several members of one or more levels (a sub-cube).

    Parameters
    ----------
    obj : Star or pandas.DataFrame
        As for :func:`slice_`.
    where : dict
        ``{level: member or list of members}``.

    Returns
    -------
    Star or pandas.DataFrame
        A star with the fact rows of those members, or the table's matching rows (all columns).
    """
    name = "cube.dice"
    if isinstance(obj, Star):
        allowed = _engine.resolve_where(obj, where, where=name)
        # a summary star's fact is masked on the levels it holds; the others go with every Spark query
        mask = _engine.fact_mask(obj, _engine.local_where(obj, allowed))
        filters = dict(obj.filters)
        for lvl, m in where.items():
            members = tuple(m) if isinstance(m, (list, tuple, set)) else (m,)
            filters[lvl] = tuple(sorted(set(filters.get(lvl, members)) & set(members), key=str))
        fact = obj.fact if mask is None else obj.fact[mask].reset_index(drop=True)
        return obj.with_fact(fact, filters)
    if not isinstance(where, Mapping):
        raise ParameterError(f"{name}: 'where' must be a dict of level -> member(s); got {where!r}.",
                             name="where")
    mask = np.ones(len(obj), bool)
    for lvl, m in where.items():
        if lvl not in obj.columns:
            raise ParameterError(f"{name}: the table has no column {lvl!r}; found {list(obj.columns)}",
                                 name=lvl)
        members = list(m) if isinstance(m, (list, tuple, set)) else [m]
        if lvl in DATE_LEVELS:
            members = [pd.Period(v, freq=DATE_LEVELS[lvl]) for v in members]
        mask &= obj[lvl].isin(members).to_numpy()
    return obj[mask].reset_index(drop=True)


def subtree(tree: pd.DataFrame, level: str, member, *, ancestors: bool = True) -> pd.DataFrame:
    """The rows of a drill-down tree under one member (and, by default, above it).

    Parameters
    ----------
    tree : pandas.DataFrame
        A drill-down tree.
    level : str
        A level of the tree's hierarchy, e.g. 'rep_region'.
    member
        A label at that level, e.g. 'East'.
    ancestors : bool, default=True
        Keep the rows above the member too (the total, the region of a rep), for context.

    Returns
    -------
    pandas.DataFrame
        The member's rows, its descendants' and (optionally) its ancestors', in tree order.

    Raises
    ------
    ParameterError
        The tree has no such member.
    """
    where = "cube.subtree"
    if "node" not in tree.columns:
        raise ParameterError(f"{where}: takes a drill-down tree.", name="tree")
    at = tree[(tree["level"].astype(str) == level) & (tree["member"].astype(str) == str(member))]
    if at.empty:
        found = sorted(tree.loc[tree["level"].astype(str) == level, "member"].astype(str).unique())
        raise ParameterError(f"{where}: no {level} {member!r} in the tree; members are "
                             f"{found[:8]}{' ...' if len(found) > 8 else ''}", name="member")
    tops = set(at["node"].astype(str))
    node = tree["node"].astype(str)
    keep = node.isin(tops) | node.map(lambda n: any(n.startswith(t + SEP) for t in tops))
    if ancestors:
        keep |= node.map(lambda n: n == TOTAL or any(t.startswith(n + SEP) for t in tops))
    return tree[keep.to_numpy()]


# ------------------------------------------------------------------------------ pivot
def pivot(table: pd.DataFrame, *, index: str | Sequence[str], columns: str, values: str = "revenue",
          totals: bool = True) -> pd.DataFrame:
    """Cross-tab of one measure: ``index`` levels down, ``columns`` level across.

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table (or a tree sliced to one depth) holding the levels and the measure.
    index : str or sequence of str
    columns : str
    values : str, default='revenue'
    totals : bool, default=True
        Add a 'Total' row and column (sums: meaningful for additive measures).

    Returns
    -------
    pandas.DataFrame
        Members of ``index`` as rows, of ``columns`` as columns; empty cells are 0.
    """
    where = "cube.pivot"
    index = [index] if isinstance(index, str) else list(index)
    from .._validation import check_columns

    check_columns(table, [*index, columns, values], where=where)
    wide = table.pivot_table(index=index, columns=columns, values=values, aggfunc="sum",
                             observed=True, fill_value=0)
    wide.columns = [str(c) for c in wide.columns]
    if totals:
        if values in DISTINCT:
            raise ParameterError(f"{where}: totals of {values!r} would double count (a distinct "
                                 "count); use totals=False or cube.aggregate for the totals.",
                                 name="totals")
        wide["Total"] = wide.sum(axis=1)
        wide.index = wide.index.map(lambda v: SEP.join(map(str, v)) if isinstance(v, tuple) else str(v))
        wide.loc["Total"] = wide.sum(axis=0)
    wide.columns.name = columns
    return wide


def add_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Add ratio measures that can be computed from the table's columns (a new frame).

    ``margin_pct`` (margin / revenue), ``avg_price`` (revenue / quantity, net of discount),
    ``discount_pct`` (discount / gross), ``order_value`` (revenue / orders); NaN where the
    denominator is 0.
    """
    out = table.copy()
    for name, (num, den) in RATIOS.items():  # crmlib.definitions.RATIOS
        if num in out.columns and den in out.columns:
            d = out[den].astype(float)
            out[name] = out[num] / d.where(d != 0)
    return out


# ------------------------------------------------------------------------------ helpers
def _levels(star: Star, by, *, where: str) -> list[str]:
    by = [by] if isinstance(by, str) else list(by)
    for lvl in by:
        check_level(star, lvl, where=where)
    if len(set(by)) != len(by):
        raise ParameterError(f"{where}: 'by' repeats a level; got {by}.", name="by")
    return by


def _with_ancestors(levels: list[str]) -> list[str]:
    out = []
    for lvl in levels:
        h = LEVELS[lvl]
        if lvl not in DATE_LEVELS:
            for up in HIERARCHIES[h][:HIERARCHIES[h].index(lvl)]:
                if up not in out and up not in levels:
                    out.append(up)
        if lvl not in out:
            out.append(lvl)
    return out
