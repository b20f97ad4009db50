"""Evaluate default scores on a holdout: AUC, Gini, KS, Brier, calibration, gains, importance.

Every function takes one score per customer and the customer's outcome as counts: ``events``
(defaulted invoices) of ``trials`` (invoices in the window). Metrics are computed per invoice:
a customer with 5 invoices counts 5 times, each with the customer's score. With ``trials=None``
each row is one trial and ``events`` is 0/1.

The oracle
----------
On the sample database every customer has a true probability ``p_default`` that each of its
invoices defaults, independently (``crmlib.sample``). Ranking the same holdout invoices by that
probability (``evaluate(p_default, defaults, invoices)``) gives the best AUC any model can reach on
this target: the "oracle AUC". Model and oracle are scored on exactly the same invoices with the
same outcomes. Because the target is per invoice, the number of invoices a customer happens to get
in the window does not help either of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval, check_one_of, check_type
from ..errors import ParameterError
from .profile import wilson_interval

__all__ = ["calibration_frame", "calibration_table", "choose_model", "compare_models", "evaluate",
           "gains_frame", "gains_table",
           "permutation_importance", "roc_table"]


def _inputs(score, events, trials, *, where: str):
    s = np.asarray(score, float)
    k = np.asarray(events, float)
    n = np.ones_like(k) if trials is None else np.asarray(trials, float)
    if not (s.shape == k.shape == n.shape) or s.ndim != 1:
        raise ParameterError(f"{where}: 'score', 'events' and 'trials' must be 1-d with one value per "
                             f"customer; got shapes {s.shape}, {k.shape}, {n.shape}.", name="score")
    if np.isnan(s).any():
        raise ParameterError(f"{where}: 'score' must not contain NaN; got {int(np.isnan(s).sum())}.",
                             name="score")
    if (k < 0).any() or (k > n).any():
        raise ParameterError(f"{where}: 'events' must be between 0 and 'trials' for every customer.",
                             name="events")
    return s, k, n


def _auc(s, k, n) -> float:
    """Weighted Mann-Whitney AUC: P(score of a defaulted invoice > score of a paid one), ties 1/2."""
    pos, neg = k, n - k
    order = np.argsort(s, kind="mergesort")
    s, pos, neg = s[order], pos[order], neg[order]
    uniq, start = np.unique(s, return_index=True)
    p = np.add.reduceat(pos, start)
    q = np.add.reduceat(neg, start)
    below = np.cumsum(q) - q
    total = p.sum() * q.sum()
    return float(((p * below).sum() + 0.5 * (p * q).sum()) / total) if total > 0 else float("nan")


def _ks(s, k, n) -> float:
    pos, neg = k, n - k
    order = np.argsort(-s, kind="mergesort")
    s, pos, neg = s[order], pos[order], neg[order]
    _, start = np.unique(-s, return_index=True)
    cp = np.cumsum(np.add.reduceat(pos, start)) / max(pos.sum(), 1e-300)
    cn = np.cumsum(np.add.reduceat(neg, start)) / max(neg.sum(), 1e-300)
    return float(np.max(np.abs(cp - cn))) if len(cp) else float("nan")


def evaluate(probability, events, trials=None) -> pd.Series:
    """Headline metrics of a default probability on a holdout.

    Parameters
    ----------
    probability : array-like, shape (n,)
        Predicted probability that an invoice of the customer defaults (higher = riskier).
    events : array-like, shape (n,)
        Defaulted invoices per customer.
    trials : array-like, shape (n,), optional
        Invoices per customer; default 1 each.

    Returns
    -------
    pandas.Series
        ``customers``, ``invoices``, ``defaults``, ``default_rate``, ``auc`` (ROC AUC over
        invoices), ``gini`` (2 AUC - 1), ``ks`` (largest gap between the cumulative score
        distributions of defaulted and paid invoices), ``brier`` (mean squared error of the
        probability per invoice), ``mean_probability``.

    Raises
    ------
    ParameterError
        Shapes differ, NaN scores, events outside [0, trials].
    """
    s, k, n = _inputs(probability, events, trials, where="credit.evaluate")
    auc = _auc(s, k, n)
    brier = float(((k * (1 - s) ** 2) + (n - k) * s ** 2).sum() / n.sum()) if n.sum() else float("nan")
    return pd.Series({
        "customers": float(len(s)), "invoices": float(n.sum()), "defaults": float(k.sum()),
        "default_rate": float(k.sum() / n.sum()) if n.sum() else float("nan"),
        "auc": auc, "gini": 2 * auc - 1, "ks": _ks(s, k, n), "brier": brier,
        "mean_probability": float((s * n).sum() / n.sum()) if n.sum() else float("nan"),
    })


def compare_models(scores: dict, events, trials=None, *, oracle=None) -> pd.DataFrame:
    """:func:`evaluate` for several scores of the same customers, one row each.

    Parameters
    ----------
    scores : dict of str to array-like
        Model name -> predicted probability per customer.
    events, trials
        As for :func:`evaluate`.
    oracle : array-like, optional
        The true probability per customer where it is known (the sample database); adds a row
        'oracle' and a column ``auc_vs_oracle`` (model AUC minus oracle AUC).

    Returns
    -------
    pandas.DataFrame
        Index: the names (and 'oracle'); columns those of :func:`evaluate`.
    """
    check_type(scores, dict, name="scores", where="credit.compare_models", type_name="a dict")
    rows = {name: evaluate(s, events, trials) for name, s in scores.items()}
    if oracle is not None:
        rows["oracle"] = evaluate(oracle, events, trials)
    out = pd.DataFrame(rows).T
    if oracle is not None:
        out["auc_vs_oracle"] = out["auc"] - out.loc["oracle", "auc"]
    return out


def choose_model(metrics: pd.DataFrame, model: str = "best") -> str:
    """The model to use: ``model`` itself, or for 'best' the one with the highest AUC.

    Parameters
    ----------
    metrics : pandas.DataFrame
        :func:`compare_models` (the 'oracle' row is never chosen).
    model : str, default='best'
        'best' or one of the names in ``metrics``.

    Raises
    ------
    ParameterError
        ``model`` is neither 'best' nor a name in ``metrics``.
    """
    names = [n for n in metrics.index if n != "oracle"]
    check_one_of(model, ["best", *names], name="model", where="credit.choose_model")
    return str(metrics.loc[names, "auc"].idxmax()) if model == "best" else model


def roc_table(score, events, trials=None) -> pd.DataFrame:
    """The ROC curve over invoices.

    Parameters
    ----------
    score, events, trials
        As for :func:`evaluate`; higher score = riskier.

    Returns
    -------
    pandas.DataFrame
        ``threshold`` (score), ``fpr`` and ``tpr`` (float64), from (0, 0) to (1, 1).
    """
    s, k, n = _inputs(score, events, trials, where="credit.roc_table")
    order = np.argsort(-s, kind="mergesort")
    s, pos, neg = s[order], k[order], (n - k)[order]
    _, start = np.unique(-s, return_index=True)
    tp = np.cumsum(np.add.reduceat(pos, start))
    fp = np.cumsum(np.add.reduceat(neg, start))
    return pd.DataFrame({
        "threshold": np.r_[np.inf, s[start]],
        "fpr": np.r_[0.0, fp / max(fp[-1], 1e-300)],
        "tpr": np.r_[0.0, tp / max(tp[-1], 1e-300)],
    })


def calibration_table(probability, events, trials=None, *, n_bins: int = 10) -> pd.DataFrame:
    """Predicted against observed default rate, in bins of equal invoice count.

    Parameters
    ----------
    probability, events, trials
        As for :func:`evaluate`.
    n_bins : int, default=10
        In [2, 50].

    Returns
    -------
    pandas.DataFrame
        ``bin`` (1 = lowest probabilities), ``customers``, ``invoices``, ``defaults``,
        ``predicted`` (mean probability per invoice), ``observed`` (default rate),
        ``observed_low`` and ``observed_high`` (95% Wilson interval).
    """
    check_interval(n_bins, 2, 50, name="n_bins", where="credit.calibration_table", integer=True)
    s, k, n = _inputs(probability, events, trials, where="credit.calibration_table")
    b = _equal_weight_groups(s, n, n_bins)
    frame = pd.DataFrame({"bin": b + 1, "k": k, "n": n, "sn": s * n})
    g = frame.groupby("bin")
    return calibration_frame(pd.DataFrame({"customers": g.size(), "invoices": g["n"].sum(),
                                           "defaults": g["k"].sum(), "weighted": g["sn"].sum()}))


def calibration_frame(per_bin: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_table` from its counts per bin (also computed on Spark).

    Parameters
    ----------
    per_bin : pandas.DataFrame
        Indexed by ``bin`` (1 = lowest probabilities): ``customers``, ``invoices``, ``defaults``
        and ``weighted`` (the sum of probability x invoices).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`calibration_table`.
    """
    out = per_bin[["customers", "invoices", "defaults"]].copy()
    out["predicted"] = per_bin["weighted"] / per_bin["invoices"]
    out["observed"] = out["defaults"] / out["invoices"]
    low, high = wilson_interval(out["defaults"].to_numpy(), out["invoices"].to_numpy())
    out["observed_low"], out["observed_high"] = low, high
    return out.reset_index()


def gains_table(score, events, trials=None, *, groups: int = 10) -> pd.DataFrame:
    """Gains and lift by decile of customers ranked by risk (decile 1 = riskiest).

    Parameters
    ----------
    score, events, trials
        As for :func:`evaluate`; higher score = riskier.
    groups : int, default=10
        Number of groups of (about) equal numbers of customers, in [2, 100].

    Returns
    -------
    pandas.DataFrame
        ``decile``, ``customers``, ``invoices``, ``defaults``, ``default_rate``,
        ``share_of_defaults``, ``cum_share_of_customers``, ``cum_share_of_defaults`` (the gains
        curve: share of all defaulted invoices caught by calling the riskiest deciles),
        ``lift`` (default rate of the decile / overall) and ``cum_lift``.
    """
    check_interval(groups, 2, 100, name="groups", where="credit.gains_table", integer=True)
    s, k, n = _inputs(score, events, trials, where="credit.gains_table")
    order = np.argsort(-s, kind="mergesort")
    d = np.empty(len(s), int)
    d[order] = np.arange(len(s)) * groups // max(len(s), 1)
    frame = pd.DataFrame({"decile": d + 1, "k": k, "n": n})
    g = frame.groupby("decile")
    return gains_frame(pd.DataFrame({"customers": g.size(), "invoices": g["n"].sum(), "defaults": g["k"].sum()}))


def gains_frame(per_decile: pd.DataFrame) -> pd.DataFrame:
    """:func:`gains_table` from its counts per decile (also computed on Spark).

    Parameters
    ----------
    per_decile : pandas.DataFrame
        Indexed by ``decile`` (1 = riskiest): ``customers``, ``invoices``, ``defaults``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`gains_table`.
    """
    out = per_decile[["customers", "invoices", "defaults"]].copy()
    k = out["defaults"].to_numpy(float)
    n = out["invoices"].to_numpy(float)
    customers = out["customers"].sum()
    rate = k.sum() / n.sum() if n.sum() else np.nan
    out["default_rate"] = out["defaults"] / out["invoices"]
    out["share_of_defaults"] = out["defaults"] / k.sum() if k.sum() else np.nan
    out["cum_share_of_customers"] = out["customers"].cumsum() / customers
    out["cum_share_of_defaults"] = out["defaults"].cumsum() / k.sum() if k.sum() else np.nan
    out["lift"] = out["default_rate"] / rate
    out["cum_lift"] = (out["defaults"].cumsum() / out["invoices"].cumsum()) / rate
    return out.reset_index()


def permutation_importance(model, X: pd.DataFrame, events, trials=None, *, n_repeats: int = 3,
                           random_state: int = 0) -> pd.DataFrame:
    """How much the holdout AUC drops when one feature's values are shuffled across customers.

    Parameters
    ----------
    model : fitted ScorecardModel or BoostingModel
        Anything with ``features_`` and ``predict_proba``.
    X : pandas.DataFrame
        One row per customer (the holdout).
    events, trials
        As for :func:`evaluate`.
    n_repeats : int, default=3
        Shuffles per feature, in [1, 50].
    random_state : int, default=0

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``label``, ``importance`` (mean AUC drop), ``std``; largest first.
    """
    from .models import FEATURE_LABELS

    check_interval(n_repeats, 1, 50, name="n_repeats", where="credit.permutation_importance",
                   integer=True)
    base = model.predict_proba(X)[:, 1]
    s, k, n = _inputs(base, events, trials, where="credit.permutation_importance")
    ref = _auc(s, k, n)
    rng = np.random.default_rng(random_state)
    rows = []
    for c in model.features_:
        drops = []
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[c] = X[c].to_numpy()[rng.permutation(len(X))]
            drops.append(ref - _auc(model.predict_proba(shuffled)[:, 1], k, n))
        rows.append((c, FEATURE_LABELS.get(c, c), float(np.mean(drops)), float(np.std(drops))))
    out = pd.DataFrame(rows, columns=["variable", "label", "importance", "std"])
    return out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _equal_weight_groups(s, n, groups: int) -> np.ndarray:
    """Group index per row so that each group holds about the same total weight, by score."""
    order = np.argsort(s, kind="mergesort")
    cum = np.cumsum(n[order]) - n[order] / 2
    total = n.sum()
    g = np.empty(len(s), int)
    g[order] = np.minimum((cum / total * groups).astype(int), groups - 1) if total else 0
    return g
