"""Read the rows of a mapping source as text, without ever writing to it.

Every value is read as text (codes such as '00123' keep their zeros); the mapping's column specs
type them. CSV files are decoded as UTF-8 (a byte-order mark is dropped) and, if that fails, as
Windows-1252 / Latin-1, which the import log records. Databases are opened read-only: SQLite with
``mode=ro``, PostgreSQL sessions with ``default_transaction_read_only``.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

import pandas as pd

from ..config import redact_url
from ..errors import DatabaseUnavailableError, DataContractError, EmptyDataError
from .mapping import SourceSpec

__all__ = ["SourceData", "read_source"]

log = logging.getLogger(__name__)

#: Encodings tried in turn by ``encoding: auto``; cp1252 decodes what Latin-1 does plus € and quotes.
AUTO_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass
class SourceData:
    """The rows of a source (all text, index = source row number from 1) and how they were read."""

    frame: pd.DataFrame
    encoding: str | None = None
    notes: tuple[str, ...] = ()


def read_source(spec: SourceSpec) -> SourceData:
    """Read a source into a DataFrame of strings; row labels are 1-based data row numbers.

    Raises
    ------
    EmptyDataError
        The file is empty or has a header but no rows.
    DatabaseUnavailableError
        The file or database cannot be opened.
    """
    if spec.kind == "rows":
        frame = pd.DataFrame([{k: None if v is None else str(v) for k, v in r.items()} for r in spec.rows])
        data = SourceData(frame.astype(object))
    elif spec.kind == "csv":
        data = _read_csv(spec)
    elif spec.kind == "excel":
        data = _read_excel(spec)
    else:
        data = _read_sql(spec)
    frame = data.frame
    if frame.shape[1] == 0 or frame.empty:
        what = "has no rows" if frame.shape[1] else "is empty (no header row)"
        raise EmptyDataError(f"source {spec.name!r} ({_where(spec)}) {what}; nothing to import",
                             table=spec.name)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="source_row")
    data.frame = frame
    return data


def _where(spec: SourceSpec) -> str:
    if spec.path is not None:
        return str(spec.path)
    if spec.url:
        return f"{redact_url(spec.url)} {spec.table or 'query'}"
    return "inline rows"


def _read_csv(spec: SourceSpec) -> SourceData:
    path = spec.path
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DatabaseUnavailableError(f"source {spec.name!r}: cannot read {path}: {err.strerror}") from None
    if not raw.strip():
        raise EmptyDataError(f"source {spec.name!r} ({path}) is empty (no header row); nothing to import",
                             table=spec.name)
    notes = []
    if spec.encoding == "auto":
        for encoding in AUTO_ENCODINGS:
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if encoding != "utf-8-sig":
            notes.append(f"{path.name} is not UTF-8; decoded as {encoding}")
    else:
        try:
            text = raw.decode(spec.encoding)
        except (UnicodeDecodeError, LookupError) as err:
            raise DataContractError(
                f"source {spec.name!r} ({path}) cannot be decoded as {spec.encoding}: {err}; "
                "set 'encoding' in the mapping (or 'auto')", table=spec.name) from None
        encoding = spec.encoding
    text = text.lstrip("\ufeff")
    delimiter = spec.delimiter
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                        skiprows=spec.skip_rows or None, skipinitialspace=False)
    frame = frame.astype(object).where(frame.ne(""), None)
    return SourceData(frame, encoding=encoding, notes=tuple(notes))


def _read_excel(spec: SourceSpec) -> SourceData:
    try:
        frame = pd.read_excel(spec.path, sheet_name=spec.sheet or 0, dtype=object,
                              skiprows=spec.skip_rows or None)
    except FileNotFoundError:
        raise DatabaseUnavailableError(f"source {spec.name!r}: file not found: {spec.path}") from None
    except ValueError as err:
        raise EmptyDataError(f"source {spec.name!r} ({spec.path}): {err}", table=spec.name) from None
    # keep text as typed; Excel dates arrive as datetimes and are written ISO 8601
    frame = frame.map(_cell_text)
    return SourceData(frame.astype(object))


def _read_sql(spec: SourceSpec) -> SourceData:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(spec.url)
    kwargs = {}
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        from pathlib import Path

        path = Path(url.database).resolve()
        if not path.is_file():
            raise DatabaseUnavailableError(f"source {spec.name!r}: database file not found: {path}")
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    elif url.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    engine = sa.create_engine(url, **kwargs)
    try:
        with engine.connect() as conn:
            if spec.table:
                stmt = sa.select(sa.Table(spec.table, sa.MetaData(), autoload_with=conn))
            else:
                stmt = sa.text(spec.query)
            frame = pd.read_sql(stmt, conn, dtype=object)
            conn.rollback()
    except sa.exc.NoSuchTableError:
        raise DatabaseUnavailableError(
            f"source {spec.name!r}: table {spec.table!r} not found in {redact_url(str(spec.url))}") from None
    except sa.exc.SQLAlchemyError as err:
        first = str(getattr(err, "orig", err)).strip().splitlines()[0]
        raise DatabaseUnavailableError(
            f"source {spec.name!r}: reading {redact_url(str(spec.url))} failed: {redact_url(first)}") from None
    finally:
        engine.dispose()
    frame = frame.map(_cell_text)
    return SourceData(frame.astype(object))


def _cell_text(value) -> str | None:
    """A cell as text: missing stays None, 3.0 becomes '3', dates 'YYYY-MM-DD[ HH:MM:SS]'."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
