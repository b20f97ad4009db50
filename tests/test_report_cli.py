"""The commands: one clear line on error (no traceback), exit codes, one line per report."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from report_support import PASSWORD, SECRET_URL, copy_notebooks

from crmlib.cli import main


@pytest.fixture
def notebooks(tmp_path):
    return copy_notebooks(tmp_path / "notebooks", ("ok", "broken"))


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "ok", "-p", "top", "3"],
     "error: notebook 'ok': unknown parameter 'top' (did you mean 'top_n'?); known "
     "parameters: ['as_of', 'db_url', 'fail', 'interactive', 'label', 'mask_pii', 'ratio', "
     "'top_n']."),
    (["run", "ok", "-p", "top_n", "lots"],
     "error: notebook 'ok': parameter 'top_n' must be an int; got 'lots'."),
    (["run", "ok", "-p", "as_of", "31.01.2025"],
     "error: notebook 'ok': parameter 'as_of' must be an ISO date string (YYYY-MM-DD); "
     "got '31.01.2025'."),
    (["run", "okk"], "error: crmlib run: no notebook 'okk' in"),
    (["run", "ok", "--timeout", "0"],
     "error: crmlib run: 'timeout' must be a number in (0, inf); got 0.0."),
])
def test_errors_are_one_line_without_traceback(capsys, notebooks, tmp_path, argv, message):
    code, out, err = run_main(capsys, *argv, "--notebooks-dir", str(notebooks),
                              "--reports-dir", str(tmp_path / "reports"))
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "reports" / "runs").exists()  # nothing ran


def test_error_lines_redact_passwords(capsys, notebooks, tmp_path):
    code, out, err = run_main(capsys, "run", "ok", "-p", "ratio", SECRET_URL,
                              "--notebooks-dir", str(notebooks))
    assert code == 2 and PASSWORD not in err and "crm:***@db.example" in err


def test_run_prints_one_line_per_report_and_fails_if_any_failed(notebooks, tmp_path):
    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "crmlib.cli", "run", "all", "-p", "top_n", "3", "--no-progress",
         "--notebooks-dir", str(notebooks), "--reports-dir", str(reports), "--timeout", "120"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("FAILED   broken") and "cell 4: ZeroDivisionError: division by zero" in lines[0]
    assert lines[1].startswith("ok       ok") and lines[1].endswith(os.path.join("reports", "ok", "latest.html"))
    assert lines[2] == "1 of 2 reports succeeded."
    latest = json.loads((reports / "ok" / "latest.json").read_text())
    assert latest["parameters"]["top_n"] == 3


def test_progress_bar_per_notebook(monkeypatch, notebooks, tmp_path):
    from crmlib.report.runner import run_reports

    seen = {}

    def fake_engine(engine_name, nb, **kwargs):
        seen.update(kwargs)
        return nb

    monkeypatch.setattr("papermill.engines.papermill_engines.execute_notebook_with_engine",
                        fake_engine)
    run_reports(["ok"], notebooks_dir=notebooks, reports_dir=tmp_path / "r", progress=True)
    assert seen["progress_bar"] == {"desc": "ok", "leave": False}
    assert seen["shutdown_kernel"] == "immediate"
    assert seen["resources"]["metadata"]["path"] == str(notebooks)


def test_prune_and_index_commands(capsys, tmp_path):
    from test_report_index import make_run

    reports = tmp_path / "reports"
    for day in ("01", "02", "03"):
        make_run(reports, "10-rfm", f"202501{day}T020000Z")
    code, out, _ = run_main(capsys, "prune", "--keep", "1", "--dry-run", "--reports-dir", str(reports))
    assert code == 0 and out.splitlines()[-1] == "would delete 2 run folders."
    code, out, _ = run_main(capsys, "prune", "--keep", "1", "--reports-dir", str(reports))
    assert code == 0 and out.splitlines()[-1] == "deleted 2 run folders."
    assert (reports / "index.html").is_file()
    (reports / "index.html").unlink()
    code, out, _ = run_main(capsys, "index", "--reports-dir", str(reports))
    assert code == 0 and (reports / "index.html").is_file()


def test_schedule_crontab_command(capsys, notebooks, tmp_path):
    cfg = tmp_path / "schedules.yml"
    cfg.write_text("jobs: {nightly: {cron: '30 2 * * *', report: all}}\n")
    code, out, _ = run_main(capsys, "schedule", "--config", str(cfg), "--crontab",
                            "--notebooks-dir", str(notebooks))
    assert code == 0
    assert out.splitlines()[-1].startswith("30 2 * * * cd ")
    assert "--run-job nightly" in out


def test_schedule_bad_config_is_one_line(capsys, notebooks, tmp_path):
    cfg = tmp_path / "schedules.yml"
    cfg.write_text("jobs: {nightly: {cron: 'every night', report: all}}\n")
    code, _, err = run_main(capsys, "schedule", "--config", str(cfg), "--notebooks-dir", str(notebooks))
    assert code == 2
    assert err.startswith("error: schedules.yml: job 'nightly': 'cron' must be a cron "
                          "expression")
