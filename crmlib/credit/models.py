"""Two models of a 0/1 event with the same interface: a WoE logistic scorecard and gradient boosting.

They fit any frame with a 0/1 label: pass the columns to use as ``features=`` (e.g.
``ScorecardModel(features=["age", "duration", "purpose"]).fit(loans, loans["bad"])``). In the CRM
(the default features, :data:`MODEL_FEATURES`) they estimate the probability that an invoice of a
customer defaults, from the customer's features as of a cutoff (:mod:`crmlib.credit.features`).
They follow scikit-learn's conventions:
``__init__`` only stores its keyword arguments, ``fit(X, y, sample_weight=None)`` validates, sets
attributes ending in ``_`` and returns ``self``; other methods raise
:class:`~crmlib.errors.NotFittedError` before ``fit``. Fit them on invoice rows, or on the
weighted rows of :func:`crmlib.credit.target.binomial_rows` (the same thing, smaller)::

    X, y, w = target.binomial_rows(backtest.train, MODEL_FEATURES, events="defaults_next",
                            trials="invoices_next")
    model = ScorecardModel().fit(X, y, sample_weight=w)
    model.predict_proba(backtest.holdout)[:, 1]

``ScorecardModel`` bins each variable optimally (optbinning's ``BinningProcess``), replaces values
by their weight of evidence, fits a logistic regression and scales it to points (optbinning's
``Scorecard``): 600 points at odds of 50 good to 1 bad, 20 more points for each doubling of the odds.
Higher points mean lower risk (fewer events). ``BoostingModel`` is scikit-learn's
HistGradientBoostingClassifier with categorical features taken from the pandas dtype.

Per-customer reasons (:meth:`reasons`): for the scorecard, the variables where the customer loses
most points against the best bin of that variable (the usual adverse-action reason codes); for
boosting, the variables whose value, if replaced by the typical value of the training data (median
or most frequent category), would lower the customer's predicted probability the most.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_columns, check_fitted, check_interval, check_type
from ._base import FEATURE_LABELS, MODEL_FEATURES, CreditModel, reason_text
from ._common import bin_labels
from ._common import quiet as _quiet

__all__ = ["FEATURE_LABELS", "MODEL_FEATURES", "MODEL_NAMES", "BoostingModel", "ScorecardModel",
           "fit_models", "reason_text"]

#: The models :func:`fit_models` fits, by name.
MODEL_NAMES = ("scorecard", "boosting")


class ScorecardModel(CreditModel):
    """WoE logistic scorecard with points per bin (optbinning ``BinningProcess`` + ``Scorecard``).

    Parameters
    ----------
    features : list of str, optional
        Columns of X to use (object, string and category columns are categorical). Default (CRM
        only): :data:`MODEL_FEATURES` present in X.
    max_n_bins : int, default=5
        Most bins per variable, in [2, 20].
    min_bin_size : float, default=0.05
        Smallest bin as a share of the (weighted) rows, in (0, 0.5].
    min_iv : float, default=0.02
        Variables with a lower information value are left out of the scorecard, in [0, 1).
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression, > 0.
    pdo : float, default=20
        Points that double the odds (good : bad), > 0.
    odds : float, default=50
        Odds (good : bad) at ``points``, > 0.
    points : float, default=600
        Score at odds ``odds``.
    drop_wrong_sign : bool, default=True
        Refit without a variable whose coefficient comes out with the wrong sign (a riskier bin
        would earn more points), worst first, with a ``UserWarning`` naming it and its
        coefficient. False keeps every variable: the points then follow the fitted coefficients,
        which is what you want when a variable's effect really turns once the others are known
        (a confounded effect).

    Attributes
    ----------
    features_ : list of str
        The columns of X used.
    variables_ : list of str
        The variables kept in the scorecard (information value >= ``min_iv``).
    dropped_ : list of str
        Variables left out because their coefficient came out with the wrong sign (a riskier
        bin would have earned more points; it happens with strongly correlated variables), in
        the order they were dropped; empty with ``drop_wrong_sign=False``.
    dropped_coefficients_ : dict of str to float
        The coefficient (on the WoE scale, should be negative) of each dropped variable when it
        was dropped.
    wrong_sign_ : list of str
        Variables kept with a positive coefficient (with ``drop_wrong_sign=False``, or when only
        one variable is left).
    scorecard_ : optbinning.Scorecard
        The fitted scorecard (its ``binning_process_`` holds the binning of every feature).

    Examples
    --------
    >>> model = ScorecardModel().fit(X, y, sample_weight=w)          # doctest: +SKIP
    >>> model.table().head()                                            # doctest: +SKIP
    """

    _where = "credit.ScorecardModel"

    def __init__(self, *, features=None, max_n_bins: int = 5, min_bin_size: float = 0.05,
                 min_iv: float = 0.02, C: float = 1.0, pdo: float = 20, odds: float = 50,
                 points: float = 600, drop_wrong_sign: bool = True):
        self.features = features
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.min_iv = min_iv
        self.C = C
        self.pdo = pdo
        self.odds = odds
        self.points = points
        self.drop_wrong_sign = drop_wrong_sign

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> ScorecardModel:
        """Bin the features, fit the logistic regression on WoE values and scale it to points.

        Parameters
        ----------
        X : pandas.DataFrame
            Features (at least the model features).
        y : array-like of 0/1, shape (n,)
            1 = event (in the CRM: the invoice defaulted).
        sample_weight : array-like, shape (n,), optional
            Row weights (trials per row; in the CRM, invoices per row).

        Returns
        -------
        ScorecardModel
            self.

        Raises
        ------
        ParameterError
            A bad parameter, or y without both outcomes.
        DataContractError
            A feature column is missing from X.

        Warns
        -----
        UserWarning
            For each variable dropped for the sign of its coefficient (``drop_wrong_sign=True``),
            naming it and the coefficient.
        """
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        where = f"{self._where}.fit"
        check_interval(self.max_n_bins, 2, 20, name="max_n_bins", where=where, integer=True)
        check_interval(self.min_bin_size, 0, 0.5, name="min_bin_size", where=where, closed="right")
        check_interval(self.min_iv, 0, 1, name="min_iv", where=where, closed="left")
        for name in ("C", "pdo", "odds"):
            check_interval(getattr(self, name), 0, None, name=name, where=where, closed="neither")
        check_interval(self.points, None, None, name="points", where=where)
        check_type(self.drop_wrong_sign, bool, name="drop_wrong_sign", where=where, type_name="a bool")
        frame, y, w = self._check_fit_input(X, y, sample_weight)
        variables = list(self.features_)
        dropped = {}
        while True:
            categorical = [c for c in variables if c in self.categories_]
            process = BinningProcess(
                variables, categorical_variables=categorical or None, max_n_bins=self.max_n_bins,
                min_bin_size=self.min_bin_size, selection_criteria={"iv": {"min": self.min_iv}})
            scorecard = Scorecard(
                process, LogisticRegression(C=self.C, max_iter=1000), scaling_method="pdo_odds",
                scaling_method_params={"pdo": self.pdo, "odds": self.odds,
                                       "scorecard_points": self.points})
            with _quiet():
                scorecard.fit(frame[variables], y, sample_weight=w, metric_missing="empirical",
                              metric_special="empirical")
            kept = [str(v) for v in scorecard.binning_process_.get_support(names=True)]
            # WoE = ln(non-event share / event share): every coefficient must be negative, or a
            # riskier bin would earn more points. Drop the worst offender (collinear) and refit.
            coefs = dict(zip(kept, scorecard.estimator_.coef_.ravel(), strict=True))
            wrong = {v: float(c) for v, c in coefs.items() if c > 0}
            if not wrong or len(kept) == 1 or not self.drop_wrong_sign:
                break
            worst = max(wrong, key=wrong.get)
            variables.remove(worst)
            dropped[worst] = wrong[worst]
            warnings.warn(
                f"{where}: dropped {worst!r}: its coefficient {wrong[worst]:+.4g} has the wrong sign "
                "(on the WoE scale it must be negative: a bin with more events would earn more "
                "points), usually because it overlaps another variable; pass drop_wrong_sign=False "
                "to keep it.", UserWarning, stacklevel=2)
        self.dropped_ = list(dropped)
        self.dropped_coefficients_ = dropped
        self.wrong_sign_ = sorted(wrong)
        self.scorecard_ = scorecard
        self.variables_ = kept
        detailed = scorecard.table(style="detailed")
        # points are linear in the WoE within a variable: keep (slope, intercept) per variable
        self._woe_to_points = {}
        for v, g in detailed.groupby("Variable", sort=False):
            woe, pts = g["WoE"].to_numpy(float), g["Points"].to_numpy(float)
            slope = np.polyfit(woe, pts, 1)[0] if np.ptp(woe) > 0 else 0.0
            self._woe_to_points[v] = (slope, float(np.mean(pts - slope * woe)))
        seen = detailed[detailed["Count"] > 0]
        self._best = seen.groupby("Variable")["Points"].max().to_dict()
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of no event and event (in the CRM: default) per row, shape (n, 2).

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        check_fitted(self, "scorecard_")
        with _quiet():
            return self.scorecard_.predict_proba(self._frame(X))

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Scorecard points per row (higher = lower risk), shape (n,).

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        check_fitted(self, "scorecard_")
        with _quiet():
            return self.scorecard_.score(self._frame(X))

    def table(self) -> pd.DataFrame:
        """The scorecard: one row per variable and bin.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``label``, ``bin`` (str: '(-inf, 0.5)', '[0.5, 2.0)', 'missing', or
            the categories of the bin, 'a, b'), ``count`` (weighted rows in training),
            ``count_share``, ``event_rate`` (event rate of the bin; in the CRM the default
            rate), ``woe``, ``iv``, ``points``. Empty 'special' / 'missing' bins are left out.
        """
        check_fitted(self, "scorecard_")
        t = self.scorecard_.table(style="detailed")
        process = self.scorecard_.binning_process_
        labels = {v: bin_labels(process.get_binned_variable(v)) for v in t["Variable"].unique()}
        text = [labels[v][int(i)] for v, i in zip(t["Variable"], t["Bin id"], strict=True)]
        keep = ((t["Count"] > 0) | ~t["Bin"].astype(str).isin(["Special", "Missing"])).to_numpy()
        t = t[keep]
        out = pd.DataFrame({
            "variable": t["Variable"].to_numpy(),
            "label": [FEATURE_LABELS.get(v, v) for v in t["Variable"]],
            "bin": np.asarray(text, dtype=object)[keep],
            "count": t["Count"].to_numpy(float), "count_share": t["Count (%)"].to_numpy(float),
            "event_rate": t["Event rate"].to_numpy(float), "woe": t["WoE"].to_numpy(float),
            "iv": t["IV"].to_numpy(float), "points": t["Points"].to_numpy(float),
        })
        return out.reset_index(drop=True)

    def bins(self, X: pd.DataFrame) -> pd.DataFrame:
        """The bin (as text) of each scorecard variable per row, for drift monitoring.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        check_fitted(self, "scorecard_")
        frame = self._frame(X)
        with _quiet():
            out = self.scorecard_.binning_process_.transform(frame, metric="bins")
        return out[self.variables_].astype(str).reset_index(drop=True)

    def points_by_variable(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per scorecard variable per row (they add up to :meth:`score`).

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        check_fitted(self, "scorecard_")
        frame = self._frame(X)
        with _quiet():
            woe = self.scorecard_.binning_process_.transform(
                frame, metric="woe", metric_missing="empirical", metric_special="empirical")
        return pd.DataFrame({v: self._woe_to_points[v][1] + self._woe_to_points[v][0] * woe[v].to_numpy(float)
                             for v in self.variables_})

    def reasons(self, X: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
        """Why each row scores as it does: the variables that cost it most points.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows to explain (with ``customer_id`` it keys the result).
        top : int, default=3
            Reasons per row, in [1, 20].

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (or ``row``), ``rank`` (1 = main reason), ``variable``, ``label``,
            ``value`` (the row's value), ``points_lost`` (points below the best bin of the
            variable; only variables that cost points are listed).
        """
        pts = self.points_by_variable(X)
        lost = pd.DataFrame({v: self._best[v] - pts[v] for v in self.variables_})
        return self._reasons_frame(X, lost, top, "points_lost")


class BoostingModel(CreditModel):
    """Gradient boosting (scikit-learn's HistGradientBoostingClassifier) of a 0/1 event.

    Parameters
    ----------
    features : list of str, optional
        Columns of X to use; object, string and category columns are treated as categorical.
        Default (CRM only): :data:`MODEL_FEATURES` present in X.
    learning_rate : float, default=0.05
        In (0, 1].
    max_iter : int, default=200
        Boosting iterations, in [1, 5000].
    max_leaf_nodes : int, default=7
        In [2, 255].
    min_samples_leaf : int, default=200
        In [1, 100000]; rows per leaf (with binomial rows, a row stands for several invoices).
    l2_regularization : float, default=1.0
        >= 0.
    random_state : int, default=0
    n_threads : int, default=1
        OpenMP threads for fitting and predicting. One thread avoids oversubscription on shared
        machines and is fast enough for a CRM sample; raise it for millions of rows.

    Attributes
    ----------
    features_ : list of str
    estimator_ : sklearn.ensemble.HistGradientBoostingClassifier
    """

    _where = "credit.BoostingModel"

    def __init__(self, *, features=None, learning_rate: float = 0.05, max_iter: int = 200,
                 max_leaf_nodes: int = 7, min_samples_leaf: int = 200,
                 l2_regularization: float = 1.0, random_state: int = 0, n_threads: int = 1):
        self.features = features
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> BoostingModel:
        """Fit the boosting model.

        Parameters
        ----------
        X : pandas.DataFrame
        y : array-like of 0/1, shape (n,)
        sample_weight : array-like, shape (n,), optional

        Returns
        -------
        BoostingModel
            self.

        Raises
        ------
        ParameterError
            A bad parameter, or y without both outcomes.
        DataContractError
            A feature column is missing from X.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier

        where = f"{self._where}.fit"
        check_interval(self.learning_rate, 0, 1, name="learning_rate", where=where, closed="right")
        check_interval(self.max_iter, 1, 5000, name="max_iter", where=where, integer=True)
        check_interval(self.max_leaf_nodes, 2, 255, name="max_leaf_nodes", where=where, integer=True)
        check_interval(self.min_samples_leaf, 1, 100000, name="min_samples_leaf", where=where,
                       integer=True)
        check_interval(self.l2_regularization, 0, None, name="l2_regularization", where=where)
        check_interval(self.n_threads, 1, 256, name="n_threads", where=where, integer=True)
        frame, y, w = self._check_fit_input(X, y, sample_weight)
        est = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, categorical_features="from_dtype",
            early_stopping=False, random_state=self.random_state)
        with self._threads():
            est.fit(frame, y, sample_weight=w)
        self.estimator_ = est
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities of no event and event (in the CRM: default) per row, shape (n, 2).

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        check_fitted(self, "estimator_")
        frame = self._frame(X)
        with self._threads():
            return self.estimator_.predict_proba(frame)

    def reasons(self, X: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
        """Why each row scores high: the variables whose typical value would lower it most.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows to explain (with ``customer_id`` it keys the result).
        top : int, default=3
            Reasons per row, in [1, 20].

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (or ``row``), ``rank``, ``variable``, ``label``, ``value``,
            ``probability_added`` (predicted probability minus the probability with this one
            variable set to the training median or most frequent category; only positive ones).
        """
        check_fitted(self, "estimator_")
        frame = self._frame(X)
        base = self.predict_proba(frame)[:, 1]
        impact = {}
        for c in self.features_:
            swapped = frame.copy()
            ref = self.reference_[c]
            swapped[c] = (pd.Categorical([ref] * len(frame), categories=self.categories_[c])
                          if c in self.categories_ else ref)
            impact[c] = base - self.predict_proba(swapped)[:, 1]
        return self._reasons_frame(X, pd.DataFrame(impact), top, "probability_added")

    def _threads(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.n_threads, user_api="openmp")


def fit_models(train: pd.DataFrame, *, features=None, events: str = "defaults_next",
               trials: str = "invoices_next") -> dict:
    """Fit both models on a training sample with per-customer counts.

    Parameters
    ----------
    train : pandas.DataFrame
        One row per customer (and snapshot) with the features and the counts, e.g.
        ``Backtest.train`` of :func:`crmlib.credit.target.backtest_samples`.
    features : list of str, optional
        Default: :data:`MODEL_FEATURES` present in ``train``.
    events, trials : str
        The columns with defaulted invoices and invoices per row.

    Returns
    -------
    dict
        ``{"scorecard": ScorecardModel, "boosting": BoostingModel}``, fitted (see
        :data:`MODEL_NAMES`).
    """
    from ._common import binomial_rows

    where = "credit.fit_models"
    check_type(train, pd.DataFrame, name="train", where=where, type_name="a DataFrame")
    check_columns(train, (events, trials), where=where)
    columns = list(features) if features is not None else [f for f in MODEL_FEATURES if f in train.columns]
    X, y, w = binomial_rows(train, columns, events=events, trials=trials)
    return {"scorecard": ScorecardModel(features=features).fit(X, y, sample_weight=w),
            "boosting": BoostingModel(features=features).fit(X, y, sample_weight=w)}
