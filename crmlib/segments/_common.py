"""Helpers shared by the segments modules (not public)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .._validation import examples
from ..errors import DataContractError, EmptyDataError


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
