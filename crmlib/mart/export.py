"""Export the canonical tables into a Parquet star-schema mart, incrementally and atomically.

Layout of a mart folder (``data/mart/`` by default; any pyarrow/fsspec/Spark path works)::

    _manifest.json                       what is there: per table and month, rows and checksum
    fact_sales/month=2024-01/part-0.parquet    one row per order line (see SALES_COLUMNS)
    fact_invoices/month=2024-01/part-0.parquet invoices by month issued
    fact_payments/month=2024-01/part-0.parquet payments by month paid
    dim_customer/part-0.parquet          customers
    dim_product/part-0.parquet           products
    dim_channel/part-0.parquet           channels
    fact_orders/month=…                  order headers (an order without lines has no sales row)
    fact_interactions/month=…            interactions by month occurred
    fact_service_tickets/month=…         service tickets by month opened
    fact_campaign_contacts/month=…       campaign contacts by month contacted
    fact_campaign_responses/month=…      campaign responses by month responded
    fact_opportunities/month=…           opportunities by month created
    dim_rep/part-0.parquet               sales reps
    dim_rep_target/part-0.parquet        monthly targets per rep
    dim_campaign/part-0.parquet          campaigns
    dim_date/part-0.parquet              one row per calendar day the sales fact covers

Facts are Hive-partitioned by ``month`` ('YYYY-MM'), so Spark (``spark.read.parquet``), pyarrow
datasets, DuckDB and pandas read them as one table with a ``month`` column.

How a run works
---------------
1. Every source table the mart needs is checked first; a missing required column stops the run
   before anything is written (:class:`~crmlib.errors.DataContractError`).
2. Each fact is loaded (from ``since``, rounded down to the first of its month, if given), split by
   month and each month is checksummed (column names, types and values, rows in key order).
3. A month whose checksum equals the manifest's is skipped: a second run with no new data writes
   nothing, not even the manifest. A new or changed month is written into a hidden folder
   ``_tmp-…`` (readers ignore names starting with '_' or '.') and renamed into place; the manifest
   is rewritten (temp file + rename) after each partition, so an interrupted run leaves only whole
   partitions behind and the next run carries on. Months that vanished from the source (within
   the ``since`` window) are removed.
4. Dimensions are written the same way, as one partition each.

Schema drift: a column the source has beyond the canonical ones is carried into the mart (it
changes the checksum, so the affected partitions are rewritten once); a missing canonical column
stops the run with a message naming the table and the columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import __version__
from ..definitions import as_timestamp, line_revenue
from ..errors import DataContractError, ParameterError

if TYPE_CHECKING:  # the writer's imports load on first use: Spark readers only need table_path
    from ._fs import MartFS

__all__ = [
    "DEFAULT_OUT",
    "DIMENSIONS",
    "FACTS",
    "MANIFEST",
    "SALES_COLUMNS",
    "ExportResult",
    "export",
    "read",
    "sales_fact",
    "table_path",
]

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
FORMAT = 1
PART_FILE = "part-0.parquet"


def _default_out() -> Path:
    from ..config import DATA_DIR

    return DATA_DIR / "mart"


DEFAULT_OUT = "data/mart"  # documented default; resolved against the project's data folder

#: Columns of ``fact_sales`` (before any carried extra source columns).
SALES_COLUMNS = (
    "order_id", "line_no", "date_key", "ordered_at", "customer_id", "product_id", "channel_id",
    "rep_id", "status", "quantity", "unit_price", "discount", "unit_cost",
    "gross_amount", "net_amount", "cost_amount", "margin_amount",
)


def sales_fact(orders: pd.DataFrame, order_lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per order line, with the order's keys and the line's measures.

    Parameters
    ----------
    orders, order_lines, products : pandas.DataFrame
        Canonical tables (``products`` needs ``product_id`` and ``unit_cost``). Extra columns of
        ``orders`` and ``order_lines`` are carried.

    Returns
    -------
    pandas.DataFrame
        ``SALES_COLUMNS`` then any extra columns: ``date_key`` int32 (YYYYMMDD),
        ``gross_amount = quantity * unit_price``, ``net_amount = gross_amount * (1 - discount)``
        (:func:`crmlib.definitions.line_revenue`; every status is kept, with its ``status``:
        revenue is the lines whose status is in :data:`crmlib.definitions.REVENUE_STATUSES`), ``cost_amount = quantity * unit_cost``,
        ``margin_amount = net_amount - cost_amount`` (float64). Sorted by order_id, line_no.
    """
    lines = order_lines.merge(orders, on="order_id", how="inner", suffixes=("", "_order"))
    lines = lines.merge(products[["product_id", "unit_cost"]], on="product_id", how="left")
    lines["date_key"] = _date_key(lines["ordered_at"])
    lines["gross_amount"] = lines["quantity"] * lines["unit_price"]
    lines["net_amount"] = line_revenue(lines["quantity"], lines["unit_price"], lines["discount"])
    lines["cost_amount"] = lines["quantity"] * lines["unit_cost"]
    lines["margin_amount"] = lines["net_amount"] - lines["cost_amount"]
    extras = [c for c in lines.columns if c not in SALES_COLUMNS]
    out = lines[[*SALES_COLUMNS, *extras]]
    return out.sort_values(["order_id", "line_no"], kind="stable").reset_index(drop=True)


def _date_key(stamps: pd.Series) -> pd.Series:
    return (stamps.dt.year * 10000 + stamps.dt.month * 100 + stamps.dt.day).astype("int32")


def date_dimension(first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """One row per day from the first day of ``first``'s month to the last day of ``last``'s."""
    days = pd.date_range(first.to_period("M").start_time, last.to_period("M").end_time.normalize(),
                         freq="D", unit="us")
    frame = pd.DataFrame({"date": days})
    frame.insert(0, "date_key", _date_key(frame["date"]))
    frame["year"] = frame["date"].dt.year.astype("int16")
    frame["quarter"] = frame["date"].dt.quarter.astype("int8")
    frame["month"] = frame["date"].dt.month.astype("int8")
    frame["day"] = frame["date"].dt.day.astype("int8")
    frame["weekday"] = frame["date"].dt.day_of_week.astype("int8")  # Monday = 0
    frame["weekday_name"] = frame["date"].dt.day_name().astype("category")
    frame["is_weekend"] = frame["weekday"] >= 5
    return frame


# ---------------------------------------------------------------------- what the mart holds
@dataclass(frozen=True)
class _Fact:
    sources: tuple[str, ...]   # canonical tables loaded
    windowed: tuple[str, ...]  # the sources that ``since`` filters
    time_column: str           # the column whose month partitions the fact
    key: tuple[str, ...]
    build: Callable[[dict[str, pd.DataFrame]], pd.DataFrame]


@dataclass(frozen=True)
class _Dim:
    source: str
    key: tuple[str, ...]


FACTS: dict[str, _Fact] = {
    "fact_sales": _Fact(("orders", "order_lines", "products"), ("orders", "order_lines"), "ordered_at", ("order_id", "line_no"),
                        lambda t: sales_fact(t["orders"], t["order_lines"], t["products"])),
    "fact_invoices": _Fact(("invoices",), ("invoices",), "issued_at", ("invoice_id",), lambda t: t["invoices"]),
    "fact_payments": _Fact(("payments",), ("payments",), "paid_at", ("payment_id",), lambda t: t["payments"]),
    # the order headers too: an order without lines (a data-quality finding) has no sales row
    "fact_orders": _Fact(("orders",), ("orders",), "ordered_at", ("order_id",), lambda t: t["orders"]),
    "fact_interactions": _Fact(("interactions",), ("interactions",), "occurred_at", ("interaction_id",),
                               lambda t: t["interactions"]),
    "fact_service_tickets": _Fact(("service_tickets",), ("service_tickets",), "opened_at", ("ticket_id",),
                                  lambda t: t["service_tickets"]),
    "fact_campaign_contacts": _Fact(("campaign_contacts",), ("campaign_contacts",), "contacted_at",
                                    ("campaign_id", "customer_id"), lambda t: t["campaign_contacts"]),
    "fact_campaign_responses": _Fact(("campaign_responses",), ("campaign_responses",), "responded_at",
                                     ("campaign_id", "customer_id"), lambda t: t["campaign_responses"]),
    "fact_opportunities": _Fact(("opportunities",), ("opportunities",), "created_at", ("opportunity_id",),
                                lambda t: t["opportunities"]),
}

DIMENSIONS: dict[str, _Dim] = {
    "dim_customer": _Dim("customers", ("customer_id",)),
    "dim_product": _Dim("products", ("product_id",)),
    "dim_channel": _Dim("channels", ("channel_id",)),
    "dim_rep": _Dim("sales_reps", ("rep_id",)),
    "dim_rep_target": _Dim("rep_targets", ("rep_id", "month")),
    "dim_campaign": _Dim("campaigns", ("campaign_id",)),
}


@dataclass
class ExportResult:
    """What :func:`export` did.

    Attributes
    ----------
    out : str
        The mart folder or URI.
    written : list of str
        Partitions written, as 'fact_sales/month=2024-01' or 'dim_customer'.
    unchanged : int
        Partitions whose checksum matched the manifest (not written).
    removed : list of str
        Partitions deleted because the source no longer has them.
    rows : int
        Rows written.
    seconds : float
    """

    out: str
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"mart {self.out}: wrote {len(self.written)} partition(s) ({self.rows:,} rows), "
                f"{self.unchanged} unchanged, {len(self.removed)} removed in {self.seconds:.1f} s")


# ---------------------------------------------------------------------- export
def export(url: str | None = None, out: str | Path | None = None, *, since=None,
           crm=None) -> ExportResult:
    """Extract the canonical tables of a CRM database into the Parquet mart at ``out``.

    Parameters
    ----------
    url : str, optional
        Source SQLAlchemy URL (default: crmlib's default database). Ignored if ``crm`` is given.
    out : str or path, optional
        Mart folder or URI (``s3://bucket/mart``, ``hdfs://nn/mart``, ``memory://m``); default
        ``data/mart`` in the project folder.
    since : str or date, optional
        Only consider fact months from this date's month on; older partitions stay as they are.
    crm : crmlib.db.Crm, optional
        An open connection to use instead of ``url``.

    Returns
    -------
    ExportResult

    Raises
    ------
    DataContractError
        A source table or a required column is missing (nothing is written).
    ParameterError
        ``since`` is not a date.
    """
    start = time.perf_counter()
    if crm is None:
        from ..db import connect

        crm = connect(url)
    from ._fs import MartFS

    since_month = _month_start(since)
    mfs = MartFS(out if out is not None else _default_out())
    result = ExportResult(out=mfs.uri)

    sources = sorted({s for f in FACTS.values() for s in f.sources} | {d.source for d in DIMENSIONS.values()})
    extras = _check_sources(crm, sources)

    mfs.makedirs("")
    manifest = _read_manifest(mfs)
    _recover(mfs, manifest)

    sales_span: list[pd.Timestamp] = []
    for name, spec in FACTS.items():
        frames = {}
        for table in spec.sources:
            window = {"since": since_month} if since_month is not None and table in spec.windowed else {}
            frames[table] = _load(crm, table, extras.get(table, []), **window)
        fact = spec.build(frames)
        del frames
        months = fact[spec.time_column].dt.strftime("%Y-%m")
        entry = manifest["tables"].setdefault(name, {"kind": "fact", "partition": "month",
                                                     "time_column": spec.time_column,
                                                     "partitions": {}})
        seen = set()
        for month, part in fact.groupby(months.to_numpy(), sort=True):
            seen.add(month)
            part = part.reset_index(drop=True)
            _write_if_changed(mfs, manifest, entry, name, f"month={month}", month, part, result)
        in_window = [m for m in entry["partitions"]
                     if since_month is None or m >= since_month.strftime("%Y-%m")]
        for month in sorted(set(in_window) - seen):
            mfs.rmtree(f"{name}/month={month}")
            del entry["partitions"][month]
            _write_manifest(mfs, manifest)
            result.removed.append(f"{name}/month={month}")
        if name == "fact_sales" and len(fact):
            sales_span = [fact["ordered_at"].min(), fact["ordered_at"].max()]
        entry["columns"] = _columns(fact)
        del fact

    for name, spec in DIMENSIONS.items():
        frame = _load(crm, spec.source, extras.get(spec.source, []))
        frame = frame.sort_values(list(spec.key), kind="stable").reset_index(drop=True)
        entry = manifest["tables"].setdefault(name, {"kind": "dimension", "partitions": {}})
        _write_if_changed(mfs, manifest, entry, name, None, "all", frame, result)

    # the date dimension spans every sales month in the mart, old and new
    months = sorted(manifest["tables"].get("fact_sales", {}).get("partitions", {}))
    if months:
        first = min([pd.Timestamp(months[0] + "-01"), *sales_span[:1]])
        last = max([pd.Timestamp(months[-1] + "-01"), *sales_span[1:]])
        entry = manifest["tables"].setdefault("dim_date", {"kind": "dimension", "partitions": {}})
        _write_if_changed(mfs, manifest, entry, "dim_date", None, "all", date_dimension(first, last),
                          result)

    result.seconds = time.perf_counter() - start
    log.info(result.summary())
    return result


def _month_start(since) -> pd.Timestamp | None:
    if since is None:
        return None
    return as_timestamp(since, name="since", where="mart.export").to_period("M").start_time


def _check_sources(crm, tables: list[str]) -> dict[str, list[str]]:
    """Check every source table before writing anything; return the extra columns per table."""
    import sqlalchemy as sa

    from .. import schema as S

    present = set(crm.tables())
    insp = sa.inspect(crm.engine)
    extras = {}
    for table in tables:
        if table not in present:
            raise DataContractError(
                f"mart.export: source table {table!r} is missing from {crm.url}; the mart needs "
                f"{tables}", table=table, url=crm.url,
            )
        found = [c["name"] for c in insp.get_columns(table)]
        missing = [c for c in S.table_columns(table) if c not in found]
        if missing:
            raise DataContractError(
                f"mart.export: source table {table!r} is missing required column(s) {missing}; "
                f"found {found}. Nothing was written.", table=table, column=missing[0], url=crm.url,
            )
        extras[table] = [c for c in found if c not in S.table_columns(table)]
    return extras


def _load(crm, table: str, extra: list[str], **window) -> pd.DataFrame:
    frame = crm.load(table, **window)
    if not extra:
        return frame
    # columns beyond the canonical schema: carried as read (crm.load only knows canonical ones)
    import sqlalchemy as sa

    from .. import schema as S

    key = [c.name for c in S.metadata.tables[table].primary_key.columns]
    cols = ", ".join(f'"{c}"' for c in [*key, *extra])
    with crm.engine.connect() as conn:
        more = pd.read_sql(sa.text(f'SELECT {cols} FROM "{table}"'), conn)
    log.info("mart.export: carrying extra column(s) %s of %s", extra, table)
    return frame.merge(more, on=key, how="left")


def _columns(frame: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in frame.dtypes.items()}


def checksum(frame: pd.DataFrame) -> str:
    """A digest of a frame's column names, dtypes and values (row order matters)."""
    h = hashlib.sha256()
    h.update(json.dumps(_columns(frame)).encode())
    h.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return h.hexdigest()[:32]


def _write_if_changed(mfs: MartFS, manifest: dict, entry: dict, table: str, part_dir: str | None,
                      key: str, frame: pd.DataFrame, result: ExportResult) -> None:
    digest = checksum(frame)
    rel = f"{table}/{part_dir}" if part_dir else table
    old = entry["partitions"].get(key)
    if old is not None and old["checksum"] == digest and mfs.exists(f"{rel}/{PART_FILE}"):
        result.unchanged += 1
        return
    _write_partition(mfs, table, rel, frame)
    entry["partitions"][key] = {"rows": len(frame), "checksum": digest,
                                "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    if part_dir is None:
        entry["columns"] = _columns(frame)
    _write_manifest(mfs, manifest)
    result.written.append(rel)
    result.rows += len(frame)


def _write_partition(mfs: MartFS, table: str, rel: str, frame: pd.DataFrame) -> None:
    """Write into a hidden temp folder, then swap it in: no reader sees half a partition."""
    import pyarrow.parquet as pq

    token = uuid.uuid4().hex[:12]
    tag = rel.replace("/", "__")
    tmp = f"{table}/_tmp-{tag}-{token}" if "/" in rel else f"_tmp-{tag}-{token}"
    try:
        mfs.makedirs(tmp)
        data = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(data, mfs.path(tmp, PART_FILE), filesystem=mfs.fs, compression="zstd")
        _after_write_hook(tmp)
        if mfs.exists(rel):
            old = f"{table}/_old-{tag}-{token}" if "/" in rel else f"_old-{tag}-{token}"
            mfs.move(rel, old)
            mfs.move(tmp, rel)
            mfs.rmtree(old)
        else:
            if "/" in rel:
                mfs.makedirs(rel.rsplit("/", 1)[0])
            mfs.move(tmp, rel)
    except BaseException:
        try:
            mfs.rmtree(tmp)
        except OSError:  # pragma: no cover - best effort clean-up; _recover finishes it next run
            pass
        raise


def _after_write_hook(tmp: str) -> None:
    """Called between writing a partition and renaming it into place (tests interrupt here)."""


def _read_manifest(mfs: MartFS) -> dict:
    if mfs.exists(MANIFEST):
        try:
            manifest = json.loads(mfs.read_bytes(MANIFEST))
        except ValueError as err:
            raise DataContractError(
                f"mart.export: {mfs.uri}/{MANIFEST} is not valid JSON ({err}); delete it to rebuild "
                "the mart", table=MANIFEST,
            ) from None
        if manifest.get("format") == FORMAT:
            return manifest
        log.warning("mart manifest has format %r, expected %r: rebuilding", manifest.get("format"), FORMAT)
    return {"format": FORMAT, "tables": {}}


def _write_manifest(mfs: MartFS, manifest: dict) -> None:
    manifest["crmlib"] = __version__
    manifest["updated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tmp = f"_manifest-{uuid.uuid4().hex[:12]}.tmp"
    mfs.write_bytes(tmp, json.dumps(manifest, indent=1, sort_keys=True).encode())
    mfs.move(tmp, MANIFEST)


def _recover(mfs: MartFS, manifest: dict) -> None:
    """Finish what an interrupted run left: drop temp folders, restore a half-swapped partition,
    forget manifest entries whose files are gone."""
    for folder in ["", *FACTS]:
        for name in mfs.listdir(folder):
            rel = f"{folder}/{name}" if folder else name
            if name.startswith("_tmp-") or name.startswith("_manifest-"):
                (mfs.rmtree if not name.endswith(".tmp") else mfs.remove)(rel)
            elif name.startswith("_old-"):
                tag = name[len("_old-"):].rsplit("-", 1)[0]
                target = tag.replace("__", "/")
                if not mfs.exists(target):
                    mfs.move(rel, target)
                else:
                    mfs.rmtree(rel)
    for name, entry in manifest["tables"].items():
        for key in list(entry["partitions"]):
            rel = f"{name}/month={key}" if entry.get("kind") == "fact" else name
            if not mfs.exists(f"{rel}/{PART_FILE}"):
                del entry["partitions"][key]


# ---------------------------------------------------------------------- reading (pandas)
def table_path(mart: str | Path, table: str) -> str:
    """Where ``table`` of the mart at ``mart`` lives (a folder or URI), for Spark or any Parquet reader.

    >>> table_path("data/mart/", "fact_sales")
    'data/mart/fact_sales'
    """
    known = (*FACTS, *DIMENSIONS, "dim_date")
    if table not in known:
        raise ParameterError(f"mart.table_path: 'table' must be one of {list(known)}; got {table!r}.",
                             name="table")
    return f"{str(mart).rstrip('/')}/{table}"


def read(out: str | Path | None = None, table: str = "fact_sales", *, months=None,
         columns=None) -> pd.DataFrame:
    """Read a mart table into pandas (only the partitions the manifest lists).

    Parameters
    ----------
    out : str or path, optional
        The mart folder or URI; default ``data/mart``.
    table : str, default='fact_sales'
        A fact (``FACTS``), a dimension (``DIMENSIONS``) or 'dim_date'.
    months : iterable of str, optional
        'YYYY-MM' months to read from a fact; default all.
    columns : list of str, optional

    Returns
    -------
    pandas.DataFrame
        Facts get a ``month`` column (str).

    Raises
    ------
    CrmlibError
        A fact while ``CRMLIB_FORBID_FACT_LOADS`` is set (see :mod:`crmlib.db`).
    """
    import pyarrow.parquet as pq

    from ..db import check_fact_load
    from ._fs import MartFS

    check_fact_load(table, where="mart.read")  # CRMLIB_FORBID_FACT_LOADS: read facts on Spark
    mfs = MartFS(out if out is not None else _default_out())
    manifest = _read_manifest(mfs) if mfs.exists(MANIFEST) else {"tables": {}}
    if table not in manifest["tables"]:
        raise DataContractError(
            f"mart.read: table {table!r} is not in the mart at {mfs.uri}; it has "
            f"{sorted(manifest['tables'])} (run `crmlib mart export`)", table=table,
        )
    entry = manifest["tables"][table]
    if entry.get("kind") != "fact":
        return pq.read_table(mfs.path(table, PART_FILE), filesystem=mfs.fs,
                             columns=columns).to_pandas()
    wanted = sorted(entry["partitions"]) if months is None else sorted(set(months))
    parts = []
    for month in wanted:
        if month not in entry["partitions"]:
            continue
        t = pq.read_table(mfs.path(table, f"month={month}", PART_FILE), filesystem=mfs.fs,
                          columns=columns)
        parts.append(t.append_column("month", pa.array([month] * t.num_rows, pa.string())))
    if not parts:
        cols = columns or list(entry.get("columns", {}))
        return pd.DataFrame({c: [] for c in [*cols, "month"]})
    return pa.concat_tables(parts, promote_options="permissive").to_pandas()

