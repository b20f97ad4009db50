"""Write generated tables into a database: the canonical schema first, then bulk Arrow ingest.

A SQLite file is built beside its target and moved into place at the end, so a crashed build
never leaves a half-written database where the analyses look for one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .. import schema as S
from ..config import redact_url
from ..errors import CrmlibError, DatabaseUnavailableError


def check_target(url: str, *, replace: bool) -> None:
    """Raise unless ``url`` may receive a sample (a SQLite file that exists needs ``replace``)."""
    target = make_url(url)
    if target.get_backend_name() != "sqlite":
        return
    if not target.database or target.database == ":memory:":
        raise CrmlibError("crmlib sample: give a SQLite file URL such as sqlite:///data/crm.sqlite")
    path = Path(target.database).resolve()
    if path.exists() and not replace:
        raise CrmlibError(f"crmlib sample: {path} already exists; pass --replace to rebuild it")


def write_database(url: str, tables: dict[str, pd.DataFrame], *, replace: bool = False,
                   progress: bool = False) -> dict[str, int]:
    """Create the canonical schema at ``url`` and load ``tables`` into it; return row counts."""
    target = make_url(url)
    backend = target.get_backend_name()
    if backend == "sqlite":
        check_target(url, replace=replace)
        path = Path(target.database).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".crm-", suffix=".sqlite", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            rows = _write(f"sqlite:///{tmp}", "sqlite", tables, replace=False, progress=progress)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return rows
    return _write(url, backend, tables, replace=replace, progress=progress)


def _write(url, backend, tables, *, replace, progress) -> dict[str, int]:
    from tqdm.auto import tqdm

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            existing = set(sa.inspect(conn).get_table_names())
            present = existing & set(S.CANONICAL_TABLES)
            if present and not replace:
                raise CrmlibError(
                    f"crmlib sample: {redact_url(url)} already holds CRM tables {sorted(present)[:3]}...; "
                    "pass --replace to drop and rebuild them"
                )
            truth = [t for t in existing if t.startswith("truth_")]
            for t in truth:
                conn.execute(sa.text(f'DROP TABLE "{t}"'))
            S.metadata.drop_all(conn)
            S.metadata.create_all(conn)
    except sa.exc.OperationalError as err:
        raise DatabaseUnavailableError(f"cannot open {redact_url(url)}: {str(err.orig).strip()}",
                                       url=redact_url(url)) from None
    finally:
        engine.dispose()

    rows = {}
    names = [t for t in S.CANONICAL_TABLES if t in tables] + sorted(t for t in tables if t.startswith("truth_"))
    if backend in ("sqlite", "postgresql"):
        conn = _adbc(url, backend)
        try:
            for name in tqdm(names, desc="write", disable=not progress, unit="table"):
                data = _arrow(name, tables[name], backend)
                with conn.cursor() as cur:
                    if name.startswith("truth_"):
                        cur.adbc_ingest(name, data, mode="create")
                    elif backend == "sqlite":
                        cur.adbc_ingest(name, data, mode="append")
                    else:
                        # COPY needs matching binary types: stage, then let PostgreSQL cast
                        stage = f"_stage_{name}"
                        cur.adbc_ingest(stage, data, mode="replace", temporary=True)
                        cols = ", ".join(f'"{c}"' for c in data.column_names)
                        cur.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM "{stage}"')
                        cur.execute(f'DROP TABLE "{stage}"')
                rows[name] = data.num_rows
            conn.commit()
        finally:
            conn.close()
    else:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for name in names:
                tables[name].to_sql(name, conn, if_exists="append", index=False, chunksize=10000)
                rows[name] = len(tables[name])
        engine.dispose()
    return rows


def _adbc(url: str, backend: str):
    target = make_url(url)
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        return adbc_sqlite.connect(str(Path(target.database).resolve()))
    import adbc_driver_postgresql.dbapi as adbc_pg

    return adbc_pg.connect(target.set(drivername="postgresql").render_as_string(hide_password=False))


def _arrow(name: str, frame: pd.DataFrame, backend: str) -> pa.Table:
    """An Arrow table in the column order of the schema; SQLite gets SQLAlchemy's text timestamps."""
    if name in S.metadata.tables:
        frame = frame[S.table_columns(name)]
    data = pa.Table.from_pandas(frame, preserve_index=False)
    if backend != "sqlite":
        return data
    spec = S.metadata.tables.get(name)
    arrays = []
    for col_name in data.column_names:
        col = data.column(col_name)
        if pa.types.is_timestamp(col.type):
            is_date = spec is not None and type(spec.c[col_name].type) is sa.Date
            # SQLAlchemy's SQLite storage format; '%S' prints microseconds for a timestamp[us]
            col = pc.strftime(col.cast(pa.timestamp("us"), safe=False), format="%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S")
        arrays.append(col)
    return pa.table(arrays, names=data.column_names)
