"""Plots for baskets and rules. Each takes ``ax=None``, draws only on that Axes and returns it;
matplotlib is imported inside the functions, and nothing is shown or saved."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..definitions import items_text
from .encode import Baskets

__all__ = [
    "plot_basket_sizes",
    "plot_item_popularity",
    "plot_lift_by",
    "plot_rule_graph",
    "plot_rule_matrix",
    "plot_rules_scatter",
]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt  # noqa: PLC0415

        _, ax = plt.subplots()
    return ax


def plot_basket_sizes(baskets: Baskets, *, max_size: int = 20, ax=None):
    """Histogram of distinct items per basket (sizes above ``max_size`` pooled in the last bar).

    ``baskets`` is a :class:`Baskets` or a :class:`~crmlib.baskets.spark_report.BasketSummary`.
    """
    ax = _axes(ax)
    if hasattr(baskets, "size_counts"):  # a BasketSummary (Spark): baskets per size
        per = baskets.size_counts
        sizes, weights, mean = np.minimum(per.index.to_numpy(), max_size), per.to_numpy(), baskets.mean_size()
    else:
        sizes = np.minimum(baskets.sizes().to_numpy(), max_size)
        weights, mean = None, baskets.sizes().mean()
    counts = np.bincount(sizes, weights=weights, minlength=max_size + 1)[1:]
    x = np.arange(1, max_size + 1)
    ax.bar(x, counts, color="#4C72B0")
    ax.set_xlabel(f"items per basket ({max_size} = {max_size} or more)")
    ax.set_ylabel("baskets")
    ax.set_title(f"Basket sizes (mean {mean:.2f} items)")
    return ax


def plot_item_popularity(baskets: Baskets, *, top_n: int = 20, ax=None):
    """Horizontal bars of the ``top_n`` most frequent items by support."""
    check_interval(top_n, 1, None, name="top_n", where="baskets.plot_item_popularity",
                   integer=True, closed="left")
    ax = _axes(ax)
    top = baskets.item_support().head(top_n).iloc[::-1]
    ax.barh([str(i) for i in top["item"]], top["support"], color="#55A868")
    ax.set_xlabel("support (share of baskets)")
    ax.set_title(f"Top {len(top)} items")
    return ax


def plot_rules_scatter(rules: pd.DataFrame, *, ax=None, colorbar: bool = True):
    """Support against confidence, one dot per rule, coloured by lift."""
    check_columns(rules, ("support", "confidence", "lift"), where="baskets.plot_rules_scatter")
    ax = _axes(ax)
    order = np.argsort(rules["lift"].to_numpy())  # strongest drawn last, on top
    pts = ax.scatter(rules["support"].to_numpy()[order], rules["confidence"].to_numpy()[order],
                     c=rules["lift"].to_numpy()[order], cmap="viridis", s=14, alpha=0.8)
    if colorbar and len(rules):
        ax.figure.colorbar(pts, ax=ax, label="lift")
    ax.set_xscale("log")
    ax.set_xlabel("support (log scale)")
    ax.set_ylabel("confidence")
    ax.set_title(f"{len(rules):,} rules")
    return ax


def plot_rule_matrix(rules: pd.DataFrame, *, top_n: int = 20, ax=None):
    """Grouped matrix of the ``top_n`` rules: antecedents (columns) x consequents (rows),
    bubble size = support, colour = lift (as arulesViz's grouped matrix, without clustering)."""
    check_columns(rules, ("antecedents", "consequents", "support", "lift"),
                  where="baskets.plot_rule_matrix")
    ax = _axes(ax)
    top = rules.head(top_n)
    ante = [items_text(s) for s in top["antecedents"]]
    cons = [items_text(s) for s in top["consequents"]]
    xs = list(dict.fromkeys(ante))
    ys = list(dict.fromkeys(cons))
    x = [xs.index(a) for a in ante]
    y = [ys.index(c) for c in cons]
    sup = top["support"].to_numpy(dtype=float)
    size = 30 + 400 * (sup / sup.max() if len(sup) and sup.max() > 0 else sup)
    pts = ax.scatter(x, y, s=size, c=top["lift"], cmap="viridis", alpha=0.85)
    if len(top):
        ax.figure.colorbar(pts, ax=ax, label="lift")
    ax.set_xticks(range(len(xs)), xs, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(ys)), ys, fontsize=8)
    ax.set_xlabel("if bought (antecedent)")
    ax.set_ylabel("then also (consequent)")
    ax.set_title(f"Top {len(top)} rules (size: support, colour: lift)")
    ax.margins(0.08)
    return ax


def plot_rule_graph(rules: pd.DataFrame, *, top_n: int = 15, ax=None):
    """Items on a circle, an arrow per rule from antecedent items to consequent items; width and
    colour grow with lift."""
    check_columns(rules, ("antecedents", "consequents", "lift"), where="baskets.plot_rule_graph")
    import matplotlib as mpl  # noqa: PLC0415

    ax = _axes(ax)
    top = rules.head(top_n)
    items = list(dict.fromkeys(str(x) for s in list(top["antecedents"]) + list(top["consequents"])
                               for x in sorted(s, key=str)))
    angle = np.linspace(0, 2 * np.pi, len(items), endpoint=False)
    xy = {it: (np.cos(a), np.sin(a)) for it, a in zip(items, angle, strict=True)}
    lifts = top["lift"].to_numpy(dtype=float)
    norm = mpl.colors.Normalize(vmin=lifts.min() if len(lifts) else 0,
                                vmax=lifts.max() if len(lifts) else 1)
    cmap = mpl.colormaps["viridis"]
    arrows = zip(top["antecedents"], top["consequents"], lifts, strict=True)
    for ante, cons, lift in arrows:
        for a in ante:
            for c in cons:
                ax.annotate("", xy=xy[str(c)], xytext=xy[str(a)],
                            arrowprops={"arrowstyle": "-|>", "color": cmap(norm(lift)),
                                        "lw": 0.8 + 2.5 * norm(lift), "alpha": 0.8,
                                        "shrinkA": 8, "shrinkB": 8})
    for it, (px, py) in xy.items():
        ax.plot(px, py, "o", color="#C44E52", ms=7)
        ax.text(px * 1.12, py * 1.12, it, ha="center", va="center", fontsize=8)
    ax.figure.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="lift")
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Top {len(top)} rules as a graph")
    return ax


def plot_lift_by(comparison: pd.DataFrame, *, by: str | None = None, top_n: int = 5, ax=None):
    """Lines of lift per group (e.g. weekday) for the first ``top_n`` rules of a
    :func:`~crmlib.baskets.compare.lift_by` table; lift 1 (no association) dashed."""
    check_columns(comparison, ("rule", "lift"), where="baskets.plot_lift_by")
    if by is None:
        known = {"rule", "antecedents", "consequents", "n_baskets", "count", "support",
                 "confidence", "lift"}
        by = next(c for c in comparison.columns if c not in known)
    ax = _axes(ax)
    rules = list(dict.fromkeys(comparison["rule"]))[:top_n]
    for rule in rules:
        part = comparison[comparison["rule"] == rule]
        ax.plot([str(v) for v in part[by]], part["lift"], marker="o", label=rule)
    ax.axhline(1.0, color="grey", ls="--", lw=1)
    ax.set_xlabel(by)
    ax.set_ylabel("lift")
    ax.set_title(f"Lift by {by}")
    ax.legend(fontsize=7, loc="best")
    return ax
