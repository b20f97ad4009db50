"""Shared checks with one message template, so the check and its message cannot drift apart."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import pandas as pd

from .errors import DataContractError, NotFittedError, ParameterError

__all__ = ["check_columns", "check_fitted", "check_frame", "check_interval", "check_one_of", "check_type",
           "examples"]


def examples(ids: Iterable, limit: int = 5) -> str:
    """Format up to ``limit`` example ids: '1043, 2210, ...'."""
    ids = list(ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (", ..." if len(ids) > limit else "")


def check_columns(df: pd.DataFrame, required: Iterable[str], *, where: str) -> None:
    """Raise DataContractError naming every missing column at once, and the columns present."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataContractError(
            f"{where}: missing column(s) {missing}; found {list(df.columns)}", column=missing[0]
        )


def check_frame(df, required: Iterable[str] = (), *, where: str, name: str = "df") -> pd.DataFrame:
    """Raise ParameterError unless ``df`` is a pandas DataFrame, then DataContractError naming every
    missing ``required`` column; return ``df``."""
    check_type(df, pd.DataFrame, name=name, where=where, type_name="a pandas DataFrame")
    check_columns(df, required, where=where)
    return df


def check_type(value, types, *, name: str, where: str, type_name: str | None = None):
    """Raise ParameterError unless ``value`` is an instance of ``types`` (bool is not a number)."""
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in _as_tuple(types))
    if not ok:
        wanted = type_name or " or ".join(t.__name__ for t in _as_tuple(types))
        raise ParameterError(
            f"{where}: '{name}' must be {wanted}; got {value!r} ({type(value).__name__}).", name=name
        )
    return value


def check_interval(value, low=None, high=None, *, name: str, where: str, closed: str = "both",
                   integer: bool = False):
    """Raise ParameterError unless ``low <= value <= high`` (bounds open or closed as ``closed`` says).

    ``closed`` is one of 'both', 'left', 'right', 'neither'.
    """
    kind = numbers.Integral if integer else numbers.Real
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    text = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    label = "an int" if integer else "a number"
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ParameterError(f"{where}: '{name}' must be {label} in {text}; got {value!r}.", name=name)
    too_low = low is not None and (value < low if left == "[" else value <= low)
    too_high = high is not None and (value > high if right == "]" else value >= high)
    if too_low or too_high:
        raise ParameterError(f"{where}: '{name}' must be {label} in {text}; got {value!r}.", name=name)
    return value


def check_one_of(value, options: Iterable, *, name: str, where: str):
    """Raise ParameterError unless ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        raise ParameterError(
            f"{where}: '{name}' must be one of {options}; got {value!r}.", name=name
        )
    return value


def check_fitted(estimator, attribute: str) -> None:
    """Raise NotFittedError unless ``estimator`` has the learned ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. "
            "Call 'fit' with appropriate arguments before using this estimator."
        )


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)
