"""crmlib run: execution, run folders, summary.json, atomic publish, failure, timeout, lock,
redaction and escaping — on tiny fixture notebooks that need no database."""

from __future__ import annotations

import html
import json
import re
import time

import pytest
from report_support import PASSWORD, XSS, copy_notebooks, executed_reports

from crmlib.errors import ReportExecutionError
from crmlib.report import store
from crmlib.report.runner import run_reports


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    return executed_reports(tmp_path_factory)


def files_of(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_successful_run_writes_notebook_html_and_summary(ex):
    r = ex.masked
    assert r.status == "ok", r.message
    assert r.run_dir.parent == ex.reports / "runs" / "ok"
    assert sorted(p.name for p in r.run_dir.iterdir()) == ["ok.html", "ok.ipynb", "summary.json"]
    s = json.loads((r.run_dir / "summary.json").read_text())
    assert s["status"] == "ok" and s["error"] is None and s["report"] == "ok"
    assert s["title"] == "Fixture report"
    assert s["parameters"] == {"mask_pii": True}
    assert s["effective_parameters"]["top_n"] == 5
    assert s["metrics"] == {"customers": 30, "ratio": 0.5, "label": "fixture", "as_of": "2025-01-31"}
    assert s["findings"][0] == "fixture: the top customer brings 29 of revenue."
    assert s["crmlib_version"] and s["duration_s"] > 0 and s["kernel_startup_s"] > 0
    assert s["started"].endswith("Z") and s["finished"] >= s["started"]


def test_executed_notebook_keeps_the_code_for_the_analyst(ex):
    nb = json.loads((ex.masked.run_dir / "ok.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert any("present.show_table" in src for src in sources)
    assert nb["metadata"]["crmlib"]["status"] == "ok"


def test_kernel_runs_the_runners_python(ex):
    import sys
    from pathlib import Path

    nb = json.loads((ex.masked.run_dir / "ok.ipynb").read_text())
    printed = [o["text"] for c in nb["cells"] for o in c.get("outputs", [])
               if "kernel python:" in "".join(o.get("text", ""))]
    kernel_python = Path("".join(printed[0]).split("kernel python:")[1].strip())
    assert kernel_python.parent == Path(sys.executable).parent
    assert "kernel python:" not in (ex.masked.run_dir / "ok.html").read_text()  # remove-cell


def test_stakeholder_html_hides_code_and_masks_personal_data(ex):
    page = (ex.masked.run_dir / "ok.html").read_text()
    assert "present.show_table" not in page and "import matplotlib" not in page
    body = page.split("<body", 1)[1]
    for code_marker in ("jp-InputPrompt", "jp-CodeMirrorEditor", "jp-InputArea-editor",
                        'class="highlight'):
        assert code_marker not in body
    assert "anna@example.com" not in page and ">Anna<" not in page
    assert "a***@***.com" in page
    assert "noise for the analyst only" not in page  # stderr is dropped
    assert re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page) == []
    assert "data:image/png;base64," in page


def test_latest_is_published_from_the_last_success(ex):
    latest = ex.reports / "ok" / "latest.html"
    assert ex.latest_before_fail == (ex.unmasked.run_dir / "ok.html").read_bytes()
    assert latest.read_bytes() == ex.latest_before_fail
    assert json.loads((ex.reports / "ok" / "latest.json").read_text())["run_id"] == \
        ex.unmasked.summary["run_id"]


def test_failure_keeps_the_previous_report_and_is_recorded(ex):
    r = ex.failed_ok
    assert r.status == "failed"
    assert r.summary["error"] == {"cell_index": 3, "ename": "RuntimeError", "evalue": "asked to fail"}
    assert (ex.reports / "ok" / "latest.html").read_bytes() == ex.latest_before_fail
    assert (r.run_dir / "ok.ipynb").is_file()  # the executed notebook is always written
    assert "This run failed" in (r.run_dir / "ok.html").read_text()
    with pytest.raises(ReportExecutionError, match=r"report 'ok' failed: cell 3: RuntimeError: "
                                                    r"asked to fail") as info:
        r.raise_for_status()
    assert info.value.cell_index == 3 and info.value.ename == "RuntimeError"


def test_broken_notebook_is_recorded_with_cell_and_error(ex):
    r = ex.broken
    assert r.status == "failed"
    assert r.summary["error"] == {"cell_index": 4, "ename": "ZeroDivisionError",
                                  "evalue": "division by zero"}
    assert r.summary["metrics"] == {"before_error": 1}
    assert not (ex.reports / "broken" / "latest.html").exists()
    assert "cell 4: ZeroDivisionError: division by zero" in r.line()


def test_index_shows_failed_and_successful_reports(ex):
    page = (ex.reports / "index.html").read_text()
    assert 'href="ok/latest.html"' in page
    assert "cell 4: ZeroDivisionError: division by zero" in page
    assert "cell 3: RuntimeError: asked to fail" in page
    assert page.count('class="status failed"') >= 2
    for run in store.list_runs(ex.reports, "ok"):
        assert f"runs/ok/{run.name}/ok.html" in page


def test_no_password_anywhere_in_the_reports(ex):
    assert ex.unmasked.summary["parameters"]["db_url"] == "postgresql://crm:***@db.example:5432/crm"
    leaks = [p for p in files_of(ex.reports) if PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    nb = (ex.unmasked.run_dir / "ok.ipynb").read_text()
    assert "connected to postgresql://crm:***@db.example:5432/crm" in nb


def test_database_values_are_escaped_in_the_html(ex):
    page = (ex.unmasked.run_dir / "ok.html").read_text()
    assert XSS not in page
    assert html.escape(XSS) in page or html.escape(XSS, quote=False) in page
    assert "anna@example.com" in page  # --no-mask-pii shows personal data
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # finding text is escaped too


def test_no_temporary_folders_are_left(ex):
    assert not [p for p in (ex.reports / "runs").rglob(".tmp-*")]


def test_timeout_stops_the_notebook_and_keeps_the_last_report(tmp_path):
    notebooks = copy_notebooks(tmp_path / "nb", ("slow",))
    reports = tmp_path / "reports"
    start = time.monotonic()
    # the sleep (600 s) dwarfs the timeout, which leaves the kernel ample time to start even on a
    # loaded machine, so the sleeping cell is the one stopped
    (r,) = run_reports(["slow"], notebooks_dir=notebooks, reports_dir=reports, timeout=20,
                       parameters={"seconds": 600}, progress=False)
    elapsed = time.monotonic() - start
    assert r.status == "timeout"
    assert r.summary["error"]["ename"] == "TimeoutError"
    assert r.summary["error"]["cell_index"] == 3
    assert "within its 20 s timeout" in r.summary["error"]["evalue"]
    assert elapsed < 300
    assert not (reports / "slow" / "latest.html").exists()
    assert 'class="status timeout"' in (reports / "index.html").read_text()


def test_a_running_report_is_not_run_twice(tmp_path, monkeypatch):
    from filelock import FileLock

    notebooks = copy_notebooks(tmp_path / "nb", ("ok",))
    reports = tmp_path / "reports"
    monkeypatch.setattr("crmlib.report.runner._execute",
                        lambda *a, **k: pytest.fail("ran although the lock was held"))
    with FileLock(str(store.lock_path(reports, "ok"))):
        (r,) = run_reports(["ok"], notebooks_dir=notebooks, reports_dir=reports, progress=False)
    assert r.status == "skipped"
    assert "already running elsewhere" in r.message
    assert store.list_runs(reports, "ok") == []


def test_retries_record_every_attempt(tmp_path, monkeypatch):
    notebooks = copy_notebooks(tmp_path / "nb", ("ok",))
    reports = tmp_path / "reports"
    calls = []

    def fake_execute(nb, **kwargs):
        calls.append(1)
        return ("failed", {"cell_index": 1, "ename": "OSError", "evalue": "flaky"}) \
            if len(calls) == 1 else ("ok", None)

    monkeypatch.setattr("crmlib.report.runner._execute", fake_execute)
    (r,) = run_reports(["ok"], notebooks_dir=notebooks, reports_dir=reports, retries=2,
                       progress=False)
    assert r.status == "ok" and r.summary["attempt"] == 2
    assert [store.read_summary(p)["status"] for p in store.list_runs(reports, "ok")] == ["failed", "ok"]
    assert (reports / "ok" / "latest.html").is_file()


def test_a_report_that_cannot_be_rendered_is_not_published(tmp_path, monkeypatch):
    notebooks = copy_notebooks(tmp_path / "nb", ("ok",))
    reports = tmp_path / "reports"
    monkeypatch.setattr("crmlib.report.runner._execute", lambda nb, **kw: ("ok", None))

    def broken_render(*args, **kwargs):
        raise ValueError("template exploded")

    monkeypatch.setattr("crmlib.report.render.render_html", broken_render)
    (r,) = run_reports(["ok"], notebooks_dir=notebooks, reports_dir=reports, progress=False)
    assert r.status == "failed"
    assert r.summary["error"]["evalue"] == "rendering the HTML failed: template exploded"
    assert sorted(p.name for p in r.run_dir.iterdir()) == ["ok.ipynb", "summary.json"]
    assert not (reports / "ok" / "latest.html").exists()


def test_kernels_get_the_inline_plot_backend(tmp_path, monkeypatch):
    import os

    notebooks = copy_notebooks(tmp_path / "nb", ("ok",))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as in a test session or a headless shell
    seen = []

    def fake_engine(engine_name, nb, **kwargs):
        seen.append(os.environ.get("MPLBACKEND"))
        return nb

    monkeypatch.setattr("papermill.engines.papermill_engines.execute_notebook_with_engine",
                        fake_engine)
    run_reports(["ok"], notebooks_dir=notebooks, reports_dir=tmp_path / "r", progress=False)
    assert seen == ["module://matplotlib_inline.backend_inline"]
    assert os.environ["MPLBACKEND"] == "Agg"
