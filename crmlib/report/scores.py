"""Per-customer scores written back for the CRM: table ``customer_scores`` in a separate database.

``crmlib run NAME --scores-to URL`` (or ``scores_to:`` in schedules.yml) writes, after each
successful report, the score columns of its lists (:func:`crmlib.report.lists.publish` with
``scores=[...]``) into ``customer_scores``:

==============  =============================================================================
run_id          the run (``20250131T020000Z``)
report          the report (``segmentation``)
customer_id     the customer
name            the score (``clv``, ``probability_alive``, ``rfm_segment``, ...)
value           the score as a number (NULL for text scores)
text            the score as text (segments, names; NULL for numbers)
list            the list the score comes from
computed_at     when the run started (UTC)
==============  =============================================================================

Primary key (run_id, report, customer_id, name). Rules:

- **Never the source.** A URL that names the database the reports read (``--db``,
  ``CRMLIB_DB_URL`` or the default sample) is refused before anything runs.
- **One transaction per run.** A run's rows are written in one transaction that first deletes
  the rows of the same run_id and report, so a rerun never duplicates rows; a failed or timed-out
  run writes nothing.
- **Unreachable target.** The report is still published; the run is reported as failed for its
  scores in one line (``SCORES FAILED``), recorded in its summary.json under ``scores``, and
  ``crmlib run`` exits with 1.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import pandas as pd

from .. import config as _config
from ..errors import CrmlibError

__all__ = ["TABLE", "check_target", "same_database", "score_rows", "write_scores"]

TABLE = "customer_scores"
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433, "oracle": 1521}


def _parse(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError as err:
        raise CrmlibError(f"--scores-to: not a database URL: {_config.redact_url(url)!r} ({err}); "
                          "for example sqlite:///scores.sqlite or postgresql://user@host/crm_scores.") from err


def same_database(a: str, b: str) -> bool:
    """Whether URLs ``a`` and ``b`` name the same database (driver, user and password ignored)."""
    ua, ub = _parse(a), _parse(b)
    ba, bb = ua.get_backend_name(), ub.get_backend_name()
    if ba != bb:
        return False
    if ba == "sqlite":
        da, db = ua.database or "", ub.database or ""
        if da in ("", ":memory:") or db in ("", ":memory:"):
            return False
        pa, pb = Path(da).expanduser(), Path(db).expanduser()
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
        return os.path.realpath(pa) == os.path.realpath(pb)
    host_a = "localhost" if (ua.host or "") in _LOCAL_HOSTS else ua.host.lower()
    host_b = "localhost" if (ub.host or "") in _LOCAL_HOSTS else ub.host.lower()
    port_a = ua.port or _DEFAULT_PORTS.get(ba)
    port_b = ub.port or _DEFAULT_PORTS.get(bb)
    return (host_a, port_a, ua.database) == (host_b, port_b, ub.database)


def check_target(scores_to: str, source_url: str | None) -> str:
    """Refuse a scores URL that points at the source database; returns ``scores_to``.

    Raises
    ------
    CrmlibError
        One line naming both (passwords redacted).
    """
    source = source_url or _config.default_url()
    _parse(scores_to)
    if same_database(scores_to, source):
        raise CrmlibError(
            f"--scores-to {_config.redact_url(scores_to)} is the source database the reports read "
            f"({_config.redact_url(source)}); the source stays read-only: write the scores to "
            "another database.")
    return scores_to


def score_rows(run_dir: Path, summary: dict) -> pd.DataFrame:
    """The long table of a run's scores (columns of ``customer_scores``), from its lists."""
    from .lists import LISTS, read_list

    frames = []
    computed = pd.Timestamp(summary.get("started") or _dt.datetime.now(_dt.UTC))
    if computed.tzinfo is not None:  # stored as naive UTC: SQLite has no time zones
        computed = computed.tz_convert("UTC").tz_localize(None)
    for entry in summary.get("lists") or []:
        if not entry.get("scores"):
            continue
        data = read_list(Path(run_dir) / LISTS, entry["name"])
        if data is None:
            continue
        for name in entry["scores"]:
            col = data[name]
            numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            frames.append(pd.DataFrame({
                "customer_id": data["customer_id"].astype("int64").to_numpy(),
                "name": name,
                "value": pd.to_numeric(col, errors="coerce").astype("float64").to_numpy() if numeric
                else [None] * len(col),
                "text": [None] * len(col) if numeric
                else [None if pd.isna(v) else str(v) for v in col],
                "list": entry["name"],
            }))
    columns = ["run_id", "report", "customer_id", "name", "value", "text", "list", "computed_at"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "report", summary["report"])
    out.insert(0, "run_id", summary["run_id"])
    out["computed_at"] = computed.to_pydatetime()
    out["value"] = out["value"].astype(object).where(out["value"].notna(), None)
    return out[columns]


def _table(metadata):
    from sqlalchemy import BigInteger, Column, DateTime, Float, String, Table, Text

    return Table(
        TABLE, metadata,
        Column("run_id", String(40), primary_key=True),
        Column("report", String(100), primary_key=True),
        Column("customer_id", BigInteger, primary_key=True),
        Column("name", String(100), primary_key=True),
        Column("value", Float, nullable=True),
        Column("text", Text, nullable=True),
        Column("list", String(64), nullable=False),
        Column("computed_at", DateTime, nullable=False),
    )


def write_scores(url: str, run_dir: Path, summary: dict, *, chunk: int = 5000) -> int:
    """Write a successful run's scores into ``customer_scores`` at ``url``, in one transaction.

    Returns
    -------
    int
        Rows written (0 when the run has no score).

    Raises
    ------
    CrmlibError
        The database cannot be reached or written; nothing of the run is left in it.
    """
    from sqlalchemy import MetaData, create_engine
    from sqlalchemy.exc import SQLAlchemyError

    rows = score_rows(run_dir, summary)
    if rows.empty:
        return 0
    records = rows.to_dict("records")
    engine = None
    try:
        engine = create_engine(url)
        table = _table(MetaData())
        with engine.begin() as conn:
            table.create(conn, checkfirst=True)
            conn.execute(table.delete().where(table.c.run_id == summary["run_id"],
                                              table.c.report == summary["report"]))
            for start in range(0, len(records), chunk):
                conn.execute(table.insert(), records[start:start + chunk])
    except (SQLAlchemyError, OSError) as err:
        first = " ".join(str(getattr(err, "orig", None) or err).split())[:200]
        raise CrmlibError(f"scores to {_config.redact_url(url)}: {type(err).__name__}: "
                          f"{_config.redact_url(first)}") from err
    finally:
        if engine is not None:
            engine.dispose()
    return len(records)
