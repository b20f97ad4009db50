"""schedules.yml, the foreground scheduler (with a fake clock), on_failure, crontab lines."""

from __future__ import annotations

import datetime as dt
import shlex
import textwrap
from pathlib import Path

import pytest
from report_support import copy_notebooks

from crmlib.errors import CrmlibError, ParameterError
from crmlib.report import schedule
from crmlib.report.runner import RunResult

UTC = dt.UTC


def write(folder: Path, text: str) -> Path:
    path = folder / "schedules.yml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def project(tmp_path):
    copy_notebooks(tmp_path / "notebooks", ("ok", "slow"))
    (tmp_path / "reports").mkdir()
    return tmp_path


GOOD = """\
    on_failure: 'echo "$CRMLIB_JOB|$CRMLIB_REPORT|$CRMLIB_STATUS|$CRMLIB_ERROR" >> failures.log'
    notebooks_dir: notebooks
    reports_dir: reports
    defaults:
      timeout: 60
      retries: 1
    jobs:
      nightly:
        cron: "30 2 * * *"
        report: all
      sundays:
        cron: "0 6 * * 0"
        report: [slow]
        parameters: {seconds: 1}
        retries: 0
        timeout: 5
"""


def test_load_applies_defaults_and_checks_notebooks(project):
    cfg = schedule.load_schedules(write(project, GOOD))
    nightly, sundays = cfg.jobs["nightly"], cfg.jobs["sundays"]
    assert (nightly.timeout, nightly.retries, nightly.reports) == (60.0, 1, ["all"])
    assert (sundays.timeout, sundays.retries, sundays.parameters) == (5.0, 0, {"seconds": 1})
    assert cfg.notebooks_dir == project / "notebooks" and cfg.reports_dir == project / "reports"
    assert nightly.on_failure.startswith("echo")


def test_cron_follows_cron_semantics_for_weekdays(project):
    job = schedule.load_schedules(write(project, GOOD)).jobs["sundays"]
    friday = dt.datetime(2025, 1, 3, 12, 0, tzinfo=UTC)  # a Friday
    assert job.next_run(friday) == dt.datetime(2025, 1, 5, 6, 0, tzinfo=UTC)  # 0 = Sunday


@pytest.mark.parametrize(("text", "message"), [
    ("jobs: {a: {cron: '61 * * * *', report: all}}",
     r"schedules.yml: job 'a': 'cron' must be a cron expression like '30 2 \* \* \*' .*got "
     r"'61 \* \* \* \*'"),
    ("jobs: {a: {cron: '* * * * *', report: all, retry: 2}}",
     r"schedules.yml: job 'a': unknown key\(s\) \['retry'\]; allowed keys: \['cron', 'report'"),
    ("jobs: {a: {cron: '* * * * *', report: all, timeout: 0}}",
     r"schedules.yml: job 'a': 'timeout' must be a number in \(0, inf\); got 0"),
    ("jobs: {a: {cron: '* * * * *', report: all, retries: -1}}",
     r"schedules.yml: job 'a': 'retries' must be an int in \[0, 10\]; got -1"),
    ("jobs: {a: {cron: '* * * * *'}}",
     r"schedules.yml: job 'a': 'report' must be a notebook name, a list of names or 'all'; got None"),
    ("jobs: {a: {cron: '* * * * *', report: ok, parameters: {top: 3}}}",
     r"schedules.yml: job 'a': notebook 'ok': unknown parameter 'top' \(did you mean 'top_n'\?\)"),
    ("jobs: {a: {cron: '* * * * *', report: ok, parameters: {top_n: many}}}",
     r"schedules.yml: job 'a': notebook 'ok': parameter 'top_n' must be an int; got 'many'"),
    ("jobs: {a: {cron: '* * * * *', report: nope}}",
     r"schedules.yml: job 'a': crmlib run: no notebook 'nope'"),
    ("job: {}", r"schedules.yml: unknown key\(s\) \['job'\]; allowed keys: \['defaults', 'jobs'"),
    ("jobs: []", r"schedules.yml: 'jobs' must map job names to jobs"),
])
def test_bad_schedules_are_rejected_at_start(project, text, message):
    path = write(project, "notebooks_dir: notebooks\n" + text)
    with pytest.raises(CrmlibError, match=message):
        schedule.load_schedules(path)


def test_missing_schedules_file(tmp_path):
    with pytest.raises(CrmlibError, match=r"no schedules file at .*missing.yml"):
        schedule.load_schedules(tmp_path / "missing.yml")


def test_bad_value_error_is_a_parameter_error(project):
    with pytest.raises(ParameterError):
        schedule.load_schedules(write(project, "jobs: {a: {cron: 5, report: all}}"))


def fake_runner(statuses, calls):
    def runner(names, **kwargs):
        calls.append((list(names), kwargs))
        return [RunResult(name, statuses.get(name, "ok"), run_dir=Path("/runs") / name,
                          message=f"cell 2: ValueError: bad <{name}>")
                for name in (["ok", "slow"] if names == ["all"] else names)]
    return runner


def test_run_job_passes_its_settings_and_calls_on_failure(project):
    cfg = schedule.load_schedules(write(project, GOOD))
    calls = []
    results = schedule.run_job(cfg, "nightly", runner=fake_runner({"slow": "timeout"}, calls))
    assert [r.status for r in results] == ["ok", "timeout"]
    names, kwargs = calls[0]
    assert names == ["all"] and kwargs["timeout"] == 60 and kwargs["retries"] == 1
    assert kwargs["reports_dir"] == project / "reports" and kwargs["progress"] is False
    log = (project / "failures.log").read_text().splitlines()
    assert log == ["nightly|slow|timeout|cell 2: ValueError: bad <slow>"]


def test_on_failure_gets_details_only_through_the_environment(project):
    path = write(project, """\
        notebooks_dir: notebooks
        on_failure: 'printf "%s" "$CRMLIB_ERROR" > err.txt'
        jobs: {a: {cron: '* * * * *', report: ok}}
    """)
    cfg = schedule.load_schedules(path)

    def runner(names, **kwargs):
        return [RunResult("ok", "failed", message='$(touch pwned) `touch pwned2` "; touch pwned3')]

    schedule.run_job(cfg, "a", runner=runner)
    assert (project / "err.txt").read_text() == '$(touch pwned) `touch pwned2` "; touch pwned3'
    assert not list(project.glob("pwned*"))


def test_unknown_job(project):
    cfg = schedule.load_schedules(write(project, GOOD))
    with pytest.raises(CrmlibError, match=r"schedules.yml: no job 'weekly'; jobs: \['nightly', "
                                          r"'sundays'\]"):
        schedule.run_job(cfg, "weekly")


class FakeClock:
    def __init__(self, start):
        self.t = start
        self.slept = []

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.t += dt.timedelta(seconds=seconds)


def test_serve_runs_jobs_at_their_times_one_after_another(project, capsys):
    cfg = schedule.load_schedules(write(project, GOOD))
    clock = FakeClock(dt.datetime(2025, 1, 4, 23, 0, tzinfo=UTC))  # Saturday 23:00
    calls = []
    runner = fake_runner({}, calls)

    def slow_runner(names, **kwargs):
        clock.t += dt.timedelta(hours=4)  # the nightly run takes 4 hours
        return runner(names, **kwargs)

    schedule.serve(cfg, now=clock.now, sleep=clock.sleep, max_jobs=3, runner=slow_runner)
    assert [c[0] for c in calls] == [["all"], ["slow"], ["all"]]
    assert max(clock.slept) <= 30
    out = capsys.readouterr().out
    assert "job 'nightly'" in out and "job 'sundays'" in out
    # nightly at 02:30 Sunday ran till 06:30, so the 06:00 job ran once right after, not twice
    assert "2025-01-05 06:30:00 job 'sundays'" in out
    assert "2025-01-06 02:30:00 job 'nightly'" in out


def test_serve_survives_a_failing_job(project, capsys):
    cfg = schedule.load_schedules(write(project, GOOD))
    clock = FakeClock(dt.datetime(2025, 1, 4, 23, 0, tzinfo=UTC))

    def broken_runner(names, **kwargs):
        raise CrmlibError("crmlib run: no notebook 'slow' in notebooks; available: ['ok']")

    schedule.serve(cfg, now=clock.now, sleep=clock.sleep, max_jobs=2, runner=broken_runner)
    out = capsys.readouterr().out
    assert out.count("ERROR    crmlib run: no notebook 'slow'") == 2
    log = (project / "failures.log").read_text().splitlines()
    assert log == ["nightly|all|error|crmlib run: no notebook 'slow' in notebooks; available: ['ok']",
                   "sundays|slow|error|crmlib run: no notebook 'slow' in notebooks; available: ['ok']"]


def test_crontab_lines_run_the_same_jobs(project):
    cfg = schedule.load_schedules(write(project, GOOD))
    lines = [ln for ln in schedule.crontab_lines(cfg).splitlines() if not ln.startswith("#")]
    assert len(lines) == 2
    fields = lines[1].split(" ", 5)
    assert fields[:5] == ["0", "6", "*", "*", "0"]
    words = shlex.split(fields[5])
    assert words[:3] == ["cd", str(project), "&&"]
    assert words[4:] == ["schedule", "--config", str(project / "schedules.yml"), "--notebooks-dir",
                         str(project / "notebooks"), "--reports-dir", str(project / "reports"),
                         "--run-job", "sundays", ">>", str(project / "reports" / "schedule.log"),
                         "2>&1"]


def test_crontab_escapes_percent(tmp_path):
    folder = tmp_path / "100%"
    copy_notebooks(folder / "notebooks", ("ok",))
    cfg = schedule.load_schedules(write(folder, "notebooks_dir: notebooks\n"
                                                "jobs: {a: {cron: '* * * * *', report: ok}}"))
    line = schedule.crontab_lines(cfg).splitlines()[-1]
    assert "100\\%" in line and "100%/" not in line.replace("100\\%", "")


def test_the_example_schedules_file_is_valid():
    example = Path(__file__).parents[1] / "schedules.yml"
    cfg = schedule.load_schedules(example, check_notebooks=False)
    assert cfg.jobs["nightly"].reports == ["all"] and cfg.jobs["nightly"].retries == 1
