"""Propensity models: who converts when contacted, and who will start buying a product category.

- :class:`ResponsePropensity`: P(convert | contacted, features), learned on the contacted rows of
  campaigns. It ranks without a control group, but it favours customers who would have bought
  anyway ("sure things"), which is why uplift models exist.
- Category propensity: for each product category, the customers who have not bought it yet,
  ranked by their probability of buying it within the next ``horizon_days``. Learned on one
  period and evaluated on the next (:func:`category_propensity`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from .._validation import check_columns, check_fitted, check_interval
from ..definitions import as_timestamp, line_revenue
from ..errors import EmptyDataError
from .checks import ModelChecks
from .features import MODEL_FEATURES, FeatureSource, check_tables

__all__ = ["CATEGORY_EVALUATION_COLUMNS", "CategoryPropensity", "ResponsePropensity",
           "category_frame", "category_propensity", "top_prospects"]

#: Columns of the evaluation table of :func:`category_propensity`.
CATEGORY_EVALUATION_COLUMNS = ["category", "candidates", "buyers", "base_rate", "auc",
                               "top_decile_rate", "top_decile_lift"]


def _classifier(random_state):
    return HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=120,
                                          min_samples_leaf=40, l2_regularization=1.0,
                                          random_state=random_state)


class ResponsePropensity(ModelChecks):
    """Response propensity: probability of converting when contacted, from the contacted rows.

    Same interface as the uplift learners (``fit(X, treatment, y)``); control rows, if any, are
    ignored. ``predict`` returns the probability, not an uplift.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Default: a shallow ``HistGradientBoostingClassifier``.
    columns : list of str, optional
        Feature columns; default :data:`~crmlib.targeting.features.MODEL_FEATURES`.
    min_conversions : int, default=10
        Fewer conversions among the contacted raise
        :class:`~crmlib.targeting.uplift.TooFewConversionsError`.
    random_state : int, default=0

    Attributes
    ----------
    model_ : fitted classifier
    columns_ : list of str
    """

    _needs_control = False

    def __init__(self, estimator=None, *, columns=None, min_conversions: int = 10, random_state: int = 0):
        self.estimator = estimator
        self.columns = columns
        self.min_conversions = min_conversions
        self.random_state = random_state

    def fit(self, X, treatment, y) -> ResponsePropensity:
        """Fit on the rows with ``treatment`` True; ``y`` is the conversion."""
        values, t, y = self._check_fit(X, treatment, y)
        base = self.estimator if self.estimator is not None else _classifier(self.random_state)
        with threadpool_limits(1):
            self.model_ = copy.deepcopy(base).fit(values[t], y[t])
        return self

    def predict(self, X) -> np.ndarray:
        """Probability of converting if contacted."""
        values = self._transform(X, "targeting.ResponsePropensity.predict")
        with threadpool_limits(1):
            return self.model_.predict_proba(values)[:, 1]

    def predict_outcomes(self, X) -> pd.DataFrame:
        """``p_treated`` only (``p_control`` and ``uplift`` are NaN: a propensity model has no control)."""
        p = self.predict(X)
        nan = np.full(len(p), np.nan)
        return pd.DataFrame({"p_control": nan, "p_treated": p, "uplift": nan}, index=X.index)


# ------------------------------------------------------------------------------ categories
def category_frame(tables: Mapping[str, pd.DataFrame], *, as_of, horizon_days: int = 90) -> pd.DataFrame:
    """Features as of ``as_of``, plus per category: bought before, and bought in the next window.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        customers, orders, order_lines, products, channels, interactions, service_tickets.
    as_of : str or datetime-like
    horizon_days : int, default=90
        Length of the window ``[as_of, as_of + horizon_days)`` whose purchases are the label
        (all False when the window lies beyond the data, e.g. for scoring).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (customers created before ``as_of``); the customer features, a
        ``share_<category>`` column per category (share of the customer's revenue before
        ``as_of``, float64), and the column MultiIndex-free pairs ``had_<category>`` /
        ``buys_<category>`` (bool). ``attrs['categories']`` lists the categories.
    """
    where = "targeting.category_frame"
    check_tables(tables, ["customers", "orders", "order_lines", "products", "channels",
                           "interactions", "service_tickets"], where)
    check_interval(horizon_days, 1, None, name="horizon_days", where=where, integer=True, closed="left")
    stamp = as_timestamp(as_of, name="as_of", where=where)
    source = FeatureSource(tables)
    feats = source.features(stamp)
    cat = tables["products"].set_index("product_id")["category"].astype(str)
    lines = tables["order_lines"][["order_id", "product_id", "quantity", "unit_price", "discount"]].merge(
        tables["orders"][["order_id", "customer_id", "ordered_at"]], on="order_id")
    lines["category"] = lines["product_id"].map(cat)
    lines["revenue"] = line_revenue(lines["quantity"], lines["unit_price"], lines["discount"])
    categories = sorted(cat.unique())
    before = lines[lines["ordered_at"] < stamp]
    spend = before.pivot_table(index="customer_id", columns="category", values="revenue",
                               aggfunc="sum", observed=True).reindex(index=feats.index, columns=categories)
    spend = spend.fillna(0.0)
    total = spend.sum(axis=1).replace(0.0, np.nan)
    out = feats.copy()
    for c in categories:
        out[f"share_{c}"] = (spend[c] / total).fillna(0.0)
    window = lines[(lines["ordered_at"] >= stamp) & (lines["ordered_at"] < stamp + pd.Timedelta(days=horizon_days))]
    for c in categories:
        out[f"had_{c}"] = spend[c] > 0
        buyers = window.loc[window["category"] == c, "customer_id"].unique()
        out[f"buys_{c}"] = out.index.isin(buyers)
    out.attrs["categories"] = categories
    return out


class CategoryPropensity:
    """One classifier per product category, learned on the customers who had not bought it yet.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Cloned per category; default a shallow ``HistGradientBoostingClassifier``.
    columns : list of str, optional
        Feature columns; default ``MODEL_FEATURES`` plus every ``share_<category>`` column.
    min_buyers : int, default=5
        Categories with fewer new buyers in the training window get no model (their scores are NaN).
    random_state : int, default=0

    Attributes
    ----------
    models_ : dict of str to fitted classifier
    categories_ : list of str
    columns_ : list of str
    """

    def __init__(self, estimator=None, *, columns=None, min_buyers: int = 5, random_state: int = 0):
        self.estimator = estimator
        self.columns = columns
        self.min_buyers = min_buyers
        self.random_state = random_state

    def fit(self, frame: pd.DataFrame) -> CategoryPropensity:
        """Fit on a :func:`category_frame` whose window holds the purchases to learn."""
        where = "targeting.CategoryPropensity.fit"
        categories = frame.attrs.get("categories") or sorted(
            c.removeprefix("had_") for c in frame.columns if c.startswith("had_"))
        if not categories:
            raise EmptyDataError(f"{where}: 'frame' has no had_<category> columns; build it with "
                                 "targeting.category_frame")
        columns = list(self.columns) if self.columns is not None else (
            MODEL_FEATURES + [f"share_{c}" for c in categories])
        check_columns(frame, columns + [f"had_{c}" for c in categories] + [f"buys_{c}" for c in categories],
                      where=where)
        base = self.estimator if self.estimator is not None else _classifier(self.random_state)
        self.models_ = {}
        with threadpool_limits(1):
            for c in categories:
                rows = ~frame[f"had_{c}"].to_numpy()
                y = frame.loc[rows, f"buys_{c}"].to_numpy()
                if y.sum() < self.min_buyers or y.all():
                    continue
                self.models_[c] = copy.deepcopy(base).fit(frame.loc[rows, columns].to_numpy(float), y)
        self.categories_ = categories
        self.columns_ = columns
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Probability of buying each category in the window, NaN where already bought (or no model).

        Returns
        -------
        pandas.DataFrame
            Index as ``frame``; one float64 column per category.
        """
        check_fitted(self, "models_")
        check_columns(frame, self.columns_ + [f"had_{c}" for c in self.categories_],
                      where="targeting.CategoryPropensity.predict")
        values = frame[self.columns_].to_numpy(float)
        out = pd.DataFrame(np.nan, index=frame.index, columns=self.categories_)
        with threadpool_limits(1):
            for c, model in self.models_.items():
                p = model.predict_proba(values)[:, 1]
                out[c] = np.where(frame[f"had_{c}"].to_numpy(), np.nan, p)
        return out

    def evaluate(self, frame: pd.DataFrame) -> pd.DataFrame:
        """AUC and top-decile lift per category on another period's :func:`category_frame`.

        Returns
        -------
        pandas.DataFrame
            :data:`CATEGORY_EVALUATION_COLUMNS`: ``category``, ``candidates`` (customers who had not
            bought it), ``buyers`` (of them, who bought in the window), ``base_rate``, ``auc``
            (NaN if no buyers or no model), ``top_decile_rate`` and ``top_decile_lift``
            (buy rate of the top 10% of candidates, and its ratio to the base rate).
        """
        probs = self.predict(frame)
        rows = []
        for c in self.categories_:
            cand = ~frame[f"had_{c}"].to_numpy()
            y = frame.loc[cand, f"buys_{c}"].to_numpy()
            p = probs.loc[cand, c].to_numpy()
            base = y.mean() if len(y) else np.nan
            auc = top = np.nan
            if c in self.models_ and 0 < y.sum() < len(y):
                auc = roc_auc_score(y, p)
                k = max(1, len(y) // 10)
                top = y[np.argsort(-p, kind="stable")[:k]].mean()
            rows.append((c, int(cand.sum()), int(y.sum()), base, auc, top,
                         top / base if base and base > 0 else np.nan))
        return pd.DataFrame(rows, columns=CATEGORY_EVALUATION_COLUMNS)


def top_prospects(probs: pd.DataFrame, *, top_n: int = 10) -> pd.DataFrame:
    """The ``top_n`` customers per category by probability (customers who had not bought it).

    Returns
    -------
    pandas.DataFrame
        ``category`` (str), ``rank`` (int64, 1 = best), ``customer_id`` (int64), ``probability``.
    """
    check_interval(top_n, 1, None, name="top_n", where="targeting.top_prospects", integer=True, closed="left")
    parts = []
    for c in probs.columns:
        col = probs[c].dropna().sort_values(ascending=False, kind="stable").head(top_n)
        parts.append(pd.DataFrame({"category": c, "rank": np.arange(1, len(col) + 1, dtype="int64"),
                                   "customer_id": col.index.to_numpy(dtype="int64"),
                                   "probability": col.to_numpy()}))
    if not parts:
        return pd.DataFrame({"category": pd.Series(dtype=str), "rank": pd.Series(dtype="int64"),
                             "customer_id": pd.Series(dtype="int64"), "probability": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


def category_propensity(tables: Mapping[str, pd.DataFrame], *, as_of, horizon_days: int = 90,
                        random_state: int = 0) -> tuple[CategoryPropensity, pd.DataFrame, pd.DataFrame]:
    """Learn on one period, evaluate on the next, and score the customers as of ``as_of``.

    The model learns from purchases in ``[as_of - 2h, as_of - h)`` (features as of ``as_of - 2h``)
    and is evaluated on ``[as_of - h, as_of)`` (features as of ``as_of - h``); then it is refitted on
    the later period and scores every customer as of ``as_of`` for ``[as_of, as_of + h)``.

    Returns
    -------
    model : CategoryPropensity
        Fitted on the later period.
    evaluation : pandas.DataFrame
        :data:`CATEGORY_EVALUATION_COLUMNS`, from the model fitted on the earlier period.
    scores : pandas.DataFrame
        Index ``customer_id``; per category the probability of buying it in the next window
        (NaN for customers who already bought it).
    """
    stamp = as_timestamp(as_of, name="as_of", where="targeting.category_propensity")
    h = pd.Timedelta(days=horizon_days)
    early = category_frame(tables, as_of=stamp - 2 * h, horizon_days=horizon_days)
    late = category_frame(tables, as_of=stamp - h, horizon_days=horizon_days)
    evaluation = CategoryPropensity(random_state=random_state).fit(early).evaluate(late)
    model = CategoryPropensity(random_state=random_state).fit(late)
    now = category_frame(tables, as_of=stamp, horizon_days=horizon_days)
    return model, evaluation, model.predict(now)
