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
  with ``O_APPEND``, while holding a file lock (``reports/.locks/audit.lock``, :mod:`filelock`), so
  concurrent writers take turns, also on file systems without atomic appends (NFS);
- Linux stops a large ``write`` between pages when the writer gets SIGKILL (measured: 3 kills in
  30 left part of a 2 MB line), so appending alone cannot keep a killed writer's line whole. Before
  it writes, the writer therefore puts the line and the offset it will start at in a journal,
  ``reports/.locks/audit.pending`` (written to a temporary file and renamed, so it is whole or
  absent), and removes the journal once the line is synced. The next writer, under the lock,
  finds a journal left by a killed one, cuts the torn piece after its offset and appends the whole
  line from the journal. Readers (:func:`read_log`), which need no write access, take the
  journaled record in place of a torn last line. So a writer killed at any point leaves, to every
  reader, its whole line (it had journaled it) or none (it had not);
- should a line still end torn with no journal (a power cut on a file system that lost it), the
  next writer starts on a new line and readers skip the torn piece with a warning count.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import itertools
import json
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from ..config import redact_url
from ..errors import ParameterError
from . import store

__all__ = ["AUDIT_FILE", "JOURNAL_FILE", "append", "file_hashes", "format_table", "journal_path",
           "read_log", "run_record", "sha256_file", "who"]

AUDIT_FILE = "audit.jsonl"
JOURNAL_FILE = "audit.pending"
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


def journal_path(reports_dir: str | Path) -> Path:
    """``reports_dir/.locks/audit.pending``: the line being appended, with its offset."""
    return Path(reports_dir) / store.LOCKS / JOURNAL_FILE


def _read_journal(path: Path) -> tuple[int, bytes] | None:
    """``(offset, data)`` of a journal, or None when there is none (or it is not one of ours)."""
    try:
        blob = path.read_bytes()
    except OSError:  # none, or a reader not allowed into .locks: it sees a torn piece, skipped
        return None
    header, sep, data = blob.partition(b"\n")
    try:
        meta = json.loads(header) if sep else None
        if not isinstance(meta, dict):
            return None
        offset, length, digest = int(meta["offset"]), int(meta["length"]), str(meta["sha256"])
    except (ValueError, KeyError, TypeError):
        return None
    if len(data) != length or hashlib.sha256(data).hexdigest() != digest:
        return None  # the rename makes this whole; anything else was not written by append
    return offset, data


def _write_journal(path: Path, offset: int, data: bytes) -> None:
    header = json.dumps({"offset": offset, "length": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()}).encode() + b"\n"
    store.write_atomic(path, header + data, mode=0o640)  # the log's own mode: it holds a line


def _write_all(fd: int, data: bytes, path: Path) -> None:
    written = os.write(fd, data)
    if written != len(data):  # a full disk
        raise OSError(f"audit log {path}: wrote {written} of {len(data)} bytes")
    os.fsync(fd)


def _plan(size: int, read_at, pending: tuple[int, bytes] | None) -> tuple[int, bytes]:
    """Where the log's whole lines end, and the journaled line that follows them.

    ``read_at(offset, n)`` reads the log. A killed (or still running) writer's torn piece after
    its offset is not part of the log; its journaled line is. A line already written whole, or a
    file changed in a way append never makes, cuts nothing.
    """
    if pending is None:
        return size, b""
    offset, data = pending
    present = read_at(offset, max(0, min(size - offset, len(data)))) if size > offset else b""
    if size == offset + len(data) and present == data:
        return size, b""  # killed after its write, before removing the journal
    if offset <= size < offset + len(data) and data.startswith(present):
        return offset, data
    return size, data


def _complete(fd: int, path: Path, journal: Path) -> None:
    """Finish the line a killed writer journaled (we hold the lock, so no one else is writing)."""
    size = os.fstat(fd).st_size
    cut, data = _plan(size, lambda offset, n: os.pread(fd, n, offset), _read_journal(journal))
    if data:
        if cut < size:
            os.ftruncate(fd, cut)  # only the killed writer's own torn piece
        elif cut and os.pread(fd, 1, cut - 1) != b"\n" and not data.startswith(b"\n"):
            data = b"\n" + data
        _write_all(fd, data, path)
    journal.unlink(missing_ok=True)


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
    journal = journal_path(reports_dir)
    with FileLock(str(store.lock_path(reports_dir, "audit")), timeout=LOCK_TIMEOUT):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            _complete(fd, path, journal)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line: start a new one
                data = b"\n" + data
            _write_journal(journal, size, data)
            try:
                _write_all(fd, data, path)
            except OSError:
                os.ftruncate(fd, size)  # none rather than a torn line
                journal.unlink(missing_ok=True)
                raise
            journal.unlink()
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
        # the size before the journal: a writer that journals after this starts at or past it
        size = os.fstat(fh.fileno()).st_size

        def read_at(offset, n):
            fh.seek(offset)
            return fh.read(n)

        pending = _read_journal(journal_path(reports_dir))
        if pending is not None and pending[0] > size:
            pending = None  # a later writer's: it follows lines this read does not include
        cut, pending = _plan(size, read_at, pending)
        fh.seek(0)
        raws = _lines_before(fh, cut)
        for raw in itertools.chain(raws, [pending.lstrip(b"\n")] if pending else []):
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


def _lines_before(fh, cut: int):
    """The lines of ``fh`` in its first ``cut`` bytes, streamed (the log can be large)."""
    pos = 0
    for raw in fh:
        if pos + len(raw) > cut:
            if cut > pos:
                yield raw[: cut - pos]
            return
        pos += len(raw)
        yield raw


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
