"""The Parquet mart: layout, measures, incremental and idempotent runs, interruption, schema drift."""

from __future__ import annotations

import importlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

import crmlib
from crmlib import mart
from crmlib.cli import main as cli_main
from crmlib.errors import DataContractError, ParameterError

E = importlib.import_module("crmlib.mart.export")  # the module; crmlib.mart.export is the function


def _parts(out: Path) -> int:
    """How many partitions (fact months and dimensions) the manifest lists."""
    tables = json.loads((out / "_manifest.json").read_text())["tables"]
    return sum(len(t["partitions"]) for t in tables.values())


def _files(root: Path) -> dict[str, int]:
    """Every file under the mart with its modification time in ns."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def built(small_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("mart") / "mart"
    result = mart.export(small_url, out)
    return out, result


def test_layout_and_manifest(built):
    out, result = built
    manifest = json.loads((out / "_manifest.json").read_text())
    assert set(manifest["tables"]) == {*E.FACTS, *E.DIMENSIONS, "dim_date"}
    months = sorted(manifest["tables"]["fact_sales"]["partitions"])
    assert months[0] == "2023-01" and months[-1] == "2025-12" and len(months) == 36
    for month in months:
        assert (out / "fact_sales" / f"month={month}" / "part-0.parquet").is_file()
    for dim in [*E.DIMENSIONS, "dim_date"]:
        assert (out / dim / "part-0.parquet").is_file()
    assert len(result.written) == _parts(out) > 3 * 36
    assert result.rows == sum(p["rows"] for t in manifest["tables"].values() for p in t["partitions"].values())


def test_sales_fact_matches_source(built, small_url):
    out, _ = built
    crm = crmlib.connect(small_url)
    lines = crm.order_lines()
    sales = mart.read(out, "fact_sales")
    assert len(sales) == len(lines)
    assert list(sales.columns[: len(E.SALES_COLUMNS)]) == list(E.SALES_COLUMNS)
    expected = (lines["quantity"] * lines["unit_price"] * (1 - lines["discount"])).sum()
    assert sales["net_amount"].sum() == pytest.approx(expected, rel=1e-12)
    assert (sales["month"] == sales["ordered_at"].dt.strftime("%Y-%m")).all()
    assert sales["date_key"].isin(mart.read(out, "dim_date")["date_key"]).all()
    # the partitioned folder reads as one table with a month column in any Parquet reader
    dataset = ds.dataset(out / "fact_sales", format="parquet", partitioning="hive")
    assert dataset.count_rows() == len(lines)
    customers = mart.read(out, "dim_customer")
    assert customers["customer_id"].is_unique and len(customers) == len(crm.customers())


def test_second_run_writes_nothing(built, small_url):
    out, _ = built
    before = _files(out)
    again = mart.export(small_url, out)
    assert again.written == [] and again.removed == [] and again.rows == 0
    assert again.unchanged == _parts(out)
    assert _files(out) == before  # not even the manifest is touched


def _add_month(path: Path) -> None:
    """Append two orders (three lines) in January 2026 and change a line of March 2024."""
    con = sqlite3.connect(path)
    try:
        cur = con.cursor()
        oid = cur.execute("SELECT max(order_id) FROM orders").fetchone()[0]
        for k, day in enumerate(["2026-01-05 10:00:00.000000", "2026-01-09 17:30:00.000000"], 1):
            cur.execute("INSERT INTO orders (order_id, customer_id, channel_id, rep_id, ordered_at, status)"
                        " VALUES (?, 1, 1, NULL, ?, 'completed')", (oid + k, day))
            cur.execute("INSERT INTO order_lines VALUES (?, 1, 1, 2, 9.5, 0.0)", (oid + k,))
        cur.execute("INSERT INTO order_lines VALUES (?, 2, 2, 1, 20.0, 0.1)", (oid + 2,))
        target = cur.execute("SELECT l.order_id, l.line_no FROM order_lines l JOIN orders o USING (order_id)"
                             " WHERE o.ordered_at LIKE '2024-03-%' LIMIT 1").fetchone()
        cur.execute("UPDATE order_lines SET quantity = quantity + 1 WHERE order_id = ? AND line_no = ?", target)
        con.commit()
    finally:
        con.close()


def test_incremental_only_new_or_changed_months(db_copy, tmp_path):
    url, out = f"sqlite:///{db_copy}", tmp_path / "mart"
    mart.export(url, out)
    before = _files(out)
    _add_month(db_copy)
    result = mart.export(url, out)
    # the changed line touches only fact_sales; the new orders add a month to the order headers too
    assert sorted(result.written) == ["dim_date", "fact_orders/month=2026-01", "fact_sales/month=2024-03",
                                      "fact_sales/month=2026-01"]
    assert result.rows == (len(mart.read(out, "fact_sales", months=["2024-03", "2026-01"]))
                           + len(mart.read(out, "fact_orders", months=["2026-01"])) + len(mart.read(out, "dim_date")))
    after = _files(out)
    changed = {f for f in after if before.get(f) != after[f]}
    assert changed == {"_manifest.json", "dim_date/part-0.parquet", "fact_sales/month=2024-03/part-0.parquet",
                       "fact_sales/month=2026-01/part-0.parquet", "fact_orders/month=2026-01/part-0.parquet"}
    assert len(mart.read(out, "fact_sales", months=["2026-01"])) == 3


def test_since_limits_the_months_considered(db_copy, tmp_path):
    url, out = f"sqlite:///{db_copy}", tmp_path / "mart"
    mart.export(url, out)
    _add_month(db_copy)
    result = mart.export(url, out, since="2025-12-15")  # rounded down to 2025-12-01
    assert "fact_sales/month=2026-01" in result.written
    assert "fact_sales/month=2024-03" not in result.written  # outside the window: left as it was
    assert not any(w.startswith("fact_") and "month=2025-11" in w for w in result.written)


def test_since_must_be_a_date(small_url, tmp_path):
    with pytest.raises(ParameterError, match=r"mart.export: 'since' must be a date such as '2025-03-01'; got 'soon'"):
        mart.export(small_url, tmp_path / "m", since="soon")


def test_interrupted_export_leaves_only_whole_partitions(small_url, tmp_path, monkeypatch):
    out = tmp_path / "mart"
    calls = {"n": 0}

    def boom(tmp):
        calls["n"] += 1
        if calls["n"] == 5:
            # the fifth partition has been written to its temp folder but not renamed yet
            assert (out / tmp / "part-0.parquet").is_file()
            raise KeyboardInterrupt

    monkeypatch.setattr(E, "_after_write_hook", boom)
    with pytest.raises(KeyboardInterrupt):
        mart.export(small_url, out)
    left = _files(out)
    assert not any("_tmp-" in f for f in left)
    manifest = json.loads((out / "_manifest.json").read_text())
    done = manifest["tables"]["fact_sales"]["partitions"]
    assert sorted(done) == ["2023-01", "2023-02", "2023-03", "2023-04"]
    # every partition a reader can see is whole: its rows equal the manifest's count
    dataset = ds.dataset(out / "fact_sales", format="parquet", partitioning="hive")
    seen = dataset.to_table(columns=["month"]).to_pandas()["month"].value_counts()
    assert {str(k): int(v) for k, v in seen.items()} == {m: p["rows"] for m, p in done.items()}

    monkeypatch.setattr(E, "_after_write_hook", lambda tmp: None)
    resumed = mart.export(small_url, out)
    assert resumed.unchanged == 4 and len(resumed.written) == _parts(out) - 4
    clean = mart.export(small_url, tmp_path / "clean")
    ours = json.loads((out / "_manifest.json").read_text())["tables"]
    theirs = json.loads((tmp_path / "clean" / "_manifest.json").read_text())["tables"]
    digest = lambda t: {n: {k: p["checksum"] for k, p in e["partitions"].items()} for n, e in t.items()}  # noqa: E731
    assert digest(ours) == digest(theirs) and clean.rows == resumed.rows + sum(
        p["rows"] for p in done.values())


def test_crash_between_the_two_renames_is_repaired(small_url, tmp_path):
    out = tmp_path / "mart"
    mart.export(small_url, out)
    part = out / "fact_sales" / "month=2024-05"
    part.rename(out / "fact_sales" / "_old-fact_sales__month=2024-05-abcdef123456")
    (out / "fact_sales" / "_tmp-fact_sales__month=2024-06-abcdef123456").mkdir()
    result = mart.export(small_url, out)
    assert result.written == [] and (part / "part-0.parquet").is_file()
    assert [p.name for p in (out / "fact_sales").iterdir() if p.name.startswith("_")] == []


def test_drift_new_source_column_is_carried(db_copy, tmp_path):
    url, out = f"sqlite:///{db_copy}", tmp_path / "mart"
    mart.export(url, out)
    con = sqlite3.connect(db_copy)
    con.execute("ALTER TABLE order_lines ADD COLUMN gift_wrap INTEGER DEFAULT 0")
    con.execute("UPDATE order_lines SET gift_wrap = 1 WHERE line_no = 1 AND order_id % 7 = 0")
    con.commit()
    con.close()
    result = mart.export(url, out)
    assert {w for w in result.written if w.startswith("fact_sales/")} == {
        f"fact_sales/month={m}" for m in mart.read(out, "fact_sales", columns=["order_id"])["month"].unique()}
    sales = mart.read(out, "fact_sales")
    assert "gift_wrap" in sales.columns
    flagged = sales.loc[sales["gift_wrap"] == 1, ["order_id", "line_no"]]
    assert len(flagged) > 0 and (flagged["line_no"] == 1).all() and (flagged["order_id"] % 7 == 0).all()
    assert mart.export(url, out).written == []


def test_drift_missing_required_column_stops_before_writing(db_copy, tmp_path):
    con = sqlite3.connect(db_copy)
    con.execute("ALTER TABLE order_lines DROP COLUMN discount")
    con.commit()
    con.close()
    out = tmp_path / "mart"
    with pytest.raises(DataContractError,
                       match=r"mart.export: source table 'order_lines' is missing required column\(s\) "
                             r"\['discount'\]; found \['order_id', 'line_no', 'product_id', 'quantity', "
                             r"'unit_price'\]. Nothing was written."):
        mart.export(f"sqlite:///{db_copy}", out)
    assert not out.exists()


def test_read_unknown_table(built):
    out, _ = built
    with pytest.raises(DataContractError, match=r"mart.read: table 'fact_returns' is not in the mart at"):
        mart.read(out, "fact_returns")


def test_cli_export_and_error(small_url, tmp_path, capsys):
    out = tmp_path / "cli-mart"
    assert cli_main(["mart", "export", "--url", small_url, "--out", str(out), "--since", "2025-11-01"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"mart {out}: wrote ") and "0 removed" in printed
    assert sorted(mart.read(out, "fact_sales", columns=["order_id"])["month"].unique()) == ["2025-11", "2025-12"]
    assert cli_main(["mart", "export", "--url", f"sqlite:///{tmp_path}/nope.sqlite", "--out", str(out)]) == 2
    assert "database file not found" in capsys.readouterr().err


def test_uri_is_passed_through_to_pyarrow_fs(small_url, tmp_path):
    uri = f"file://{tmp_path}/uri-mart"
    result = mart.export(small_url, uri, since="2025-12-01")
    assert result.out == uri and "fact_sales/month=2025-12" in result.written
    assert (tmp_path / "uri-mart" / "fact_sales" / "month=2025-12" / "part-0.parquet").is_file()
    assert mart.export(small_url, uri, since="2025-12-01").written == []


def test_any_fsspec_path_is_passed_through(small_url):
    pytest.importorskip("fsspec", reason="fsspec is not installed (optional; pyarrow handles s3/gs/hdfs)")
    result = mart.export(small_url, "memory://crmlib-test-mart", since="2025-12-01")
    assert "fact_sales/month=2025-12" in result.written
    sales = mart.read("memory://crmlib-test-mart", "fact_sales")
    assert set(sales["month"]) == {"2025-12"} and len(sales) > 0
    assert mart.export(small_url, "memory://crmlib-test-mart", since="2025-12-01").written == []


def test_date_dimension_columns():
    dim = E.date_dimension(pd.Timestamp("2024-02-10"), pd.Timestamp("2024-03-02"))
    assert len(dim) == 29 + 31 and dim["date_key"].iloc[0] == 20240201
    friday = dim.loc[dim["date_key"] == 20240301].iloc[0]
    assert friday["weekday"] == 4 and friday["weekday_name"] == "Friday" and not friday["is_weekend"]
