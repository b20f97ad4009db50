"""Paths and settings in one place. Importing this module has no side effects."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "DATA_DIR",
    "DEFAULT_DB_PATH",
    "NOTEBOOKS_DIR",
    "PROJECT_ROOT",
    "REPORTS_DIR",
    "default_url",
    "project_root",
    "redact_url",
]


def project_root() -> Path:
    """The workbench folder: ``CRMLIB_HOME`` if set, else the nearest parent of the working
    directory that holds a ``notebooks/`` and a ``crmlib/`` or ``pyproject.toml``, else the
    folder above this package (a source checkout)."""
    env = os.environ.get("CRMLIB_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


PROJECT_ROOT = project_root()
DATA_DIR = PROJECT_ROOT / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_DB_PATH = DATA_DIR / "crm.sqlite"

# The userinfo of a URL, anchored at '://' so that megabytes of notebook output (embedded images)
# are scanned in linear time; an unanchored scheme pattern backtracks over every alphanumeric run.
URL_USERINFO = re.compile(r"://([^:/@\s]*):([^@\s/]*)@")


def default_url() -> str:
    """The database URL used when none is given: env ``CRMLIB_DB_URL``, else the sample SQLite file."""
    return os.environ.get("CRMLIB_DB_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def redact_url(text: str) -> str:
    """Replace every password in URLs inside ``text`` with '***'.

    >>> redact_url("postgresql://crm:s3cret@db:5432/crm")
    'postgresql://crm:***@db:5432/crm'
    """
    return URL_USERINFO.sub(lambda m: f"://{m[1]}:***@" if m[2] else m[0], str(text))
