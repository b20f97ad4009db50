"""The audit log (crmlib.report.audit): one whole line per run, concurrent writers, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from audience_support import audience_run
from report_support import PASSWORD, SECRET_URL, copy_notebooks

from crmlib.cli import main
from crmlib.errors import ParameterError
from crmlib.report import audit

ROOT = Path(__file__).resolve().parents[1]
WRITER = textwrap.dedent("""
    import sys
    from crmlib.report import audit
    folder, tag, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    i = 0
    while count < 0 or i < count:
        audit.append(folder, {"event": "run", "report": tag, "i": i, "payload": tag[0] * size})
        i += 1
""")


def env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def lines(folder: Path) -> list[bytes]:
    return (folder / audit.AUDIT_FILE).read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return audience_run(tmp_path_factory)


def test_one_line_per_run_and_report_with_what_the_issue_asks(run):
    records, torn = audit.read_log(run.reports)
    assert torn == 0
    # ok and people, each run masked (main) and unmasked (for the service audience)
    assert sorted((r["report"], r["mask_pii"]) for r in records) == [
        ("ok", False), ("ok", True), ("people", False), ("people", True)]
    for r in records:
        for key in ("report", "user", "host", "started", "ended", "status", "parameters",
                    "database", "sites", "files", "run_id"):
            assert r.get(key) is not None, key
        assert r["status"] == "ok" and r["user"] and r["started"] <= r["ended"]
        assert r["parameters"]["mask_pii"] == r["mask_pii"]
    people = [r for r in records if r["report"] == "people" and r["mask_pii"]][0]
    assert people["sites"] == ["sales"]
    # every published file is hashed, and the hashes are the files' own
    files = people["files"]
    assert "people/latest.html" in files and "sales/people/latest.html" in files
    assert "sales/index.html" in files
    assert any(k.startswith(f"runs/people/{people['run_id']}/lists/contacts") for k in files)
    assert any(k.startswith("sales/people/lists/") and k.endswith("contacts.parquet") for k in files)
    for rel in ("people/latest.html", "sales/people/latest.ipynb"):
        assert files[rel] == audit.sha256_file(run.reports / rel)


def test_concurrent_writers_append_whole_lines(tmp_path):
    writers, count, size = 6, 40, 150_000  # lines far larger than a pipe or page buffer
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), chr(97 + w) * 3,
                               str(count), str(size)], env=env()) for w in range(writers)]
    assert [p.wait(timeout=300) for p in procs] == [0] * writers
    raw = lines(tmp_path)
    assert len(raw) == writers * count
    seen = {}
    for line in raw:
        assert line.endswith(b"\n")
        rec = json.loads(line)
        assert rec["payload"] == rec["report"][0] * size  # nothing of another line inside
        seen.setdefault(rec["report"], []).append(rec["i"])
    assert all(v == list(range(count)) for v in seen.values()) and len(seen) == writers


def test_a_writer_killed_with_sigkill_leaves_whole_lines(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "kkk", "-1", "2000000"],
                            env=env())
    path = tmp_path / audit.AUDIT_FILE
    deadline = time.monotonic() + 60
    # past 6.1 MB the fourth line has begun, so three are whole (each is 2,000,0xx bytes)
    while time.monotonic() < deadline and (not path.is_file() or path.stat().st_size < 6_100_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-run: it is appending 2 MB lines in a loop
    proc.wait(timeout=30)
    raw = lines(tmp_path)
    whole = [line for line in raw if line.endswith(b"\n")]
    assert len(whole) >= 3 and all(json.loads(line)["payload"] == "k" * 2_000_000 for line in whole)
    # Linux may stop a 2 MB write part-way for SIGKILL; then the journal holds the whole line
    killed_mid_line = len(whole) < len(raw)
    assert not killed_mid_line or audit.journal_path(tmp_path).is_file()
    records, torn = audit.read_log(tmp_path)  # a reader sees whole lines only, without writing
    assert torn == 0 and [r["i"] for r in records] == list(range(len(records)))
    assert len(records) in (len(whole), len(whole) + 1)
    assert all(r["payload"] == "k" * 2_000_000 for r in records)
    audit.append(tmp_path, {"event": "run", "report": "next", "i": len(records)})
    after = lines(tmp_path)  # the next writer completed or dropped the killed one's line
    assert all(line.endswith(b"\n") for line in after) and len(after) == len(records) + 1
    assert [json.loads(line)["i"] for line in after] == list(range(len(after)))
    assert not audit.journal_path(tmp_path).exists()


def _killed_at(folder: Path, stage: str) -> bytes:
    """Leave the log as a writer killed at ``stage`` of appending its third line would."""
    for i in range(2):
        audit.append(folder, {"event": "run", "report": "r", "i": i})
    data = (json.dumps({"event": "run", "report": "r", "i": 2, "payload": "x" * 50_000}) + "\n").encode()
    path = folder / audit.AUDIT_FILE
    if stage != "before journal":
        audit._write_journal(audit.journal_path(folder), path.stat().st_size, data)
    written = {"before journal": 0, "journaled": 0, "torn": 30_001, "written": len(data)}[stage]
    with open(path, "ab") as fh:
        fh.write(data[:written])
    return data


@pytest.mark.parametrize("stage", ["before journal", "journaled", "torn", "written"])
def test_a_writer_killed_at_any_stage_leaves_its_whole_line_or_none(tmp_path, stage):
    data = _killed_at(tmp_path, stage)
    expected = [0, 1] if stage == "before journal" else [0, 1, 2]
    records, torn = audit.read_log(tmp_path)
    assert torn == 0 and [r["i"] for r in records] == expected
    assert records[-1] == json.loads(data) or stage == "before journal"
    audit.append(tmp_path, {"event": "run", "report": "r", "i": len(expected)})
    raw = lines(tmp_path)
    assert all(line.endswith(b"\n") for line in raw)
    assert [json.loads(line)["i"] for line in raw] == expected + [len(expected)]
    assert not audit.journal_path(tmp_path).exists()
    assert audit.read_log(tmp_path) == ([json.loads(line) for line in raw], 0)


def test_a_journal_never_cuts_lines_it_did_not_write(tmp_path):
    # a journal whose offset does not match the log (restored from a backup, say) keeps every line
    for i in range(3):
        audit.append(tmp_path, {"event": "run", "report": "r", "i": i})
    before = lines(tmp_path)
    stray = (json.dumps({"event": "run", "report": "r", "i": 3}) + "\n").encode()
    audit._write_journal(audit.journal_path(tmp_path), len(before[0]), stray)
    assert [r["i"] for r in audit.read_log(tmp_path)[0]] == [0, 1, 2, 3]
    audit.append(tmp_path, {"event": "run", "report": "r", "i": 4})
    assert lines(tmp_path)[:3] == before
    assert [json.loads(line)["i"] for line in lines(tmp_path)] == [0, 1, 2, 3, 4]


def test_a_reader_leaves_out_a_journal_past_what_it_read(tmp_path, monkeypatch):
    # between the reader's look at the size and at the journal, one writer finished and the next
    # journaled: the reader shows neither, not the second without the first
    for i in range(2):
        audit.append(tmp_path, {"event": "run", "report": "r", "i": i})
    size = (tmp_path / audit.AUDIT_FILE).stat().st_size
    audit.append(tmp_path, {"event": "run", "report": "r", "i": 2})
    late = (json.dumps({"event": "run", "report": "r", "i": 3}) + "\n").encode()
    audit._write_journal(audit.journal_path(tmp_path), (tmp_path / audit.AUDIT_FILE).stat().st_size, late)
    real = os.fstat
    monkeypatch.setattr(audit.os, "fstat", lambda fd: os.stat_result(
        (*real(fd)[:6], size, *real(fd)[7:])))
    assert [r["i"] for r in audit.read_log(tmp_path)[0]] == [0, 1]


def test_a_write_that_fails_leaves_no_line(tmp_path, monkeypatch):
    audit.append(tmp_path, {"event": "run", "report": "r", "i": 0})
    real = os.write
    monkeypatch.setattr(audit.os, "write", lambda fd, data: real(fd, data[: len(data) // 2]))
    with pytest.raises(OSError, match="wrote"):
        audit.append(tmp_path, {"event": "run", "report": "r", "i": 1, "payload": "y" * 1000})
    monkeypatch.undo()
    assert [json.loads(line)["i"] for line in lines(tmp_path)] == [0]
    assert not audit.journal_path(tmp_path).exists()


def test_a_torn_line_is_skipped_and_the_next_starts_on_its_own_line(tmp_path):
    audit.append(tmp_path, {"event": "run", "report": "a", "started": "2026-01-01T00:00:00Z"})
    with open(tmp_path / audit.AUDIT_FILE, "ab") as fh:
        fh.write(b'{"event": "run", "report": "tor')  # what a power cut could leave
    audit.append(tmp_path, {"event": "run", "report": "b", "started": "2026-01-02T00:00:00Z"})
    records, torn = audit.read_log(tmp_path)
    assert [r["report"] for r in records] == ["a", "b"] and torn == 1


def test_read_log_filters_by_time_and_report(tmp_path):
    for report, started in (("a", "2026-01-01T10:00:00Z"), ("b", "2026-01-02T10:00:00Z"),
                            ("a", "2026-01-03T10:00:00Z")):
        audit.append(tmp_path, {"event": "run", "report": report, "started": started})
    audit.append(tmp_path, {"event": "forget", "report": None, "started": "2026-01-04T00:00:00Z",
                            "customers": 2})
    assert len(audit.read_log(tmp_path, since="2026-01-02")[0]) == 3
    assert [r["started"][:10] for r in audit.read_log(tmp_path, report="a")[0]] == [
        "2026-01-01", "2026-01-03", "2026-01-04"]  # erasures concern every report
    assert audit.read_log(tmp_path, since="2026-01-03T09:00", report="b")[0][-1]["event"] == "forget"
    with pytest.raises(ParameterError, match="'since' must be an ISO date or time like 2026-01-31"):
        audit.read_log(tmp_path, since="yesterday")


def test_crmlib_audit_prints_a_table(run, capsys):
    assert main(["audit", "--reports-dir", str(run.reports), "--report", "people"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:8] == ["started", "ended", "user", "host", "event", "report", "status",
                                  "sites"]
    rows = [line for line in out[1:-1]]
    assert len(rows) == 2 and all(" people " in r and " ok " in r for r in rows)
    assert any(" sales " in r for r in rows) and any(" service " in r for r in rows)
    assert out[-1] == "2 entries."
    assert main(["audit", "--reports-dir", str(run.reports), "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 entries."
    assert main(["audit", "--reports-dir", str(run.reports), "--since", "soon"]) == 2
    assert "error: crmlib audit: 'since' must be an ISO date" in capsys.readouterr().err


def test_a_killed_run_leaves_no_line_and_the_next_run_redacts_urls(tmp_path):
    from crmlib.report.runner import run_reports

    notebooks = copy_notebooks(tmp_path / "notebooks", ("ok", "slow"))
    reports = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmlib.cli", "run", "slow", "--no-progress", "--no-audiences",
         "--notebooks-dir", str(notebooks), "--reports-dir", str(reports)],
        env=env(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((reports / "runs" / "slow").glob(".tmp-*")):
        time.sleep(0.1)
    time.sleep(2)  # the kernel is sleeping in its cell
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    path = reports / audit.AUDIT_FILE
    assert not path.exists() or all(line.endswith(b"\n") for line in lines(reports))
    (result,) = run_reports(["ok"], notebooks_dir=notebooks, reports_dir=reports, progress=False,
                            timeout=120, db_url=SECRET_URL,
                            parameters={"label": f"https://me:{PASSWORD}@files.example/x"})
    assert result.ok
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    (rec,) = [json.loads(line) for line in text.splitlines() if json.loads(line)["report"] == "ok"]
    assert rec["database"] == "postgresql://crm:***@db.example:5432/crm"
    assert rec["parameters"]["label"] == "https://me:***@files.example/x"
    assert rec["sites"] == [] and "ok/latest.html" in rec["files"]
