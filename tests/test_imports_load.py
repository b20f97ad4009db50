"""Importing: each bad input gets a clear message or a quarantined row, and nothing valid is lost."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

import crmlib
from crmlib.cli import main
from crmlib.config import DATA_DIR
from crmlib.errors import CrmlibError, DataContractError, EmptyDataError
from crmlib.imports.load import default_log_dir, run_import
from crmlib.imports.mapping import load_mapping

MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "mappings"
HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
ROWS = [
    ["536365", "85123A", "WHITE HANGING HEART", "6", "12/1/2010 8:26", "2.55", "17850", "United Kingdom"],
    ["536365", "71053", "WHITE METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850", "United Kingdom"],
    ["536366", "22633", "HAND WARMER UNION JACK", "6", "12/1/2010 8:28", "1.85", "17850", "United Kingdom"],
    ["536367", "84879", "ASSORTED COLOUR BIRD", "32", "12/1/2010 8:34", "1.69", "13047", "EIRE"],
    ["C536379", "D", "DISCOUNT", "-1", "12/1/2010 9:41", "27.50", "14527", "United Kingdom"],
    ["536380", "22961", "JAM MAKING SET", "-2", "12/1/2010 9:45", "1.45", "13047", "EIRE"],
]


def write_csv(path, rows=ROWS, header=HEADER, encoding="utf-8"):
    frame = pd.DataFrame(rows, columns=header)
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    return path


def mapping_for(tmp_path, csv_path, name="online_retail.yml"):
    data = yaml.safe_load((MAPPINGS / name).read_text())
    first = next(iter(data["sources"]))
    data["sources"][first]["path"] = str(csv_path)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def target(tmp_path):
    return f"sqlite:///{tmp_path / 'target.sqlite'}"


def run(tmp_path, target, rows=ROWS, **kw):
    csv = write_csv(tmp_path / "export.csv", rows, **kw)
    return run_import(mapping_for(tmp_path, csv), target, log_dir=tmp_path / "logs")


def lines_accounted_for(result, n_rows):
    """Every source row is a loaded order line or a quarantined one."""
    lines = result.counts.set_index("table").loc["order_lines"]
    q = result.quarantine[result.quarantine["table"] == "order_lines"]["source_row"].nunique()
    return lines["loaded"] + q == n_rows


def test_clean_export_loads_and_reads_back(tmp_path, target):
    result = run(tmp_path, target)
    counts = result.counts.set_index("table")
    assert counts.loc["orders", "loaded"] == 5 and counts.loc["order_lines", "loaded"] == 6
    assert counts.loc["customers", "loaded"] == 3 and result.quarantine.empty
    crm = crmlib.connect(target)
    orders = crm.orders()
    assert orders["status"].value_counts().to_dict() == {"completed": 3, "cancelled": 1, "returned": 1}
    assert (crm.order_lines()["quantity"] > 0).all()  # the sign lives in orders.status
    assert set(crm.customers()["country"]) == {"GB", "IE"}


def test_missing_required_column_is_named(tmp_path, target):
    header = [h for h in HEADER if h != "InvoiceDate"]
    rows = [[v for h, v in zip(HEADER, r, strict=True) if h != "InvoiceDate"] for r in ROWS]
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['InvoiceDate'\]; found \['InvoiceNo'"):
        run(tmp_path, target, rows=rows, header=header)
    engine = sa.create_engine(target)
    assert sa.inspect(engine).get_table_names() == []  # one transaction: nothing half-written
    engine.dispose()


def test_unparseable_dates_are_quarantined_with_the_reason(tmp_path, target):
    rows = [*ROWS, ["536400", "22961", "JAM MAKING SET", "1", "31/31/2011 10:00", "1.45", "13047", "EIRE"]]
    result = run(tmp_path, target, rows=rows)
    reasons = result.quarantine.set_index("table")["reason"]
    assert "ordered_at: date '31/31/2011 10:00' does not match %m/%d/%Y %H:%M" in reasons["orders"]
    assert lines_accounted_for(result, len(rows))
    assert len(crmlib.connect(target).orders()) == 5  # the valid ones are all there


def test_negative_quantities_are_returns_and_c_invoices_cancellations(tmp_path, target):
    run(tmp_path, target)
    crm = crmlib.connect(target)
    lines = crm.order_lines().merge(crm.orders(), on="order_id").merge(crm.products(), on="product_id")
    status = lines.set_index("sku")["status"]
    assert status["22961"] == "returned" and status["D"] == "cancelled" and status["85123A"] == "completed"
    assert lines.set_index("sku").loc["22961", "quantity"] == 2


def test_unknown_codes_are_quarantined_and_follow_through(tmp_path, target):
    rows = [*ROWS, ["536500", "22961", "JAM MAKING SET", "1", "12/2/2010 10:00", "1.45", "99999", "Narnia"]]
    result = run(tmp_path, target, rows=rows)
    q = result.quarantine.set_index("table")["reason"]
    assert q["customers"] == "country: unknown country 'Narnia' (not an ISO 3166 name or code)"
    assert q["orders"] == "customer_id: no customers record with source ID '99999'"
    assert q["order_lines"] == "order_id: no orders record with source ID '536500'"
    assert lines_accounted_for(result, len(rows))


@pytest.mark.parametrize("encoding, note", [("utf-8-sig", None), ("latin-1", "decoded as cp1252")])
def test_encodings(tmp_path, target, encoding, note):
    rows = [r.copy() for r in ROWS]
    rows[0][2] = "CRÈME BRÛLÉE SET"
    result = run(tmp_path, target, rows=rows, encoding=encoding)
    names = set(crmlib.connect(target).products()["name"])
    assert "Crème Brûlée Set" in names
    assert (note is None and not result.notes) or any(note in n for n in result.notes)


def test_empty_file(tmp_path, target):
    path = tmp_path / "export.csv"
    path.write_bytes(b"")
    with pytest.raises(EmptyDataError, match=r"source 'retail' \(.*export.csv\) is empty \(no header row\)"):
        run_import(mapping_for(tmp_path, path), target, log_dir=tmp_path)


def test_header_only_file(tmp_path, target):
    with pytest.raises(EmptyDataError, match=r"source 'retail' \(.*\) has no rows; nothing to import"):
        run(tmp_path, target, rows=[])


def test_logs_go_beside_the_target_database_by_default(tmp_path, capsys):
    # the mapping, the sources and the database each in a folder of their own, none of them data/
    (tmp_path / "src").mkdir()
    csv = write_csv(tmp_path / "src" / "export.csv")
    mapping = mapping_for(tmp_path / "src", csv)
    db = tmp_path / "db" / "shop.sqlite"
    before = set((DATA_DIR / "imports").glob("*")) if (DATA_DIR / "imports").is_dir() else set()
    assert main(["import", str(mapping), "--url", f"sqlite:///{db}"]) == 0
    logs = tmp_path / "db" / "shop.imports"
    [log] = logs.glob("online_retail-run0001-*.log")
    assert f"log: {log}" in capsys.readouterr().out
    after = set((DATA_DIR / "imports").glob("*")) if (DATA_DIR / "imports").is_dir() else set()
    assert after == before  # nothing written into the project's data/
    runs = pd.read_sql("SELECT log_path FROM import_runs", sa.create_engine(f"sqlite:///{db}"))
    assert runs["log_path"].tolist() == [str(log)]


def test_import_command_prints_no_warning(tmp_path):
    # pandera probes pyspark.pandas, which warns under pandas 3; an import uses no Spark
    import os
    import subprocess
    import sys

    mapping = mapping_for(tmp_path, write_csv(tmp_path / "export.csv"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    done = subprocess.run([sys.executable, "-m", "crmlib.cli", "import", str(mapping), "--url",
                           f"sqlite:///{tmp_path / 'crm.sqlite'}"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "loaded" in done.stdout and done.stderr == ""


def test_default_log_dir_of_a_server_database_is_beside_the_mapping(tmp_path):
    mapping = load_mapping(mapping_for(tmp_path, write_csv(tmp_path / "export.csv")))
    assert default_log_dir("postgresql+psycopg://crm:pw@db/crm", mapping) == tmp_path.resolve() / "imports"
    assert default_log_dir(f"sqlite:///{tmp_path}/a/crm.sqlite") == tmp_path.resolve() / "a" / "crm.imports"


def test_quarantine_file_and_log_sit_together(tmp_path, target):
    rows = [*ROWS, ["536400", "22961", "JAM", "x", "12/2/2010 10:00", "1.45", "13047", "EIRE"]]
    result = run(tmp_path, target, rows=rows)
    assert result.quarantine_path.parent == result.log_path.parent == tmp_path / "logs"
    saved = pd.read_csv(result.quarantine_path)
    assert list(saved.columns) == ["source", "source_row", "table", "key", "reason"]
    assert saved.set_index("table").loc["order_lines", "reason"] == "quantity: 'x' is not a number"
    assert "quarantined 1 source row(s)" in result.log_path.read_text()
    runs = pd.read_sql("SELECT * FROM import_runs", sa.create_engine(target))
    assert runs.loc[0, "quarantined"] >= 1 and runs.loc[0, "status"] == "ok"


def test_importing_twice_changes_nothing(tmp_path, target):
    first = run(tmp_path, target)
    before = {t: crmlib.connect(target).load(t) for t in ("customers", "products", "orders", "order_lines")}
    second = run(tmp_path, target)
    assert second.totals()["loaded"] == 0 and second.totals()["skipped"] == first.totals()["loaded"]
    for table, frame in before.items():
        pd.testing.assert_frame_equal(crmlib.connect(target).load(table), frame)


def test_new_rows_extend_an_earlier_import(tmp_path, target):
    run(tmp_path, target)
    more = [*ROWS, ["536365", "22752", "SET 7 BABUSHKA", "2", "12/1/2010 8:26", "7.65", "17850", "United Kingdom"]]
    result = run(tmp_path, target, rows=more)
    assert result.counts.set_index("table").loc["order_lines", "loaded"] == 1
    lines = crmlib.connect(target).order_lines()
    assert sorted(lines[lines["order_id"] == 1]["line_no"]) == [1, 2, 3]


def _sqlite_source(tmp_path):
    path = tmp_path / "othercrm.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    pd.DataFrame({"kdnr": ["1", "2"], "vorname": ["Anna", "Ben"], "nachname": ["Schmidt", "Meyer"],
                  "anrede": ["Frau", "Herr"], "seit": ["2024-01-05", "2024-02-01"]}).to_sql("kunden", engine, index=False)
    engine.dispose()
    mapping = {"name": "other", "sources": {"crm": {"url": f"sqlite:///{path}", "table": "kunden"}},
               "tables": {"customers": {"source": "crm", "key": "kdnr", "columns": {
                   "first_name": "vorname", "last_name": "nachname",
                   "salutation": {"from": "anrede", "standardise": "salutation"}, "created_at": "seit"}}}}
    mpath = tmp_path / "other.yml"
    mpath.write_text(yaml.safe_dump(mapping))
    return path, mpath


def test_database_source_is_only_read(tmp_path, target):
    path, mapping = _sqlite_source(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    run_import(mapping, target, log_dir=tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    customers = crmlib.connect(target).customers()
    assert customers["salutation"].tolist() == ["Mrs", "Mr"]


def test_target_must_not_be_a_source(tmp_path):
    path, mapping = _sqlite_source(tmp_path)
    with pytest.raises(CrmlibError, match="imports never write to a source"):
        run_import(mapping, f"sqlite:///{path}", log_dir=tmp_path)


def test_excel_source(tmp_path, target):
    xlsx = tmp_path / "export.xlsx"
    pd.DataFrame(ROWS, columns=HEADER).to_excel(xlsx, index=False)
    result = run_import(mapping_for(tmp_path, xlsx), target, log_dir=tmp_path)
    assert result.counts.set_index("table").loc["order_lines", "loaded"] == 6


def test_customer_list_merges_duplicates(tmp_path, target):
    from crmlib.imports.examples import customer_list
    from crmlib.sample import generate

    tables = generate(200, 3, duplicates=0.1)
    csv = tmp_path / "customers.csv"
    customer_list(tables).to_csv(csv, index=False)
    result = run_import(mapping_for(tmp_path, csv, "customer_list.yml"), target, log_dir=tmp_path)
    counts = result.counts.set_index("table").loc["customers"]
    planted = len(tables["truth_duplicates"])
    assert counts["merged"] == planted and counts["loaded"] == len(tables["customers"]) - planted
    ids = pd.read_sql("SELECT * FROM import_id_map WHERE table_name = 'customers'", sa.create_engine(target))
    assert ids["canonical_key"].nunique() == counts["loaded"] and len(ids) == len(tables["customers"])
    phones = crmlib.connect(target).customers()["phone"].dropna()
    assert phones.str.fullmatch(r"\+1\d{10}").all()


def _customer_import(tmp_path, decisions=None):
    from crmlib.imports.examples import customer_list
    from crmlib.sample import generate

    tmp_path.mkdir(exist_ok=True)
    tables = generate(150, 4, duplicates=0.1)
    customer_list(tables, seed=4).to_csv(tmp_path / "customer_list.csv", index=False)
    data = yaml.safe_load((MAPPINGS / "customer_list.yml").read_text())
    data["sources"]["people"]["path"] = "customer_list.csv"
    if decisions is not None:
        data["tables"]["customers"]["deduplicate"]["decisions"] = decisions
    path = tmp_path / "customer_list.yml"
    path.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'target.sqlite'}"
    return run_import(path, url, log_dir=tmp_path / "logs")


def test_clerical_decisions_are_followed_on_import(tmp_path):
    # no decisions file yet: the model decides, and the log says so
    first = _customer_import(tmp_path / "a", decisions="decisions.csv")
    merged = int(first.counts.set_index("table").loc["customers", "merged"])
    assert merged > 0 and any("no clerical decisions yet" in n for n in first.notes)
    # every pair of the list decided 'non-match' by a person (new customers are numbered 1, 2, ...
    # in an empty target): nothing is merged, whatever the model says
    (tmp_path / "b").mkdir()
    n = int(first.counts.set_index("table").loc["customers", "read"])
    left, right = zip(*[(i, j) for i in range(1, n + 1) for j in range(i + 1, n + 1)], strict=True)
    pd.DataFrame({"left_id": left, "right_id": right, "decision": "non-match"}).to_csv(
        tmp_path / "b" / "decisions.csv", index=False)
    second = _customer_import(tmp_path / "b", decisions="decisions.csv")
    assert int(second.counts.set_index("table").loc["customers", "merged"]) == 0
    assert not any("no clerical decisions" in n for n in second.notes)
