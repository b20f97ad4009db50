"""Commands ``crmlib run``, ``crmlib schedule``, ``crmlib prune`` and ``crmlib index``.

``register(subparsers)`` adds them to crmlib's argparse CLI; each sets ``func`` to a handler that
takes the parsed arguments and returns the exit code. Errors a user can cause raise
:class:`~crmlib.errors.CrmlibError`, which ``crmlib.cli.main`` prints as one line.

Exit codes of ``crmlib run``: 0 every report succeeded, 1 a report failed, timed out or was
skipped because it was already running, or its scores could not be written (``--scores-to``); 2 nothing ran: a CrmlibError (bad name, parameter,
kernel) printed as one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def _dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reports-dir", type=Path, default=None,
                        help="where reports go (default: reports/ of the project)")
    parser.add_argument("--notebooks-dir", type=Path, default=None,
                        help="where the notebooks are (default: notebooks/ of the project)")


def register(subparsers) -> None:
    """Add ``run``, ``schedule``, ``prune`` and ``index`` to crmlib's subcommands."""
    from .runner import DEFAULT_TIMEOUT

    p = subparsers.add_parser(
        "run", help="execute report notebooks and publish their HTML",
        description="Execute notebooks with papermill into reports/runs/<report>/<UTC time>/ and "
                    "publish reports/<report>/latest.html on success. Parameters are checked "
                    "against each notebook's parameters cell before any kernel starts.")
    p.add_argument("names", nargs="+", metavar="NAME|all",
                   help="notebook names (file names without .ipynb) or 'all'")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("KEY", "VALUE"),
                   help="set a notebook parameter; the value is converted to the parameter's type")
    p.add_argument("--db", metavar="URL", default=None,
                   help="database URL passed as db_url (default: the notebooks' own default)")
    p.add_argument("--engine", choices=("pandas", "spark"), default=None,
                   help="compute with pandas or Spark (passed to the notebooks that declare "
                        "`engine`; default: their own, pandas)")
    p.add_argument("--spark-master", metavar="URL", default=None,
                   help="Spark master with --engine spark: local[*] (default), spark://host:7077, "
                        "yarn, k8s://https://host:443")
    p.add_argument("--no-mask-pii", action="store_true",
                   help="show personal data (names, e-mail, phone, street) unmasked, in the pages "
                        "and in the downloadable lists")
    p.add_argument("--scores-to", metavar="URL", default=None,
                   help="write each successful report's per-customer scores into table "
                        "customer_scores of this database (never the source; see docs/reports.md)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds a notebook may run in total (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--retries", type=int, default=0, metavar="N",
                   help="run a failed report again up to N times (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _dirs(p)
    p.set_defaults(func=_cmd_run)

    p = subparsers.add_parser(
        "schedule", help="run reports on the schedules in schedules.yml",
        description="Run in the foreground and execute the jobs of schedules.yml at their cron "
                    "times; --crontab prints equivalent lines for the system crontab instead.")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="schedules file (default: schedules.yml of the project)")
    p.add_argument("--crontab", action="store_true",
                   help="print system crontab lines for the jobs and exit")
    p.add_argument("--run-job", metavar="JOB", default=None,
                   help="run one job now (with its retries and on_failure) and exit")
    p.add_argument("--list", action="store_true", help="list the jobs and their next run times")
    _dirs(p)
    p.set_defaults(func=_cmd_schedule)

    p = subparsers.add_parser("prune", help="delete old runs, keeping the newest N per report")
    p.add_argument("--keep", type=int, required=True, metavar="N", help="runs to keep per report")
    p.add_argument("--report", default=None, metavar="NAME", help="only this report")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    p.add_argument("--reports-dir", type=Path, default=None)
    p.set_defaults(func=_cmd_prune)

    p = subparsers.add_parser("index", help="rebuild reports/index.html from the recorded runs")
    p.add_argument("--reports-dir", type=Path, default=None)
    p.set_defaults(func=_cmd_index)


def _quiet_papermill() -> None:
    """The runner reports every failure itself (one line per report); papermill's and nbclient's
    own log lines ("Timeout waiting for execute reply") would only repeat it less clearly."""
    import logging

    logging.getLogger("papermill").setLevel(logging.CRITICAL)


def _print_results(results) -> int:
    from .runner import STATUS_NOT_APPLICABLE

    for r in results:
        print(r.line())
        extra = getattr(r, "scores_line", lambda: None)()
        if extra:
            print(extra)
    failed = [r for r in results if r.failed]
    total = len(results)
    idle = sum(r.status == STATUS_NOT_APPLICABLE for r in results)
    done = total - len(failed) - idle
    print(f"{done} of {total} report{'s' if total != 1 else ''} succeeded"
          + (f", {idle} not applicable (their data is missing)." if idle else "."))
    # not applicable is no failure; scores that could not be written are
    return 1 if failed or any(getattr(r, "scores_failed", False) for r in results) else 0


def _cmd_run(args) -> int:
    from .runner import run_reports

    _quiet_papermill()
    params = {}
    for key, value in args.parameter:
        params[key] = value
    # plain parameters of the notebooks that declare them (with `all`: only those)
    if args.engine is not None:
        params["engine"] = args.engine
    if args.spark_master is not None:
        params["spark_master"] = args.spark_master
    results = run_reports(
        args.names, notebooks_dir=args.notebooks_dir, reports_dir=args.reports_dir,
        parameters=params, db_url=args.db, mask_pii=not args.no_mask_pii, timeout=args.timeout,
        retries=args.retries, progress=False if args.no_progress else None,
        scores_to=args.scores_to,
    )
    return _print_results(results)


def _cmd_schedule(args) -> int:
    from . import schedule

    _quiet_papermill()
    config = schedule.load_schedules(args.config, notebooks_dir=args.notebooks_dir,
                                     reports_dir=args.reports_dir)
    if args.crontab:
        sys.stdout.write(schedule.crontab_lines(config))
        return 0
    if args.list:
        for line in schedule.describe(config):
            print(line)
        return 0
    if args.run_job:
        results = schedule.run_job(config, args.run_job)
        return _print_results(results)
    return schedule.serve(config)


def _cmd_prune(args) -> int:
    from .. import config as _config
    from .index import build_index
    from .store import prune

    reports_dir = args.reports_dir or _config.REPORTS_DIR
    removed = prune(reports_dir, keep=args.keep, report=args.report, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{verb} {len(removed)} run folder{'s' if len(removed) != 1 else ''}.")
    if not args.dry_run:
        build_index(reports_dir)
    return 0


def _cmd_index(args) -> int:
    from .. import config as _config
    from .index import build_index

    print(build_index(args.reports_dir or _config.REPORTS_DIR))
    return 0
