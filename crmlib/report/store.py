"""The reports folder: where runs go, how they are read back, atomic writes, retention.

Layout (``REPORTS`` is ``reports/`` by default)::

    REPORTS/index.html                              every report, its status and history
    REPORTS/<report>/latest.html                    last successful stakeholder HTML
    REPORTS/<report>/latest.ipynb                   ... and its executed notebook (with code)
    REPORTS/<report>/latest.json                    ... and its summary
    REPORTS/<report>/lists/<run id>/                ... and its lists (CSV, Parquet; see lists.py)
    REPORTS/runs/<report>/<run id>/<report>.ipynb   every run: executed notebook,
    REPORTS/runs/<report>/<run id>/<report>.html    stakeholder HTML,
    REPORTS/runs/<report>/<run id>/summary.json     and summary (status, error, metrics, ...)
    REPORTS/runs/<report>/<run id>/lists/           and its lists (pruned with the run)
    REPORTS/.locks/                                 lock files (one per report, one for the index,
                                                    one for the audit log and its journal)

A run id is the UTC start time, ``20250131T020000Z`` (``_2``, ``_3`` ... appended if taken). Folders
whose name starts with a dot are unfinished runs and are never listed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .._validation import check_interval

__all__ = [
    "RUNS",
    "list_reports",
    "list_runs",
    "lock_path",
    "prune",
    "read_summary",
    "write_atomic",
]

RUNS = "runs"
LOCKS = ".locks"
SUMMARY = "summary.json"
STALE_TMP_SECONDS = 24 * 3600


def lock_path(reports_dir: Path, name: str) -> Path:
    """The lock file guarding report ``name`` (or ``index``)."""
    folder = Path(reports_dir) / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def list_reports(reports_dir: Path) -> list[str]:
    """Names of the reports that have at least one recorded run, sorted."""
    runs = Path(reports_dir) / RUNS
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_runs(reports_dir: Path, report: str) -> list[Path]:
    """Finished run folders of ``report``, oldest first."""
    folder = Path(reports_dir) / RUNS / report
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / SUMMARY).is_file())


def read_summary(run_dir: Path) -> dict:
    """The summary.json of a run folder (a minimal failed record if it cannot be read)."""
    try:
        return json.loads((Path(run_dir) / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return {"report": Path(run_dir).parent.name, "run_id": Path(run_dir).name,
                "status": "failed", "error": {"ename": type(err).__name__, "evalue": str(err)}}


def prune(reports_dir: Path, *, keep: int, report: str | None = None,
          dry_run: bool = False) -> list[Path]:
    """Delete all but the newest ``keep`` runs of each report (or of ``report`` only).

    Published ``latest.*`` files are copies and are never touched. Unfinished run folders (names
    starting with a dot) older than a day are removed as well.

    Returns
    -------
    list of Path
        The folders deleted (or that would be, with ``dry_run``).
    """
    check_interval(keep, 1, None, name="keep", where="report.prune", integer=True)
    reports = [report] if report else list_reports(reports_dir)
    removed = []
    for name in reports:
        runs = list_runs(reports_dir, name)
        removed.extend(runs[: max(0, len(runs) - keep)])
        folder = Path(reports_dir) / RUNS / name
        if folder.is_dir():
            removed.extend(p for p in folder.iterdir()
                           if p.is_dir() and p.name.startswith(".tmp-")
                           and time.time() - p.stat().st_mtime > STALE_TMP_SECONDS)
    if not dry_run:
        for path in removed:
            shutil.rmtree(path, ignore_errors=True)
    return removed
