"""What every targeting model checks before it learns: columns, lengths, a control group, enough
conversions in both groups; and the errors it raises when they fail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_fitted, check_interval
from ..errors import EmptyDataError, ParameterError
from .features import MODEL_FEATURES

__all__ = ["ModelChecks", "NoControlGroupError", "TargetingWarning", "TooFewConversionsError",
           "check_conversions", "check_no_control"]


class NoControlGroupError(EmptyDataError):
    """The rows hold no control group, so uplift cannot be estimated."""


class TooFewConversionsError(EmptyDataError):
    """Too few conversions among the contacted or the control rows to learn from."""


class TargetingWarning(UserWarning):
    """A targeting step fell back to a weaker method (e.g. propensity instead of uplift)."""


class ModelChecks:
    """Base of the targeting models: shared checks of columns, lengths, a control group, enough conversions in both groups."""

    def _check_X(self, X, where):
        columns = list(self.columns) if self.columns is not None else MODEL_FEATURES
        if not isinstance(X, pd.DataFrame):
            raise ParameterError(f"{where}: 'X' must be a pandas DataFrame with columns {columns}; "
                                 f"got {type(X).__name__}.", name="X")
        check_columns(X, columns, where=where)
        values = X[columns].to_numpy(dtype=float)
        if np.isnan(values).any():
            bad = X.index[np.isnan(values).any(axis=1)]
            raise ParameterError(f"{where}: {len(bad)} row(s) of 'X' have missing feature values "
                                 f"(index {list(bad[:5])}).", name="X")
        return columns, values

    def _check_fit(self, X, treatment, y):
        where = f"targeting.{type(self).__name__}.fit"
        check_interval(self.min_conversions, 1, None, name="min_conversions", where=where, integer=True, closed="left")
        columns, values = self._check_X(X, where)
        t = np.asarray(treatment).astype(bool)
        y = np.asarray(y).astype(float)
        if not (len(values) == len(t) == len(y)):
            raise ParameterError(f"{where}: 'X', 'treatment' and 'y' must have the same length; got "
                                 f"{len(values)}, {len(t)} and {len(y)}.", name="treatment")
        if len(y) == 0:
            raise EmptyDataError(f"{where}: no rows to learn from")
        if not set(np.unique(y)) <= {0.0, 1.0}:
            raise ParameterError(f"{where}: 'y' must be 0/1 or bool (converted or not).", name="y")
        if self._needs_control:
            check_no_control(t, where=where)
        check_conversions(t, y, self.min_conversions, where=where, need_control=self._needs_control)
        self.columns_ = columns
        return values, t, y

    _needs_control = True

    def _transform(self, X, where):
        check_fitted(self, "columns_")
        return self._check_X(X, where)[1]

    def predict_outcomes(self, X) -> pd.DataFrame:
        """Conversion probability without and with contact, and their difference.

        Returns
        -------
        pandas.DataFrame
            Same index as ``X``; ``p_control``, ``p_treated``, ``uplift`` (float64).
        """
        p0, p1 = self._outcomes(self._transform(X, f"targeting.{type(self).__name__}.predict_outcomes"))
        return pd.DataFrame({"p_control": p0, "p_treated": p1, "uplift": p1 - p0}, index=X.index)

    def predict(self, X) -> np.ndarray:
        """Estimated uplift per row: p(convert | contacted) - p(convert | not contacted)."""
        p0, p1 = self._outcomes(self._transform(X, f"targeting.{type(self).__name__}.predict"))
        return p1 - p0


def check_no_control(treatment, *, where: str) -> None:
    """Raise :class:`NoControlGroupError` if every row was contacted."""
    t = np.asarray(treatment).astype(bool)
    if t.all():
        raise NoControlGroupError(
            f"{where}: no control group: all {len(t):,} contacts were contacted, none held out at "
            "random, so uplift (the change a contact makes) cannot be estimated; rank by response "
            "propensity instead (targeting.ResponsePropensity, model='propensity')")


def check_conversions(treatment, y, minimum: int, *, where: str, need_control: bool = True) -> None:
    """Raise :class:`TooFewConversionsError` unless each group has ``minimum`` conversions."""
    t = np.asarray(treatment).astype(bool)
    y = np.asarray(y).astype(float)
    groups = [("contacted", t)] + ([("control", ~t)] if need_control else [])
    short = [(name, int(y[m].sum()), int(m.sum())) for name, m in groups if y[m].sum() < minimum]
    if short:
        detail = " and ".join(f"{k} conversions among {n:,} {name} rows" for name, k, n in short)
        raise TooFewConversionsError(
            f"{where}: too few conversions to train: {detail}; need at least {minimum}"
            f"{' in each group' if need_control else ''}. Pool more campaigns or use a larger "
            "customer base.")
