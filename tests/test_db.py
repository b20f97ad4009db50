import hashlib
import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

import crmlib
from crmlib import schema as S
from crmlib.errors import (
    DatabaseUnavailableError,
    DataContractError,
    EmptyDataError,
    ParameterError,
)


def _hash(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_url_comes_from_environment(small_url, monkeypatch):
    monkeypatch.setenv("CRMLIB_DB_URL", small_url)
    assert crmlib.connect().url == small_url


def test_dtypes_follow_the_schema(any_url):
    crm = crmlib.connect(any_url)
    orders = crm.orders()
    assert str(orders["ordered_at"].dtype).startswith("datetime64")
    assert orders["order_id"].dtype == "int64" and str(orders["rep_id"].dtype) == "Int64"
    assert isinstance(orders["status"].dtype, pd.CategoricalDtype)
    lines = crm.order_lines()
    assert lines["unit_price"].dtype == "float64" and lines["quantity"].dtype == "int64"
    customers = crm.customers()
    assert str(customers["marketing_opt_in"].dtype) == "boolean"
    assert str(customers["birth_date"].dtype).startswith("datetime64")
    contacts = crm.campaign_contacts()
    assert contacts["treatment"].dtype == "bool"


@pytest.mark.parametrize("table", S.CANONICAL_TABLES)
def test_values_equal_plain_read_sql(small_url, table):
    crm = crmlib.connect(small_url)
    ours = crm.load(table)
    engine = sa.create_engine(small_url)
    plain = pd.read_sql_table(table, engine, parse_dates=list(S.DATE_COLUMNS[table]))
    engine.dispose()
    assert list(ours.columns) == list(plain.columns) and len(ours) == len(plain)
    for col in ours.columns:
        a = ours[col].astype(object).where(ours[col].notna(), None).tolist()
        b = plain[col].astype(object).where(plain[col].notna(), None).tolist()
        if col in S.DATE_COLUMNS[table]:
            a = [None if v is None else pd.Timestamp(v) for v in a]
            b = [None if v is None else pd.Timestamp(v) for v in b]
        assert a == b, f"{table}.{col}"


def test_postgresql_and_sqlite_hold_the_same_data(small_url, pg_url):
    a = crmlib.connect(small_url).order_lines().sort_values(["order_id", "line_no"]).reset_index(drop=True)
    b = crmlib.connect(pg_url).order_lines().sort_values(["order_id", "line_no"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    oa = crmlib.connect(small_url).orders(since="2025-01-01", until="2025-04-01")
    ob = crmlib.connect(pg_url).orders(since="2025-01-01", until="2025-04-01")
    assert len(oa) == len(ob) > 0
    # each database returns the range in its own order (SQLite walks the ordered_at index)
    assert (oa.sort_values("order_id")["ordered_at"].values
            == ob.sort_values("order_id")["ordered_at"].values).all()


def test_since_until_filter_in_sql(any_url):
    crm = crmlib.connect(any_url)
    orders = crm.orders(since="2025-01-01", until="2025-02-01")
    assert len(orders) > 0
    assert orders["ordered_at"].min() >= pd.Timestamp("2025-01-01")
    assert orders["ordered_at"].max() < pd.Timestamp("2025-02-01")
    lines = crm.order_lines(since="2025-01-01", until="2025-02-01")
    assert set(lines["order_id"]) == set(orders["order_id"])


def test_sqlalchemy_fallback_gives_same_frames(small_url):
    a = crmlib.connect(small_url).customers()
    b = crmlib.connect(small_url, engine="sqlalchemy").customers()
    pd.testing.assert_frame_equal(a, b)


def test_filter_values_are_bound_not_formatted(small_url):
    crm = crmlib.connect(small_url)
    with pytest.raises(ParameterError, match="'since' must be a date"):
        crm.orders(since="2025-01-01'; DROP TABLE orders; --")


@pytest.mark.parametrize("sql", ["DELETE FROM orders", "UPDATE customers SET first_name = 'x'",
                                 "CREATE TABLE hack (x INTEGER)"])
def test_writes_are_refused_by_the_database(any_url, sql):
    crm = crmlib.connect(any_url)
    with pytest.raises(sa.exc.DBAPIError, match="(?i)read-?only|readonly"):
        with crm.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    conn = crm._adbc()
    try:
        with pytest.raises(Exception, match="(?i)read-?only|readonly"), conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def test_loading_everything_leaves_the_file_unchanged(small_path):
    before = _hash(small_path)
    crm = crmlib.connect(f"sqlite:///{small_path}")
    for table in S.CANONICAL_TABLES:
        crm.load(table)
    crm.truth("customers")
    crm.close()
    assert _hash(small_path) == before


def test_missing_table_names_table_and_url(db_copy):
    con = sqlite3.connect(db_copy)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("DROP TABLE payments")
    con.commit()
    con.close()
    crm = crmlib.connect(f"sqlite:///{db_copy}")
    with pytest.raises(DataContractError, match=r"table 'payments' is missing from sqlite:///.*copy\.sqlite") as err:
        crm.payments()
    assert err.value.table == "payments"
    crm.orders()  # other tables still load


def test_missing_column_names_table_column_and_url(db_copy):
    con = sqlite3.connect(db_copy)
    con.execute("DROP INDEX ix_orders_ordered_at")
    con.execute("ALTER TABLE orders DROP COLUMN ordered_at")
    con.commit()
    con.close()
    crm = crmlib.connect(f"sqlite:///{db_copy}")
    with pytest.raises(DataContractError, match=r"table 'orders' in sqlite:///\S+ is missing column\(s\) \['ordered_at'\]"):
        crm.orders()


def test_empty_table_is_reported_when_rows_are_required(db_copy):
    con = sqlite3.connect(db_copy)
    con.execute("DELETE FROM payments")
    con.commit()
    con.close()
    crm = crmlib.connect(f"sqlite:///{db_copy}")
    empty = crm.payments()
    assert empty.empty and list(empty.columns) == S.table_columns("payments")
    assert str(empty["paid_at"].dtype).startswith("datetime64")
    with pytest.raises(EmptyDataError, match="table 'payments' in sqlite:///\\S+ has no rows"):
        crm.payments(allow_empty=False)
    with pytest.raises(EmptyDataError, match="between since=2030-01-01"):
        crm.orders(since="2030-01-01", allow_empty=False)


def test_missing_sqlite_file(tmp_path):
    with pytest.raises(DatabaseUnavailableError, match="database file not found: .*nope.sqlite.*crmlib sample"):
        crmlib.connect(f"sqlite:///{tmp_path}/nope.sqlite")


def test_unreachable_server_redacts_password():
    url = "postgresql+psycopg://crm:hunter2@127.0.0.1:9/crm"
    with pytest.raises(DatabaseUnavailableError, match=r"cannot connect to postgresql\+psycopg://crm:\*\*\*@127.0.0.1:9/crm") as err:
        crmlib.connect(url)
    assert "hunter2" not in str(err.value)


def test_unknown_table_and_column(small_url):
    crm = crmlib.connect(small_url)
    with pytest.raises(DataContractError, match="unknown table 'order'; canonical tables are"):
        crm.load("order")
    with pytest.raises(DataContractError, match=r"has no canonical column\(s\) \['price'\]"):
        crm.load("order_lines", columns=["order_id", "price"])
    with pytest.raises(ParameterError, match="table 'products' has no time column"):
        crm.load("products", since="2024-01-01")


def test_truth_tables_only_in_samples(small_url):
    crm = crmlib.connect(small_url)
    assert {"truth_customers", "truth_rules"} <= set(crm.tables())
    with pytest.raises(DataContractError, match="no table 'truth_nothing'"):
        crm.truth("nothing")


def test_parallel_rowid_ranges_give_the_same_frame(small_url, monkeypatch):
    whole = crmlib.connect(small_url).order_lines(since="2024-01-01")
    monkeypatch.setattr("crmlib.db._PARTITION_ROWS", 10)
    crm = crmlib.connect(small_url)
    assert len(crm._rowid_ranges("order_lines")) >= 2
    pd.testing.assert_frame_equal(crm.order_lines(since="2024-01-01"), whole)
    pd.testing.assert_frame_equal(crm.orders(), crmlib.connect(small_url, engine="sqlalchemy").orders())
    pd.testing.assert_frame_equal(crm.order_lines(), crmlib.connect(small_url, engine="sqlalchemy").order_lines())


def test_numeric_tables_convert_batch_by_batch():
    """The low-memory path of all-numeric tables: parts of several batches, in order, emptied."""
    import pyarrow as pa

    from crmlib.db import _to_pandas

    def part(start, stop):
        ids = pa.array(range(start, stop), pa.int64())
        t = pa.table({"order_id": ids, "line_no": ids, "product_id": ids, "quantity": ids,
                      "unit_price": pa.array([i / 4 for i in range(start, stop)]),
                      "discount": pa.array([0.0] * (stop - start))})
        return pa.Table.from_batches(t.to_batches(max_chunksize=3))

    parts = [part(0, 10), part(10, 11), part(11, 25)]
    frame = _to_pandas("order_lines", parts)
    assert parts == []  # consumed, so that nothing else keeps the Arrow buffers alive
    assert frame["order_id"].tolist() == list(range(25)) and frame["order_id"].dtype == "int64"
    assert frame["unit_price"].tolist() == [i / 4 for i in range(25)]
    assert list(frame.columns) == ["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"]


def test_validate_applies_the_import_rules(db_copy):
    crm = crmlib.connect(f"sqlite:///{db_copy}")
    assert len(crm.order_lines(validate=True)) > 0
    con = sqlite3.connect(db_copy)
    con.execute("UPDATE order_lines SET discount = 1.5 WHERE order_id IN (1, 2)")
    con.commit()
    con.close()
    crm = crmlib.connect(f"sqlite:///{db_copy}")
    with pytest.raises(DataContractError, match=r"order_lines in sqlite:///\S+: \d+ row\(s\) break the rules of order_lines: discount in_range"):
        crm.order_lines(validate=True)
    assert len(crm.order_lines()) > 0  # without validation the rows load as they are
