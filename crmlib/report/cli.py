"""Commands ``crmlib run``, ``schedule``, ``prune``, ``index``, ``audit`` and ``forget``.

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
    """Add ``run``, ``schedule``, ``prune``, ``index``, ``audit`` and ``forget`` to crmlib's
    subcommands."""
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
    _audience_args(p)
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
    _audience_args(p)
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

    p = subparsers.add_parser(
        "audit", help="print the audit log (reports/audit.jsonl) as a table",
        description="One row per report run and per erasure request, oldest first.")
    p.add_argument("--since", metavar="DATE", default=None,
                   help="only entries that started at or after this ISO date or time (UTC)")
    p.add_argument("--report", metavar="NAME", default=None, help="only the runs of this report")
    p.add_argument("--json", action="store_true", help="print the matching JSON lines instead")
    p.add_argument("--reports-dir", type=Path, default=None)
    p.set_defaults(func=_cmd_audit)

    p = subparsers.add_parser(
        "forget", help="erase customers from every published list and page (not from the CRM)",
        description="Remove the customers from every published list and run-history list (CSV, "
                    "Parquet), drop the table rows that name them from every page and executed "
                    "notebook (audience sites included), and record the request in the audit log "
                    "without the ids. The source database is never written: erasing the customer "
                    "there is the CRM's job.")
    p.add_argument("customer_ids", nargs="+", metavar="CUSTOMER_ID")
    p.add_argument("--db", metavar="URL", default=None,
                   help="read the customers' names, e-mail and phone here (read-only) to redact "
                        "them wherever they appear (default: the notebooks' default database)")
    p.add_argument("--reference", metavar="TEXT", default=None,
                   help="the request's reference (e.g. a ticket number), kept in the audit log")
    p.add_argument("--scores-db", metavar="URL", default=None,
                   help="also delete their rows from customer_scores in this database (the one "
                        "--scores-to writes; never the source)")
    p.add_argument("--reports-dir", type=Path, default=None)
    p.set_defaults(func=_cmd_forget)


def _audience_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--audiences", type=Path, default=None, metavar="FILE",
                       help="publish a site per audience of FILE into reports/<audience>/ "
                            "(default: audiences.yml beside the notebooks folder, if there is one)")
    group.add_argument("--no-audiences", action="store_true",
                       help="publish no audience sites, even if an audiences.yml exists")


def _audiences_file(args, notebooks_dir) -> Path | None:
    """The audiences file a command uses (see ``--audiences``)."""
    from .. import config as _config
    from .audiences import default_path

    if args.no_audiences:
        return None
    if args.audiences is not None:
        return args.audiences
    path = default_path(notebooks_dir or _config.NOTEBOOKS_DIR)
    return path if path.is_file() else None


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
        for again in getattr(r, "policy_runs", []):
            masked = "masked" if again.summary.get("mask_pii", True) is not False else "unmasked"
            print(f"  {again.line().rstrip()}  (again, {masked}, for audiences)")
        for run in [r, *getattr(r, "policy_runs", [])]:
            if getattr(run, "sites_error", ""):
                print(f"{'SITES FAILED':<13} {run.report:<23} {run.sites_error}")
            elif getattr(run, "sites", None):
                print(f"{'sites':<13} {run.report:<23} {', '.join(run.sites)}")
    failed = [r for r in results if r.failed or any(a.failed for a in getattr(r, "policy_runs", []))
              or getattr(r, "sites_error", "")]
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
        scores_to=args.scores_to, audiences=_audiences_file(args, args.notebooks_dir),
    )
    return _print_results(results)


def _cmd_schedule(args) -> int:
    from . import schedule

    _quiet_papermill()
    config = schedule.load_schedules(args.config, notebooks_dir=args.notebooks_dir,
                                     reports_dir=args.reports_dir)
    if args.no_audiences or args.audiences is not None:
        config = schedule.with_audiences(config, _audiences_file(args, config.notebooks_dir))
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
    from .audiences import POLICY_TREES, policy_tree

    removed = prune(reports_dir, keep=args.keep, report=args.report, dry_run=args.dry_run)
    for masked in POLICY_TREES:  # the runs made again for audiences age the same way
        if (policy_tree(reports_dir, masked) / "runs").is_dir():
            removed += prune(policy_tree(reports_dir, masked), keep=args.keep, report=args.report,
                             dry_run=args.dry_run)
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


def _cmd_audit(args) -> int:
    from .. import config as _config
    from .audit import format_table, read_log

    records, torn = read_log(args.reports_dir or _config.REPORTS_DIR, since=args.since,
                             report=args.report)
    if args.json:
        import json

        for rec in records:
            print(json.dumps(rec, ensure_ascii=False))
    else:
        print(format_table(records))
        print(f"{len(records)} entr{'y' if len(records) == 1 else 'ies'}.")
    if torn:
        print(f"warning: {torn} torn line(s) skipped", file=sys.stderr)
    return 0


def _cmd_forget(args) -> int:
    from .. import config as _config
    from .forget import forget

    result = forget(args.customer_ids, reports_dir=args.reports_dir or _config.REPORTS_DIR,
                    db_url=args.db, reference=args.reference, scores_db=args.scores_db)
    for line in result.lines():
        print(line)
    return 0
