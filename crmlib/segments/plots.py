"""Plots for the segments analyses: each ``plot_*`` draws on ``ax`` (a new one if None) and returns it.

matplotlib is imported inside the functions, so ``import crmlib.segments`` does not load it.
Nothing here calls ``show()`` or saves a file.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_frame

__all__ = [
    "plot_clv_distribution",
    "plot_cluster_projection",
    "plot_k_selection",
    "plot_pareto",
    "plot_profile_heatmap",
    "plot_retention_heatmap",
    "plot_segment_bars",
    "plot_segment_treemap",
]


def _axes(ax, figsize=(7, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_segment_bars(summary, *, value="customers", ax=None):
    """Horizontal bars of one column of :func:`~crmlib.segments.segment_summary` per segment.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``segment`` and ``value``.
    value : str, default='customers'
        Column to draw ('customers', 'revenue', 'revenue_share', ...).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(summary, ("segment", value), where="segments.plot_segment_bars", name="summary")
    ax = _axes(ax)
    data = summary.iloc[::-1]
    ax.barh(data["segment"].astype(str), data[value].astype(float), color="#4C72B0")
    ax.set_xlabel(value.replace("_", " "))
    ax.set_title(f"RFM segments by {value.replace('_', ' ')}")
    return ax


def _squarify(values, x, y, w, h):
    """Slice-and-dice treemap rectangles (x, y, w, h) for positive ``values`` (sorted desc)."""
    rects = []
    total = float(sum(values))
    if total <= 0:
        return [(x, y, 0.0, 0.0)] * len(values)
    horizontal = w >= h
    offset = 0.0
    for v in values:
        frac = v / total
        if horizontal:
            rects.append((x + offset * w, y, frac * w, h))
        else:
            rects.append((x, y + offset * h, w, frac * h))
        offset += frac
    return rects


def plot_segment_treemap(summary, *, value="customers", ax=None):
    """Treemap of segment sizes (area proportional to ``value``), two-level slice and dice.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``segment`` and ``value`` (non-negative).
    value : str, default='customers'
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(summary, ("segment", value), where="segments.plot_segment_treemap", name="summary")
    ax = _axes(ax, (8, 5))
    import matplotlib as mpl

    data = summary[summary[value] > 0].sort_values(value, ascending=False)
    vals = data[value].astype(float).to_numpy()
    names = data["segment"].astype(str).to_numpy()
    # two columns of rows: big segments on the left half-ish, the rest on the right
    half = np.searchsorted(np.cumsum(vals), vals.sum() / 2) + 1 if len(vals) else 0
    total = vals.sum() if len(vals) else 1.0
    left_w = vals[:half].sum() / total
    rects = _squarify(vals[:half], 0, 0, left_w, 1) + _squarify(vals[half:], left_w, 0,
                                                                1 - left_w, 1)
    cmap = mpl.colormaps["tab20"]
    for i, ((x, y, w, h), name, v) in enumerate(zip(rects, names, vals, strict=True)):
        ax.add_patch(mpl.patches.Rectangle((x, y), w, h, facecolor=cmap(i % 20), edgecolor="white"))
        if w * h > 0.02:
            ax.text(x + w / 2, y + h / 2, f"{name}\n{v:,.0f}", ha="center", va="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_title(f"RFM segments ({value.replace('_', ' ')})")
    return ax


def plot_k_selection(scores, *, ax=None):
    """Silhouette (KMeans) and BIC (mixture) against k.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``CustomerClusters.scores_`` (``k, silhouette, bic``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(scores, ("k", "silhouette", "bic"), where="segments.plot_k_selection", name="scores")
    ax = _axes(ax)
    ax.plot(scores["k"], scores["silhouette"], marker="o", color="#4C72B0", label="silhouette")
    ax.set_xlabel("k")
    ax.set_ylabel("silhouette (KMeans)")
    twin = ax.twinx()
    twin.plot(scores["k"], scores["bic"], marker="s", color="#DD8452", label="BIC")
    twin.set_ylabel("BIC (Gaussian mixture)")
    ax.set_title("Choosing the number of clusters")
    return ax


def plot_cluster_projection(projection, *, names=None, ax=None, max_points=5000):
    """Scatter of the 2-D projection from ``CustomerClusters.project`` coloured by cluster.

    Parameters
    ----------
    projection : pandas.DataFrame
        ``pc1, pc2, cluster``.
    names : pandas.Series, optional
        Legend label per cluster (``cluster_names_``).
    ax : matplotlib.axes.Axes, optional
    max_points : int, default=5000
        A fixed random sample of at most this many points is drawn.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(projection, ("pc1", "pc2", "cluster"), where="segments.plot_cluster_projection",
                name="projection")
    ax = _axes(ax, (7, 5))
    data = projection
    if len(data) > max_points:
        data = data.sample(max_points, random_state=0)
    for cluster, part in data.groupby("cluster"):
        label = f"{cluster}: {names[cluster]}" if names is not None else str(cluster)
        ax.scatter(part["pc1"], part["pc2"], s=6, alpha=0.5, label=label)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title("Customer clusters (2-D projection)")
    return ax


def plot_profile_heatmap(profile_z, *, ax=None):
    """Heatmap of clusters x features, standardised differences from the average.

    Parameters
    ----------
    profile_z : pandas.DataFrame
        ``CustomerClusters.profile_z_``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (9, 0.6 * len(profile_z) + 2))
    values = profile_z.to_numpy(dtype=float)
    limit = max(float(np.nanmax(np.abs(values))) if values.size else 1.0, 1e-9)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in profile_z.columns], rotation=60,
                  ha="right", fontsize=8)
    ax.set_yticks(range(values.shape[0]), [str(i) for i in profile_z.index])
    ax.set_ylabel("cluster")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="difference from average (sd)")
    ax.set_title("What sets each cluster apart")
    return ax


def plot_pareto(curve, *, ax=None):
    """Cumulative profit share against cumulative customer share, with the top-20% share marked.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``customer_share, value_share`` (the output of ``pareto_curve``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(curve, ("customer_share", "value_share"), where="segments.plot_pareto", name="curve")
    ax = _axes(ax, (6, 5))
    ax.plot(curve["customer_share"], curve["value_share"], color="#4C72B0", label="customers")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="equal shares")
    for share in (0.2,):
        at = float(np.interp(share, curve["customer_share"], curve["value_share"]))
        ax.axvline(share, color="#DD8452", linestyle=":")
        ax.annotate(f"top {share:.0%}: {at:.0%} of profit", (share, at), xytext=(share + 0.05, at - 0.1),
                    fontsize=8)
    ax.set_xlabel("share of customers (most profitable first)")
    ax.set_ylabel("share of profit")
    ax.legend(loc="lower right")
    ax.set_title("Profit concentration (Pareto)")
    return ax


def plot_clv_distribution(clv, *, column="clv", bins=50, ax=None):
    """Histogram of customer lifetime values (log-spaced bins when values span > 2 decades).

    Parameters
    ----------
    clv : pandas.DataFrame
        Output of ``customer_lifetime_value``.
    column : str, default='clv'
        Column to draw; values <= 0 are left out.
    bins : int, default=50
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_frame(clv, (column,), where="segments.plot_clv_distribution", name="clv")
    ax = _axes(ax)
    values = clv[column].astype(float).dropna()
    values = values[values > 0]
    if len(values) and values.max() / max(values.min(), 1e-9) > 100:
        edges = np.logspace(np.log10(max(values.min(), 1e-2)), np.log10(values.max()), bins)
        ax.set_xscale("log")
    else:
        edges = bins
    ax.hist(values, bins=edges, color="#55A868")
    ax.set_xlabel("expected value over the horizon")
    ax.set_ylabel("customers")
    ax.set_title("Customer lifetime value")
    return ax


def plot_retention_heatmap(matrix, *, ax=None, max_offset=12):
    """Heatmap of a cohort retention matrix (shares; periods after ``as_of`` left blank).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Output of ``cohort_retention``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    max_offset : int, default=12
        Last period since the first purchase to show.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (9, 0.3 * len(matrix) + 2))
    data = matrix.loc[:, [c for c in matrix.columns if c <= max_offset]]
    values = data.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=1
                      if np.nanmax(values, initial=0) <= 1 else None, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in data.columns])
    ax.set_yticks(range(values.shape[0]), [str(i) for i in data.index], fontsize=7)
    ax.set_xlabel("periods since first purchase")
    ax.set_ylabel("cohort")
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="share buying")
    ax.set_title("Cohort retention")
    return ax
