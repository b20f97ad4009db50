"""Scheduled report runs: ``schedules.yml``, a foreground scheduler, and system crontab lines.

``schedules.yml`` (at the project root; every key but ``jobs`` is optional)::

    on_failure: 'echo "$CRMLIB_REPORT $CRMLIB_STATUS: $CRMLIB_ERROR" >> reports/failures.log'
    defaults:              # apply to every job unless it says otherwise
      timeout: 1800        # seconds per notebook
      retries: 1           # extra attempts for a failed or timed-out report
    jobs:
      nightly:
        cron: "30 2 * * *" # minute hour day-of-month month day-of-week (0 or 7 = Sunday)
        report: all        # a notebook name, a list of names, or all
      weekly-baskets:
        cron: "0 6 * * 1"
        report: 20-baskets
        parameters: {min_support: 0.01}
        mask_pii: true
        db: null           # database URL; better leave it to CRMLIB_DB_URL (no password in files)
        scores_to: null    # write per-customer scores into customer_scores there (crmlib.report.scores)
    alerts:                # thresholds on key figures (crmlib.report.alerts)
      command: 'echo "$CRMLIB_ALERT" >> reports/alerts.log'
      rules:
        - {report: payment_default, figure: expected_loss, change_above: 0.2}

``crmlib schedule`` checks the whole file first (cron expressions with croniter, notebook names,
parameter names and types), then runs in the foreground: it sleeps until the next job is due and
runs it; jobs run one after another, and a job that came due meanwhile runs once right after
(missed runs are not queued up). Each report takes its own file lock, so a report already running
(for example from cron or a second scheduler) is skipped instead of run twice. Times are the
machine's local time, as for cron.

When a report fails or times out after its retries, the job's ``on_failure`` shell command runs
with the details in environment variables, never pasted into the command text: ``CRMLIB_JOB``,
``CRMLIB_REPORT``, ``CRMLIB_STATUS`` (failed / timeout / error), ``CRMLIB_ERROR`` (one line, passwords
redacted), ``CRMLIB_RUN_DIR`` and ``CRMLIB_SUMMARY`` (the run's summary.json). A report that does
not apply to the database (``not applicable``: a table it needs is missing or empty, see
:mod:`crmlib.report.requires`) is no failure and raises no alert.

A report whose scores could not be written (``scores_to``) runs ``on_failure`` with
``CRMLIB_STATUS=scores_failed``. After each successful report, every breached rule of ``alerts:``
runs the alert command (see :mod:`crmlib.report.alerts`).

``crmlib schedule --crontab`` prints one crontab line per job that calls
``crmlib schedule --run-job NAME``, so cron and the foreground scheduler do exactly the same.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config as _config
from .._validation import check_interval
from ..errors import CrmlibError, ParameterError

__all__ = ["Job", "ScheduleConfig", "crontab_lines", "describe", "load_schedules", "run_job", "serve",
           "with_audiences"]

TOP_KEYS = ("defaults", "jobs", "on_failure", "notebooks_dir", "reports_dir", "alerts", "audiences")
JOB_KEYS = ("cron", "report", "parameters", "timeout", "retries", "on_failure", "db", "mask_pii",
            "scores_to")
DEFAULT_KEYS = ("timeout", "retries", "on_failure", "mask_pii", "db", "scores_to")
ON_FAILURE_TIMEOUT = 300
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Job:
    """One entry of ``jobs`` in schedules.yml, with the defaults applied."""

    name: str
    cron: str
    reports: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float = 1800.0
    retries: int = 0
    on_failure: str | None = None
    db: str | None = None
    mask_pii: bool = True
    scores_to: str | None = None

    def next_run(self, after: _dt.datetime) -> _dt.datetime:
        """The first time after ``after`` (timezone-aware) that the cron expression names."""
        from croniter import croniter

        return croniter(self.cron, after).get_next(_dt.datetime)


@dataclass
class ScheduleConfig:
    path: Path
    jobs: dict[str, Job]
    notebooks_dir: Path
    reports_dir: Path
    alerts: Any = None  # crmlib.report.alerts.Alerts or None
    audiences: Path | None = None  # audiences.yml the jobs publish sites for (crmlib.report.audiences)


def _unknown_keys(where: str, given, allowed) -> None:
    extra = [k for k in given if k not in allowed]
    if extra:
        raise ParameterError(f"{where}: unknown key(s) {extra}; allowed keys: {list(allowed)}.",
                             name=str(extra[0]))


def _job(name: str, raw, defaults: dict, top_on_failure, where: str) -> Job:
    from croniter import croniter

    from .runner import DEFAULT_TIMEOUT

    if not _JOB_NAME.match(str(name)):
        raise ParameterError(f"{where}: job names use letters, digits, '.', '_' and '-'; "
                             f"got {name!r}.", name="jobs")
    if not isinstance(raw, dict):
        raise ParameterError(f"{where}: a job must be a mapping with keys {list(JOB_KEYS)}; "
                             f"got {raw!r}.", name=name)
    _unknown_keys(where, raw, JOB_KEYS)
    merged = {"timeout": DEFAULT_TIMEOUT, "retries": 0, "on_failure": top_on_failure,
              "mask_pii": True, "db": None, "scores_to": None, **defaults, **raw}
    cron = merged.get("cron")
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise ParameterError(f"{where}: 'cron' must be a cron expression like '30 2 * * *' "
                             f"(minute hour day month weekday); got {cron!r}.", name="cron")
    report = merged.get("report")
    reports = [report] if isinstance(report, str) else report
    if not reports or not isinstance(reports, list) or not all(isinstance(r, str) for r in reports):
        raise ParameterError(f"{where}: 'report' must be a notebook name, a list of names or "
                             f"'all'; got {report!r}.", name="report")
    params = merged.get("parameters") or {}
    if not isinstance(params, dict):
        raise ParameterError(f"{where}: 'parameters' must be a mapping; got {params!r}.",
                             name="parameters")
    timeout = check_interval(merged["timeout"], 0, None, name="timeout", where=where,
                             closed="neither")
    retries = check_interval(merged["retries"], 0, 10, name="retries", where=where, integer=True)
    for key in ("on_failure", "db", "scores_to"):
        if merged[key] is not None and not isinstance(merged[key], str):
            raise ParameterError(f"{where}: '{key}' must be a string; got {merged[key]!r}.",
                                 name=key)
    if not isinstance(merged["mask_pii"], bool):
        raise ParameterError(f"{where}: 'mask_pii' must be true or false; got "
                             f"{merged['mask_pii']!r}.", name="mask_pii")
    return Job(name=str(name), cron=cron, reports=list(reports), parameters=dict(params),
               timeout=float(timeout), retries=int(retries), on_failure=merged["on_failure"],
               db=merged["db"], mask_pii=merged["mask_pii"], scores_to=merged["scores_to"])


def load_schedules(path: str | Path | None = None, *, notebooks_dir: str | Path | None = None,
                   reports_dir: str | Path | None = None, check_notebooks: bool = True
                   ) -> ScheduleConfig:
    """Read and check ``schedules.yml``.

    Parameters
    ----------
    path : str or Path, optional
        Default ``schedules.yml`` in the project root.
    notebooks_dir, reports_dir : str or Path, optional
        Override the file's ``notebooks_dir`` / ``reports_dir`` (relative to the file), whose
        defaults are the project's ``notebooks/`` and ``reports/``.
    check_notebooks : bool, default=True
        Also check every job's notebook names and parameters (names, types) now.

    Raises
    ------
    CrmlibError, ParameterError
        Naming the file, the job and the problem.
    """
    import yaml

    path = Path(path) if path else _config.PROJECT_ROOT / "schedules.yml"
    if not path.is_file():
        raise CrmlibError(f"no schedules file at {path}; write one (see docs/reports.md) or pass "
                          "--config FILE.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise CrmlibError(f"{path}: not valid YAML: {err}") from err
    where = str(path.name)
    if not isinstance(raw, dict):
        raise ParameterError(f"{where}: must be a mapping with keys {list(TOP_KEYS)}.", name="jobs")
    _unknown_keys(where, raw, TOP_KEYS)
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ParameterError(f"{where}: 'defaults' must be a mapping.", name="defaults")
    _unknown_keys(f"{where}: defaults", defaults, DEFAULT_KEYS)
    jobs_raw = raw.get("jobs")
    if not isinstance(jobs_raw, dict) or not jobs_raw:
        raise ParameterError(f"{where}: 'jobs' must map job names to jobs (cron, report, ...); "
                             f"got {jobs_raw!r}.", name="jobs")
    jobs = {str(name): _job(name, job, defaults, raw.get("on_failure"), f"{where}: job '{name}'")
            for name, job in jobs_raw.items()}

    def folder(given, key, default):
        if given:
            return Path(given).absolute()
        if raw.get(key):
            return (path.parent / raw[key]).absolute()
        return default

    from .alerts import parse_alerts

    cfg = ScheduleConfig(path=path.absolute(), jobs=jobs,
                         notebooks_dir=folder(notebooks_dir, "notebooks_dir", _config.NOTEBOOKS_DIR),
                         reports_dir=folder(reports_dir, "reports_dir", _config.REPORTS_DIR),
                         alerts=parse_alerts(raw.get("alerts"), where=where,
                                             default_command=raw.get("on_failure")))
    cfg.audiences = _audiences_path(raw, path, cfg.notebooks_dir, where)
    if check_notebooks and cfg.audiences is not None:
        from .audiences import load_audiences

        load_audiences(cfg.audiences, notebooks_dir=cfg.notebooks_dir)
    if check_notebooks:
        from .runner import find_notebooks, plan_runs

        for job in jobs.values():
            try:
                if job.scores_to:
                    from .scores import check_target

                    check_target(job.scores_to, job.db or job.parameters.get("db_url"))
                plan_runs(find_notebooks(job.reports, cfg.notebooks_dir), job.parameters,
                          db_url=job.db, mask_pii=job.mask_pii)
            except CrmlibError as err:
                raise type(err)(f"{where}: job '{job.name}': {err}") from err
    return cfg


def _audiences_path(raw: dict, path: Path, notebooks_dir: Path, where: str) -> Path | None:
    """``audiences:`` (a file relative to schedules.yml, or null for none); without the key, the
    audiences.yml beside the notebooks folder when there is one."""
    from .audiences import default_path

    if "audiences" in raw:
        value = raw["audiences"]
        if value is None:
            return None
        if not isinstance(value, str):
            raise ParameterError(f"{where}: 'audiences' must be a file name or null; got {value!r}.",
                                 name="audiences")
        return (path.parent / value).absolute()
    found = default_path(notebooks_dir)
    return found if found.is_file() else None


def with_audiences(cfg: ScheduleConfig, path: str | Path | None) -> ScheduleConfig:
    """``cfg`` publishing the sites of another audiences file (None: no sites); checked now."""
    import dataclasses

    if path is not None:
        from .audiences import load_audiences

        load_audiences(path, notebooks_dir=cfg.notebooks_dir)
    return dataclasses.replace(cfg, audiences=Path(path).absolute() if path is not None else None)


def _job_or_fail(cfg: ScheduleConfig, name: str) -> Job:
    if name not in cfg.jobs:
        raise CrmlibError(f"{cfg.path.name}: no job '{name}'; jobs: {sorted(cfg.jobs)}.")
    return cfg.jobs[name]


def _notify(job: Job, cfg: ScheduleConfig, *, report: str, status: str, error: str,
            run_dir: Path | None) -> None:
    """Run the job's on_failure command with the details in environment variables."""
    if not job.on_failure:
        return
    env = {**os.environ, "CRMLIB_JOB": job.name, "CRMLIB_REPORT": report, "CRMLIB_STATUS": status,
           "CRMLIB_ERROR": _config.redact_url(" ".join(error.split())),
           "CRMLIB_RUN_DIR": str(run_dir or ""),
           "CRMLIB_SUMMARY": str(run_dir / "summary.json") if run_dir else ""}
    try:
        done = subprocess.run(job.on_failure, shell=True, env=env, cwd=cfg.path.parent,
                              timeout=ON_FAILURE_TIMEOUT, check=False)
        if done.returncode:
            print(f"crmlib schedule: on_failure of job '{job.name}' exited with "
                  f"{done.returncode}", file=sys.stderr)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"crmlib schedule: on_failure of job '{job.name}' failed: {err}", file=sys.stderr)


def run_job(cfg: ScheduleConfig, name: str, *, runner: Callable | None = None) -> list:
    """Run job ``name`` once now (with its retries), and ``on_failure`` for each failed report.

    Returns
    -------
    list of RunResult
    """
    from .runner import run_reports

    job = _job_or_fail(cfg, name)
    runner = runner or run_reports
    extra = {"scores_to": job.scores_to} if job.scores_to else {}
    if cfg.audiences is not None:
        extra["audiences"] = cfg.audiences
    results = runner(job.reports, notebooks_dir=cfg.notebooks_dir, reports_dir=cfg.reports_dir,
                     parameters=job.parameters, db_url=job.db, mask_pii=job.mask_pii,
                     timeout=job.timeout, retries=job.retries, progress=False, **extra)
    for r in results:
        if r.status in ("failed", "timeout"):
            _notify(job, cfg, report=r.report, status=r.status, error=r.message, run_dir=r.run_dir)
        elif getattr(r, "scores_failed", False):
            _notify(job, cfg, report=r.report, status="scores_failed",
                    error=r.scores.get("error", ""), run_dir=r.run_dir)
        if r.status == "ok":
            _alert(job, cfg, r)
    return results


def _alert(job: Job, cfg: ScheduleConfig, result) -> None:
    """Run the alert command for every rule of ``alerts:`` the successful run breaches."""
    from .alerts import evaluate, notify, previous_metrics

    if not cfg.alerts or not cfg.alerts.rules or result.run_dir is None:
        return
    previous = previous_metrics(result.run_dir)
    for breach in evaluate(cfg.alerts, result.report, result.summary.get("metrics") or {}, previous):
        print(f"ALERT    {breach.text()}", flush=True)
        notify(cfg.alerts.command, breach, job=job.name, run_dir=result.run_dir, cwd=cfg.path.parent)


def _now() -> _dt.datetime:
    return _dt.datetime.now().astimezone()


def describe(cfg: ScheduleConfig, *, now: _dt.datetime | None = None) -> list[str]:
    """One line per job: name, cron, reports and next run time."""
    now = now or _now()
    return [f"{job.name:<20} {job.cron:<16} next {job.next_run(now):%Y-%m-%d %H:%M %Z}  "
            f"{', '.join(job.reports)}" for job in cfg.jobs.values()]


def serve(cfg: ScheduleConfig, *, now: Callable[[], _dt.datetime] = _now,
          sleep: Callable[[float], None] = time.sleep, max_jobs: int | None = None,
          runner: Callable | None = None) -> int:
    """Run the jobs at their times, in the foreground, until interrupted (Ctrl-C exits 0).

    ``now``, ``sleep``, ``max_jobs`` and ``runner`` exist for tests.
    """
    start = now()
    due = {name: job.next_run(start) for name, job in cfg.jobs.items()}
    print(f"crmlib schedule: {len(cfg.jobs)} job(s) from {cfg.path}; Ctrl-C stops.", flush=True)
    for line in describe(cfg, now=start):
        print(f"  {line}", flush=True)
    ran = 0
    try:
        while max_jobs is None or ran < max_jobs:
            name = min(due, key=due.get)
            while (left := (due[name] - now()).total_seconds()) > 0:
                sleep(min(left, 30.0))
            job = cfg.jobs[name]
            print(f"crmlib schedule: {now():%Y-%m-%d %H:%M:%S} job '{name}'", flush=True)
            try:
                for r in run_job(cfg, name, runner=runner):
                    print(f"  {r.line()}", flush=True)
            except CrmlibError as err:  # e.g. a notebook was removed since start-up
                message = _config.redact_url(str(err))
                print(f"  ERROR    {message}", flush=True)
                _notify(job, cfg, report=",".join(job.reports), status="error", error=message,
                        run_dir=None)
            ran += 1
            due[name] = job.next_run(max(now(), due[name]))
    except KeyboardInterrupt:
        print("crmlib schedule: stopped.", flush=True)
    return 0


def _cron_quote(text: str) -> str:
    return shlex.quote(text).replace("%", r"\%")  # cron turns an unescaped % into a newline


def crontab_lines(cfg: ScheduleConfig) -> str:
    """System crontab lines equivalent to ``crmlib schedule`` for the jobs of ``cfg``."""
    script = Path(sys.executable).with_name("crmlib")
    command = _cron_quote(str(script)) if script.is_file() else (
        f"{_cron_quote(sys.executable)} -m crmlib.cli")
    log = cfg.reports_dir / "schedule.log"
    lines = [
        f"# crmlib report schedules from {cfg.path}",
        "# Install: crmlib schedule --crontab | crontab -   (this replaces your crontab; to keep",
        "# other entries, merge by hand with crontab -e). Times are this machine's local time.",
        "# Set CRMLIB_DB_URL in the crontab (or the environment) if the database is not the",
        "# default; cron starts jobs with an almost empty environment.",
    ]
    for job in cfg.jobs.values():
        lines.append(
            f"{job.cron} cd {_cron_quote(str(cfg.path.parent))} && {command} schedule"
            f" --config {_cron_quote(str(cfg.path))}"
            f" --notebooks-dir {_cron_quote(str(cfg.notebooks_dir))}"
            f" --reports-dir {_cron_quote(str(cfg.reports_dir))}"
            f" --run-job {_cron_quote(job.name)} >> {_cron_quote(str(log))} 2>&1"
        )
    return "\n".join(lines) + "\n"
