"""Shared set-up of the report-runner tests: fixture notebooks and one set of real runs.

Kernel start-up dominates the time of these tests, so the runs that several tests look at are made
once per session (``executed_reports``) and only read afterwards.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "notebooks_fixtures"
PASSWORD = "Sup3rS3cretPw"
SECRET_URL = f"postgresql://crm:{PASSWORD}@db.example:5432/crm"
XSS = "<script>alert(1)</script>"


def copy_notebooks(folder: Path, names=("ok", "broken", "slow")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.ipynb", folder / f"{name}.ipynb")
    return folder


@dataclass
class Executed:
    root: Path
    notebooks: Path
    reports: Path
    masked: object        # RunResult of ok, default parameters (masked)
    broken: object        # RunResult of broken
    unmasked: object      # RunResult of ok with SECRET_URL and mask_pii=False (the latest)
    failed_ok: object     # RunResult of ok with fail=True, after the successes
    latest_before_fail: bytes


@functools.lru_cache(maxsize=1)
def _executed(root: str) -> Executed:
    from crmlib.report.runner import run_reports

    root = Path(root)
    notebooks = copy_notebooks(root / "notebooks", ("ok", "broken"))
    reports = root / "reports"
    common = {"notebooks_dir": notebooks, "reports_dir": reports, "progress": False, "timeout": 120}
    masked, broken = run_reports(["ok", "broken"], **common)
    (unmasked,) = run_reports(["ok"], db_url=SECRET_URL, mask_pii=False, **common)
    latest = (reports / "ok" / "latest.html").read_bytes()
    (failed_ok,) = run_reports(["ok"], parameters={"fail": "true"}, **common)
    return Executed(root, notebooks, reports, masked, broken, unmasked, failed_ok, latest)


def executed_reports(tmp_path_factory) -> Executed:
    """The session's runs (made on first use)."""
    base = getattr(executed_reports, "_base", None)
    if base is None:
        base = executed_reports._base = str(tmp_path_factory.mktemp("executed"))
    return _executed(base)
