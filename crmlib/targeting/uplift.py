"""Uplift models: how much a contact changes a customer's probability of converting.

All learners share one interface, learned on a randomised campaign (contacted vs held-out control)::

    model = DRLearner().fit(X, treatment, y)     # X: DataFrame with MODEL_FEATURES
    uplift = model.predict(X_new)                # p(convert | contacted) - p(convert | not contacted)

- :class:`TwoModelUplift` (T-learner): one classifier on the contacted, one on the control group.
- :class:`InteractionLogit` (S-learner): one logistic regression on spline features with a
  treatment interaction, so the control group borrows strength from the contacted.
- :class:`XLearner` (Künzel et al. 2019) and :class:`DRLearner` (doubly robust, Kennedy 2020):
  meta-learners that regress imputed or doubly robust individual effects on the features with a
  heavily regularised random forest, using cross-fitted outcome models.
- :class:`UpliftEnsemble`: the mean uplift of several learners (default: DR-learner and
  interaction logit).
- :class:`UpliftSelector` (``model='auto'``, the default): the learner above with the best
  cross-validated Qini on the training customers, refitted on all of them.

The treatment probability is the contacted share of the training rows: the control group is drawn
at random, so it does not depend on the customer.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.preprocessing import SplineTransformer
from threadpoolctl import threadpool_limits

from .._validation import check_columns, check_fitted, check_interval, check_one_of
from ..errors import EmptyDataError, ParameterError
from .checks import (
    ModelChecks,
    NoControlGroupError,
    TargetingWarning,
    TooFewConversionsError,
)
from .evaluation import qini_coefficient

__all__ = ["LEARNERS", "MODELS", "DRLearner", "InteractionLogit", "NoControlGroupError", "TargetingWarning",
           "TooFewConversionsError", "TwoModelUplift", "UpliftEnsemble", "UpliftSelector", "XLearner",
           "FittedModel", "cross_fit_predict", "fit_model", "make_model"]

#: The uplift learners by name; :class:`UpliftSelector` chooses among them.
LEARNERS = ("ensemble", "dr_learner", "x_learner", "two_model", "interaction_logit")
#: Names accepted by :func:`make_model` (and the notebook's ``model`` parameter): 'auto' chooses
#: one of :data:`LEARNERS` by cross-validated Qini (:class:`UpliftSelector`).
MODELS = ("auto", *LEARNERS, "propensity")


# rows of the interaction logit's spline design built (and scored) at a time: 16,384 rows of
# 137 columns are 18 MB
DESIGN_BLOCK_ROWS = 16_384


def _signed_log(a: np.ndarray) -> np.ndarray:
    return np.sign(a) * np.log1p(np.abs(a))


def _default_classifier(random_state):
    return HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=150,
                                          min_samples_leaf=50, l2_regularization=1.0,
                                          random_state=random_state)


class TwoModelUplift(ModelChecks):
    """Two-model (T-learner) uplift: separate classifiers for the contacted and the control group.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Cloned for each group. Default: a shallow ``HistGradientBoostingClassifier``.
    columns : list of str, optional
        Feature columns of ``X``; default :data:`~crmlib.targeting.features.MODEL_FEATURES`.
    min_conversions : int, default=10
        Fewer conversions than this in either group raise :class:`TooFewConversionsError`.
    random_state : int, default=0

    Attributes
    ----------
    model_treated_, model_control_ : fitted classifiers
    columns_ : list of str
    """

    def __init__(self, estimator=None, *, columns=None, min_conversions: int = 10, random_state: int = 0):
        self.estimator = estimator
        self.columns = columns
        self.min_conversions = min_conversions
        self.random_state = random_state

    def fit(self, X, treatment, y) -> TwoModelUplift:
        """Fit both classifiers; ``treatment`` is True for contacted rows, ``y`` the conversion."""
        values, t, y = self._check_fit(X, treatment, y)
        base = self.estimator if self.estimator is not None else _default_classifier(self.random_state)
        with threadpool_limits(1):
            self.model_treated_ = copy.deepcopy(base).fit(values[t], y[t])
            self.model_control_ = copy.deepcopy(base).fit(values[~t], y[~t])
        return self

    def _outcomes(self, values):
        with threadpool_limits(1):
            return (self.model_control_.predict_proba(values)[:, 1],
                    self.model_treated_.predict_proba(values)[:, 1])


class InteractionLogit(ModelChecks):
    """Single-model (S-learner) uplift: logistic regression on splines with treatment interactions.

    ``logit p = a + B(x) b + t (c + B(x) d)`` with ``B`` a quadratic B-spline basis of each
    (log-scaled) feature, knots at quantiles; ridge penalty ``1 / C``.

    Parameters
    ----------
    C : float, default=0.03
        Inverse regularisation strength.
    n_knots : int, default=4
    columns : list of str, optional
    min_conversions : int, default=10

    Attributes
    ----------
    splines_ : SplineTransformer
    logit_ : LogisticRegression
    columns_ : list of str
    """

    def __init__(self, *, C: float = 0.03, n_knots: int = 4, columns=None, min_conversions: int = 10):
        self.C = C
        self.n_knots = n_knots
        self.columns = columns
        self.min_conversions = min_conversions

    def fit(self, X, treatment, y) -> InteractionLogit:
        """Fit the model; ``treatment`` is True for contacted rows, ``y`` the conversion."""
        where = "targeting.InteractionLogit.fit"
        check_interval(self.C, 0, None, name="C", where=where, closed="neither")
        check_interval(self.n_knots, 2, None, name="n_knots", where=where, integer=True, closed="left")
        values, t, y = self._check_fit(X, treatment, y)
        self.splines_ = SplineTransformer(n_knots=self.n_knots, degree=2, knots="quantile",
                                          include_bias=False).fit(_signed_log(values))
        with threadpool_limits(1):
            self.logit_ = LogisticRegression(C=self.C, max_iter=5000).fit(self._design(values, t), y)
        return self

    def _design(self, values, t):
        """``[B(x), t, B(x) t]``, filled block by block (built whole, the basis, its product with
        ``t`` and the stacked copy were held at once: +460 MB to fit 200,000 rows, now +246)."""
        k = self.splines_.n_features_out_
        t = np.asarray(t, dtype=float)
        design = np.empty((len(values), 2 * k + 1))
        for start in range(0, len(values), DESIGN_BLOCK_ROWS):
            rows = slice(start, start + DESIGN_BLOCK_ROWS)
            basis = self.splines_.transform(_signed_log(values[rows]))
            design[rows, :k] = basis
            design[rows, k] = t[rows]
            np.multiply(basis, t[rows, None], out=design[rows, k + 1:])
        return design

    def _outcomes(self, values):
        # scored a block at a time: the design is never needed whole to predict
        p0, p1 = np.empty(len(values)), np.empty(len(values))
        with threadpool_limits(1):
            for start in range(0, len(values), DESIGN_BLOCK_ROWS):
                rows = slice(start, start + DESIGN_BLOCK_ROWS)
                block = values[rows]
                p0[rows] = self.logit_.predict_proba(self._design(block, np.zeros(len(block))))[:, 1]
                p1[rows] = self.logit_.predict_proba(self._design(block, np.ones(len(block))))[:, 1]
        return p0, p1


def _default_effect_estimator(random_state):
    return RandomForestRegressor(n_estimators=100, min_samples_leaf=0.04, max_features=0.33,
                                 max_samples=0.5, n_jobs=1, random_state=random_state)


class _MetaLearner(ModelChecks):
    def __init__(self, outcome_model=None, effect_estimator=None, *, cv: int = 3, columns=None,
                 min_conversions: int = 10, random_state: int = 0):
        self.outcome_model = outcome_model
        self.effect_estimator = effect_estimator
        self.cv = cv
        self.columns = columns
        self.min_conversions = min_conversions
        self.random_state = random_state

    def _nuisance(self, X, values, t, y):
        """Cross-fitted p0, p1 for every training row, and the outcome model refitted on all rows."""
        where = f"targeting.{type(self).__name__}.fit"
        check_interval(self.cv, 2, None, name="cv", where=where, integer=True, closed="left")
        base = self.outcome_model if self.outcome_model is not None else InteractionLogit(columns=self.columns_)
        p0, p1 = np.empty(len(y)), np.empty(len(y))
        frame = pd.DataFrame(values, columns=self.columns_)
        folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(values):
            model = copy.deepcopy(base)
            model.min_conversions = 1
            model.fit(frame.iloc[train], t[train], y[train])
            out = model.predict_outcomes(frame.iloc[test])
            p0[test], p1[test] = out["p_control"].to_numpy(), out["p_treated"].to_numpy()
        return p0, p1

    def _effect(self):
        return copy.deepcopy(self.effect_estimator if self.effect_estimator is not None
                             else _default_effect_estimator(self.random_state))

    def _outcomes(self, values):
        tau = self._tau(values)
        # the meta-learners estimate the effect only; report it around the outcome model's p0
        p0 = self.outcome_model_.predict_outcomes(pd.DataFrame(values, columns=self.columns_))["p_control"]
        p0 = p0.to_numpy()
        return p0, p0 + tau


class DRLearner(_MetaLearner):
    """Doubly robust (DR) learner: regress the doubly robust effect score on the features.

    For each training row, with cross-fitted outcome predictions ``m0, m1`` and the contacted share
    ``e``: ``psi = m1 - m0 + t (y - m1) / e - (1 - t) (y - m0) / (1 - e)``, whose mean given the
    features is the uplift; a random forest with large leaves smooths it.

    Parameters
    ----------
    outcome_model : uplift learner, optional
        Gives ``m0, m1`` (needs ``predict_outcomes``); default :class:`InteractionLogit`.
    effect_estimator : scikit-learn regressor, optional
        Default: ``RandomForestRegressor(min_samples_leaf=0.04, max_features=0.33, max_samples=0.5)``.
    cv : int, default=3
        Folds for cross-fitting the outcome model.
    columns : list of str, optional
    min_conversions : int, default=10
    random_state : int, default=0

    Attributes
    ----------
    effect_model_ : fitted regressor
    outcome_model_ : the outcome model refitted on all rows
    treated_share_ : float
    columns_ : list of str
    """

    def fit(self, X, treatment, y) -> DRLearner:
        """Fit; ``treatment`` is True for contacted rows, ``y`` the conversion."""
        values, t, y = self._check_fit(X, treatment, y)
        p0, p1 = self._nuisance(X, values, t, y)
        e = float(t.mean())
        psi = p1 - p0 + t * (y - p1) / e - (~t) * (y - p0) / (1 - e)
        self.treated_share_ = e
        self.effect_model_ = self._effect().fit(values, psi)
        self.outcome_model_ = self._refit_outcome(values, t, y)
        return self

    def _refit_outcome(self, values, t, y):
        base = self.outcome_model if self.outcome_model is not None else InteractionLogit(columns=self.columns_)
        model = copy.deepcopy(base)
        model.min_conversions = 1
        return model.fit(pd.DataFrame(values, columns=self.columns_), t, y)

    def _tau(self, values):
        return self.effect_model_.predict(values)


class XLearner(DRLearner):
    """X-learner: regress imputed effects of each group on the features, then blend.

    ``d1 = y - m0`` on the contacted and ``d0 = m1 - y`` on the control rows (cross-fitted
    ``m0, m1``); ``tau(x) = e * tau0(x) + (1 - e) * tau1(x)`` with ``e`` the contacted share.
    Same parameters and attributes as :class:`DRLearner`, with ``effect_treated_`` and
    ``effect_control_`` in place of ``effect_model_``.
    """

    def fit(self, X, treatment, y) -> XLearner:
        """Fit; ``treatment`` is True for contacted rows, ``y`` the conversion."""
        values, t, y = self._check_fit(X, treatment, y)
        p0, p1 = self._nuisance(X, values, t, y)
        self.treated_share_ = float(t.mean())
        self.effect_treated_ = self._effect().fit(values[t], y[t] - p0[t])
        self.effect_control_ = self._effect().fit(values[~t], p1[~t] - y[~t])
        self.outcome_model_ = self._refit_outcome(values, t, y)
        self.effect_model_ = (self.effect_treated_, self.effect_control_)
        return self

    def _tau(self, values):
        e = self.treated_share_
        return e * self.effect_control_.predict(values) + (1 - e) * self.effect_treated_.predict(values)


class UpliftEnsemble(ModelChecks):
    """Mean uplift (and outcome probabilities) of several uplift learners.

    Parameters
    ----------
    models : list of uplift learners, optional
        Default: ``[DRLearner(), InteractionLogit()]``. Cloned in ``fit``.
    columns : list of str, optional
        Passed to the default models.
    min_conversions : int, default=10

    Attributes
    ----------
    models_ : list of fitted learners
    columns_ : list of str
    """

    def __init__(self, models=None, *, columns=None, min_conversions: int = 10, random_state: int = 0):
        self.models = models
        self.columns = columns
        self.min_conversions = min_conversions
        self.random_state = random_state

    def fit(self, X, treatment, y) -> UpliftEnsemble:
        """Fit every model; ``treatment`` is True for contacted rows, ``y`` the conversion."""
        self._check_fit(X, treatment, y)
        models = self.models if self.models is not None else [
            DRLearner(columns=self.columns, random_state=self.random_state),
            InteractionLogit(columns=self.columns)]
        self.models_ = [copy.deepcopy(m).fit(X, treatment, y) for m in models]
        return self

    def _outcomes(self, values):
        frame = pd.DataFrame(values, columns=self.columns_)
        outs = [m.predict_outcomes(frame) for m in self.models_]
        return (np.mean([o["p_control"].to_numpy() for o in outs], axis=0),
                np.mean([o["p_treated"].to_numpy() for o in outs], axis=0))


# ------------------------------------------------------------------------- choosing the learner
class UpliftSelector(ModelChecks):
    """The uplift learner with the best cross-validated Qini on the training rows, refitted on all.

    The training rows are split into ``cv`` folds, stratified by contact x conversion (so each fold
    keeps the control group's share and its conversions) and, with ``group``, keeping each
    customer's contacts in one fold. Every candidate is fitted on the other folds and ranks the
    held-out fold; its score is the mean Qini coefficient over the folds
    (:func:`~crmlib.targeting.evaluation.qini_coefficient`). The best candidate (the first listed on
    a tie) is refitted on all rows and predicts.

    The 'ensemble' candidate is not refitted in the folds when both its members ('dr_learner' and
    'interaction_logit') are candidates: its uplift is the mean of theirs, which is exactly what
    :class:`UpliftEnsemble` predicts.

    Parameters
    ----------
    candidates : sequence of str, optional
        Names from :data:`LEARNERS`; default all of them.
    cv : int, default=3
        Number of folds.
    group : str or None, default='customer_id'
        Column of ``X`` whose rows stay in one fold (a customer contacted in several campaigns);
        None treats rows as independent.
    columns : list of str, optional
        Feature columns, passed to the candidates; default
        :data:`~crmlib.targeting.features.MODEL_FEATURES`.
    min_conversions : int, default=10
        Checked on all rows, as for the other learners.
    random_state : int, default=0
        Seeds the folds and the candidates.

    Attributes
    ----------
    chosen_ : str
        Name of the chosen learner.
    cv_scores_ : pandas.DataFrame
        Index ``model`` (the candidates, in order); ``qini`` (mean over folds), ``qini_std``, then
        ``fold_1`` ... ``fold_<cv>`` (float64), and ``chosen`` (bool).
    best_estimator_ : fitted learner
        The chosen learner refitted on all rows.
    columns_ : list of str

    Examples
    --------
    >>> selector = UpliftSelector().fit(frame, frame["treatment"], frame["converted"])  # doctest: +SKIP
    >>> selector.chosen_, selector.cv_scores_["qini"]                                   # doctest: +SKIP
    """

    def __init__(self, candidates=None, *, cv: int = 3, group: str | None = "customer_id", columns=None,
                 min_conversions: int = 10, random_state: int = 0):
        self.candidates = candidates
        self.cv = cv
        self.group = group
        self.columns = columns
        self.min_conversions = min_conversions
        self.random_state = random_state

    def _names(self, where):
        names = tuple(self.candidates) if self.candidates is not None else LEARNERS
        if not names:
            raise ParameterError(f"{where}: 'candidates' is empty; name at least one of {list(LEARNERS)}.",
                                 name="candidates")
        for name in names:
            check_one_of(name, LEARNERS, name="candidates", where=where)
        if len(set(names)) < len(names):
            raise ParameterError(f"{where}: 'candidates' names a learner twice: {list(names)}.", name="candidates")
        return names

    def _folds(self, X, t, y, where):
        check_interval(self.cv, 2, None, name="cv", where=where, integer=True, closed="left")
        strata = 2 * t.astype(int) + y.astype(int)
        if self.group is None:
            return list(StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state).split(X, strata))
        check_columns(X, [self.group], where=where)
        groups = X[self.group].to_numpy()
        if len(pd.unique(groups)) < self.cv:
            raise EmptyDataError(f"{where}: {len(pd.unique(groups))} value(s) of {self.group!r} cannot fill "
                                 f"{self.cv} folds")
        splitter = StratifiedGroupKFold(self.cv, shuffle=True, random_state=self.random_state)
        return list(splitter.split(X, strata, groups=groups))

    def fit(self, X, treatment, y) -> UpliftSelector:
        """Score every candidate by cross-validated Qini, then refit the best on all rows."""
        where = "targeting.UpliftSelector.fit"
        names = self._names(where)
        values, t, y = self._check_fit(X, treatment, y)
        frame = pd.DataFrame(values, columns=self.columns_, index=X.index)
        folds = self._folds(X, t, y, where)
        # the ensemble's uplift is the mean of its members': reuse them when they are candidates
        members = ("dr_learner", "interaction_logit")
        derived = "ensemble" in names and all(m in names for m in members)
        scores = {name: [] for name in names}
        for train, test in folds:
            if not (~t[test]).any() or t[test].all():
                raise EmptyDataError(f"{where}: a fold has no control or no contacted rows; use fewer folds")
            preds = {}
            for name in names:
                if name == "ensemble" and derived:
                    continue
                model = make_model(name, columns=self.columns_, random_state=self.random_state)
                model.min_conversions = 1
                preds[name] = model.fit(frame.iloc[train], t[train], y[train]).predict(frame.iloc[test])
            if derived:
                preds["ensemble"] = np.mean([preds[m] for m in members], axis=0)
            for name in names:
                scores[name].append(qini_coefficient(y[test], t[test], preds[name]))
        table = pd.DataFrame(scores, index=[f"fold_{i + 1}" for i in range(len(folds))]).T
        table.insert(0, "qini_std", table.std(axis=1, ddof=1))
        table.insert(0, "qini", table.drop(columns="qini_std").mean(axis=1))
        table.index.name = "model"
        self.chosen_ = str(table["qini"].idxmax())
        table["chosen"] = table.index == self.chosen_
        self.cv_scores_ = table
        model = make_model(self.chosen_, columns=self.columns_, random_state=self.random_state)
        model.min_conversions = self.min_conversions
        self.best_estimator_ = model.fit(frame, t, y)
        return self

    def _transform(self, X, where):
        check_fitted(self, "best_estimator_")
        return super()._transform(X, where)

    def _outcomes(self, values):
        out = self.best_estimator_.predict_outcomes(pd.DataFrame(values, columns=self.columns_))
        return out["p_control"].to_numpy(), out["p_treated"].to_numpy()


def make_model(name: str = "auto", *, columns=None, random_state: int = 0):
    """A new, unfitted model by name: one of :data:`MODELS`.

    'propensity' gives a :class:`~crmlib.targeting.propensity.ResponsePropensity` (who converts
    when contacted), which ranks without a control group but does not estimate uplift.
    """
    check_one_of(name, MODELS, name="model", where="targeting.make_model")
    if name == "propensity":
        from .propensity import ResponsePropensity

        return ResponsePropensity(columns=columns, random_state=random_state)
    return {
        "auto": lambda: UpliftSelector(columns=columns, random_state=random_state),
        "ensemble": lambda: UpliftEnsemble(columns=columns, random_state=random_state),
        "dr_learner": lambda: DRLearner(columns=columns, random_state=random_state),
        "x_learner": lambda: XLearner(columns=columns, random_state=random_state),
        "two_model": lambda: TwoModelUplift(columns=columns, random_state=random_state),
        "interaction_logit": lambda: InteractionLogit(columns=columns),
    }[name]()


def cross_fit_predict(frame: pd.DataFrame, models: dict, *, folds: int = 5, group: str = "customer_id",
                      random_state: int = 0) -> pd.DataFrame:
    """Out-of-fold scores: each row is scored by models that never saw its customer.

    Parameters
    ----------
    frame : pandas.DataFrame
        Contacts with ``treatment``, ``converted``, the ``group`` column and the model features
        (as from :func:`~crmlib.targeting.features.campaign_frame`).
    models : dict of str to model
        Unfitted models with ``fit(X, treatment, y)`` and ``predict(X)``; cloned per fold.
    folds : int, default=5
    group : str, default='customer_id'
        Rows of one customer stay in one fold (held-out customers, not only held-out contacts).

    Returns
    -------
    pandas.DataFrame
        Same index as ``frame``, one float64 column per model name.
    """
    where = "targeting.cross_fit_predict"
    check_interval(folds, 2, None, name="folds", where=where, integer=True, closed="left")
    check_columns(frame, [group, "treatment", "converted"], where=where)
    groups = frame[group].to_numpy()
    if len(np.unique(groups)) < folds:
        raise EmptyDataError(f"{where}: {len(np.unique(groups))} customers cannot fill {folds} folds")
    # shuffle customers into folds reproducibly
    rng = np.random.default_rng(random_state)
    uniq = np.unique(groups)
    fold_of = pd.Series(rng.permutation(len(uniq)) % folds, index=uniq)
    out = pd.DataFrame(index=frame.index, columns=list(models), dtype="float64")
    for train, test in GroupKFold(folds).split(frame, groups=fold_of.reindex(groups).to_numpy()):
        tr, te = frame.iloc[train], frame.iloc[test]
        for name, model in models.items():
            fitted = copy.deepcopy(model).fit(tr, tr["treatment"].to_numpy(), tr["converted"].to_numpy())
            out.iloc[test, out.columns.get_loc(name)] = fitted.predict(te)
    return out


def _warn(message: str) -> None:
    warnings.warn(message, TargetingWarning, stacklevel=3)


class FittedModel:
    """What :func:`fit_model` chose and fitted.

    Attributes
    ----------
    model : fitted model
        Has ``predict(X)``: uplift for uplift models, the probability for 'propensity'.
    name : str
        The model actually used (one of :data:`MODELS`).
    kind : {'uplift', 'propensity'}
    note : str or None
        Why the requested model was replaced, in plain language (None if it was not).
    """

    def __init__(self, model, name: str, kind: str, note: str | None = None):
        self.model, self.name, self.kind, self.note = model, name, kind, note

    def predict(self, X) -> np.ndarray:
        """Scores to rank by (uplift, or response probability for kind 'propensity')."""
        return self.model.predict(X)

    def __repr__(self) -> str:
        return f"FittedModel(name={self.name!r}, kind={self.kind!r})"


def fit_model(frame: pd.DataFrame, *, model: str = "auto", min_conversions: int = 10,
              random_state: int = 0) -> FittedModel:
    """Fit the named model on campaign contacts; without a control group, fall back to propensity.

    Parameters
    ----------
    frame : pandas.DataFrame
        Contacts with ``treatment``, ``converted`` and the model features
        (:func:`~crmlib.targeting.features.campaign_frame`).
    model : str, default='auto'
        One of :data:`MODELS`; 'auto' is :class:`UpliftSelector` (its ``chosen_`` learner and
        ``cv_scores_`` are on ``FittedModel.model``).
    min_conversions : int, default=10
    random_state : int, default=0

    Returns
    -------
    FittedModel

    Raises
    ------
    TooFewConversionsError
        Too few conversions among the contacted (or, for uplift, the control) rows.
    ParameterError
        Unknown model name.

    Warns
    -----
    TargetingWarning
        The rows have no control group: uplift cannot be estimated, so the model ranks by
        response propensity instead (the note says so).
    """
    where = "targeting.fit_model"
    check_one_of(model, MODELS, name="model", where=where)
    check_columns(frame, ["treatment", "converted"], where=where)
    t = frame["treatment"].to_numpy().astype(bool)
    note = None
    name = model
    if model != "propensity" and len(t) and t.all():
        note = (f"No control group: all {len(t):,} contacts were contacted and none held out, so "
                "uplift (the extra conversions a contact causes) cannot be estimated. The list is "
                "ranked by response propensity instead, which also picks customers who would have "
                "bought anyway.")
        _warn(note)
        name = "propensity"
    estimator = make_model(name, random_state=random_state)
    estimator.min_conversions = min_conversions
    estimator.fit(frame, t, frame["converted"].to_numpy())
    return FittedModel(estimator, name, "propensity" if name == "propensity" else "uplift", note)
