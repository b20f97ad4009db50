"""Plots of cube tables. Each takes a table (and ``ax=None``), draws only on that Axes and returns
it; matplotlib is imported inside the functions, nothing is shown or saved."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validation import check_columns
from ..errors import ParameterError
from .star import DATE_LEVELS

__all__ = ["plot_attainment", "plot_drill_down", "plot_gap_bridge", "plot_mix", "plot_trend"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _fig, ax = plt.subplots(figsize=(8, 4))
    return ax


def _period_col(table: pd.DataFrame) -> str | None:
    cols = [c for c in table.columns if c in DATE_LEVELS and not table[c].isna().any()]
    return cols[0] if len(cols) == 1 else None


def one_period(table: pd.DataFrame, period, *, where: str) -> tuple[pd.DataFrame, str]:
    col = _period_col(table)
    if col is None:
        return table, ""
    if period is None:
        period = table[col].max()
    period = pd.Period(period, freq=DATE_LEVELS[col])
    part = table[table[col] == period]
    if part.empty:
        raise ParameterError(f"{where}: no rows for {col} {period}; the table covers "
                             f"{table[col].min()} to {table[col].max()}.", name="period")
    return part, str(period)


def plot_trend(table: pd.DataFrame, measure: str = "revenue", *, by: str | None = None,
               top: int = 8, ax=None):
    """Lines of ``measure`` per period, one per member of ``by`` (the ``top`` largest).

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table with one period column (from :func:`~crmlib.cube.ops.aggregate`).
    measure : str, default='revenue'
    by : str, optional
        A level column: one line per member.
    top : int, default=8
        Members with the largest total to draw; the rest are left out (said in the legend title).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    where = "cube.plot_trend"
    period = _period_col(table)
    if period is None:
        raise ParameterError(f"{where}: the table needs one period column among {list(DATE_LEVELS)}",
                             name="table")
    check_columns(table, [measure] + ([by] if by else []), where=where)
    ax = _axes(ax)
    if by is None:
        series = {measure: table.groupby(period)[measure].sum()}
    else:
        totals = table.groupby(by, observed=True)[measure].sum().sort_values(ascending=False)
        series = {str(k): table[table[by] == k].groupby(period)[measure].sum() for k in totals.index[:top]}
    for name, s in series.items():
        ax.plot(s.index.to_timestamp(), s.to_numpy(), marker="o", markersize=3, label=name)
    ax.set_ylabel(measure)
    ax.set_xlabel(period)
    ax.grid(alpha=0.3)
    if by is not None:
        more = len(table[by].unique()) - len(series)
        ax.legend(title=by + (f" (top {top}; {more} more)" if more > 0 else ""), fontsize=8)
    return ax


def plot_drill_down(tree: pd.DataFrame, measure: str = "revenue", *, level: str | None = None,
                    period=None, ax=None):
    """Horizontal bars of one level of a drill-down tree, grouped and coloured by parent.

    Parameters
    ----------
    tree : pandas.DataFrame
        From :func:`~crmlib.cube.ops.drill_down` (or :func:`~crmlib.cube.metrics.attainment`).
    measure : str, default='revenue'
    level : str, optional
        The level to draw; default the deepest.
    period : optional
        The period to draw when the tree has a period column; default the latest.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    where = "cube.plot_drill_down"
    check_columns(tree, ["level", "depth", "node", "parent", "member", measure], where=where)
    part, label = one_period(tree, period, where=where)
    depth = int(part["depth"].max()) if level is None else None
    rows = part[part["depth"] == depth] if level is None else part[part["level"] == level]
    if rows.empty:
        raise ParameterError(f"{where}: the tree has no level {level!r}; levels are "
                             f"{list(part['level'].unique())}", name="level")
    ax = _axes(ax)
    parents = list(pd.unique(rows["parent"].astype(str)))
    colours = {p: f"C{i % 10}" for i, p in enumerate(parents)}
    rows = rows.iloc[::-1]
    ax.barh(np.arange(len(rows)), rows[measure].to_numpy(),
            color=[colours[str(p)] for p in rows["parent"]])
    ax.set_yticks(np.arange(len(rows)), [str(m) for m in rows["member"]], fontsize=8)
    ax.set_xlabel(measure)
    ax.set_title(f"{measure} by {rows['level'].iloc[0]}" + (f", {label}" if label else ""))
    from matplotlib.patches import Patch

    if len(parents) > 1:
        ax.legend(handles=[Patch(color=c, label=p) for p, c in colours.items()], fontsize=7,
                  title="parent", loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_attainment(tree: pd.DataFrame, *, level: str = "rep", period=None, threshold: float = 0.85,
                    ax=None):
    """Attainment (revenue / target) per member of one level, with 100% and the flag threshold.

    Members flagged by :func:`~crmlib.cube.flags.flag_underperformers` (column ``flagged``) are
    drawn in red.

    Parameters
    ----------
    tree : pandas.DataFrame
        From :func:`~crmlib.cube.metrics.attainment` (optionally flagged).
    level : str, default='rep'
    period : optional
        The period to draw when the tree has a period column; default the latest.
    threshold : float, default=0.85
        The flag line (1 - target_gap); also colours members when the tree is not flagged.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    where = "cube.plot_attainment"
    check_columns(tree, ["level", "member", "attainment"], where=where)
    part, label = one_period(tree, period, where=where)
    rows = part[part["level"] == level].iloc[::-1]
    if rows.empty:
        raise ParameterError(f"{where}: the tree has no level {level!r}", name="level")
    ax = _axes(ax)
    flagged = rows["flagged"].to_numpy(bool) if "flagged" in rows.columns else \
        rows["attainment"].to_numpy(float) < threshold
    ax.barh(np.arange(len(rows)), rows["attainment"].to_numpy(float) * 100,
            color=np.where(flagged, "#c0392b", "#7f8c8d"))
    ax.axvline(100, color="black", linewidth=0.8)
    ax.axvline(threshold * 100, color="#c0392b", linewidth=0.8, linestyle="--",
               label=f"flag threshold {threshold:.0%}")
    ax.set_yticks(np.arange(len(rows)), [str(m) for m in rows["member"]], fontsize=8)
    ax.set_xlabel("attainment (% of target)")
    ax.set_title(f"Target attainment by {level}" + (f", {label}" if label else ""))
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_mix(table: pd.DataFrame, level: str, *, measure: str = "revenue", ax=None):
    """Stacked shares (100%) of the members of ``level`` per period.

    Parameters
    ----------
    table : pandas.DataFrame
        A flat table with one period column and ``level``.
    level : str
    measure : str, default='revenue'
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    where = "cube.plot_mix"
    check_columns(table, [level, measure], where=where)
    period = _period_col(table)
    if period is None:
        raise ParameterError(f"{where}: the table needs one period column among {list(DATE_LEVELS)}",
                             name="table")
    wide = table.pivot_table(index=period, columns=level, values=measure, aggfunc="sum",
                             observed=True, fill_value=0)
    share = wide.div(wide.sum(axis=1).replace(0, np.nan), axis=0).fillna(0) * 100
    ax = _axes(ax)
    bottom = np.zeros(len(share))
    x = np.arange(len(share))
    for i, col in enumerate(share.columns):
        ax.bar(x, share[col].to_numpy(), bottom=bottom, label=str(col), color=f"C{i % 10}", width=0.85)
        bottom += share[col].to_numpy()
    ax.set_xticks(x, [str(p) for p in share.index], rotation=90 if len(x) > 6 else 0, fontsize=8)
    ax.set_ylabel(f"share of {measure} (%)")
    ax.set_ylim(0, 100)
    ax.legend(title=level, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax


def plot_gap_bridge(row: Mapping, *, reference: str = "reference", ax=None):
    """Waterfall from the reference (target or base period) to the actual revenue of one member:
    volume, price and mix effects.

    Parameters
    ----------
    row : mapping
        A row of :func:`~crmlib.cube.flags.decompose_gap`.
    reference : str, default='reference'
        Label of the first bar ('target', 'last year', ...).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    needed = ["reference", "volume_effect", "price_effect", "mix_effect", "revenue"]
    missing = [k for k in needed if k not in row]
    if missing:
        raise ParameterError(f"cube.plot_gap_bridge: the row lacks {missing}; pass a row of "
                             "cube.decompose_gap", name="row")
    ax = _axes(ax)
    steps = [(reference, row["reference"]), ("volume", row["volume_effect"]),
             ("price", row["price_effect"]), ("mix", row["mix_effect"])]
    level = 0.0
    for i, (_name, value) in enumerate(steps):
        if i == 0:
            ax.bar(i, value, color="#7f8c8d")
            level = value
        else:
            ax.bar(i, value, bottom=level, color="#27ae60" if value >= 0 else "#c0392b")
            level += value
    ax.bar(len(steps), row["revenue"], color="#2c3e50")
    ax.set_xticks(range(len(steps) + 1), [s[0] for s in steps] + ["actual"], rotation=30, fontsize=8)
    ax.set_ylabel("revenue")
    ax.grid(axis="y", alpha=0.3)
    return ax
