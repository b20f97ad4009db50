"""Erasure (crmlib.report.forget): lists, pages, notebooks and sites lose the customers; the audit
log records the request without them; the source database is not touched."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pandas as pd
import pytest
from audience_support import audience_run, personal_hits

from crmlib.cli import main
from crmlib.errors import ParameterError
from crmlib.report import audit
from crmlib.report.forget import forget, redact_html

GONE = (1, 2, 3)


@pytest.fixture(scope="module")
def erased(tmp_path_factory):
    """A copy of the session's audience run after ``crmlib forget 1 2 3``."""
    run = audience_run(tmp_path_factory)
    reports = tmp_path_factory.mktemp("forget") / "reports"
    shutil.copytree(run.reports, reports, symlinks=True)
    db = run.db_url.removeprefix("sqlite:///")
    before = hashlib.sha256(open(db, "rb").read()).hexdigest() if run.db_url.startswith("sqlite") else None
    result = forget([str(i) for i in GONE], reports_dir=reports, reference="DSAR-2026-17")
    after = hashlib.sha256(open(db, "rb").read()).hexdigest() if before else None
    return run, reports, result, before, after


def all_files(folder, suffix):
    return [p for p in folder.rglob(f"*{suffix}") if ".locks" not in p.parts]


def test_the_customers_leave_every_list_csv_and_parquet(erased):
    run, reports, result, _, _ = erased
    parquets = all_files(reports, ".parquet")
    csvs = all_files(reports, ".csv")
    # main lists, run history, the runs made for audiences (.audiences/) and the sites
    assert any(".audiences" in p.parts for p in parquets)
    assert any(p.is_relative_to(reports / "sales") for p in csvs)
    assert any("runs" in p.parts for p in csvs)
    for path in parquets:
        ids = pd.read_parquet(path)["customer_id"].tolist()
        assert not set(ids) & set(GONE) and len(ids) == 22, path  # the other 22 stay
    for path in csvs:
        frame = pd.read_csv(path, encoding="utf-8-sig")
        assert not set(frame["customer_id"]) & set(GONE) and len(frame) == 22, path
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # still opens in a spreadsheet
    assert result.rows_removed == 3 * len(parquets)


def test_the_pages_and_notebooks_no_longer_name_them(erased):
    run, reports, _, _, _ = erased
    gone = [p for p in run.people() if p[0] in GONE]
    kept = [p for p in run.people() if p[0] not in GONE]
    assert personal_hits(reports, gone) == []
    # the unmasked site still shows everybody else (the search can find names)
    hits = personal_hits(reports / "service", kept)
    assert "people/latest.html" in hits and "people/latest.ipynb" in hits
    before = (run.reports / "sales" / "people" / "latest.html").read_text(encoding="utf-8")
    after = (reports / "sales" / "people" / "latest.html").read_text(encoding="utf-8")
    row = re.compile(r'<tr><th>\d+</th><td class="num">(\d+)</td>')
    assert {1, 2, 3} <= {int(i) for i in row.findall(before)}
    assert not {1, 2, 3} & {int(i) for i in row.findall(after)} and len(row.findall(after)) == 22
    nb = json.loads((reports / "sales" / "people" / "latest.ipynb").read_text(encoding="utf-8"))
    notes = [o["data"]["text/plain"] for c in nb["cells"] for o in c.get("outputs", [])
             if "text/plain" in o.get("data", {})]
    assert "[output removed on an erasure request]" in notes  # the plain twin of a changed table


def test_counts_and_indexes_follow(erased):
    _, reports, _, _, _ = erased
    summary = next((reports / "runs" / "people").glob("*/summary.json"))
    assert {e["name"]: e["rows"] for e in json.loads(summary.read_text())["lists"]} == {
        "contacts": 22, "scores": 22}
    page = (reports / "service" / "people" / "latest.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="crmlib-lists-table">.*?</table>', page, re.S).group(0)
    assert re.findall(r'<td class="num">([\d,]+)</td>', table) == ["22", "22"]
    assert "(22 rows" in (reports / "service" / "index.html").read_text(encoding="utf-8")
    about = json.loads((reports / "sales" / "people" / "about.json").read_text())
    assert about["lists"][0]["rows"] == 22
    assert "(22 rows" in (reports / "index.html").read_text(encoding="utf-8")


def test_the_request_is_audited_without_the_ids(erased):
    _, reports, result, _, _ = erased
    records, torn = audit.read_log(reports)
    rec = records[-1]
    assert torn == 0 and rec["event"] == "forget" and rec["status"] == "ok"
    assert rec["customers"] == 3 and rec["reference"] == "DSAR-2026-17"
    assert rec["rows_removed"] == result.rows_removed and rec["user"] and rec["started"]
    assert rec["sites"] == ["sales", "service"]
    assert rec["files"] == result.files and all(
        audit.sha256_file(reports / k) == v for k, v in rec["files"].items())
    line = (reports / audit.AUDIT_FILE).read_text().splitlines()[-1]
    gone = [str(i) for i in GONE]
    assert not re.search(r'"customer_ids?"', line) and not any(
        f'"{i}"' in line or f"[{i}" in line for i in gone)
    assert "Holmes" not in line and "@" not in line


def test_the_source_database_is_not_written(erased):
    _, _, result, before, after = erased
    assert result.database_read is True
    if before is not None:
        assert before == after


def test_redact_html_drops_the_rows_by_column_or_row_label():
    page = ("<table><thead><tr><th>#</th><th>customer_id</th><th>first_name</th></tr></thead>"
            "<tbody><tr><th>1</th><td>1,043</td><td>Anna</td></tr>"
            "<tr><th>2</th><td>7</td><td>Ben</td></tr></tbody></table>"
            "<table><thead><tr><th></th><th>email</th></tr><tr><th>customer_id</th><th></th></tr>"
            "</thead><tbody><tr><th>1043</th><td>a@x.org</td></tr><tr><th>8</th><td>b@x.org</td>"
            "</tr></tbody></table><p>Write to anna@x.org</p>")
    out, n = redact_html(page, {"1043"}, strings=["anna@x.org"])
    assert n == 2 and "Anna" not in out and "a@x.org" not in out
    assert "Ben" in out and "b@x.org" in out and "Write to [erased]" in out
    out, n = redact_html(page, {"9"}, people=[("Ben", "Ben")])
    assert n == 1 and "Ben" not in out
    pairs = ("<table><thead><tr><th></th><th>left_id</th><th>right_id</th><th>score</th></tr></thead>"
             "<tbody><tr><th>0</th><td>12</td><td>1043</td><td>0.9</td></tr>"
             "<tr><th>1</th><td>12</td><td>13</td><td>0.8</td></tr></tbody></table>")
    out, n = redact_html(pairs, {"1043"})
    assert n == 1 and "1043" not in out and "<td>13</td>" in out


@pytest.mark.parametrize("bad", ["abc", "1.5", "-3", ""])
def test_bad_ids_are_refused(tmp_path, bad):
    with pytest.raises(ParameterError, match="crmlib forget: a customer id must be a whole number"):
        forget(["1", bad], reports_dir=tmp_path)
    assert not (tmp_path / audit.AUDIT_FILE).exists()


def test_crmlib_forget_command(erased, capsys, tmp_path):
    _, reports, _, _, _ = erased
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    assert main(["forget", "4", "--reports-dir", str(copy), "--db", "sqlite:///" + str(tmp_path / "no.db"),
                 "--reference", "T-1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("forgot 1 customer(s): ") and "erase the customers in the CRM too" in out
    assert "could not be read" in out
    assert pd.read_parquet(next((copy / "sales").rglob("contacts.parquet")))["customer_id"].min() == 5
    assert main(["forget", "x", "--reports-dir", str(copy)]) == 2
    assert "error: crmlib forget: a customer id must be a whole number; got 'x'." in capsys.readouterr().err


def test_scores_written_back_are_deleted_too_but_never_in_the_source(tmp_path, small_url):
    import sqlalchemy as sa

    from crmlib.errors import CrmlibError

    url = f"sqlite:///{tmp_path / 'scores.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text("CREATE TABLE customer_scores (run_id TEXT, report TEXT, customer_id "
                            "INTEGER, name TEXT, value REAL)"))
        con.execute(sa.text("INSERT INTO customer_scores VALUES ('r', 'x', :c, 's', 1.0)"),
                    [{"c": c} for c in (1, 2, 2, 3, 4)])
    reports = tmp_path / "reports"
    reports.mkdir()
    result = forget(["2", "4"], reports_dir=reports, scores_db=url)
    assert result.scores_removed == 3
    with engine.connect() as con:
        left = sorted(r[0] for r in con.execute(sa.text("SELECT customer_id FROM customer_scores")))
    engine.dispose()
    assert left == [1, 3]
    assert audit.read_log(reports)[0][-1]["scores_removed"] == 3
    with pytest.raises(CrmlibError, match="source"):
        forget(["1"], reports_dir=reports, scores_db=small_url, db_url=small_url)
    assert len(audit.read_log(reports)[0]) == 1  # refused before anything changed


def test_redact_html_drops_the_rows_of_an_interactive_table():
    """present.show_table(interactive=True) keeps its rows as JSON in a script, not as <tr>."""
    import json
    import re

    import pandas as pd

    from crmlib import present

    frame = pd.DataFrame({"customer_id": [1043, 7, 1043_0], "clv": [1.5, 2.5, 3.5],
                          "segment": ["Champions", "Lost", "Loyal"]})
    page = present.table_html(frame, interactive=True)

    def rows(html):
        data = re.search(r'"data_json": ("(?:[^"\\]|\\.)*")', html).group(1)
        return [r[0] for r in json.loads(json.loads(data))]

    assert rows(page) == [1043, 7, 10430]
    out, n = redact_html(page, {"1043"})
    assert rows(out) == [7, 10430] and n >= 1
    assert "Champions" not in out  # the fallback table's row went too
    assert redact_html(page, {"5"}) == (page, 0)
