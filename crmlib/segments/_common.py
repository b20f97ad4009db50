"""Helpers shared by the segments modules (not public)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._validation import check_columns, check_type, examples
from ..errors import DataContractError, EmptyDataError, ParameterError

#: Order statuses that never count as a purchase (the sample marks a refunded order 'returned').
DEFAULT_EXCLUDE_STATUS: tuple[str, ...] = ("cancelled", "returned")


def as_of_timestamp(as_of, *, where: str, default=None) -> pd.Timestamp:
    """``as_of`` as a day (midnight Timestamp); ``None`` gives ``default`` (a Timestamp or None)."""
    if as_of is None:
        if default is None or pd.isna(default):
            raise ParameterError(f"{where}: 'as_of' is None and there is no order to take a date from.",
                                 name="as_of")
        return pd.Timestamp(default).normalize()
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as err:
        raise ParameterError(
            f"{where}: 'as_of' must be a date (str, datetime or Timestamp); got {as_of!r}.", name="as_of"
        ) from err
    if pd.isna(ts):
        raise ParameterError(f"{where}: 'as_of' must be a date; got {as_of!r}.", name="as_of")
    if ts.tz is not None:
        ts = ts.tz_convert(None)
    return ts.normalize()


def to_naive_datetime(s: pd.Series) -> pd.Series:
    """A datetime64 Series without time zone (strings are parsed)."""
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out


def check_frame(df, required, *, where: str, name: str = "df") -> None:
    """Type and column check for an input frame."""
    check_type(df, pd.DataFrame, name=name, where=where, type_name="a pandas DataFrame")
    check_columns(df, required, where=where)


def check_unique(df: pd.DataFrame, column: str, *, where: str) -> None:
    """Raise DataContractError naming duplicated values of ``column``."""
    dup = df[column][df[column].duplicated()]
    if len(dup):
        ids = pd.unique(dup)
        raise DataContractError(
            f"{where}: {len(ids)} {column} value(s) appear more than once (e.g. {examples(ids)}).",
            column=column,
        )


def check_not_empty(df: pd.DataFrame, *, where: str, what: str) -> None:
    if len(df) == 0:
        raise EmptyDataError(f"{where}: {what} is empty.")


def slug(value) -> str:
    """'Home & Garden' -> 'home_garden' for generated column names."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower()
    return text or "na"


def signed_log1p(x):
    """sign(x) * log(1 + |x|): a log scale that keeps zero and negative (refund) values."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))
