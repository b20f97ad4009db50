"""crmlib.credit.features: hand-checked payment states, features, and the no-leakage guarantee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from credit_data import AS_OF, tables, tiny_customers, tiny_invoices, tiny_payments

from crmlib.credit import features as F
from crmlib.errors import DataContractError, ParameterError


@pytest.fixture
def status():
    return F.invoice_status(tiny_invoices(), tiny_payments(), as_of=AS_OF).set_index("invoice_id")


def test_invoice_status_by_hand(status):
    assert list(status.index) == [1, 2, 3, 4, 5, 6]  # invoice 7 is issued after as_of
    assert status["is_late"].tolist() == [False, True, True, True, True, False]
    assert status["days_past_due"].tolist() == [0.0, 10.0, 5.0, 112.0, 1.0, 0.0]
    assert status["is_due"].tolist() == [True, True, True, True, True, False]
    # due + 90 days must be strictly before as_of: invoice 2 (due 2025-03-03) is not matured yet
    assert status["is_matured"].tolist() == [True, False, False, True, False, False]
    assert status["is_default"].tolist() == [False, False, False, True, False, False]
    assert status["open_amount"].tolist() == [0.0, 0.0, 0.0, 150.0, 60.0, 30.0]
    assert status.loc[3, "paid_at"] == pd.Timestamp("2025-04-05")  # the second part settles it
    assert pd.isna(status.loc[5, "paid_at"])  # paid on 2025-06-10, after as_of


def test_default_days_moves_the_default(status):
    late = F.invoice_status(tiny_invoices(), tiny_payments(), as_of=AS_OF, default_days=5)
    late = late.set_index("invoice_id")
    # with 5 days, invoice 2 (paid 10 days late) counts as a default; invoice 3 (5 days) does not
    assert late["is_default"].tolist() == [False, True, False, True, False, False]


def test_payment_behaviour_by_hand():
    b = F.payment_behaviour(tiny_invoices(), tiny_payments(), cutoff=AS_OF).set_index("customer_id")
    assert list(b.index) == [1, 2, 3]
    c1, c2, c3 = b.loc[1], b.loc[2], b.loc[3]
    assert (c1["invoices"], c1["due_invoices"], c1["late_invoices"]) == (3, 3, 2)
    assert c1["share_late"] == pytest.approx(2 / 3)
    assert c1["share_late_adj"] == pytest.approx((2 + 4 * 0.8) / 7)  # 4 of 5 due invoices late
    assert c1["days_past_due_mean"] == pytest.approx(5.0)
    assert c1["days_since_late"] == pytest.approx(62.0)  # due 2025-03-31
    assert np.isnan(c1["late_trend"])  # everything due in the last 6 months
    assert (c1["defaults"], c1["matured_invoices"], c1["outstanding"]) == (0, 1, 0.0)
    assert (c2["defaults"], c2["default_rate"], c2["repeat_defaulter"]) == (1, 1.0, False)
    assert c2["default_rate_adj"] == pytest.approx((1 + 4 * 0.5) / 5)  # 1 of 2 matured defaulted
    assert (c2["outstanding"], c2["past_due_balance"], c2["days_past_due_max"]) == (210.0, 210.0, 112.0)
    assert np.isnan(c3["share_late"]) and c3["outstanding"] == 30.0 and c3["past_due_balance"] == 0.0
    assert list(b.columns) == list(F.BEHAVIOUR_COLUMNS)


def test_customer_features_by_hand():
    X = F.customer_features(tiny_invoices(), tiny_payments(), tiny_customers(), cutoff=AS_OF)
    assert X["customer_id"].tolist() == [1, 2, 3]  # customer 4 is created after the cutoff
    assert X["age_band"].astype(str).tolist() == ["25-29", "40-49", "65+"]
    assert X["tenure_band"].astype(str).tolist() == ["<6m", "2y+", "<6m"]
    assert list(X["income_band"].cat.categories) == ["low", "middle", "high"]
    assert X["income_band"].cat.ordered


def test_customer_without_invoices_gets_zero_counts():
    X = F.customer_features(tiny_invoices()[lambda d: d["customer_id"] != 3], tiny_payments(),
                            tiny_customers(), cutoff=AS_OF).set_index("customer_id")
    assert X.loc[3, "invoices"] == 0 and X.loc[3, "outstanding"] == 0.0
    assert not X.loc[3, "repeat_defaulter"] and np.isnan(X.loc[3, "share_late"])


def test_purchase_behaviour():
    orders = pd.DataFrame({"order_id": [1, 2, 3, 4], "customer_id": [1, 1, 2, 2], "channel_id": [1, 2, 2, 2],
                           "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01",
                                                         "2025-07-01"])})
    lines = pd.DataFrame({"order_id": [1, 1, 2, 3, 4], "discount": [0.0, 0.1, 0.2, 0.0, 0.5]})
    channels = pd.DataFrame({"channel_id": [1, 2], "kind": ["store", "online"]})
    p = F.purchase_behaviour(orders, lines, channels, cutoff=AS_OF).set_index("customer_id")
    assert p["orders"].tolist() == [2, 1]  # order 4 is after the cutoff
    assert p["discount_share"].tolist() == pytest.approx([2 / 3, 0.0])
    assert p.loc[2, "order_channel"] == "online"


# ---------------------------------------------------------------------------------- leakage
CUTOFF = pd.Timestamp("2025-03-01")


def _features(t, invoices=None, payments=None):
    return F.customer_features(t["invoices"] if invoices is None else invoices,
                               t["payments"] if payments is None else payments, t["customers"],
                               cutoff=CUTOFF, orders=t["orders"], order_lines=t["order_lines"],
                               channels=t["channels"])


def _mutations(t):
    inv, pay = t["invoices"], t["payments"]
    after_inv = inv["issued_at"] >= CUTOFF
    after_pay = pay["paid_at"] >= CUTOFF
    # every open invoice paid in full the day after the cutoff
    settle = inv.loc[~after_inv, ["invoice_id", "amount"]].assign(
        payment_id=pay["payment_id"].max() + 1 + np.arange((~after_inv).sum()),
        paid_at=CUTOFF + pd.Timedelta(days=1), method="card")
    return {
        "delete post-cutoff invoices and payments": (inv[~after_inv], pay[~after_pay]),
        "delete post-cutoff payments only": (inv, pay[~after_pay]),
        "change post-cutoff amounts and dates": (
            inv.assign(amount=inv["amount"].where(~after_inv, 1.0),
                       due_at=inv["due_at"].where(~after_inv, CUTOFF)),
            pay.assign(amount=pay["amount"].where(~after_pay, 0.01),
                       paid_at=pay["paid_at"].where(~after_pay, CUTOFF + pd.Timedelta(days=400)))),
        "pay everything after the cutoff": (inv, pd.concat([pay, settle[pay.columns]], ignore_index=True)),
    }


@pytest.mark.parametrize("mutation", ["delete post-cutoff invoices and payments",
                                      "delete post-cutoff payments only",
                                      "change post-cutoff amounts and dates",
                                      "pay everything after the cutoff"])
def test_post_cutoff_rows_do_not_change_features(small_url, mutation):
    t = tables(small_url)
    invoices, payments = _mutations(t)[mutation]
    pd.testing.assert_frame_equal(_features(t, invoices, payments), _features(t))


def test_pre_cutoff_rows_do_change_features(small_url):
    """The leakage test is not vacuous: the same change before the cutoff shows."""
    t = tables(small_url)
    pay = t["payments"]
    before = pay["paid_at"] < CUTOFF
    changed = _features(t, payments=pay[~before | (pay["invoice_id"] % 2 == 0)])
    assert not changed["share_late"].equals(_features(t)["share_late"])


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"as_of": "not a date"}, r"credit.invoice_status: 'as_of' must be a date such as '2025-03-01'; got 'not a date'"),
    ({"as_of": None}, r"'as_of' must be a date"),
    ({"as_of": AS_OF, "default_days": 0}, r"'default_days' must be an int in \[1, 365\]; got 0"),
    ({"as_of": AS_OF, "default_days": 30.5}, r"'default_days' must be an int in \[1, 365\]; got 30.5"),
])
def test_invoice_status_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        F.invoice_status(tiny_invoices(), tiny_payments(), **kwargs)


@pytest.mark.parametrize(("table", "match"), [
    ("invoices", r"credit.invoice_status\(invoices\): missing column\(s\) \['due_at'\]"),
    ("payments", r"credit.invoice_status\(payments\): missing column\(s\) \['paid_at'\]"),
])
def test_missing_columns_are_named(table, match):
    inv, pay = tiny_invoices(), tiny_payments()
    if table == "invoices":
        inv = inv.drop(columns="due_at")
    else:
        pay = pay.drop(columns="paid_at")
    with pytest.raises(DataContractError, match=match):
        F.invoice_status(inv, pay, as_of=AS_OF)


def test_customers_missing_columns():
    with pytest.raises(DataContractError, match=r"credit.customer_attributes: missing column\(s\) \['income_band'\]"):
        F.customer_attributes(tiny_customers().drop(columns="income_band"), as_of=AS_OF)


def test_not_a_frame():
    with pytest.raises(ParameterError, match=r"credit.invoice_status: 'invoices' must be a pandas DataFrame; got \[\] \(list\)"):
        F.invoice_status([], tiny_payments(), as_of=AS_OF)


@pytest.mark.postgres
def test_same_features_from_postgresql(small_url, pg_url):
    """The features depend on the data, not on the database they come from."""
    pd.testing.assert_frame_equal(_features(tables(pg_url)), _features(tables(small_url)),
                                  check_exact=False, rtol=1e-9)
