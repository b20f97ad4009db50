"""Helpers shared by the credit modules: dates, required columns, binomial rows, bin labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_interval

INVOICE_COLUMNS = ("invoice_id", "customer_id", "issued_at", "due_at", "amount")
PAYMENT_COLUMNS = ("invoice_id", "paid_at", "amount")
CUSTOMER_COLUMNS = ("customer_id", "birth_date", "created_at", "income_band", "occupation")
DAY = pd.Timedelta(days=1)


def check_default_days(default_days, *, where: str) -> int:
    return check_interval(default_days, 1, 365, name="default_days", where=where, integer=True)


def check_window(window_months, *, where: str) -> int:
    return check_interval(window_months, 1, 24, name="window_months", where=where, integer=True)


def binomial_rows(frame: pd.DataFrame, columns, *, events: str = "defaults",
                  trials: str = "invoices") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Turn per-customer counts (``events`` of ``trials``) into weighted 0/1 rows.

    A customer with 5 invoices of which 1 defaulted becomes two rows with the same features:
    y=1 with weight 1 and y=0 with weight 4. Fitting and scoring on these rows is the same as on
    one row per invoice, without repeating the features per invoice. Rows with weight 0 are dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per customer with the feature columns, ``events`` and ``trials``.
    columns : list of str
        The feature columns to keep.
    events, trials : str, default='defaults', 'invoices'
        The columns with the number of defaulted invoices and of invoices.

    Returns
    -------
    (X, y, sample_weight) : tuple of pandas.DataFrame, numpy.ndarray of int, numpy.ndarray of float
    """
    k = frame[events].to_numpy(float)
    n = frame[trials].to_numpy(float)
    X = frame[list(columns)]
    X = pd.concat([X, X], ignore_index=True)
    y = np.r_[np.ones(len(frame)), np.zeros(len(frame))].astype(int)
    w = np.r_[k, n - k]
    keep = w > 0
    return X[keep].reset_index(drop=True), y[keep], w[keep]


class quiet(warnings.catch_warnings):
    """Silence optbinning's pandas deprecation warnings inside our calls only (no global filter)."""

    def __enter__(self):
        out = super().__enter__()
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from pandas.errors import Pandas4Warning

            warnings.simplefilter("ignore", Pandas4Warning)
        except ImportError:  # pandas < 3
            pass
        return out


def bin_labels(binning) -> list[str]:
    """Readable labels of the bins of a fitted optbinning ``OptimalBinning``, in the order of its
    binning table (bin ids 0, 1, ...): '(-inf, 0.5)', '[0.5, 2.0)', ..., then 'special' and
    'missing'. Category groups read 'a, b'. Split points get as many significant digits as it
    takes to tell them apart (at least 4), so small-scale variables keep distinct bins.

    Parameters
    ----------
    binning : optbinning.OptimalBinning
        Fitted.

    Returns
    -------
    list of str
    """
    if binning.dtype == "numerical":
        edges = ["-inf", *split_text(binning.splits), "inf"]
        labels = [f"{'(' if i == 0 else '['}{edges[i]}, {edges[i + 1]})" for i in range(len(edges) - 1)]
    else:
        labels = [", ".join(str(c) for c in group) for group in binning.splits]
    return [*labels, "special", "missing"]


def split_text(splits) -> list[str]:
    """Split points as short decimal text, distinct when the points are.

    Examples
    --------
    >>> split_text([0.5, 2.0, 1234.5678])
    ['0.5', '2.0', '1235.0']
    >>> split_text([1000.1, 1000.2])
    ['1000.1', '1000.2']
    """
    values = [float(v) for v in splits]
    for digits in range(4, 18):
        text = [np.format_float_positional(v, precision=digits, unique=True, fractional=False,
                                           trim="0") for v in values]
        if len(set(text)) == len(set(values)):
            return text
    return [repr(v) for v in values]
