"""The data-quality report on Spark (crmlib.imports.spark_quality via crmlib.engines.analyses) equals
the pandas one: every measure, status and detail, and the broken-rules table, on the small sample and
on a damaged copy (bad values, an orphan order line, a dangling payment, a future date)."""

import sqlite3

import pandas as pd
import pytest

import crmlib
from crmlib import engines, mart, schema
from crmlib.engines import analyses
from crmlib.imports import rules, spark_quality

DAMAGE = """
INSERT INTO order_lines VALUES (999999, 1, 5, 0, 3.5, 0.1);
INSERT INTO order_lines VALUES (999999, 2, 99999, 2, -3.5, 1.5);
UPDATE orders SET status = 'lost' WHERE order_id IN (SELECT order_id FROM orders ORDER BY order_id LIMIT 3);
UPDATE customers SET email = 'not-an-email', country = 'ZZ' WHERE customer_id IN (3, 4);
UPDATE customers SET phone = '12' WHERE customer_id = 5;
UPDATE customers SET created_at = '2099-01-01 00:00:00.000000' WHERE customer_id = 6;
UPDATE invoices SET due_at = '2000-01-01 00:00:00.000000' WHERE invoice_id = 10;
UPDATE payments SET invoice_id = 99999999 WHERE payment_id IN (1, 2);
UPDATE products SET unit_cost = -1 WHERE product_id = 1;
"""


def _engines(spark, out):
    return engines.Engine("pandas"), engines.Engine("spark", master="local[2]", mart=str(out), session=spark)


def _both(spark, url, out, *, examples=0):
    pandas_eng, spark_eng = _engines(spark, out)
    crm = crmlib.connect(url)
    ref = analyses.quality_report(pandas_eng, analyses.quality_tables(pandas_eng, crm), as_of="latest",
                                  examples=examples)
    got = analyses.quality_report(spark_eng, analyses.quality_tables(spark_eng, crm), as_of="latest",
                                  examples=examples)
    return ref, got


@pytest.fixture(scope="module")
def damaged(spark, small_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-quality")
    path = folder / "damaged.sqlite"
    with sqlite3.connect(small_path) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    with sqlite3.connect(path) as con:
        con.executescript(DAMAGE)
    url = f"sqlite:///{path}"
    mart.export(url, folder / "mart")
    return url, folder / "mart"


def _same_report(ref: pd.DataFrame, got: pd.DataFrame):
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref.reset_index(drop=True), check_exact=True)


def test_the_sample_report_is_the_pandas_one(spark, small_url, small_mart):
    (ref, ref_broken), (got, got_broken) = _both(spark, small_url, small_mart)
    _same_report(ref, got)
    assert ref_broken.empty and got_broken.empty


def test_the_damage_is_seen_as_on_pandas(spark, damaged):
    url, out = damaged
    (ref, ref_broken), (got, got_broken) = _both(spark, url, out, examples=3)
    _same_report(ref, got)
    cols = ["table", "column", "rule", "rows"]
    pd.testing.assert_frame_equal(got_broken[cols], ref_broken[cols], check_dtype=False)
    got = got.set_index(["table", "dimension"])
    # the orphan line is not in the mart's fact_sales: it came from the database
    assert got.loc[("order_lines", "referential_integrity"), "detail"] == \
        "2 order_id not in orders; 1 product_id not in products"
    assert got.loc[("payments", "referential_integrity"), "detail"] == "2 invoice_id not in invoices"
    assert got.loc[("orders", "validity"), "status"] == "green" and "status isin" in got.loc[("orders", "validity"), "detail"]
    shown = got_broken.set_index(["table", "column"])["examples"]
    assert shown[("orders", "status")] == "'lost'" and shown[("customers", "country")] == "'ZZ'"


def test_rules_carry_the_pandera_labels(spark):
    """Every pandera check of every table has its Spark predicate, under the same label."""
    for table in schema.CANONICAL_TABLES:
        cols = schema.table_columns(table)
        got = {(c, r) for c, r, _ in spark_quality.rule_checks(table, cols)}
        pa_schema = rules.table_schema(table)
        want = {(name, str(ch.error) if ch.error else ch.name)
                for name, col in pa_schema.columns.items() for ch in col.checks}
        want |= {(name, "not missing") for name, col in pa_schema.columns.items() if not col.nullable}
        want |= {(ch.name.split(" >= ")[0], ch.name) for ch in pa_schema.checks}
        assert got == want, table


def test_unheld_rows_come_from_the_database(damaged, small_url):
    url, _ = damaged
    rows, counts = spark_quality.unheld_rows(crmlib.connect(url))
    assert counts["order_lines"] == 2 and list(rows["order_lines"]["line_no"]) == [1, 2]
    assert set(rows) == {"order_lines"}
    _, clean = spark_quality.unheld_rows(crmlib.connect(small_url))
    assert not any(clean.values())


def test_dedup_customers_take_every_customer_up_to_the_bound(spark, small_url, small_mart):
    pandas_eng, spark_eng = _engines(spark, small_mart)
    crm = crmlib.connect(small_url)
    tables = analyses.quality_tables(spark_eng, crm)
    people = analyses.dedup_customers(spark_eng, tables)
    ref = crm.customers()
    assert not people.attrs["sampled"] and people.attrs["population"] == len(ref)
    assert people["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in ("first_name", "last_name", "email", "phone", "postal_code"):
        assert people[col].astype(object).where(people[col].notna()).tolist() == \
            ref[col].astype(object).where(ref[col].notna()).tolist(), col
    assert (people["birth_date"].dt.strftime("%Y%m%d").fillna("") == ref["birth_date"].dt.strftime("%Y%m%d").fillna("")).all()
    few = analyses.dedup_customers(spark_eng, tables, max_rows=200)
    assert few.attrs["sampled"] and len(few) < len(ref)
