"""Scores written back (crmlib.report.scores): customer_scores on SQLite and PostgreSQL, never the source."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import sqlalchemy as sa
from report_support import copy_notebooks

from crmlib.cli import main
from crmlib.errors import CrmlibError
from crmlib.report import lists
from crmlib.report.scores import check_target, same_database, score_rows, write_scores

UNREACHABLE = {"sqlite": "sqlite:////nonexistent-crmlib-dir/scores.sqlite",
               "postgresql": "postgresql://crm:pw@127.0.0.1:1/scores"}


def fake_run(tmp_path, run_id="20250101T020000Z", n=4, extra_list=False):
    run_dir = tmp_path / "runs" / "segmentation" / run_id
    frame = pd.DataFrame({"customer_id": range(1, n + 1), "clv": [10.5 * i for i in range(n)],
                          "rfm_segment": ["Champions", "Lost"] * (n // 2), "first_name": ["A"] * n})
    entries = [lists.publish("customer_value", frame, folder=run_dir / "lists", display=False,
                             scores=["clv", "rfm_segment"])]
    if extra_list:  # a second list scoring the same name: the insert fails half-way
        entries.append(lists.publish("again", frame, folder=run_dir / "lists", display=False,
                                     scores=["clv"]))
    summary = {"report": "segmentation", "run_id": run_id, "started": "2025-01-01T02:00:00Z",
               "status": "ok", "lists": entries}
    return run_dir, summary


def read(url) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql("SELECT * FROM customer_scores ORDER BY run_id, customer_id, name", conn)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scores.sqlite'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"scores_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}")


def test_score_rows_are_long_with_numbers_and_text(tmp_path):
    run_dir, summary = fake_run(tmp_path)
    rows = score_rows(run_dir, summary)
    assert list(rows.columns) == ["run_id", "report", "customer_id", "name", "value", "text", "list",
                                  "computed_at"]
    assert len(rows) == 8
    clv = rows[rows["name"] == "clv"]
    assert clv["value"].tolist() == [0.0, 10.5, 21.0, 31.5] and clv["text"].isna().all()
    seg = rows[rows["name"] == "rfm_segment"]
    assert seg["text"].tolist() == ["Champions", "Lost", "Champions", "Lost"] and seg["value"].isna().all()
    assert str(rows["computed_at"].iloc[0]) == "2025-01-01 02:00:00"


def test_write_scores_one_transaction_no_duplicates(target, tmp_path):
    run_dir, summary = fake_run(tmp_path)
    assert write_scores(target, run_dir, summary) == 8
    assert write_scores(target, run_dir, summary) == 8  # the same run again replaces its rows
    other_dir, other = fake_run(tmp_path, run_id="20250102T020000Z", n=2)
    write_scores(target, other_dir, other)
    got = read(target)
    assert len(got) == 12
    assert got.groupby("run_id").size().to_dict() == {"20250101T020000Z": 8, "20250102T020000Z": 4}
    first = got[(got["run_id"] == "20250101T020000Z") & (got["customer_id"] == 2)]
    assert first.set_index("name")["value"].to_dict()["clv"] == 10.5
    assert first.set_index("name")["text"].to_dict()["rfm_segment"] == "Lost"
    assert set(got["report"]) == {"segmentation"} and set(got["list"]) == {"customer_value"}


def test_a_write_that_fails_half_way_leaves_nothing(target, tmp_path):
    run_dir, summary = fake_run(tmp_path, extra_list=True)  # 'clv' twice per customer
    with pytest.raises(CrmlibError, match="scores to"):
        write_scores(target, run_dir, summary, chunk=3)
    engine = sa.create_engine(target)
    try:
        if sa.inspect(engine).has_table("customer_scores"):
            assert read(target).empty
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_target_is_one_clear_error(kind, tmp_path):
    run_dir, summary = fake_run(tmp_path)
    with pytest.raises(CrmlibError, match=r"scores to .*(unable to open|Operational|connect|refused)") as info:
        write_scores(UNREACHABLE[kind], run_dir, summary)
    assert "\n" not in str(info.value) and ":pw@" not in str(info.value)


@pytest.mark.parametrize(("a", "b", "same"), [
    ("sqlite:///{d}/crm.sqlite", "sqlite:///{d}/./crm.sqlite", True),
    ("sqlite:///{d}/crm.sqlite", "sqlite+pysqlite:///{d}/sub/../crm.sqlite", True),
    ("sqlite:///{d}/crm.sqlite", "sqlite:///{d}/scores.sqlite", False),
    ("postgresql://a:x@db.example/crm", "postgresql+psycopg://b:y@DB.example:5432/crm", True),
    ("postgresql://a@localhost/crm", "postgresql://a@127.0.0.1:5432/crm", True),
    ("postgresql://a@db.example/crm", "postgresql://a@db.example/scores", False),
    ("postgresql://a@db.example/crm", "sqlite:///crm", False),
])
def test_same_database(tmp_path, a, b, same):
    (tmp_path / "sub").mkdir()
    (tmp_path / "crm.sqlite").write_bytes(b"")
    assert same_database(a.format(d=tmp_path), b.format(d=tmp_path)) is same


def test_check_target_refuses_the_source(small_url):
    with pytest.raises(CrmlibError, match="is the source database the reports read .* stays read-only"):
        check_target(small_url, None)  # CRMLIB_DB_URL is the default source
    with pytest.raises(CrmlibError, match="is the source database"):
        check_target("postgresql://other:pw@db.example/crm", "postgresql://crm:secret@db.example:5432/crm")
    assert check_target("sqlite:///elsewhere.sqlite", None) == "sqlite:///elsewhere.sqlite"
    with pytest.raises(CrmlibError, match="not a database URL"):
        check_target("not a url", None)


# ------------------------------------------------------------------------------- through crmlib run

@pytest.fixture
def project(tmp_path):
    return {"notebooks": copy_notebooks(tmp_path / "notebooks", ("listed",)), "reports": tmp_path / "reports"}


def run(capsys, project, *args):
    code = main(["run", "listed", "--notebooks-dir", str(project["notebooks"]), "--reports-dir",
                 str(project["reports"]), "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_source_url_is_refused_before_anything_runs(capsys, project, small_url):
    code, out, err = run(capsys, project, "--scores-to", small_url)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is the source database" in err
    assert not (project["reports"] / "runs").exists()


def test_run_writes_scores_and_a_failed_run_writes_nothing(capsys, project, target):
    code, out, _ = run(capsys, project, "--scores-to", target)
    assert code == 0, out
    assert "scores        listed                  60 rows -> " in out
    got = read(target)
    assert len(got) == 60 and set(got["name"]) == {"score", "segment"}
    run_id = got["run_id"].iloc[0]
    code, out, _ = run(capsys, project, "--scores-to", target, "-p", "fail", "true")
    assert code == 1 and not any(line.startswith(("scores", "SCORES")) for line in out.splitlines())
    assert read(target)["run_id"].unique().tolist() == [run_id]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_target_still_publishes_and_reports_one_line(capsys, project, kind):
    code, out, _ = run(capsys, project, "--scores-to", UNREACHABLE[kind])
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("SCORES FAILED")]
    assert len(lines) == 1 and "listed" in lines[0] and ":pw@" not in out
    assert out.splitlines()[0].startswith("ok ")
    assert (project["reports"] / "listed" / "latest.html").is_file()
    latest = (project["reports"] / "listed" / "latest.json").read_text()
    assert '"status": "failed"' in latest and "SCORES" not in latest
