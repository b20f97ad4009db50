"""Underperformance flags with a stated rule, and the gap behind a flag split into volume, price
and mix.

The rule (:func:`flag_underperformers`, defaults ``target_gap=0.15``, ``parent_gap=0.10``)
    A node of the rep hierarchy (company, region, manager, rep) is flagged for a period when its
    revenue is more than 15% below its target (attainment under 85%), unless its parent is also
    more than 15% below target and the node's attainment is within 10 points of the parent's:
    then the parent's shortfall explains it and only the parent is flagged. Optionally
    (``growth_gap=Y``) a node is also flagged when its revenue growth trails its parent's by more
    than Y percentage points.

Why these numbers: targets are set from each rep's expected revenue, so a rep on plan lands near
97% (the sample's targets carry 3% ambition); the worst quarter of a whole region or of the
company without a planted dip was 11-12% below target, every planted dip 23% or more. The
parent test keeps a region-wide dip from being reported again for every rep in it. Growth is off by
default: year-on-year growth of single reps swings by 20-40 points from quarter to quarter
without any dip (customer churn, one-off large orders), so a growth rule tight enough to catch a
dip also flags healthy reps.

The decomposition (:func:`decompose_gap`) compares a member's revenue in a period with a
reference (its target, or its revenue in the comparison period) and splits the gap exactly:

* volume: ``(Q1 - g * Q0) * P0`` -- units sold against the units of the base period scaled to
  the reference (``g = reference / base revenue``), at the base period's average unit price;
* mix: ``sum(q1 * p0) - Q1 * P0`` -- what selling other products (mix level) would have earned at
  the base prices;
* price: ``sum(q1 * (p1 - p0))`` -- net unit prices (after discount) against the base period's;
  products not sold in the base period get no price effect;

where ``q``, ``p`` are units and net unit price per mix member, ``Q``, ``P`` totals and average
price, ``0`` the base period and ``1`` the period analysed. ``volume + mix + price = revenue -
reference``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_one_of
from ..errors import ParameterError
from .metrics import base_period, parse_period, tree_by
from .ops import aggregate
from .star import HIERARCHIES, LEVELS, Star

__all__ = ["AGAINST", "decompose_gap", "explain", "flag_underperformers", "rule_text"]

AGAINST = ("target", "previous", "sply")
TREE_NEEDS = ("level", "node", "parent", "attainment")


def rule_text(*, target_gap: float = 0.15, parent_gap: float = 0.10,
              growth_gap: float | None = None, compare_to: str = "sply") -> str:
    """The flag rule in one plain sentence (for reports).

    Parameters
    ----------
    target_gap, parent_gap, growth_gap
        As for :func:`flag_underperformers`.
    compare_to : str, default='sply'
        The growth comparison named in the sentence ('previous', 'sply', 'ytd').

    Returns
    -------
    str
    """
    floor = 1 - target_gap
    text = (f"A region, manager or rep is flagged when its revenue is more than {target_gap:.0%} "
            f"below target (attainment under {floor:.0%}), unless its parent is also more than "
            f"{target_gap:.0%} below target and it is within {parent_gap * 100:.0f} points of the "
            "parent's attainment: then the parent's shortfall explains it and only the parent is "
            "flagged")
    if growth_gap is not None:
        base = {"previous": "the previous period", "sply": "the same period last year",
                "ytd": "the same span last year"}.get(compare_to, compare_to)
        text += (f"; or when its revenue growth against {base} trails its parent's by more than "
                 f"{growth_gap:g} percentage points")
    return text + "."


def flag_underperformers(tree: pd.DataFrame, *, target_gap: float = 0.15, parent_gap: float = 0.10,
                         growth_gap: float | None = None,
                         growth_column: str = "revenue_growth") -> pd.DataFrame:
    """Flag underperforming nodes of an attainment tree with the module's rule.

    Parameters
    ----------
    tree : pandas.DataFrame
        From :func:`~crmlib.cube.metrics.attainment` (optionally passed through
        :func:`~crmlib.cube.metrics.growth` when ``growth_gap`` is used).
    target_gap : float, default=0.15
        X: flag when attainment < 1 - X.
    parent_gap : float, default=0.10
        Under a parent that is itself below target by more than X, a node is flagged only if its
        attainment is more than this many (x100) points below the parent's.
    growth_gap : float, optional
        Y in percentage points: also flag when ``growth_column`` trails the parent's by more than Y.
    growth_column : str, default='revenue_growth'

    Returns
    -------
    pandas.DataFrame
        The tree plus ``below_target`` (bool), ``parent_attainment``, ``explained_by_parent``
        (bool), ``growth_vs_parent`` (points; NaN without growth), ``flagged`` (bool) and
        ``reason`` (text, empty when not flagged).

    Raises
    ------
    DataContractError
        The tree lacks a column the rule needs.
    ParameterError
        A gap outside its range.
    """
    where = "cube.flag_underperformers"
    check_columns(tree, TREE_NEEDS, where=where)
    check_interval(target_gap, 0, 1, name="target_gap", where=where, closed="neither")
    check_interval(parent_gap, 0, 1, name="parent_gap", where=where, closed="left")
    if growth_gap is not None:
        check_interval(growth_gap, 0, None, name="growth_gap", where=where, closed="neither")
        check_columns(tree, [growth_column], where=where)
    by = tree_by(tree)
    out = tree.copy()
    parent_cols = ["attainment"] + ([growth_column] if growth_gap is not None else [])
    ref = out[[*by, "node", *parent_cols]].astype({"node": object}).rename(
        columns={"node": "parent", **{c: f"_parent_{c}" for c in parent_cols}})
    merged = out[[*by, "parent"]].astype({"parent": object}).merge(ref, on=[*by, "parent"], how="left")
    att = out["attainment"].to_numpy(dtype=float)
    parent_att = merged["_parent_attainment"].to_numpy(dtype=float)
    floor = 1 - target_gap
    below = att < floor
    parent_below = parent_att < floor
    explained = below & parent_below & (att >= parent_att - parent_gap)
    flagged = below & ~explained
    out["below_target"] = below
    out["parent_attainment"] = parent_att
    out["explained_by_parent"] = explained
    gap_pts = np.full(len(out), np.nan)
    lagging = np.zeros(len(out), bool)
    if growth_gap is not None:
        gap_pts = (out[growth_column].to_numpy(dtype=float)
                   - merged[f"_parent_{growth_column}"].to_numpy(dtype=float)) * 100
        lagging = gap_pts < -growth_gap
        flagged |= lagging
    out["growth_vs_parent"] = gap_pts
    out["flagged"] = flagged
    reasons = []
    for i in range(len(out)):
        parts = []
        if below[i] and not explained[i]:
            parts.append(f"revenue {1 - att[i]:.0%} below target (attainment {att[i]:.0%} < {floor:.0%}"
                         + (f"; parent {parent_att[i]:.0%})" if np.isfinite(parent_att[i]) else ")"))
        if lagging[i]:
            parts.append(f"growth {-gap_pts[i]:.0f} points below the parent's (> {growth_gap:g})")
        reasons.append("; ".join(parts))
    out["reason"] = reasons
    return out


def decompose_gap(star: Star, *, period, level: str = "rep", members: Sequence | None = None,
                  against: str = "target", mix_level: str = "product",
                  where: Mapping | None = None) -> pd.DataFrame:
    """Split each member's revenue gap in one period into volume, price and mix effects.

    Parameters
    ----------
    star : Star
    period : str or pandas.Period
        The period analysed: '2025Q3', '2025-06', '2025', ...
    level : str, default='rep'
        The level whose members are explained (a rep-hierarchy level when ``against='target'``).
    members : sequence, optional
        Labels of the members to explain; default all with sales or a target.
    against : {'target', 'previous', 'sply'}, default='target'
        The reference: the target (scaling the same period last year's units to it), or the
        revenue of the previous period / the same period last year.
    mix_level : str, default='product'
        The level whose mix is measured ('product', 'subcategory', 'category', 'channel', ...).
    where : dict, optional
        Further dice, as for :func:`~crmlib.cube.ops.aggregate`.

    Returns
    -------
    pandas.DataFrame
        One row per member: ``level`` columns (with ancestors), ``period``, ``revenue``,
        ``reference``, ``gap`` (revenue - reference), ``volume_effect``, ``price_effect``,
        ``mix_effect`` (summing to ``gap``), ``quantity``, ``base_quantity``, ``base_revenue``,
        ``base_period``, ``driver`` (the effect that moved revenue most in the gap's direction:
        'volume', 'price' or 'mix').

    Raises
    ------
    ParameterError
        Bad period, level, reference, or a target reference for a level outside the rep hierarchy.
    """
    name = "cube.decompose_gap"
    check_one_of(against, AGAINST, name="against", where=name)
    check_one_of(level, star.levels, name="level", where=name)
    check_one_of(mix_level, [lvl for lvl in star.levels if LEVELS[lvl] != "date"],
                 name="mix_level", where=name)
    if against == "target" and level not in HIERARCHIES["rep"]:
        raise ParameterError(f"{name}: targets exist for {list(HIERARCHIES['rep'])}; got "
                             f"level={level!r} (use against='sply' or 'previous').", name="level")
    period_level, p1 = parse_period(period)
    p0 = base_period(p1, period_level, "previous" if against == "previous" else "sply")
    dice = {**(where or {}), period_level: [p1, p0]}
    if members is not None:
        dice[level] = list(members)
    table = aggregate(star, [level, mix_level, period_level], measures=("revenue", "quantity"),
                      where=dice)
    keys = [c for c in table.columns if LEVELS.get(c) == LEVELS[level]]
    cur = table[table[period_level] == p1]
    base = table[table[period_level] == p0]
    mix = [*keys, mix_level]
    both = cur[mix + ["revenue", "quantity"]].merge(
        base[mix + ["revenue", "quantity"]], on=mix, how="outer", suffixes=("1", "0"))
    for c in ("revenue1", "revenue0", "quantity1", "quantity0"):
        both[c] = both[c].astype(float).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1_unit = np.where(both["quantity1"] > 0, both["revenue1"] / both["quantity1"], 0.0)
        p0_unit = np.where(both["quantity0"] > 0, both["revenue0"] / both["quantity0"], p1_unit)
    both["_q1p0"] = both["quantity1"] * p0_unit
    both["_price"] = both["quantity1"] * (p1_unit - p0_unit)
    g = both.groupby(keys, observed=True, sort=True).agg(
        revenue=("revenue1", "sum"), base_revenue=("revenue0", "sum"), quantity=("quantity1", "sum"),
        base_quantity=("quantity0", "sum"), _q1p0=("_q1p0", "sum"), price_effect=("_price", "sum"))
    g = g.reset_index()
    if against == "target":
        from .metrics import attainment

        targets = attainment(star, to=level, period=period_level,
                             where={period_level: [p1]} | ({level: list(members)} if members else {}))
        targets = targets[targets["level"] == level][[*keys, "target"]]
        g = g.merge(targets, on=keys, how="outer")
        for c in ("revenue", "base_revenue", "quantity", "base_quantity", "_q1p0", "price_effect",
                  "target"):
            g[c] = g[c].astype(float).fillna(0.0)
        g["reference"] = g["target"]
    else:
        g["reference"] = g["base_revenue"]
    with np.errstate(divide="ignore", invalid="ignore"):
        avg0 = np.where(g["base_quantity"] > 0, g["base_revenue"] / g["base_quantity"], np.nan)
        scale = np.where(g["base_revenue"] > 0, g["reference"] / g["base_revenue"], np.nan)
    ok = np.isfinite(avg0) & np.isfinite(scale)
    g["volume_effect"] = np.where(ok, (g["quantity"] - scale * g["base_quantity"]) * avg0,
                                  g["revenue"] - g["reference"])
    g["mix_effect"] = np.where(ok, g["_q1p0"] - g["quantity"] * avg0, 0.0)
    g["price_effect"] = np.where(ok, g["price_effect"], 0.0)
    g["gap"] = g["revenue"] - g["reference"]
    g["period"] = p1
    g["base_period"] = p0
    effects = g[["volume_effect", "price_effect", "mix_effect"]].to_numpy()
    sign = np.where(g["gap"].to_numpy() < 0, -1.0, 1.0)[:, None]
    g["driver"] = np.array(["volume", "price", "mix"])[np.argmax(effects * sign, axis=1)]
    cols = [*keys, "period", "revenue", "reference", "gap", "volume_effect", "price_effect",
            "mix_effect", "quantity", "base_quantity", "base_revenue", "base_period", "driver"]
    return g[cols].sort_values("gap", kind="stable").reset_index(drop=True)


def explain(row: Mapping, *, money: str = "{:,.0f}") -> str:
    """One sentence explaining a row of :func:`decompose_gap`."""
    fmt = money.format
    member = next((row[lvl] for lvl in reversed(list(LEVELS)) if lvl in row and lvl != "period"
                   and pd.notna(row[lvl]) and LEVELS[lvl] != "date"), "")
    ref = row["reference"]
    pct = f" ({row['gap'] / ref:+.0%})" if ref else ""
    words = {"volume": "volume (units sold)", "price": "price (net unit price)",
             "mix": "mix (which products sold)"}
    return (f"{member}: revenue {fmt(row['revenue'])} vs {fmt(ref)}{pct} in {row['period']}; "
            f"volume {row['volume_effect']:+,.0f}, price {row['price_effect']:+,.0f}, "
            f"mix {row['mix_effect']:+,.0f} -- mainly {words[row['driver']]}.")
