"""Plots for campaign targeting. Each takes data and ``ax=None``, draws only on that Axes and returns it.

matplotlib is imported inside the functions, so importing crmlib.targeting does not load it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_profit_curve", "plot_qini", "plot_response_rates", "plot_uplift_by_decile"]


def _axes(ax, figsize=(7, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_qini(curves: dict, *, kind: str = "qini", ax=None):
    """Qini (or uplift) curves of several rankings, with the random line of the first.

    Parameters
    ----------
    curves : dict of str to DataFrame
        Label to a :func:`~crmlib.targeting.evaluation.qini_curve` table.
    kind : {'qini', 'uplift'}, default='qini'
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    from .._validation import check_one_of

    check_one_of(kind, ("qini", "uplift"), name="kind", where="targeting.plot_qini")
    ax = _axes(ax)
    for i, (label, curve) in enumerate(curves.items()):
        ax.plot(curve["fraction"] * 100, curve[kind], label=label, lw=1.8)
        if i == 0:
            ax.plot(curve["fraction"] * 100, curve[f"random_{kind}"], color="grey", ls="--", label="random")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("share of customers targeted (%)")
    ax.set_ylabel("incremental conversions" if kind == "qini" else "incremental conversions (all contacted)")
    ax.set_title("Qini curve" if kind == "qini" else "Uplift curve")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_uplift_by_decile(table: pd.DataFrame, *, true_column: str | None = None, ax=None):
    """Observed uplift per score decile with 95% intervals, and the mean predicted uplift.

    Parameters
    ----------
    table : DataFrame
        From :func:`~crmlib.targeting.evaluation.uplift_by_decile`.
    true_column : str, optional
        An extra column (e.g. the planted uplift) drawn as a line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    x = table["decile"].to_numpy()
    obs = table["observed_uplift"].to_numpy() * 100
    err = np.vstack([obs - table["ci_low"].to_numpy() * 100, table["ci_high"].to_numpy() * 100 - obs])
    ax.bar(x, obs, color="#4c72b0", alpha=0.8, label="observed (contacted - control)")
    ax.errorbar(x, obs, yerr=err, fmt="none", ecolor="black", lw=0.8, capsize=3)
    ax.plot(x, table["predicted_uplift"].to_numpy() * 100, "o-", color="#dd8452", label="predicted")
    if true_column:
        ax.plot(x, table[true_column].to_numpy() * 100, "s--", color="#55a868", label=true_column)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xticks(x)
    ax.set_xlabel("decile of predicted uplift (1 = highest)")
    ax.set_ylabel("uplift (percentage points)")
    ax.set_title("Uplift by decile")
    ax.legend(frameon=False)
    return ax


def plot_profit_curve(curves: dict, *, cutoff: int | None = None, ax=None):
    """Expected profit by list size for one or more rankings, with the chosen cut-off.

    Parameters
    ----------
    curves : dict of str to DataFrame
        Label to a :func:`~crmlib.targeting.plan.profit_curve` table.
    cutoff : int, optional
        The chosen list size (vertical line).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    for label, curve in curves.items():
        ax.plot(curve["rank"], curve["cumulative_profit"], label=label, lw=1.8)
    if cutoff is not None:
        ax.axvline(cutoff, color="black", ls=":", label=f"chosen list: {cutoff:,}")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("customers contacted")
    ax.set_ylabel("expected profit")
    ax.set_title("Expected profit by list size")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_response_rates(rates: pd.DataFrame, *, ax=None):
    """Conversion rate of contacted vs control per campaign, with 95% intervals.

    Parameters
    ----------
    rates : DataFrame
        From :func:`~crmlib.targeting.evaluation.response_rates`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, figsize=(9, 4))
    labels = [str(n) if isinstance(n, str) else str(c) for n, c in zip(rates["name"], rates["campaign_id"], strict=True)]
    x = np.arange(len(rates))
    for offset, group, color in ((-0.18, "treated", "#4c72b0"), (0.18, "control", "#c44e52")):
        r = rates[f"rate_{group}"].to_numpy() * 100
        err = np.vstack([r - rates[f"rate_{group}_low"].to_numpy() * 100,
                         rates[f"rate_{group}_high"].to_numpy() * 100 - r])
        ax.errorbar(x + offset, r, yerr=np.nan_to_num(err), fmt="o", color=color, capsize=3,
                    label="contacted" if group == "treated" else "control (not contacted)")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("conversion rate (%)")
    ax.set_title("Conversion rate per campaign")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return ax
