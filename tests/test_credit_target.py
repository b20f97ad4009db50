"""crmlib.credit.target: the target, the backtest samples and their parameter checks."""

from __future__ import annotations

import pandas as pd
import pytest
from credit_data import backtest, tables, tiny_invoices, tiny_payments

from crmlib.credit import target as T
from crmlib.errors import EmptyDataError, ParameterError


def test_invoice_target_by_hand():
    t = T.invoice_target(tiny_invoices(), tiny_payments(), start="2025-01-01", end="2025-02-01",
                         as_of="2025-06-01")
    assert t["invoice_id"].tolist() == [1, 4]
    assert t["defaulted"].tolist() == [False, True]
    c = T.customer_target(t).set_index("customer_id")
    assert c["invoices"].tolist() == [1, 1] and c["defaults"].tolist() == [0, 1]
    assert c.loc[2, "defaulted_amount"] == 200.0 and c.loc[2, "any_default"]


def test_invoice_target_refuses_unobservable_outcomes():
    with pytest.raises(ParameterError, match=r"credit.invoice_target: 2 invoices issued between "
                       r"2025-02-01 and 2025-04-01 cannot show a default by 2025-06-01"):
        T.invoice_target(tiny_invoices(), tiny_payments(), start="2025-02-01", end="2025-04-01",
                         as_of="2025-06-01")


def test_invoice_target_window_order():
    with pytest.raises(ParameterError, match=r"'end' must be after 'start'; got start=2025-03-01, end=2025-01-01"):
        T.invoice_target(tiny_invoices(), tiny_payments(), start="2025-03-01", end="2025-01-01")


def test_latest_cutoff_and_period(small_url):
    t = tables(small_url)
    start, end = T.data_period(t["invoices"], t["payments"])
    assert pd.Timestamp("2023-01-01") <= start.normalize() <= pd.Timestamp("2023-01-03")  # first order day
    # the day after the latest invoice: orders of 31 December are invoiced up to 2 days later
    assert pd.Timestamp("2026-01-01") <= end <= pd.Timestamp("2026-01-03")
    assert T.maturity_days(t["invoices"]) == 120  # 30-day terms + 90 days
    assert T.latest_cutoff(t["invoices"], t["payments"]) == pd.Timestamp("2025-03-01")


def test_backtest_layout(small_url):
    bt = backtest(small_url)
    assert bt.cutoff == pd.Timestamp("2025-03-01")
    assert bt.train_cutoffs == [pd.Timestamp(d) for d in ("2024-05-01", "2024-02-01", "2023-11-01",
                                                          "2023-08-01")]
    assert (bt.holdout["snapshot"] == bt.cutoff).all()
    assert (bt.holdout["invoices_next"] >= 1).all()
    assert (bt.holdout["defaults_next"] <= bt.holdout["invoices_next"]).all()
    s = bt.summary()
    assert list(s.columns) == ["sample", "snapshot", "customers", "invoices", "defaults", "default_rate"]
    assert s["defaults"].gt(0).all()
    assert 0.03 < s["default_rate"].mean() < 0.1


def test_backtest_takes_features_from_a_callable(small_url):
    """The hook a Spark report uses: the same samples when the features come from a callable."""
    from crmlib.engines import Engine, analyses

    t = tables(small_url)
    calls = []

    def features(*, cutoff):
        calls.append(pd.Timestamp(cutoff))
        return analyses.credit_features(Engine("pandas"), t["invoices"], t["payments"], t["customers"],
                                        cutoff=cutoff, orders=t["orders"], order_lines=t["order_lines"],
                                        channels=t["channels"])

    got = T.backtest_samples(t["invoices"], t["payments"], t["customers"], features=features)
    ref = backtest(small_url)
    assert sorted(calls) == sorted([ref.cutoff, *ref.train_cutoffs])
    pd.testing.assert_frame_equal(got.train, ref.train)
    pd.testing.assert_frame_equal(got.holdout, ref.holdout)


def test_training_sample_uses_nothing_after_the_cutoff(small_url):
    """Training rows (features and outcomes) are the same when every row after the cutoff is gone."""
    t = tables(small_url)
    bt = backtest(small_url)
    inv, pay = t["invoices"], t["payments"]
    cut = bt.cutoff
    kwargs = {"at": bt.train_cutoffs[0], "as_of": cut, "orders": t["orders"],
              "order_lines": t["order_lines"], "channels": t["channels"]}
    full = T.snapshot_sample(inv, pay, t["customers"], **kwargs)
    cut_off = T.snapshot_sample(inv[inv["issued_at"] < cut], pay[pay["paid_at"] < cut], t["customers"],
                                **kwargs)
    pd.testing.assert_frame_equal(full, cut_off)
    pd.testing.assert_frame_equal(full, bt.train[bt.train["snapshot"] == bt.train_cutoffs[0]].reset_index(drop=True))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cutoff": "2030-01-01"}, r"credit.backtest_samples: 'cutoff' must be inside the data "
                               r"\(2023-01-0\d to 2026-01-0\d\); got 2030-01-01"),
    ({"cutoff": "2022-06-01"}, r"'cutoff' must be inside the data .*; got 2022-06-01"),
    ({"cutoff": "2025-06-01"}, r"'cutoff' 2025-06-01 is too late for a 6-month window: its invoices "
                               r"need 120 days .* use a cutoff up to 2025-03-01 or a shorter window"),
    ({"cutoff": "2024-03-01"}, r"'cutoff' 2024-03-01 leaves too little history for training"),
    ({"window_months": 0}, r"'window_months' must be an int in \[1, 24\]; got 0"),
    ({"window_months": 36}, r"'window_months' must be an int in \[1, 24\]; got 36"),
    ({"default_days": -1}, r"'default_days' must be an int in \[1, 365\]; got -1"),
    ({"train_snapshots": 0}, r"'train_snapshots' must be an int in \[1, 12\]; got 0"),
    ({"cutoff": "yesterday-ish"}, r"'cutoff' must be a date such as '2025-03-01'; got 'yesterday-ish'"),
])
def test_backtest_bad_parameters(small_url, kwargs, match):
    t = tables(small_url)
    with pytest.raises(ParameterError, match=match):
        T.backtest_samples(t["invoices"], t["payments"], t["customers"], **kwargs)


def test_no_defaults_in_training(small_url):
    t = tables(small_url)
    inv = t["invoices"]
    paid = inv[["invoice_id", "issued_at", "amount"]].rename(columns={"issued_at": "paid_at"})
    with pytest.raises(EmptyDataError, match=r"credit.backtest_samples: no defaults in the training "
                       r"windows \(.* none unpaid 90 days past due\)"):
        T.backtest_samples(inv, paid, t["customers"], cutoff="2025-03-01")


def test_no_invoices():
    empty = tiny_invoices().iloc[:0]
    with pytest.raises(EmptyDataError, match=r"credit.data_period: there are no invoices"):
        T.backtest_samples(empty, tiny_payments(), pd.DataFrame())
