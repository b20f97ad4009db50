"""Read-only access to a CRM database as typed pandas DataFrames.

>>> import crmlib
>>> crm = crmlib.connect()                         # doctest: +SKIP
>>> orders = crm.orders(since="2025-01-01")        # doctest: +SKIP
>>> lines = crm.load("order_lines", columns=["order_id", "product_id"])  # doctest: +SKIP

How it reads
------------
SQLite and PostgreSQL are read through ADBC (``fetch_arrow_table``): rows go straight into Arrow
columns, dates are cast on the Arrow side, and the DataFrame is built from Arrow without a Python
object per value. That is what makes ``load`` several times faster and leaner than
``pandas.read_sql`` over SQLAlchemy (``benchmarks/load.py`` measures it). Any other SQLAlchemy URL
falls back to ``pandas.read_sql`` on a SQLAlchemy engine, with the same dtypes at the end.

Read-only is enforced by the database, not by convention: SQLite files are opened with
``mode=ro``; PostgreSQL sessions start with ``default_transaction_read_only=on``.

Types follow the canonical schema, whatever the backend: integer keys ``int64`` (``Int64`` where the
column may be null), money ``float64``, dates and timestamps ``datetime64[us]``, flags ``bool``
(``boolean`` where nullable), low-cardinality text ``category``, other text ``str``.

The fact-load guard
-------------------
With the environment variable ``CRMLIB_FORBID_FACT_LOADS=1`` (``crmlib run`` sets it in every
kernel of a Spark run) every loader of a fact table — ``orders``, ``order_lines``, ``invoices``,
``payments``, ``interactions``, ``service_tickets``, ``campaign_contacts``,
``campaign_responses``, ``opportunities``, through its accessor or :meth:`Crm.load` — raises a
:class:`~crmlib.errors.CrmlibError` naming the table and the mart table to read on Spark instead
(:data:`FACT_TABLES`); :func:`crmlib.mart.read` of a fact does the same. Dimensions still load.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from . import schema as S
from .config import default_url, redact_url
from .definitions import as_timestamp
from .errors import (
    CrmlibError,
    DatabaseUnavailableError,
    DataContractError,
    EmptyDataError,
    ParameterError,
)

__all__ = ["FACT_TABLES", "FORBID_FACT_LOADS_ENV", "Crm", "check_fact_load", "connect"]

FORBID_FACT_LOADS_ENV = "CRMLIB_FORBID_FACT_LOADS"
#: The fact tables of the CRM and the mart table (:mod:`crmlib.mart`) that holds each.
FACT_TABLES = {
    "orders": "fact_orders", "order_lines": "fact_sales", "invoices": "fact_invoices",
    "payments": "fact_payments", "interactions": "fact_interactions",
    "service_tickets": "fact_service_tickets", "campaign_contacts": "fact_campaign_contacts",
    "campaign_responses": "fact_campaign_responses", "opportunities": "fact_opportunities",
}


def check_fact_load(table: str, *, where: str = "crmlib.db") -> None:
    """Raise if ``table`` is a fact (a CRM table or its mart table) and ``CRMLIB_FORBID_FACT_LOADS``
    is set: a report on Spark reads its facts on Spark, never into the notebook's memory.

    Raises
    ------
    CrmlibError
        Naming the table and the mart table to read with ``eng.table(...)`` instead.
    """
    if os.environ.get(FORBID_FACT_LOADS_ENV, "").strip().lower() not in ("1", "true", "yes"):
        return
    mart_table = FACT_TABLES.get(table, table if table in FACT_TABLES.values() else None)
    if mart_table is None:
        return
    raise CrmlibError(
        f"{where}: loading the fact table {table!r} into pandas is forbidden on this run "
        f"({FORBID_FACT_LOADS_ENV}=1, set for a report run on Spark): read "
        f"eng.table({mart_table!r}) on Spark instead and bring only bounded results into pandas.")

_ARROW_BACKENDS = ("sqlite", "postgresql")
_PARTITION_ROWS = 200_000  # below this a parallel read costs more than it saves


def connect(url: str | None = None, *, engine: str = "auto") -> Crm:
    """Open a CRM database read-only.

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL. Default: env ``CRMLIB_DB_URL``, else ``sqlite:///data/crm.sqlite``.
    engine : {'auto', 'adbc', 'sqlalchemy'}, default='auto'
        How tables are read: 'auto' uses ADBC for SQLite and PostgreSQL and SQLAlchemy otherwise.

    Returns
    -------
    Crm

    Raises
    ------
    DatabaseUnavailableError
        The database cannot be opened (file missing, server unreachable, bad credentials).
    """
    return Crm(url, engine=engine)


class Crm:
    """A read-only CRM database. Use :func:`connect` to make one.

    Attributes
    ----------
    url : str
        The database URL with its password redacted (safe to print).
    backend : str
        SQLAlchemy dialect name: 'sqlite', 'postgresql', ...
    """

    def __init__(self, url: str | None = None, *, engine: str = "auto"):
        if engine not in ("auto", "adbc", "sqlalchemy"):
            raise ParameterError(
                f"crmlib.connect: 'engine' must be one of ['auto', 'adbc', 'sqlalchemy']; got {engine!r}.",
                name="engine",
            )
        raw = url or default_url()
        try:
            self._url = make_url(raw)
        except Exception as err:  # noqa: BLE001 - sqlalchemy raises several kinds for a bad URL
            raise DatabaseUnavailableError(
                f"not a database URL: {redact_url(raw)!r} ({err})", url=redact_url(raw)
            ) from None
        self.url = redact_url(self._url.render_as_string(hide_password=False))
        self.backend = self._url.get_backend_name()
        self._use_arrow = engine == "adbc" or (engine == "auto" and self.backend in _ARROW_BACKENDS)
        if engine == "adbc" and self.backend not in _ARROW_BACKENDS:
            raise ParameterError(
                f"crmlib.connect: engine='adbc' supports {list(_ARROW_BACKENDS)}; got {self.backend!r}.",
                name="engine",
            )
        self._columns: dict[str, list[str]] | None = None
        self._ping()

    # ------------------------------------------------------------------ connections
    @cached_property
    def engine(self) -> sa.Engine:
        """A SQLAlchemy engine whose connections are read-only."""
        if self.backend == "sqlite":
            path = self._sqlite_path()
            return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        kwargs = {}
        if self.backend == "postgresql":
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        return sa.create_engine(self._url, **kwargs)

    def _sqlite_path(self) -> str:
        database = self._url.database
        if not database or database == ":memory:":
            raise DatabaseUnavailableError(
                f"crmlib needs a SQLite file, not an in-memory database: {self.url}", url=self.url
            )
        return str(Path(unquote(database)).resolve())

    def _adbc(self):
        """A new ADBC connection (read-only), closed by the caller."""
        if self.backend == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            return adbc_sqlite.connect(f"file:{self._sqlite_path()}?mode=ro")
        import adbc_driver_postgresql.dbapi as adbc_pg

        # libpq option: every transaction of this session starts read-only
        uri = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        uri += ("&" if "?" in uri else "?") + "options=-c%20default_transaction_read_only%3Don"
        return adbc_pg.connect(uri)

    def _ping(self) -> None:
        if self.backend == "sqlite" and not Path(self._sqlite_path()).is_file():
            raise DatabaseUnavailableError(
                f"database file not found: {self._sqlite_path()} (from {self.url}); "
                "build the sample with `crmlib sample` or pass another URL",
                url=self.url,
            )
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as err:  # noqa: BLE001 - every driver error means the same to the user
            raise DatabaseUnavailableError(
                f"cannot connect to {self.url}: {_first_line(err)}", url=self.url
            ) from None

    def close(self) -> None:
        """Release pooled connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def __enter__(self) -> Crm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Crm({self.url!r})"

    # ------------------------------------------------------------------ schema
    def tables(self) -> list[str]:
        """Names of every table in the database (canonical, truth and others)."""
        return sorted(self._reflect())

    def _reflect(self) -> dict[str, list[str]]:
        if self._columns is None:
            insp = sa.inspect(self.engine)
            names = insp.get_table_names()
            self._columns = {n: [c["name"] for c in insp.get_columns(n)] for n in names}
        return self._columns

    def check_schema(self, tables: Iterable[str] | None = None) -> None:
        """Raise DataContractError naming the first missing table or the missing columns of a table.

        Parameters
        ----------
        tables : iterable of str, optional
            The canonical tables to check; default all of them.
        """
        present = self._reflect()
        for table in tables or S.CANONICAL_TABLES:
            if table not in present:
                raise DataContractError(
                    f"table {table!r} is missing from {self.url}; the analyses need the canonical "
                    "schema (see crmlib.schema; map your CRM onto it or build the sample with `crmlib sample`)",
                    table=table, url=self.url,
                )
            missing = [c for c in S.table_columns(table) if c not in present[table]]
            if missing:
                raise DataContractError(
                    f"table {table!r} in {self.url} is missing column(s) {missing}; "
                    f"found {present[table]}",
                    table=table, column=missing[0], url=self.url,
                )

    # ------------------------------------------------------------------ loading
    def load(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        *,
        since: str | dt.date | None = None,
        until: str | dt.date | None = None,
        allow_empty: bool = True,
        validate: bool = False,
    ) -> pd.DataFrame:
        """Load a canonical table as a typed DataFrame.

        Parameters
        ----------
        table : str
            A canonical table name (``crmlib.schema.CANONICAL_TABLES``).
        columns : sequence of str, optional
            Columns to read; default all canonical columns, in schema order.
        since, until : str or date, optional
            Keep rows whose time column (``crmlib.schema.TIME_COLUMN``) is ``>= since`` and
            ``< until``; ``order_lines`` are filtered by their order's ``ordered_at``. Bound as
            parameters, never formatted into the SQL.
        allow_empty : bool, default=True
            If False, an empty result raises :class:`EmptyDataError`.
        validate : bool, default=False
            Check the rows against the table's declared validation rules
            (``crmlib.imports.rules``, the same rules imports apply).

        Returns
        -------
        pandas.DataFrame
            One column per requested column, typed as the module docstring says.

        Raises
        ------
        CrmlibError
            A fact table while ``CRMLIB_FORBID_FACT_LOADS`` is set (see the module docstring).
        DataContractError
            Unknown table, unknown column, a table/column missing from the database, or
            (with ``validate``) rows that break the table's rules.
        EmptyDataError
            The result is empty and ``allow_empty`` is False.
        """
        check_fact_load(table, where="Crm.load")
        if table not in S.metadata.tables:
            raise DataContractError(
                f"unknown table {table!r}; canonical tables are {sorted(S.CANONICAL_TABLES)}",
                table=table, url=self.url,
            )
        known = S.table_columns(table)
        columns = list(columns) if columns is not None else known
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise DataContractError(
                f"table {table!r} has no canonical column(s) {unknown}; columns are {known}",
                table=table, column=unknown[0], url=self.url,
            )
        self.check_schema([table])
        if since is not None or until is not None:
            if table not in S.TIME_COLUMN and table != "order_lines":
                raise ParameterError(
                    f"Crm.load: table {table!r} has no time column to filter with since/until; "
                    f"tables with one are {sorted([*S.TIME_COLUMN, 'order_lines'])}",
                    name="since",
                )
            self.check_schema(["orders"] if table == "order_lines" else [])
        bounds = [_as_timestamp(since, "since"), _as_timestamp(until, "until")]

        if self._use_arrow:
            frame = self._load_arrow(table, columns, *bounds)
        else:
            frame = self._load_sqlalchemy(table, columns, *bounds)
        if not allow_empty and frame.empty:
            window = "" if since is None and until is None else f" between since={since} and until={until}"
            raise EmptyDataError(f"table {table!r} in {self.url} has no rows{window}", table=table,
                                 url=self.url)
        if validate:
            from .imports.rules import check_rules  # pandera is imported only when asked for

            check_rules(table, frame, where=f"{table} in {self.url}")
        return frame

    def truth(self, name: str) -> pd.DataFrame:
        """Load a planted-truth table ``truth_<name>`` of the sample database (for scoring only)."""
        table = name if name.startswith("truth_") else f"truth_{name}"
        if table not in self._reflect():
            raise DataContractError(
                f"{self.url} has no table {table!r}; truth tables exist only in databases built by "
                "`crmlib sample`", table=table, url=self.url,
            )
        with self.engine.connect() as conn:
            return pd.read_sql(sa.text(f'SELECT * FROM "{table}"'), conn)

    # -- the two read paths ------------------------------------------------------
    def _select(self, table: str, columns: list[str], since, until, placeholder) -> tuple[str, list]:
        """SQL text and parameters; identifiers come only from the canonical schema."""
        cols = ", ".join(f't."{c}"' for c in columns)
        sql = f'SELECT {cols} FROM "{table}" AS t'
        where, params = [], []
        if since is not None or until is not None:
            if table == "order_lines":
                sub, sub_params = [], []
                for op, value in ((">=", since), ("<", until)):
                    if value is not None:
                        sub.append(f'o."ordered_at" {op} {placeholder(len(params) + len(sub_params) + 1)}')
                        sub_params.append(value)
                where.append(
                    f't."order_id" IN (SELECT o."order_id" FROM "orders" AS o WHERE {" AND ".join(sub)})'
                )
                params += sub_params
            else:
                col = S.TIME_COLUMN[table]
                for op, value in ((">=", since), ("<", until)):
                    if value is not None:
                        where.append(f't."{col}" {op} {placeholder(len(params) + 1)}')
                        params.append(value)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def _load_arrow(self, table, columns, since, until) -> pd.DataFrame:
        if self.backend == "sqlite":
            # SQLite stores SQLAlchemy timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
            fmt = [None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in (since, until)]
            sql, params = self._select(table, columns, *fmt, lambda i: "?")
        else:
            sql, params = self._select(table, columns, since, until, lambda i: f"${i}::timestamp")
            params = [v.isoformat(sep=" ") for v in params]
        ranges = self._rowid_ranges(table) if self.backend == "sqlite" else [None]
        if len(ranges) == 1:
            parts = [self._fetch(table, sql, params, None)]
        else:
            # SQLite reads one row at a time on one core: read rowid ranges side by side
            with ThreadPoolExecutor(len(ranges)) as pool:
                parts = list(pool.map(lambda r: self._fetch(table, sql, params, r), ranges))
        return _to_pandas(table, parts)

    def _rowid_ranges(self, table: str) -> list[tuple[int, int] | None]:
        """Split a large SQLite table into contiguous rowid ranges, one per core (at most 4)."""
        workers = min(4, os.cpu_count() or 1)
        if workers < 2:
            return [None]
        conn = self._adbc()
        try:
            with conn.cursor() as cur:
                # two scalar subqueries: SQLite answers each from the b-tree ends, one min+max would scan
                cur.execute(f'SELECT (SELECT min(rowid) FROM "{table}"), (SELECT max(rowid) FROM "{table}")')
                lo, hi = cur.fetchone()
        finally:
            conn.close()
        if lo is None or hi - lo < _PARTITION_ROWS:
            return [None]
        step = (hi - lo) // workers + 1
        return [(lo + i * step, lo + (i + 1) * step) for i in range(workers)]

    def _fetch(self, table: str, sql: str, params: list, rowids: tuple[int, int] | None) -> pa.Table:
        if rowids is not None:
            glue = " AND " if " WHERE " in sql else " WHERE "
            sql = f"{sql}{glue}t.rowid >= {int(rowids[0])} AND t.rowid < {int(rowids[1])}"
        conn = self._adbc()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                data = cur.fetch_arrow_table()
        except Exception as err:  # noqa: BLE001
            raise DataContractError(
                f"reading table {table!r} from {self.url} failed: {_first_line(err)}",
                table=table, url=self.url,
            ) from None
        finally:
            conn.close()
        return _coerce_arrow(table, data)

    def _load_sqlalchemy(self, table, columns, since, until) -> pd.DataFrame:
        t = S.metadata.tables[table]
        stmt = sa.select(*[t.c[c] for c in columns])
        if table == "order_lines" and (since is not None or until is not None):
            o = S.metadata.tables["orders"]
            sub = sa.select(o.c.order_id)
            if since is not None:
                sub = sub.where(o.c.ordered_at >= since)
            if until is not None:
                sub = sub.where(o.c.ordered_at < until)
            stmt = stmt.where(t.c.order_id.in_(sub))
        elif since is not None or until is not None:
            col = t.c[S.TIME_COLUMN[table]]
            if since is not None:
                stmt = stmt.where(col >= since)
            if until is not None:
                stmt = stmt.where(col < until)
        with self.engine.connect() as conn:
            frame = pd.read_sql(stmt, conn)
        return _to_pandas(table, [_coerce_arrow(table, pa.Table.from_pandas(frame, preserve_index=False))])
    # -- one method per canonical table (crmlib.schema.CANONICAL_TABLES), so `crm.orders()` has a def

    def campaigns(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``campaigns`` table; same arguments as :meth:`load`."""
        return self.load("campaigns", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def channels(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``channels`` table; same arguments as :meth:`load`."""
        return self.load("channels", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def products(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``products`` table; same arguments as :meth:`load`."""
        return self.load("products", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def sales_reps(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``sales_reps`` table; same arguments as :meth:`load`."""
        return self.load("sales_reps", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def customers(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``customers`` table; same arguments as :meth:`load`."""
        return self.load("customers", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def rep_targets(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``rep_targets`` table; same arguments as :meth:`load`."""
        return self.load("rep_targets", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def campaign_contacts(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``campaign_contacts`` table; same arguments as :meth:`load`."""
        return self.load("campaign_contacts", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def campaign_responses(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``campaign_responses`` table; same arguments as :meth:`load`."""
        return self.load("campaign_responses", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def interactions(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``interactions`` table; same arguments as :meth:`load`."""
        return self.load("interactions", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def opportunities(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``opportunities`` table; same arguments as :meth:`load`."""
        return self.load("opportunities", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def orders(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``orders`` table; same arguments as :meth:`load`."""
        return self.load("orders", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def service_tickets(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``service_tickets`` table; same arguments as :meth:`load`."""
        return self.load("service_tickets", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def invoices(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``invoices`` table; same arguments as :meth:`load`."""
        return self.load("invoices", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def order_lines(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``order_lines`` table; same arguments as :meth:`load`."""
        return self.load("order_lines", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)

    def payments(self, columns=None, *, since=None, until=None, allow_empty=True, validate=False) -> pd.DataFrame:
        """Load the ``payments`` table; same arguments as :meth:`load`."""
        return self.load("payments", columns, since=since, until=until, allow_empty=allow_empty, validate=validate)


# ---------------------------------------------------------------------- typing
def _arrow_type(column: sa.Column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, (sa.DateTime, sa.Date)):
        return pa.timestamp("us")
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, (sa.Numeric, sa.Float)):
        return pa.float64()
    return pa.string()


def _coerce_arrow(table: str, data: pa.Table) -> pa.Table:
    """Cast every column to the canonical Arrow type, whatever the driver returned."""
    spec = S.metadata.tables[table].c
    arrays = []
    for name in data.column_names:
        col = data.column(name)
        target = _arrow_type(spec[name])
        if col.type != target:
            if pa.types.is_timestamp(target) and pa.types.is_timestamp(col.type):
                col = col.cast(target)
            elif pa.types.is_timestamp(target) and pa.types.is_date(col.type):
                col = col.cast(pa.timestamp("us"))
            elif pa.types.is_timestamp(target) and pa.types.is_null(col.type):
                col = col.cast(target)
            elif pa.types.is_timestamp(target):
                col = pc.cast(col.cast(pa.string()), target)
            elif pa.types.is_boolean(target) and pa.types.is_integer(col.type):
                col = pc.not_equal(col, 0)
            else:
                col = col.cast(target)
        arrays.append(col)
    return pa.table(arrays, names=data.column_names)


def _to_pandas(table: str, parts: list[pa.Table]) -> pd.DataFrame:
    """One DataFrame from the Arrow parts of ``table`` (in order), which it empties."""
    spec = S.metadata.tables[table].c
    if all((pa.types.is_integer(t) or pa.types.is_floating(t)) for t in parts[0].schema.types) and \
            not any(column.null_count for part in parts for column in part.columns):
        frame = _numeric_to_pandas(parts)
    else:
        data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        parts.clear()
        names = data.column_names
        arrays = [data.column(name).dictionary_encode() if (table, name) in S.CATEGORICAL_COLUMNS
                  else data.column(name) for name in names]
        data = pa.table(arrays, names=names)
        del arrays
        frame = data.to_pandas(split_blocks=True, self_destruct=True, coerce_temporal_nanoseconds=False)
        del data
    for name in frame.columns:
        column = spec[name]
        nullable = column.nullable and not column.primary_key
        if isinstance(column.type, sa.Integer):
            if nullable:
                frame[name] = frame[name].astype("Int64")
            elif frame[name].dtype != "int64":
                frame[name] = frame[name].astype("int64")
        elif isinstance(column.type, sa.Boolean):
            frame[name] = frame[name].astype("boolean" if nullable else "bool")
    return frame


def _numeric_to_pandas(parts: list[pa.Table]) -> pd.DataFrame:
    """An all-numeric table without nulls (``order_lines``) as a DataFrame, at about one copy's peak.

    ADBC returns many small record batches; glibc keeps their buffers once freed instead of giving
    them back to the system, while numpy's large arrays are mapped anew, so a plain ``to_pandas``
    holds both copies at its peak. Here the batches are copied one by one into preallocated arrays
    and the freed memory is returned as it goes (``malloc_trim``, the workaround Dask documents for
    the same glibc behaviour); the arrays then become the frame without another copy.
    """
    n = sum(part.num_rows for part in parts)
    names, types = parts[0].column_names, parts[0].schema.types
    out = [np.empty(n, dtype=t.to_pandas_dtype()) for t in types]
    batches = [batch for part in parts for batch in part.to_batches()][::-1]
    parts.clear()  # the caller's list: now only `batches` holds the data
    at = done = 0
    while batches:
        batch = batches.pop()
        k = batch.num_rows
        for i, column in enumerate(batch.columns):
            out[i][at:at + k] = column.to_numpy()
        at += k
        done += batch.nbytes
        del batch, column
        if done > 2 << 20:
            _trim_heap()
            done = 0
    _trim_heap()
    # numeric numpy arrays without nulls pass through Arrow both ways without a copy
    return pa.table([pa.array(a) for a in out], names=names).to_pandas(split_blocks=True)


def _trim_heap() -> None:
    """Return freed heap memory to the system (glibc only; elsewhere nothing to do)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _as_timestamp(value, name: str) -> dt.datetime | None:
    """``since`` / ``until`` as a naive datetime by crmlib.definitions' one date rule (wall clock)."""
    if value is None:
        return None
    return as_timestamp(value, name=name, where="Crm.load").to_pydatetime()


def _first_line(err: BaseException) -> str:
    text = redact_url(str(err)).strip().splitlines()
    return text[0] if text else type(err).__name__

