"""The target: default on invoices issued in the window after a cutoff; backtest samples.

Definitions
-----------
default
    An invoice defaults when it is not paid in full within ``default_days`` (90 by default) days
    after its due date. The outcome of an invoice is known ``default_days`` after its due date.
target
    For a cutoff and a window of ``window_months``, every invoice issued in
    ``[cutoff, cutoff + window)`` of a customer who existed at the cutoff, with ``defaulted``
    true or false. Per customer: ``invoices`` in the window and ``defaults`` among them. Models
    estimate the probability that an invoice of the customer defaults; they are fitted and
    scored on invoices (a customer with 5 invoices counts 5 times), see
    :func:`binomial_rows`.
backtest
    The holdout is the target after ``cutoff``, scored with features as of ``cutoff``. The
    training sample stacks ``train_snapshots`` earlier cutoffs, ``snapshot_step_months`` apart;
    the latest one is ``window_months`` plus the maturity (longest payment term +
    ``default_days``) before ``cutoff``, rounded down to the first of a month. So every training
    outcome was known at ``cutoff``: the model uses nothing from after the cutoff, like a model
    built on that day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns, check_frame, check_interval
from ..definitions import as_timestamp
from ..errors import EmptyDataError, ParameterError
from ._common import (
    DAY,
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    binomial_rows,
    check_default_days,
    check_window,
)
from .features import customer_features, invoice_status

__all__ = ["Backtest", "backtest_cutoffs", "backtest_samples", "binomial_rows", "customer_target", "data_period",
           "invoice_target", "latest_cutoff", "maturity_days", "snapshot_sample"]

#: Minimum history before the earliest training snapshot.
MIN_HISTORY_DAYS = 90


def data_period(invoices: pd.DataFrame, payments: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First invoice date and the end of the data.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`crmlib.credit.features.invoice_status`.

    Returns
    -------
    (start, end) : tuple of pandas.Timestamp
        The first issue date, and midnight after the latest issue or payment date.

    Raises
    ------
    EmptyDataError
        There are no invoices.
    """
    where = "credit.data_period"
    check_columns(invoices, INVOICE_COLUMNS, where=f"{where}(invoices)")
    check_columns(payments, PAYMENT_COLUMNS, where=f"{where}(payments)")
    if invoices.empty:
        raise EmptyDataError(f"{where}: there are no invoices", table="invoices")
    start = invoices["issued_at"].min()
    last = max(invoices["issued_at"].max(), payments["paid_at"].max() if len(payments) else start)
    return pd.Timestamp(start), pd.Timestamp(last).normalize() + DAY


def maturity_days(invoices: pd.DataFrame, default_days: int = 90) -> int:
    """Days from issue until a default can show: the longest payment term plus ``default_days``.

    Parameters
    ----------
    invoices : pandas.DataFrame
        With ``issued_at`` and ``due_at``.
    default_days : int, default=90

    Returns
    -------
    int
    """
    term = (invoices["due_at"] - invoices["issued_at"]).max() / DAY if len(invoices) else 0.0
    return int(np.ceil(max(term, 0.0))) + int(default_days)


def latest_cutoff(invoices: pd.DataFrame, payments: pd.DataFrame, *, window_months: int = 6,
                  default_days: int = 90) -> pd.Timestamp:
    """The latest first-of-month cutoff whose whole target window can be observed in the data.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`crmlib.credit.features.invoice_status`.
    window_months : int, default=6
    default_days : int, default=90

    Returns
    -------
    pandas.Timestamp
        The cutoff such that every invoice issued in the window after it is due and
        ``default_days`` older before the end of the data (:func:`data_period`).
    """
    where = "credit.latest_cutoff"
    window_months = check_window(window_months, where=where)
    default_days = check_default_days(default_days, where=where)
    _, end = data_period(invoices, payments)
    last = end - pd.Timedelta(days=maturity_days(invoices, default_days)) - pd.DateOffset(months=window_months)
    return _month_floor(last)


def invoice_target(invoices: pd.DataFrame, payments: pd.DataFrame, *, start, end,
                   default_days: int = 90, as_of=None) -> pd.DataFrame:
    """Whether each invoice issued in ``[start, end)`` defaulted.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`crmlib.credit.features.invoice_status`.
    start, end : str or datetime-like
        The window of issue dates.
    default_days : int, default=90
    as_of : str or datetime-like, optional
        When the outcomes are read (payments before it count). Default: the end of the data.

    Returns
    -------
    pandas.DataFrame
        ``invoice_id, customer_id, issued_at, due_at, amount`` and ``defaulted`` (bool).

    Raises
    ------
    ParameterError
        ``end`` is not after ``start``, or an invoice of the window cannot show its outcome by
        ``as_of`` (its due date plus ``default_days`` is not before ``as_of``).
    """
    where = "credit.invoice_target"
    check_frame(invoices, name="invoices", where=where)
    check_frame(payments, name="payments", where=where)
    start = as_timestamp(start, name="start", where=where)
    end = as_timestamp(end, name="end", where=where)
    default_days = check_default_days(default_days, where=where)
    if end <= start:
        raise ParameterError(f"{where}: 'end' must be after 'start'; got start={start.date()}, "
                             f"end={end.date()}.", name="end")
    as_of = data_period(invoices, payments)[1] if as_of is None else as_timestamp(as_of, name="as_of",
                                                                                 where=where)
    window = invoices[(invoices["issued_at"] >= start) & (invoices["issued_at"] < end)]
    st = invoice_status(window, payments, as_of=as_of, default_days=default_days)
    open_ = st.loc[~st["is_matured"], "invoice_id"]
    if len(open_):
        latest = (st.loc[~st["is_matured"], "due_at"].max() + pd.Timedelta(days=default_days)).date()
        raise ParameterError(
            f"{where}: {len(open_)} invoices issued between {start.date()} and {end.date()} cannot "
            f"show a default by {as_of.date()} (due date + default_days={default_days} reaches "
            f"{latest}); use an earlier window or a later as_of.", name="end")
    out = st[list(INVOICE_COLUMNS)].copy()
    out["defaulted"] = st["is_default"].to_numpy(bool)
    return out


def customer_target(target: pd.DataFrame) -> pd.DataFrame:
    """Per customer: invoices in the window, defaults among them, amounts.

    Parameters
    ----------
    target : pandas.DataFrame
        The result of :func:`invoice_target`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``invoices`` (int), ``defaults`` (int), ``amount`` (float64),
        ``defaulted_amount`` (float64), ``any_default`` (bool).
    """
    check_columns(target, ("customer_id", "amount", "defaulted"), where="credit.customer_target")
    g = target.assign(bad=target["amount"].where(target["defaulted"], 0.0)).groupby("customer_id")
    out = pd.DataFrame({"invoices": g.size(), "defaults": g["defaulted"].sum().astype(int),
                        "amount": g["amount"].sum(), "defaulted_amount": g["bad"].sum()})
    out["any_default"] = out["defaults"] > 0
    return out.reset_index()


@dataclass
class Backtest:
    """Training and holdout samples of a time-based backtest (see the module docstring).

    Attributes
    ----------
    train, holdout : pandas.DataFrame
        Customer features as of a snapshot (:func:`~crmlib.credit.features.customer_features`)
        with ``snapshot`` (the cutoff of the row), ``invoices_next`` and ``defaults_next`` (invoices
        issued in the window after the snapshot, and how many defaulted). Only customers with an
        invoice in the window. ``train`` stacks its snapshots.
    cutoff : pandas.Timestamp
        The holdout cutoff.
    train_cutoffs : list of pandas.Timestamp
        The training snapshots, latest first.
    window_months, default_days : int
    data_start, data_end : pandas.Timestamp
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    cutoff: pd.Timestamp
    train_cutoffs: list
    window_months: int
    default_days: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp

    def summary(self) -> pd.DataFrame:
        """Rows, invoices and defaults per sample and snapshot."""
        frames = [self.train.assign(sample="train"), self.holdout.assign(sample="holdout")]
        both = pd.concat(frames, ignore_index=True)
        out = both.groupby(["sample", "snapshot"], sort=False).agg(
            customers=("customer_id", "size"), invoices=("invoices_next", "sum"),
            defaults=("defaults_next", "sum"))
        out["default_rate"] = out["defaults"] / out["invoices"]
        return out.reset_index()


def backtest_samples(invoices: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, *,
                     cutoff=None, window_months: int = 6, default_days: int = 90,
                     train_snapshots: int = 4, snapshot_step_months: int = 3,
                     orders: pd.DataFrame | None = None, order_lines: pd.DataFrame | None = None,
                     channels: pd.DataFrame | None = None, features=None) -> Backtest:
    """Build the training and holdout samples of a time-based backtest.

    Parameters
    ----------
    invoices, payments, customers : pandas.DataFrame
        As for :func:`crmlib.credit.features.customer_features`.
    cutoff : str or datetime-like, optional
        The holdout cutoff. Default: :func:`latest_cutoff`.
    window_months : int, default=6
        Length of the target window, in [1, 24] months.
    default_days : int, default=90
    train_snapshots : int, default=4
        Number of training cutoffs stacked, in [1, 12].
    snapshot_step_months : int, default=3
        Months between training cutoffs, in [1, 12].
    orders, order_lines, channels : pandas.DataFrame, optional
        Passed to the features.
    features : callable, optional
        ``features(cutoff=...)`` returning :func:`crmlib.credit.features.customer_features`' frame
        as of a snapshot, e.g. computed on Spark by ``functools.partial(
        crmlib.engines.analyses.credit_features, engine, ...)``. Default: crmlib.credit's, from the
        tables given (``orders``, ``order_lines`` and ``channels`` are then unused).

    Returns
    -------
    Backtest

    Raises
    ------
    ParameterError
        The cutoff is outside the data or too late for its window to be observed, or the earliest
        training snapshot would have less than 90 days of history.
    EmptyDataError
        No invoice in the holdout window, or no default in the training windows.
    """
    where = "credit.backtest_samples"
    window_months = check_window(window_months, where=where)
    default_days = check_default_days(default_days, where=where)
    check_interval(train_snapshots, 1, 12, name="train_snapshots", where=where, integer=True)
    check_interval(snapshot_step_months, 1, 12, name="snapshot_step_months", where=where, integer=True)
    start, end = data_period(invoices, payments)
    cutoff, train_cutoffs = backtest_cutoffs(
        start, end, maturity_days(invoices, default_days), cutoff=cutoff, window_months=window_months,
        default_days=default_days, train_snapshots=train_snapshots,
        snapshot_step_months=snapshot_step_months)
    earliest, first = train_cutoffs[-1], train_cutoffs[0]
    window = pd.DateOffset(months=window_months)

    extra = {"orders": orders, "order_lines": order_lines, "channels": channels}

    def sample(at: pd.Timestamp, as_of: pd.Timestamp) -> pd.DataFrame:
        return snapshot_sample(invoices, payments, customers, at=at, window_months=window_months,
                               default_days=default_days, as_of=as_of, features=features, **extra)

    holdout = sample(cutoff, end)
    if holdout.empty:
        raise EmptyDataError(
            f"{where}: no invoices of existing customers in the holdout window {cutoff.date()} to "
            f"{(cutoff + window).date()}", table="invoices")
    # training outcomes are read as of the cutoff: invoice_target raises if one were not known yet
    train = pd.concat([sample(at, cutoff) for at in train_cutoffs], ignore_index=True)
    if train["defaults_next"].sum() == 0:
        raise EmptyDataError(
            f"{where}: no defaults in the training windows ({len(train)} customer windows, "
            f"{int(train['invoices_next'].sum())} invoices issued from {earliest.date()} to "
            f"{(first + window).date()}, none unpaid {default_days} days past due); use more "
            "train_snapshots, a longer window or a smaller default_days.", table="invoices")
    return Backtest(train=train, holdout=holdout, cutoff=cutoff, train_cutoffs=train_cutoffs,
                    window_months=window_months, default_days=default_days, data_start=start,
                    data_end=end)


def backtest_cutoffs(start, end, maturity: int, *, cutoff=None, window_months: int = 6,
                     default_days: int = 90, train_snapshots: int = 4,
                     snapshot_step_months: int = 3) -> tuple[pd.Timestamp, list]:
    """The holdout cutoff and the training cutoffs of :func:`backtest_samples`, from the data period.

    Shared by the pandas and the Spark backtest (:mod:`crmlib.credit.spark_models`), which
    compute ``start``, ``end`` and ``maturity`` each their own way.

    Parameters
    ----------
    start, end : pandas.Timestamp
        :func:`data_period`.
    maturity : int
        :func:`maturity_days`.
    cutoff : str or datetime-like, optional
        Default: the latest first-of-month cutoff whose window can be observed.
    window_months, default_days, train_snapshots, snapshot_step_months : int
        As for :func:`backtest_samples`.

    Returns
    -------
    (pandas.Timestamp, list of pandas.Timestamp)
        The holdout cutoff and the training cutoffs, latest first.

    Raises
    ------
    ParameterError
        As for :func:`backtest_samples`.
    """
    where = "credit.backtest_samples"
    lag = pd.Timedelta(days=maturity)
    window = pd.DateOffset(months=window_months)
    latest = _month_floor(end - lag - window)
    if cutoff is None:
        cutoff = latest
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    if not start < cutoff < end:
        raise ParameterError(
            f"{where}: 'cutoff' must be inside the data ({start.date()} to {end.date()}); "
            f"got {cutoff.date()}.", name="cutoff")
    if cutoff + window + lag > end:
        raise ParameterError(
            f"{where}: 'cutoff' {cutoff.date()} is too late for a {window_months}-month window: its "
            f"invoices need {lag.days} days (payment term + default_days={default_days}) to show a "
            f"default and the data end at {end.date()}; use a cutoff up to {latest.date()} or a "
            "shorter window.", name="cutoff")
    first = _month_floor(cutoff - window - lag)
    train_cutoffs = [first - pd.DateOffset(months=k * snapshot_step_months) for k in range(train_snapshots)]
    earliest = train_cutoffs[-1]
    if earliest < start + pd.Timedelta(days=MIN_HISTORY_DAYS):
        raise ParameterError(
            f"{where}: 'cutoff' {cutoff.date()} leaves too little history for training: "
            f"{train_snapshots} training snapshots {snapshot_step_months} months apart start at "
            f"{earliest.date()}, but need {MIN_HISTORY_DAYS} days of data after {start.date()}; "
            "use a later cutoff, a shorter window or fewer train_snapshots.", name="cutoff")
    return cutoff, train_cutoffs


def snapshot_sample(invoices: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, *,
                    at, window_months: int = 6, default_days: int = 90, as_of=None,
                    orders: pd.DataFrame | None = None, order_lines: pd.DataFrame | None = None,
                    channels: pd.DataFrame | None = None, features=None) -> pd.DataFrame:
    """Features as of ``at`` with the target of the window after it, for customers with an invoice
    in the window.

    Parameters
    ----------
    invoices, payments, customers, orders, order_lines, channels : pandas.DataFrame
        As for :func:`crmlib.credit.features.customer_features`.
    at : str or datetime-like
        The snapshot (cutoff) date.
    window_months : int, default=6
    default_days : int, default=90
    as_of : str or datetime-like, optional
        When the outcomes are read (default: the end of the data); see :func:`invoice_target`.
    features : callable, optional
        ``features(cutoff=at)`` giving the feature frame (see :func:`backtest_samples`); default
        :func:`crmlib.credit.features.customer_features` of the tables given.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``snapshot`` (= at), the feature columns, ``invoices_next`` and
        ``defaults_next`` (int).
    """
    where = "credit.snapshot_sample"
    at = as_timestamp(at, name="at", where=where)
    window_months = check_window(window_months, where=where)
    if features is None:
        feats = customer_features(invoices, payments, customers, cutoff=at, default_days=default_days,
                                  orders=orders, order_lines=order_lines, channels=channels)
    else:
        feats = features(cutoff=at)
    tgt = customer_target(invoice_target(invoices, payments, start=at,
                                         end=at + pd.DateOffset(months=window_months),
                                         default_days=default_days, as_of=as_of))
    tgt = tgt.rename(columns={"invoices": "invoices_next", "defaults": "defaults_next"})
    rows = feats.merge(tgt[["customer_id", "invoices_next", "defaults_next"]], on="customer_id")
    rows.insert(1, "snapshot", at)
    return rows


def _month_floor(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)
