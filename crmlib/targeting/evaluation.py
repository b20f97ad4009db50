"""Uplift evaluation on a randomised experiment: Qini and uplift curves, their areas, decile tables.

All functions take the observed outcome ``y`` (converted or not), the ``treatment`` flag
(contacted, or held out as control) and a ``score`` to rank by (higher = target first), one value
per held-out contact. Ties in the score are broken by a stable sort, so a constant score gives the
curve of a random list in row order.

Definitions (Radcliffe 2007; Gutierrez & Gerardy 2017), with rows sorted by score and, for the top
``k`` rows, ``n_t, n_c`` treated and control rows and ``y_t, y_c`` their conversions:

- Qini curve: ``Q(k) = y_t - y_c * n_t / n_c``, the incremental conversions among the treated of
  the top ``k`` (0 while ``n_c`` is 0).
- uplift curve: ``U(k) = (y_t / n_t - y_c / n_c) * k``, the incremental conversions had all top
  ``k`` been contacted.
- Qini coefficient and AUUC: the area between the curve and the straight line of a random list
  (from 0 to the curve's end point), with the x axis as the fraction targeted and the y axis
  divided by the number of rows, i.e. in incremental conversions per row of the base. Ratios
  between models (e.g. model vs oracle) are what to compare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval
from ..definitions import wilson_interval
from ..errors import EmptyDataError, ParameterError

__all__ = ["auuc", "qini_coefficient", "qini_curve", "rates_from_counts", "response_rates", "uplift_by_decile",
           "uplift_curve"]

CURVE_COLUMNS = ["fraction", "n", "n_treated", "n_control", "conversions_treated",
                 "conversions_control", "qini", "uplift", "random_qini", "random_uplift"]


def check_arrays(y, treatment, score, where):
    """``y``, ``treatment`` and ``score`` as arrays of one length, with both groups present."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(treatment).astype(bool)
    s = np.asarray(score, dtype=float)
    if not (len(y) == len(t) == len(s)):
        raise ParameterError(f"{where}: 'y', 'treatment' and 'score' must have the same length; "
                             f"got {len(y)}, {len(t)} and {len(s)}.", name="score")
    if len(y) == 0:
        raise EmptyDataError(f"{where}: no rows to evaluate")
    if np.isnan(s).any():
        raise ParameterError(f"{where}: 'score' has {int(np.isnan(s).sum())} missing value(s).",
                             name="score")
    if t.all() or not t.any():
        which = "control" if t.all() else "treated"
        raise EmptyDataError(f"{where}: no {which} rows; uplift needs both treated and control rows")
    return y, t, s


def qini_curve(y, treatment, score, *, points: int | None = 100) -> pd.DataFrame:
    """Qini and uplift curves of a ranking, at ``points`` evenly spaced list sizes (None: every row).

    Parameters
    ----------
    y : array-like of bool or {0, 1}
        Observed conversion per held-out row.
    treatment : array-like of bool
        True if the row was contacted, False if it was in the control group.
    score : array-like of float
        Ranking score; the highest is targeted first.
    points : int or None, default=100
        Number of list sizes after the origin (the curve starts at 0 and ends at all rows).

    Returns
    -------
    pandas.DataFrame
        One row per list size, from 0 to all rows: ``fraction`` (float64, share of rows targeted),
        ``n``, ``n_treated``, ``n_control`` (int64), ``conversions_treated``,
        ``conversions_control``, ``qini``, ``uplift``, ``random_qini``, ``random_uplift`` (float64);
        see the module docstring.

    Raises
    ------
    EmptyDataError
        No rows, or no treated or no control rows.
    ParameterError
        Lengths differ, missing scores, or a bad ``points``.
    """
    where = "targeting.qini_curve"
    y, t, s = check_arrays(y, treatment, score, where)
    order = np.argsort(-s, kind="stable")
    y, t = y[order], t[order]
    n = len(y)
    nt = np.concatenate([[0], np.cumsum(t)])
    nc = np.concatenate([[0], np.cumsum(~t)])
    yt = np.concatenate([[0.0], np.cumsum(y * t)])
    yc = np.concatenate([[0.0], np.cumsum(y * ~t)])
    if points is None:
        idx = np.arange(n + 1)
    else:
        check_interval(points, 1, None, name="points", where=where, integer=True, closed="left")
        idx = np.unique(np.round(np.linspace(0, n, min(points, n) + 1)).astype(int))
    nt, nc, yt, yc = nt[idx], nc[idx], yt[idx], yc[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(nc > 0, yt - yc * nt / nc, 0.0)
        rate_t = np.where(nt > 0, yt / nt, 0.0)
        rate_c = np.where(nc > 0, yc / nc, 0.0)
    uplift = np.where((nt > 0) & (nc > 0), (rate_t - rate_c) * idx, 0.0)
    frac = idx / n
    return pd.DataFrame({
        "fraction": frac, "n": idx.astype("int64"), "n_treated": nt.astype("int64"),
        "n_control": nc.astype("int64"), "conversions_treated": yt, "conversions_control": yc,
        "qini": qini, "uplift": uplift, "random_qini": frac * qini[-1], "random_uplift": frac * uplift[-1],
    })[CURVE_COLUMNS]


def uplift_curve(y, treatment, score, *, points: int | None = 100) -> pd.DataFrame:
    """Same table as :func:`qini_curve` (it holds both curves); provided for readability."""
    return qini_curve(y, treatment, score, points=points)


def _area(curve: pd.DataFrame, column: str) -> float:
    gap = (curve[column] - curve[f"random_{column}"]) / curve["n"].iloc[-1]
    x = curve["fraction"].to_numpy()
    g = gap.to_numpy()
    return float(np.sum((g[1:] + g[:-1]) / 2 * np.diff(x)))


def qini_coefficient(y, treatment, score) -> float:
    """Area between the Qini curve and the random line, per row of the base (see the module docstring).

    Returns
    -------
    float
        Positive when the ranking puts the responders-because-of-contact first; 0 for a random list.
    """
    return _area(qini_curve(y, treatment, score, points=None), "qini")


def auuc(y, treatment, score) -> float:
    """Area between the uplift curve and the random line, per row of the base (AUUC above random)."""
    return _area(qini_curve(y, treatment, score, points=None), "uplift")


def uplift_by_decile(y, treatment, score, *, bins: int = 10, extra=None) -> pd.DataFrame:
    """Observed response rates of treated and control rows per score decile (1 = highest scores).

    Parameters
    ----------
    y, treatment, score : array-like
        As for :func:`qini_curve`.
    bins : int, default=10
        Number of equal-size groups.
    extra : mapping of str to array-like, optional
        More per-row values whose mean per group is added as columns (e.g. the true uplift in tests,
        or another model's prediction).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``decile`` (int64, 1 = top), ``n``, ``n_treated``, ``n_control`` (int64),
        ``rate_treated``, ``rate_control``, ``observed_uplift`` (rate difference),
        ``ci_low``, ``ci_high`` (95% normal interval of the difference), ``predicted_uplift`` (mean
        score), then the ``extra`` columns; a group without treated or control rows has NaN rates.
    """
    where = "targeting.uplift_by_decile"
    y, t, s = check_arrays(y, treatment, score, where)
    check_interval(bins, 1, None, name="bins", where=where, integer=True, closed="left")
    order = np.argsort(-s, kind="stable")
    group = np.empty(len(y), dtype="int64")
    group[order] = np.arange(len(y)) * bins // len(y) + 1
    frame = pd.DataFrame({"decile": group, "y": y, "t": t, "s": s})
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values, dtype=float)
    rows = []
    for d, part in frame.groupby("decile", sort=True):
        yt, yc = part.loc[part["t"], "y"], part.loc[~part["t"], "y"]
        rt = yt.mean() if len(yt) else np.nan
        rc = yc.mean() if len(yc) else np.nan
        se = np.sqrt(rt * (1 - rt) / max(len(yt), 1) + rc * (1 - rc) / max(len(yc), 1))
        row = {"decile": d, "n": len(part), "n_treated": len(yt), "n_control": len(yc),
               "rate_treated": rt, "rate_control": rc, "observed_uplift": rt - rc,
               "ci_low": rt - rc - 1.96 * se, "ci_high": rt - rc + 1.96 * se,
               "predicted_uplift": part["s"].mean()}
        for name in extra or {}:
            row[name] = part[name].mean()
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.astype({"decile": "int64", "n": "int64", "n_treated": "int64", "n_control": "int64"})


RATE_COLUMNS = ["campaign_id", "name", "channel", "started_at", "n_treated", "n_control",
                "conversions_treated", "conversions_control", "rate_treated", "rate_treated_low",
                "rate_treated_high", "rate_control", "rate_control_low", "rate_control_high",
                "uplift", "uplift_low", "uplift_high", "incremental_conversions"]


def response_rates(contacts: pd.DataFrame, responses: pd.DataFrame,
                   campaigns: pd.DataFrame | None = None) -> pd.DataFrame:
    """Conversion rates of the contacted and the control group per campaign, with 95% intervals.

    Parameters
    ----------
    contacts : pandas.DataFrame
        ``campaign_id``, ``customer_id``, ``treatment``.
    responses : pandas.DataFrame
        ``campaign_id``, ``customer_id``, ``converted``.
    campaigns : pandas.DataFrame, optional
        ``campaign_id``, ``name``, ``channel``, ``started_at`` (added when given).

    Returns
    -------
    pandas.DataFrame
        One row per campaign with contacts, in start order: :data:`RATE_COLUMNS`. Rates have Wilson
        intervals; ``uplift`` (rate difference) a normal interval; ``incremental_conversions`` is
        ``uplift * n_treated``. Rates of an empty group are NaN (e.g. a campaign without control group).
    """
    from .._validation import check_columns

    where = "targeting.response_rates"
    check_columns(contacts, ["campaign_id", "customer_id", "treatment"], where=f"{where}(contacts)")
    check_columns(responses, ["campaign_id", "customer_id", "converted"], where=f"{where}(responses)")
    won = responses[responses["converted"].astype(bool)][["campaign_id", "customer_id"]].drop_duplicates()
    c = contacts[["campaign_id", "customer_id", "treatment"]].drop_duplicates(["campaign_id", "customer_id"])
    c = c.merge(won.assign(y=1.0), on=["campaign_id", "customer_id"], how="left").fillna({"y": 0.0})
    c["treatment"] = c["treatment"].astype(bool)
    counts = c.groupby(["campaign_id", "treatment"])["y"].agg(["size", "sum"]).reset_index()
    return rates_from_counts(counts.rename(columns={"size": "contacts", "sum": "conversions"}), campaigns)


def rates_from_counts(counts: pd.DataFrame, campaigns: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`response_rates` from contacts and conversions counted per campaign and group.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``campaign_id``, ``treatment`` (bool), ``contacts`` and ``conversions`` (distinct
        customers contacted, and of them those with a converting response), one row per campaign
        and group present (e.g. counted on Spark).
    campaigns : pandas.DataFrame, optional
        As for :func:`response_rates`.

    Returns
    -------
    pandas.DataFrame
        :data:`RATE_COLUMNS`, as :func:`response_rates`.
    """
    from .._validation import check_columns

    check_columns(counts, ["campaign_id", "treatment", "contacts", "conversions"],
                  where="targeting.rates_from_counts")
    counts = counts.assign(treatment=counts["treatment"].astype(bool),
                           contacts=counts["contacts"].astype(float), conversions=counts["conversions"].astype(float))
    g = counts.set_index(["campaign_id", "treatment"])[["contacts", "conversions"]].rename(
        columns={"contacts": "size", "conversions": "sum"}).unstack("treatment").sort_index()
    out = pd.DataFrame(index=g.index)
    for flag, label in ((True, "treated"), (False, "control")):
        n = g[("size", flag)] if ("size", flag) in g.columns else pd.Series(0.0, index=g.index)
        k = g[("sum", flag)] if ("sum", flag) in g.columns else pd.Series(0.0, index=g.index)
        n, k = n.fillna(0), k.fillna(0)
        out[f"n_{label}"] = n.astype("int64")
        out[f"conversions_{label}"] = k.astype("int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"rate_{label}"] = np.where(n > 0, k / n.where(n > 0), np.nan)
        low, high = wilson_interval(k, n)
        out[f"rate_{label}_low"], out[f"rate_{label}_high"] = low, high
    rt, rc = out["rate_treated"], out["rate_control"]
    se = np.sqrt(rt * (1 - rt) / out["n_treated"].where(out["n_treated"] > 0)
                 + rc * (1 - rc) / out["n_control"].where(out["n_control"] > 0))
    out["uplift"] = rt - rc
    out["uplift_low"], out["uplift_high"] = out["uplift"] - 1.96 * se, out["uplift"] + 1.96 * se
    out["incremental_conversions"] = out["uplift"] * out["n_treated"]
    out = out.reset_index()
    if campaigns is not None:
        out = out.merge(campaigns[["campaign_id", "name", "channel", "started_at"]], on="campaign_id", how="left")
        out = out.sort_values(["started_at", "campaign_id"], kind="stable")
    else:
        out["name"], out["channel"], out["started_at"] = None, None, pd.NaT
    return out[RATE_COLUMNS].reset_index(drop=True)
