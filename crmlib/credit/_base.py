"""Shared parts of the credit models: default features, plain-language labels, the base class
with feature selection, category alignment and the reasons table, and reason text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_type
from ..errors import ParameterError

__all__ = ["FEATURE_LABELS", "MODEL_FEATURES", "reason_text"]

#: The features the models use by default (those present in X; ``discount_share`` needs orders).
#: On the sample database, adding tenure, invoice counts, lateness trend or recency of the last
#: late invoice left the holdout AUC unchanged (they are in the feature table for the profile).
MODEL_FEATURES = ("income_band", "age", "occupation", "share_late_adj", "default_rate_adj",
                  "days_past_due_mean", "discount_share")

#: Plain-language names of features, for tables and reasons.
FEATURE_LABELS = {
    "income_band": "income band", "age": "age", "age_band": "age band", "occupation": "occupation",
    "tenure_days": "days as customer", "tenure_band": "time as customer", "gender": "gender",
    "marital_status": "marital status", "region": "region", "acquisition_channel": "acquired via",
    "contact_preference": "contact preference", "order_channel": "usual channel",
    "invoices": "invoices so far", "invoices_12m": "invoices in the last 12 months",
    "amount_mean": "average invoice", "due_invoices": "invoices due so far",
    "late_invoices": "invoices paid late", "share_late": "share of invoices paid late",
    "share_late_adj": "share of invoices paid late (adjusted)",
    "share_late_6m": "share paid late in the last 6 months", "late_trend": "trend in lateness",
    "days_past_due_mean": "average days past due", "days_past_due_max": "most days past due",
    "days_since_late": "days since last late invoice", "matured_invoices": "invoices old enough to default",
    "defaults": "defaults so far", "default_rate": "share of invoices defaulted",
    "default_rate_adj": "share of invoices defaulted (adjusted)", "outstanding": "outstanding balance",
    "past_due_balance": "balance past due", "days_since_invoice": "days since last invoice",
    "orders": "orders so far", "discount_share": "share of purchases on discount",
}


class CreditModel:
    """Shared parts: feature selection, category alignment, reasons output."""

    _where = "credit.models"

    def _check_fit_input(self, X, y, sample_weight):
        where = f"{self._where}.fit"
        check_type(X, pd.DataFrame, name="X", where=where, type_name="a DataFrame")
        features = self.features
        if features is None:
            features = [f for f in MODEL_FEATURES if f in X.columns]
        else:
            check_type(features, (list, tuple), name="features", where=where, type_name="a list of str")
            features = list(features)
        if not features:
            raise ParameterError(f"{where}: 'features' must name at least one column of X; the "
                                 f"default (the CRM features {list(MODEL_FEATURES)}) found none "
                                 f"in {list(X.columns)}; pass features=[...] naming the columns "
                                 "to use.", name="features")
        check_columns(X, features, where=where)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ParameterError(f"{where}: 'y' must have one value per row of X ({len(X)}); "
                                 f"got shape {y.shape}.", name="y")
        if not np.isin(y, [0, 1]).all():
            raise ParameterError(f"{where}: 'y' must hold 0/1 or bool values; got "
                                 f"{sorted(set(np.unique(y).tolist()) - {0, 1})[:5]}.", name="y")
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        if w.shape != (len(X),) or (w < 0).any() or not np.isfinite(w).all():
            raise ParameterError(f"{where}: 'sample_weight' must hold one finite weight >= 0 per row "
                                 f"of X ({len(X)}).", name="sample_weight")
        events = float(w[y == 1].sum())
        if events == 0 or events == float(w.sum()):
            raise ParameterError(f"{where}: 'y' must contain both events (1, e.g. defaults) and "
                                 f"non-events (0) with weight > 0; got {events:g} of "
                                 f"{float(w.sum()):g} weighted rows labelled 1.", name="y")
        self.features_ = features
        self.categories_ = {c: _categories(X[c]) for c in features if _is_categorical(X[c])}
        frame = self._frame(X)
        self.reference_ = {c: (frame[c].mode(dropna=True).iloc[0] if c in self.categories_
                               else float(np.nanmedian(frame[c].to_numpy(float))))
                           for c in features}
        return frame, y.astype(int), w

    def _frame(self, X) -> pd.DataFrame:
        """X's model columns, categoricals cast to the categories seen in fit (others become NaN)."""
        check_type(X, pd.DataFrame, name="X", where=self._where, type_name="a DataFrame")
        check_columns(X, self.features_, where=self._where)
        out = X[self.features_].copy()
        for c, cats in self.categories_.items():
            text = out[c].astype("str").where(out[c].notna())
            out[c] = pd.Categorical(text.where(text.isin(cats)), categories=cats)
        for c in self.features_:
            if c not in self.categories_:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def predict(self, X) -> np.ndarray:
        """The probability of the event per row (in the CRM: that an invoice of the row's customer
        defaults), shape (n,).

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with the model's feature columns (others are ignored).
        """
        return self.predict_proba(X)[:, 1]

    def _reasons_frame(self, X, impact: pd.DataFrame, top: int, column: str) -> pd.DataFrame:
        check_interval(top, 1, 20, name="top", where=f"{self._where}.reasons", integer=True)
        frame = self._frame(X)
        keys = X["customer_id"].to_numpy() if "customer_id" in X.columns else np.arange(len(X))
        rows = []
        values = impact.to_numpy(float)
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        for i in range(len(X)):
            for rank, j in enumerate(order[i], start=1):
                if values[i, j] <= 0:
                    break
                var = impact.columns[j]
                rows.append((keys[i], rank, var, FEATURE_LABELS.get(var, var), frame[var].iloc[i],
                             values[i, j]))
        key = "customer_id" if "customer_id" in X.columns else "row"
        return pd.DataFrame(rows, columns=[key, "rank", "variable", "label", "value", column])


def reason_text(reasons: pd.DataFrame) -> pd.DataFrame:
    """One line of reasons per customer, e.g. 'income band: low; average days past due: 41'.

    Parameters
    ----------
    reasons : pandas.DataFrame
        The result of a model's ``reasons``.

    Returns
    -------
    pandas.DataFrame
        The key column (``customer_id`` or ``row``) and ``reasons`` (str), in the input order.
    """
    key = "customer_id" if "customer_id" in reasons.columns else "row"
    check_columns(reasons, (key, "rank", "label", "value"), where="credit.reason_text")
    text = reasons.sort_values([key, "rank"], kind="stable").assign(
        item=lambda d: [f"{label}: {_value_text(v)}" for label, v in zip(d["label"], d["value"], strict=True)])
    out = text.groupby(key, sort=False)["item"].agg("; ".join).rename("reasons")
    order = pd.unique(reasons[key])
    return out.reindex(order).reset_index()


def _value_text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "none"
    if isinstance(value, (float, np.floating)):
        return f"{value:.2f}" if abs(value) < 1 else f"{value:,.0f}"
    return str(value)


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s)


def _categories(s: pd.Series) -> list[str]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return [str(c) for c in s.cat.categories]
    return sorted(s.dropna().astype(str).unique())
