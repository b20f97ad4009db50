"""Plots of the payment-default analysis. Each takes a result table and ``ax=None``, draws only on
that Axes (a new figure if None) and returns it; nothing is shown or saved."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns

__all__ = ["plot_calibration", "plot_gains", "plot_importance", "plot_iv", "plot_psi", "plot_rates",
           "plot_roc"]


def _axes(ax, size=(6, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    return ax


def _as_dict(tables):
    return tables if isinstance(tables, dict) else {None: tables}


def plot_rates(table: pd.DataFrame, *, rate: str = "repeat_rate", ax=None):
    """Rates of one attribute with their intervals; the dashed line is the overall rate.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~crmlib.credit.profile.rate_table`.
    rate : {'repeat_rate', 'default_rate'}, default='repeat_rate'
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(table, ("attribute", "value", "customers", rate), where="credit.plot_rates")
    ax = _axes(ax)
    prefix = rate.split("_")[0]
    low, high = table[f"{prefix}_low"].to_numpy(), table[f"{prefix}_high"].to_numpy()
    y = np.arange(len(table))
    values = table[rate].to_numpy(float)
    ax.barh(y, values, color="#c0504d", alpha=0.8)
    ax.errorbar(values, y, xerr=[values - low, high - values], fmt="none", ecolor="black", capsize=3)
    events = table["repeat_defaulters" if prefix == "repeat" else "defaulters"].sum()
    ax.axvline(events / table["customers"].sum(), color="grey", ls="--", lw=1)
    ax.set_yticks(y, [f"{v} (n={n:,})" for v, n in zip(table["value"], table["customers"], strict=True)])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_percent())
    what = "repeat defaulters (2+ defaults)" if prefix == "repeat" else "customers with a default"
    ax.set_xlabel(f"share of {what}, 95% interval")
    ax.set_title(str(table["attribute"].iloc[0]) if len(table) else "")
    return ax


def plot_iv(table: pd.DataFrame, *, ax=None):
    """Information value by attribute, highest on top.

    Parameters
    ----------
    table : pandas.DataFrame
        An :func:`~crmlib.credit.profile.iv_table`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(table, ("attribute", "iv"), where="credit.plot_iv")
    ax = _axes(ax)
    y = np.arange(len(table))
    ax.barh(y, table["iv"], color="#4f81bd")
    ax.set_yticks(y, table["attribute"])
    ax.invert_yaxis()
    for x, label in ((0.02, "weak"), (0.1, "medium"), (0.3, "strong")):
        ax.axvline(x, color="grey", ls=":", lw=1)
        ax.text(x, 1.0, f" {label}", fontsize=8, color="grey", ha="left", va="bottom",
                transform=ax.get_xaxis_transform())
    ax.set_xlabel("information value")
    return ax


def plot_roc(curves, *, ax=None):
    """ROC curves; a label containing 'oracle' is dashed.

    Parameters
    ----------
    curves : pandas.DataFrame or dict of str to pandas.DataFrame
        A :func:`~crmlib.credit.evaluation.roc_table`, or label -> table (labels may carry the
        AUC, e.g. 'scorecard (AUC 0.75)').
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (5, 5))
    for label, t in _as_dict(curves).items():
        check_columns(t, ("fpr", "tpr"), where="credit.plot_roc")
        ax.plot(t["fpr"], t["tpr"], label=label, ls="--" if label and "oracle" in str(label) else "-")
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls=":")
    ax.set_xlabel("share of paid invoices flagged (false positive rate)")
    ax.set_ylabel("share of defaults caught (true positive rate)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if isinstance(curves, dict):
        ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_calibration(tables, *, ax=None):
    """Predicted against observed default rate per bin.

    Parameters
    ----------
    tables : pandas.DataFrame or dict of str to pandas.DataFrame
        A :func:`~crmlib.credit.evaluation.calibration_table`, or label -> table.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (5, 5))
    top = 0.0
    for label, t in _as_dict(tables).items():
        check_columns(t, ("predicted", "observed", "observed_low", "observed_high"),
                      where="credit.plot_calibration")
        ax.errorbar(t["predicted"], t["observed"],
                    yerr=[t["observed"] - t["observed_low"], t["observed_high"] - t["observed"]],
                    marker="o", capsize=2, label=label)
        top = max(top, float(t["predicted"].max()), float(t["observed_high"].max()))
    ax.plot([0, top], [0, top], color="grey", lw=1, ls=":")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel("predicted default rate")
    ax.set_ylabel("observed default rate (95% interval)")
    if isinstance(tables, dict):
        ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_gains(tables, *, ax=None):
    """Cumulative gains: share of defaults caught by the riskiest deciles.

    Parameters
    ----------
    tables : pandas.DataFrame or dict of str to pandas.DataFrame
        A :func:`~crmlib.credit.evaluation.gains_table`, or label -> table.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (5, 5))
    for label, t in _as_dict(tables).items():
        check_columns(t, ("cum_share_of_customers", "cum_share_of_defaults"), where="credit.plot_gains")
        ax.plot(np.r_[0, t["cum_share_of_customers"]], np.r_[0, t["cum_share_of_defaults"]],
                marker="o", label=label, ls="--" if label and "oracle" in str(label) else "-")
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls=":", label="random")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    ax.set_xlabel("customers contacted, riskiest first")
    ax.set_ylabel("share of defaulted invoices caught")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_importance(table: pd.DataFrame, *, ax=None):
    """Permutation importance with its spread over repeats.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~crmlib.credit.evaluation.permutation_importance`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(table, ("label", "importance", "std"), where="credit.plot_importance")
    ax = _axes(ax)
    y = np.arange(len(table))
    ax.barh(y, table["importance"], xerr=table["std"], color="#9bbb59", capsize=2)
    ax.set_yticks(y, table["label"])
    ax.invert_yaxis()
    ax.set_xlabel("drop in holdout AUC when shuffled")
    return ax


def plot_psi(table: pd.DataFrame, *, ax=None):
    """PSI per variable, coloured by status, with the 0.1 / 0.25 thresholds.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~crmlib.credit.drift.psi_table`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .drift import PSI_THRESHOLDS

    check_columns(table, ("variable", "psi"), where="credit.plot_psi")
    ax = _axes(ax)
    y = np.arange(len(table))
    colours = np.select([table["psi"] < PSI_THRESHOLDS[0], table["psi"] < PSI_THRESHOLDS[1]],
                        ["#9bbb59", "#f79646"], "#c0504d")
    ax.barh(y, table["psi"], color=colours)
    ax.set_yticks(y, table["variable"])
    ax.invert_yaxis()
    for x in PSI_THRESHOLDS:
        ax.axvline(x, color="grey", ls=":", lw=1)
    ax.set_xlabel("population stability index")
    return ax


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
