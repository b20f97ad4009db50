"""Reports that do not apply: a notebook whose required tables are missing or empty is not started,
is recorded as "not applicable" with the reason, raises no alert, fails no exit code, and leaves its
last good page published (marked in the index as not refreshed)."""

from __future__ import annotations

import json
import textwrap

import nbformat
import pytest
import sqlalchemy as sa

from crmlib import schema as S
from crmlib.cli import main
from crmlib.config import NOTEBOOKS_DIR
from crmlib.errors import CrmlibError
from crmlib.report import runner, schedule, store
from crmlib.report.requires import missing_data, notebook_requires

NEEDS = ["customers", "invoices", "payments"]


def write_notebook(folder, name, requires=NEEDS):
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("db_url = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name.title()} report"), params,
                nbformat.v4.new_code_cell("raise RuntimeError('this notebook must not start')")]
    if requires is not None:
        nb.metadata["crmlib"] = {"requires": requires}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def orders_only(tmp_path):
    """A canonical database with customers and orders, an empty invoices table and no payments."""
    path = tmp_path / "orders_only.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        S.metadata.create_all(conn)
        conn.execute(sa.text("DROP TABLE payments"))
        conn.execute(S.metadata.tables["customers"].insert().values(customer_id=1, created_at=sa.func.now()))
    engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def project(tmp_path):
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks, "billing")
    return tmp_path


def fake_published_page(reports, report):
    """An earlier successful run of ``report``, published as its latest page."""
    run_dir = reports / store.RUNS / report / "20250101T000000Z"
    run_dir.mkdir(parents=True)
    summary = {"report": report, "title": "Billing report", "run_id": run_dir.name, "status": "ok",
               "started": "2025-01-01T00:00:00Z", "duration_s": 3.0, "metrics": {"invoices": 120},
               "files": {"notebook": f"{report}.ipynb", "html": f"{report}.html", "summary": "summary.json"}}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / f"{report}.html").write_text("<p>the good page</p>")
    (reports / report).mkdir(parents=True)
    (reports / report / "latest.html").write_text("<p>the good page</p>")
    (reports / report / "latest.json").write_text(json.dumps(summary))


# ------------------------------------------------------------------------------ the declaration

def test_notebook_requires_reads_the_metadata(tmp_path):
    assert notebook_requires(write_notebook(tmp_path, "a")) == NEEDS
    assert notebook_requires(write_notebook(tmp_path, "b", requires=[])) == []
    assert notebook_requires(write_notebook(tmp_path, "c", requires=None)) is None


@pytest.mark.parametrize("requires, message", [
    ("invoices", r"must be a list of table names; got 'invoices'"),
    (["invoice"], r"names \['invoice'\], which are not canonical tables"),
])
def test_a_bad_declaration_is_one_clear_error(tmp_path, requires, message):
    with pytest.raises(CrmlibError, match=message):
        notebook_requires(write_notebook(tmp_path, "bad", requires=requires))


def test_every_report_notebook_declares_what_it_needs():
    declared = {nb.stem: notebook_requires(nb) for nb in sorted(NOTEBOOKS_DIR.glob("*.ipynb"))}
    assert declared and all(isinstance(tables, list) for tables in declared.values()), declared
    assert {"invoices", "payments"} <= set(declared["payment_default"])
    assert "campaign_contacts" in declared["campaign_targeting"]


# ------------------------------------------------------------------------------ the check

def test_missing_data_names_empty_and_absent_tables(orders_only):
    assert missing_data(orders_only, ["customers"]) is None
    assert missing_data(orders_only, []) is None
    assert missing_data(orders_only, NEEDS) == (
        "the database has no rows in invoices and no table payments "
        "(the report needs customers, invoices, payments)")


def test_a_database_that_cannot_be_opened_is_left_to_the_run(tmp_path):
    # the notebook then fails with the real error: a failure, not "not applicable"
    assert missing_data(f"sqlite:///{tmp_path / 'absent.sqlite'}", NEEDS) is None


def test_the_check_reads_the_database_the_run_would_use(project, orders_only, small_url):
    [plan] = runner.plan_runs([project / "notebooks" / "billing.ipynb"], db_url=orders_only)
    assert "no rows in invoices" in runner.not_applicable_reason(plan)
    [plan] = runner.plan_runs([project / "notebooks" / "billing.ipynb"])  # default: CRMLIB_DB_URL
    assert runner.not_applicable_reason(plan) is None  # the sample has invoices and payments


# ------------------------------------------------------------------------------ the run

def test_not_applicable_is_recorded_without_a_kernel_and_keeps_the_last_good_page(
        project, orders_only, monkeypatch, capsys):
    reports = project / "reports"
    fake_published_page(reports, "billing")

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a report that does not apply")

    monkeypatch.setattr(runner, "run_report", no_kernel)
    code = main(["run", "all", "--db", orders_only, "--notebooks-dir", str(project / "notebooks"),
                 "--reports-dir", str(reports), "--no-progress"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith("n/a      billing") and "no rows in invoices and no table payments" in out[0]
    assert "last good page kept, not refreshed" in out[0]
    assert out[-1] == "0 of 1 report succeeded, 1 not applicable (their data is missing)."

    last = store.read_summary(store.list_runs(reports, "billing")[-1])
    assert last["status"] == "not applicable" and last["error"] is None
    assert last["reason"].startswith("the database has no rows in invoices")
    assert last["kernel"] is None and last["files"]["html"] is None
    assert (reports / "billing" / "latest.html").read_text() == "<p>the good page</p>"
    assert json.loads((reports / "billing" / "latest.json").read_text())["status"] == "ok"

    index = (reports / "index.html").read_text()
    assert 'class="status not-applicable">not applicable</span>' in index
    assert "no rows in invoices and no table payments" in index
    assert "not refreshed by the last run" in index and 'href="billing/latest.html"' in index
    assert "runs/billing/" + last["run_id"] + "/billing.ipynb" not in index  # no notebook to link


def test_a_real_failure_still_fails_the_exit_code(project, orders_only, monkeypatch, capsys):
    write_notebook(project / "notebooks", "anything", requires=[])

    def failed(plan, **kwargs):
        return runner.RunResult(plan.report, "failed", message="cell 2: RuntimeError")

    monkeypatch.setattr(runner, "run_report", failed)
    code = main(["run", "all", "--db", orders_only, "--notebooks-dir", str(project / "notebooks"),
                 "--reports-dir", str(project / "reports"), "--no-progress"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split()[0] for line in out[:2]] == ["FAILED", "n/a"]  # anything, billing
    assert out[-1] == "0 of 2 reports succeeded, 1 not applicable (their data is missing)."


def test_no_failure_alert_for_a_report_that_does_not_apply(project, orders_only):
    path = project / "schedules.yml"
    path.write_text(textwrap.dedent(f"""\
        on_failure: 'echo "$CRMLIB_REPORT $CRMLIB_STATUS" >> failures.log'
        notebooks_dir: notebooks
        reports_dir: reports
        jobs: {{nightly: {{cron: '30 2 * * *', report: all, db: '{orders_only}'}}}}
    """))
    [result] = schedule.run_job(schedule.load_schedules(path), "nightly")
    assert result.status == "not applicable" and not result.failed
    assert not (project / "failures.log").exists()
