"""crmlib.credit.spark against crmlib.credit: the same payment-behaviour features, column by column."""

from __future__ import annotations

import shutil

import pytest
from spark_support import assert_same_frame

import crmlib
from crmlib.credit import features as CF
from crmlib.errors import DataContractError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

# one cutoff mid-history, one late and off midnight (payments and due dates fall on both sides)
CUTOFFS = ("2024-07-01", "2025-09-15 12:00")


@pytest.fixture(scope="module")
def tables(spark, small_mart, small_url):
    from crmlib.credit import spark as sc

    crm = crmlib.connect(small_url)
    pandas_tables = (crm.invoices(), crm.payments(), crm.customers())
    return pandas_tables, sc.read_tables(spark, small_mart)


@pytest.fixture(scope="module")
def sales(spark, small_mart, small_url):
    from crmlib.credit import spark as sc

    crm = crmlib.connect(small_url)
    return (crm.orders(), crm.order_lines(), crm.channels()), sc.read_sales(spark, small_mart)


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_invoice_status_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.invoice_status(inv, pay, as_of=cutoff)
    got = sc.to_pandas(sc.invoice_status(sinv, spay, as_of=cutoff))
    assert_same_frame(ref, got)
    # the comparison covers every state: on time, late, open, matured, default
    assert ref["is_late"].sum() > 50 and ref["is_default"].sum() > 10
    assert ref["paid_at"].isna().sum() > 10 and (~ref["is_due"]).sum() > 10


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_payment_behaviour_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.payment_behaviour(inv, pay, cutoff=cutoff)
    got = sc.to_pandas(sc.payment_behaviour(sinv, spay, cutoff=cutoff))
    assert_same_frame(ref, got)
    assert ref["repeat_defaulter"].sum() > 0 and ref["late_trend"].isna().sum() > 0
    assert ref["late_trend"].notna().sum() > 0 and ref["days_since_late"].notna().sum() > 0


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_customer_features_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, cus), (sinv, spay, scus) = tables
    ref = CF.customer_features(inv, pay, cus, cutoff=cutoff)
    got = sc.to_pandas(sc.customer_features(sinv, spay, scus, cutoff=cutoff))
    assert_same_frame(ref, got)
    assert (ref["invoices"] == 0).sum() > 0  # customers without invoices are filled as pandas does
    assert ref["age_band"].nunique() >= 4 and ref["tenure_band"].nunique() >= 3


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_customer_features_with_orders_equal(tables, sales, cutoff):
    """The payment-default notebook's call: purchase behaviour from the orders too."""
    from crmlib.credit import spark as sc

    (inv, pay, cus), (sinv, spay, scus) = tables
    (orders, lines, channels), (ssales, schannels) = sales
    ref = CF.customer_features(inv, pay, cus, cutoff=cutoff, orders=orders, order_lines=lines,
                               channels=channels)
    got = sc.to_pandas(sc.customer_features(sinv, spay, scus, cutoff=cutoff, sales=ssales,
                                            channels=schannels))
    assert_same_frame(ref, got)
    assert {"orders", "discount_share", "order_channel"} <= set(ref.columns)
    assert ref["order_channel"].nunique() == 4 and (ref["orders"] == 0).sum() > 0  # 3 kinds + 'unknown'


def test_purchase_behaviour_without_channels_equal(sales):
    from crmlib.credit import spark as sc

    (orders, lines, _), (ssales, _) = sales
    ref = CF.purchase_behaviour(orders, lines, cutoff=CUTOFFS[0])
    got = sc.to_pandas(sc.purchase_behaviour(ssales, cutoff=CUTOFFS[0]))
    assert list(ref.columns) == ["customer_id", "orders", "discount_share"]
    assert_same_frame(ref, got)


def test_default_days_is_passed_through(tables):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.payment_behaviour(inv, pay, cutoff=CUTOFFS[1], default_days=30)
    got = sc.to_pandas(sc.payment_behaviour(sinv, spay, cutoff=CUTOFFS[1], default_days=30))
    assert_same_frame(ref, got)
    default90 = CF.payment_behaviour(inv, pay, cutoff=CUTOFFS[1])
    assert ref["defaults"].sum() > default90["defaults"].sum()


@pytest.mark.parametrize("call, error, match", [
    (lambda sc, i, p, c: sc.payment_behaviour(i, p, cutoff="next tuesday"), ParameterError,
     r"credit.spark.payment_behaviour: 'cutoff' must be a date such as '2025-03-01'; got 'next tuesday'"),
    (lambda sc, i, p, c: sc.customer_features(i, p, c, cutoff=[2025, 3, 1]), ParameterError,
     r"credit.spark.customer_features: 'cutoff' must be a date .*got \[2025, 3, 1\]"),
    (lambda sc, i, p, c: sc.invoice_status(i, p, as_of=None), ParameterError,
     r"credit.spark.invoice_status: 'as_of' must be a date .*got None"),
    (lambda sc, i, p, c: sc.payment_behaviour(i, p, cutoff="2025-01-01", default_days=0), ParameterError,
     r"'default_days' must be an int in \[1, 365\]; got 0"),
    (lambda sc, i, p, c: sc.invoice_status(i.toPandas(), p, as_of="2025-01-01"), ParameterError,
     r"credit.spark.invoice_status: 'invoices' must be a Spark DataFrame"),
    (lambda sc, i, p, c: sc.invoice_status(i, p.drop("paid_at"), as_of="2025-01-01"), DataContractError,
     r"credit.spark.invoice_status\(payments\): missing column\(s\) \['paid_at'\]"),
    (lambda sc, i, p, c: sc.customer_attributes(c.drop("birth_date"), as_of="2025-01-01"), DataContractError,
     r"credit.spark.customer_attributes\(customers\): missing column\(s\) \['birth_date'\]"),
])
def test_bad_input_is_named(tables, call, error, match):
    from crmlib.credit import spark as sc

    with pytest.raises(error, match=match):
        call(sc, *tables[1])


@pytest.mark.parametrize("reader, table", [("read_tables", "fact_payments"), ("read_tables", "dim_customer"),
                                           ("read_sales", "dim_channel")])
def test_missing_mart_table(spark, small_mart, tmp_path, reader, table):
    from crmlib.credit import spark as sc

    mart = tmp_path / "mart"
    shutil.copytree(small_mart, mart, ignore=shutil.ignore_patterns(table))
    with pytest.raises(DataContractError,
                       match=rf"credit.spark.{reader}: .* has no readable table '{table}' \(run `crmlib mart export`\)") as err:
        getattr(sc, reader)(spark, mart)
    assert err.value.table == table
