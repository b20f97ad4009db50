"""The audit log: ``reports/audit.jsonl``, one JSON line per report run and per erasure request.

Every ``crmlib run`` (and scheduled run) appends one line per report it ran, after the run is
recorded and published; ``crmlib forget`` appends one line per request. Nothing ever rewrites or
truncates the file.

A line of a run holds: ``event`` (``run``), ``report``, ``run_id``, ``user`` (the OS user),
``host``, ``pid``, ``started``, ``ended`` (ISO 8601 UTC), ``status``, ``mask_pii``,
``parameters`` (as given, every URL's password redacted), ``database`` (the URL the notebook read,
redacted), ``sites`` (the audience sites the run was published to) and ``files``: the SHA-256 of
every file the run published, by path relative to the reports folder.

Whole lines, even with concurrent writers and ``kill -9``:

- a line is encoded completely first and written with **one** ``os.write`` on a descriptor opened
  with ``O_APPEND`` (the kernel appends it at the end in one piece), while holding a file lock
  (``reports/.locks/audit.lock``, :mod:`filelock`) so that writers on file systems without atomic
  appends (NFS) still take turns;
- a writer killed before its ``os.write`` leaves no line; the kernel does not stop a regular-file
  write halfway for a signal, so a killed writer leaves its whole line or none. Should a line still
  end torn (a full disk, a power cut), the next writer starts on a new line and readers skip the
  torn piece with a warning count (:func:`read_log`).
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from ..config import redact_url
from ..errors import ParameterError
from . import store

__all__ = ["AUDIT_FILE", "append", "file_hashes", "format_table", "read_log", "run_record",
           "sha256_file", "who"]

AUDIT_FILE = "audit.jsonl"
LOCK_TIMEOUT = 60


def audit_path(reports_dir: str | Path) -> Path:
    """``reports_dir/audit.jsonl``."""
    return Path(reports_dir) / AUDIT_FILE


def who() -> dict:
    """The OS user, host and process id of this process."""
    try:  # the account the process runs as, not $USER (which anyone can set)
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # Windows, or no passwd entry (containers)
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return {"user": user, "host": socket.gethostname(), "pid": os.getpid()}


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(reports_dir: str | Path, paths: Iterable[str | Path]) -> dict[str, str]:
    """``{path relative to reports_dir: sha256}`` for every existing file in ``paths`` (folders are
    walked)."""
    reports_dir = Path(reports_dir)
    out: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.is_file() and not any(part.startswith(".tmp") for part in f.parts):
                try:
                    key = f.relative_to(reports_dir).as_posix()
                except ValueError:
                    key = str(f)
                out[key] = sha256_file(f)
    return out


def append(reports_dir: str | Path, record: dict) -> Path:
    """Append ``record`` as one JSON line to ``reports_dir/audit.jsonl`` (see the module docstring).

    Returns
    -------
    Path
        The audit file.
    """
    from filelock import FileLock

    path = audit_path(reports_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":")) + "\n")
    data = line.encode("utf-8")
    with FileLock(str(store.lock_path(reports_dir, "audit")), timeout=LOCK_TIMEOUT):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line: start a new one
                data = b"\n" + data
            written = os.write(fd, data)
            if written != len(data):  # only on a full disk; the reader skips the torn rest
                raise OSError(f"audit log {path}: wrote {written} of {len(data)} bytes")
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def _parse_when(text: str | None, *, name: str) -> _dt.datetime | None:
    if text is None:
        return None
    try:
        when = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as err:
        raise ParameterError(f"crmlib audit: '{name}' must be an ISO date or time like 2026-01-31 "
                             f"or 2026-01-31T02:00; got {text!r}.", name=name) from err
    return when if when.tzinfo else when.replace(tzinfo=_dt.UTC)


def read_log(reports_dir: str | Path, *, since: str | None = None, report: str | None = None
             ) -> tuple[list[dict], int]:
    """The audit log's records, oldest first, optionally filtered.

    Parameters
    ----------
    reports_dir : str or Path
    since : str, optional
        Only records that started at or after this ISO date or time (UTC unless it says).
    report : str, optional
        Only the runs of this report (erasure records are kept: they concern every report).

    Returns
    -------
    (list of dict, int)
        The records and the number of torn lines skipped.
    """
    limit = _parse_when(since, name="since")
    path = audit_path(reports_dir)
    if not path.is_file():
        return [], 0
    records, torn = [], 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                torn += 1
                continue
            try:
                rec = json.loads(raw)
            except ValueError:
                torn += 1
                continue
            if not isinstance(rec, dict):
                torn += 1
                continue
            if report is not None and rec.get("event", "run") == "run" and rec.get("report") != report:
                continue
            if limit is not None:
                started = _parse_when(rec.get("started"), name="started") if rec.get("started") else None
                if started is None or started < limit:
                    continue
            records.append(rec)
    return records, torn


def _short(value, width: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(records: list[dict]) -> str:
    """The records as a fixed-width text table (one row each)."""
    header = ("started", "ended", "user", "host", "event", "report", "status", "sites", "files",
              "parameters")
    rows = []
    for r in records:
        if r.get("event") == "forget":
            what, params = "forget", f"{r.get('customers', 0)} customer(s); {r.get('reference') or ''}"
        else:
            what = "run"
            params = ", ".join(f"{k}={v}" for k, v in (r.get("parameters") or {}).items())
        rows.append((
            str(r.get("started", ""))[:19], str(r.get("ended", ""))[:19], str(r.get("user", "")),
            _short(r.get("host", ""), 20), what, str(r.get("report", "") or "*"),
            str(r.get("status", "")), _short(",".join(r.get("sites") or []) or "-", 30),
            str(len(r.get("files") or {})), _short(params or "-", 60),
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def run_record(summary: dict, *, status: str, sites: list[str], files: dict[str, str],
               database: str | None, ended: str | None = None) -> dict:
    """The audit record of one finished run, from its (already redacted) summary."""
    parameters = {k: redact_url(v) if isinstance(v, str) else v
                  for k, v in (summary.get("parameters") or {}).items()}
    return {
        "event": "run",
        "report": summary.get("report"),
        "run_id": summary.get("run_id"),
        **who(),
        "started": summary.get("started"),
        "ended": ended or summary.get("finished"),
        "status": status,
        "mask_pii": summary.get("mask_pii", True),
        "parameters": parameters,
        "database": redact_url(database) if database else None,
        "sites": list(sites),
        "files": files,
    }
