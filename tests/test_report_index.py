"""reports/index.html, the run folders, atomic writes and prune — from hand-made run folders."""

from __future__ import annotations

import json
import os
import time

import pytest

from crmlib.errors import ParameterError
from crmlib.report import store
from crmlib.report.index import build_index


def make_run(reports, report, run_id, status="ok", metrics=None, error=None, title=None):
    folder = reports / "runs" / report / run_id
    folder.mkdir(parents=True)
    (folder / f"{report}.ipynb").write_text("{}")
    (folder / f"{report}.html").write_text("<html></html>")
    summary = {"report": report, "run_id": run_id, "status": status, "title": title or report,
               "started": f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:00Z",
               "duration_s": 1.5, "metrics": metrics or {}, "error": error,
               "files": {"notebook": f"{report}.ipynb", "html": f"{report}.html",
                         "summary": "summary.json"}}
    (folder / "summary.json").write_text(json.dumps(summary))
    if status == "ok":
        (reports / report).mkdir(exist_ok=True)
        (reports / report / "latest.html").write_text(f"<html>{run_id}</html>")
        (reports / report / "latest.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture
def reports(tmp_path):
    r = tmp_path / "reports"
    make_run(r, "10-rfm", "20250101T020000Z", metrics={"customers": 5000, "auc": 0.8123},
             title="Customer value")
    make_run(r, "10-rfm", "20250102T020000Z", status="failed",
             error={"cell_index": 7, "ename": "KeyError", "evalue": "'<script>x</script>'"})
    make_run(r, "20-baskets", "20250102T030000Z", status="timeout",
             error={"cell_index": 3, "ename": "TimeoutError", "evalue": "too slow"})
    (r / "runs" / "10-rfm" / ".tmp-20250103T000000Z-1").mkdir()  # an unfinished run
    return r


def test_index_lists_reports_status_success_metrics_and_history(reports):
    page = build_index(reports).read_text()
    assert page.count('<tr id="report-') == 2
    rfm = page[page.index('id="report-10-rfm"'):page.index('id="report-20-baskets"')]
    assert '<a href="10-rfm/latest.html">Customer value</a>' in rfm
    assert '<span class="status failed">failed</span> 2025-01-02 02:00' in rfm
    assert "2025-01-01 02:00<br>" in rfm  # last success
    # key figures with a reader's label and unit, and a trend chart of the successful runs
    assert '<span class="name">Customers</span> <span class="value">5,000</span>' in rfm
    assert '<span class="name">AUC</span> <span class="value">0.812</span>' in rfm
    assert rfm.count('<svg class="trend"') == 2
    assert "Run history (2)" in rfm
    assert 'href="runs/10-rfm/20250102T020000Z/10-rfm.html"' in rfm
    assert 'href="runs/10-rfm/20250101T020000Z/summary.json"' in rfm
    baskets = page[page.index('id="report-20-baskets"'):]
    assert '<span class="status timeout">timeout</span>' in baskets and "never" in baskets


def test_index_escapes_error_text(reports):
    page = build_index(reports).read_text()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_index_is_self_contained(reports):
    page = build_index(reports).read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_index_without_runs(tmp_path):
    page = build_index(tmp_path / "reports").read_text()
    assert "No report has run yet" in page


def test_unfinished_runs_are_not_listed(reports):
    assert [p.name for p in store.list_runs(reports, "10-rfm")] == ["20250101T020000Z",
                                                                    "20250102T020000Z"]


def test_prune_keeps_the_newest_runs(reports):
    make_run(reports, "10-rfm", "20250103T020000Z")
    removed = store.prune(reports, keep=2)
    assert [p.name for p in removed] == ["20250101T020000Z"]
    assert [p.name for p in store.list_runs(reports, "10-rfm")] == ["20250102T020000Z",
                                                                    "20250103T020000Z"]
    assert (reports / "10-rfm" / "latest.html").is_file()
    assert store.list_runs(reports, "20-baskets")  # a single run is kept


def test_prune_dry_run_and_one_report(reports):
    removed = store.prune(reports, keep=1, report="10-rfm", dry_run=True)
    assert [p.name for p in removed] == ["20250101T020000Z"]
    assert len(store.list_runs(reports, "10-rfm")) == 2


def test_prune_removes_stale_unfinished_runs(reports):
    stale = reports / "runs" / "10-rfm" / ".tmp-20250103T000000Z-1"
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    store.prune(reports, keep=5)
    assert not stale.exists()


@pytest.mark.parametrize("keep", [0, -1, 1.5])
def test_prune_keep_must_be_positive(reports, keep):
    with pytest.raises(ParameterError, match=r"report.prune: 'keep' must be an int in \[1, inf\]; "
                                             rf"got {keep}"):
        store.prune(reports, keep=keep)


def test_index_keeps_last_success_after_prune(reports):
    make_run(reports, "10-rfm", "20250103T020000Z", status="failed",
             error={"cell_index": 1, "ename": "E", "evalue": "v"})
    store.prune(reports, keep=2)  # the only success is gone from the history
    page = build_index(reports).read_text()
    rfm = page[page.index('id="report-10-rfm"'):page.index('id="report-20-baskets"')]
    assert 'href="10-rfm/latest.html"' in rfm and "5,000" in rfm


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a" / "latest.html"
    store.write_atomic(target, "one")
    store.write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.html"]


def test_links_are_url_encoded(tmp_path):
    reports = tmp_path / "reports"
    make_run(reports, "30 credit risk", "20250101T020000Z")
    page = build_index(reports).read_text()
    assert 'href="30%20credit%20risk/latest.html"' in page
    assert 'href="runs/30%20credit%20risk/20250101T020000Z/30%20credit%20risk.html"' in page
