"""Actionable lists published beside a report: CSV (spreadsheet-safe) and Parquet.

A notebook hands a frame to :func:`publish`; ``crmlib run`` gives the kernel a staging folder
(environment variable ``CRMLIB_LISTS_DIR``) inside the run's unfinished folder, so the lists are
renamed into ``reports/runs/<report>/<run id>/lists/`` together with the HTML, kept in the run
history and pruned with it. On success the runner copies them to
``reports/<report>/lists/<run id>/`` *before* it replaces ``latest.html`` (whose links point there),
so a reader never sees a page with another run's lists. A failed run publishes no list.

Run interactively (no staging folder), :func:`publish` writes nothing and says so.

Files, per list ``NAME``:

- ``NAME.csv``: UTF-8 with a byte-order mark (so spreadsheets detect the encoding), comma
  separated, one header row; text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return get a leading apostrophe so a spreadsheet shows them as text and never runs them
  as a formula. Numbers are written as numbers.
- ``NAME.parquet``: the same rows with their types (no escaping).
- ``lists.json``: the manifest (one entry per list, see :func:`publish`), which the runner copies
  into ``summary.json`` under ``lists``.

A Spark DataFrame is published the same way without coming into pandas whole: the personal
columns are dropped on Spark, the rows (and, with ``scores``, the distinct ``customer_id`` values)
are counted on Spark, and the rows are streamed to the driver one partition at a time
(``toLocalIterator(prefetchPartitions=False)``) and written in chunks of :data:`CHUNK_ROWS` rows
to the CSV and, with a ``pyarrow.parquet.ParquetWriter``, to the Parquet file. Each value is
normalised as in the pandas path, so the files equal those of the same frame in pandas (decimals
become floats, as crmlib.db reads money; an integer column keeps integers even with missing
values). pyspark stays optional: nothing here imports it unless given a Spark DataFrame.

Personal data: with ``mask_pii=True`` (the default and the runs' default) a list keeps no column
named in :data:`PERSONAL_COLUMNS` (names, e-mail, phone, address, birth date, ...): it identifies
customers by ``customer_id`` only. ``crmlib run --no-mask-pii`` keeps them, and the manifest names
them in ``personal_columns`` so that a later publishing step (an audience) can drop them again.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .._validation import check_type
from ..errors import DataContractError, ParameterError
from ..present import PII_COLUMNS

__all__ = [
    "CHUNK_ROWS",
    "LISTS_DIR_ENV",
    "LISTS_MIME",
    "MANIFEST",
    "PERSONAL_COLUMNS",
    "collect",
    "publish",
    "publish_latest",
    "read_list",
    "read_manifest",
    "relink",
    "staging",
    "strip_personal",
    "to_csv_bytes",
]

LISTS_DIR_ENV = "CRMLIB_LISTS_DIR"
LISTS_MIME = "application/vnd.crmlib.lists+json"
LISTS = "lists"
MANIFEST = "lists.json"
#: Column names (lower case) that hold personal data; dropped from lists unless a run unmasks.
PERSONAL_COLUMNS = frozenset(PII_COLUMNS) | {
    "salutation", "name", "birth_date", "date_of_birth", "anniversary_date", "postal_code",
    "zip", "zip_code", "city", "ip_address",
}
#: Rows of a Spark DataFrame held in the driver at once while its list files are written. Measured
#: on 240,000 cross-sell-like rows: the driver's peak grew 148 MB with 50,000, 41 MB with 5,000
#: (the same from 60,000 to 480,000 rows; 6 s either way); smaller chunks only add row groups.
CHUNK_ROWS = 5_000
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ------------------------------------------------------------------------------- writing a list

def _escape_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _as_text(value):
    """Lists, sets and tuples in a cell become '; '-joined text (CSV and Parquet alike)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(str(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset))
                                          else value))
    return value


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(_as_text)
            if not out[col].map(lambda v: v is None or isinstance(v, str) or pd.isna(v)).all():
                out[col] = out[col].map(lambda v: v if v is None or (not isinstance(v, str) and pd.isna(v))
                                        else str(v))
    return out


def _csv_text(frame: pd.DataFrame, *, header: bool = True) -> str:
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
            out[col] = out[col].astype(object).map(_escape_cell)
    return out.to_csv(index=False, header=header, lineterminator="\r\n",
                      date_format="%Y-%m-%dT%H:%M:%S")


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The spreadsheet-safe CSV of ``frame`` (see the module docstring), as bytes with a BOM."""
    return ("\ufeff" + _csv_text(frame)).encode("utf-8")


def strip_personal(frame: pd.DataFrame, extra: Iterable[str] = ()) -> pd.DataFrame:
    """``frame`` without its personal-data columns (:data:`PERSONAL_COLUMNS` and ``extra``)."""
    personal = PERSONAL_COLUMNS | {str(c).lower() for c in extra}
    return frame[[c for c in frame.columns if str(c).lower() not in personal]]


def _display(entry: dict, published: bool) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    where = ("published with the report (CSV and Parquet)" if published
             else "not written: run through `crmlib run` to publish it")
    text = f"List '{entry['title']}': {entry['rows']:,} rows, {where}."
    display({LISTS_MIME: entry, "text/plain": text,
             "text/html": f'<p class="crmlib-list-note">{html.escape(text)}</p>'}, raw=True)


def publish(name: str, frame, *, title: str | None = None, mask_pii: bool = True,
            personal: Iterable[str] = (), scores: Iterable[str] = (), folder: str | Path | None = None,
            display: bool = True) -> dict:
    """Publish ``frame`` as the downloadable list ``name`` of the running report.

    Parameters
    ----------
    name : str
        File stem: lower-case letters, digits, ``_`` and ``-`` (``target_list``).
    frame : pandas.DataFrame or pyspark.sql.DataFrame
        One row per list entry; not changed. Identify customers by ``customer_id``. A Spark
        DataFrame is masked and counted on Spark and streamed to the files in chunks of
        :data:`CHUNK_ROWS` rows (never whole in the driver); its rows are written in its
        partition order.
    title : str, optional
        What the report page calls the list; default ``name`` in words.
    mask_pii : bool, default=True
        Pass the notebook's ``mask_pii``: True drops every personal-data column.
    personal : iterable of str, default=()
        More columns that hold personal data (dropped when masked, named in the manifest).
    scores : iterable of str, default=()
        Columns that are per-customer scores for ``crmlib run --scores-to``; the list must then
        have one row per ``customer_id``. Numbers are written as ``value``, text as ``text``.
    folder : str or Path, optional
        Where to write; default the staging folder ``crmlib run`` gives (``CRMLIB_LISTS_DIR``).
        Without either nothing is written.
    display : bool, default=True
        Show a one-line note in the notebook (the stakeholder page shows the links instead).

    Returns
    -------
    dict
        The manifest entry: ``name``, ``title``, ``rows``, ``columns``, ``personal_columns``
        (kept, only when unmasked), ``scores``, ``files`` (``csv``, ``parquet``: paths relative to
        the run folder) and ``published`` (bool).

    Raises
    ------
    ParameterError
        A bad name, or ``scores`` naming a column the list does not have.
    DataContractError
        ``scores`` given but ``customer_id`` missing or repeated.
    """
    where = "report.lists.publish"
    check_type(name, str, name="name", where=where)
    if not _NAME.match(name):
        raise ParameterError(f"{where}: 'name' must be lower-case letters, digits, '_' or '-' "
                             f"(at most 64); got {name!r}.", name="name")
    spark = _is_spark(frame)
    if not spark:
        check_type(frame, pd.DataFrame, name="frame", where=where,
                   type_name="a DataFrame (pandas or Spark)")
    check_type(mask_pii, bool, name="mask_pii", where=where,
               type_name="a bool (pass the notebook's mask_pii parameter)")
    personal = [str(c) for c in personal]
    if spark:
        data = _spark_prepare(frame, personal if mask_pii else None)
        columns = list(data.columns)
    else:
        data = strip_personal(frame, personal) if mask_pii else frame
        data = _normalise(data)
        columns = list(data.columns)
    scores = [str(c) for c in scores]
    missing = [c for c in scores if c not in columns]
    if missing:
        raise ParameterError(f"{where}: 'scores' must name columns of the list; got {missing}; "
                             f"found {columns}.", name="scores")
    if scores and "customer_id" not in columns:
        raise DataContractError(f"{where}: list '{name}' has scores but no customer_id column; "
                                f"found {columns}.")
    target = folder if folder is not None else os.environ.get(LISTS_DIR_ENV)
    cached = False
    if spark:
        if target and not data.is_cached:  # counted, then streamed: computed once
            from pyspark import StorageLevel

            data = data.persist(StorageLevel.MEMORY_AND_DISK)
            cached = True
        rows, dup, examples = _spark_count(data, check_ids=bool(scores))
    else:
        rows = int(len(data))
        dup, examples = 0, []
        if scores:
            repeated = data["customer_id"][data["customer_id"].duplicated()].unique()
            dup, examples = len(repeated), list(repeated[:5])
    try:
        if dup:
            shown = ", ".join(str(v) for v in examples)
            raise DataContractError(f"{where}: list '{name}' has scores but {dup:,} customer_id "
                                    f"value(s) appear more than once (e.g. {shown}).")
        kept_personal = [c for c in columns
                         if str(c).lower() in PERSONAL_COLUMNS | {p.lower() for p in personal}]
        entry = {
            "name": name,
            "title": title or name.replace("_", " ").replace("-", " ").capitalize(),
            "rows": rows,
            "columns": columns,
            "personal_columns": kept_personal,
            "scores": scores,
            "files": {"csv": f"{LISTS}/{name}.csv", "parquet": f"{LISTS}/{name}.parquet"},
            "published": False,
        }
        if target:
            target = Path(target)
            target.mkdir(parents=True, exist_ok=True)
            if spark:
                _write_spark(data, target / f"{name}.csv", target / f"{name}.parquet")
            else:
                (target / f"{name}.csv").write_bytes(to_csv_bytes(data))
                data.to_parquet(target / f"{name}.parquet", index=False)
            entry["published"] = True
            manifest = [e for e in read_manifest(target) if e["name"] != name] + [entry]
            (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    finally:
        if cached:
            data.unpersist()
    if display:
        _display(entry, entry["published"])
    return entry


# --------------------------------------------------------------------------- a Spark DataFrame

def _is_spark(frame) -> bool:
    """True for a pyspark DataFrame (classic or Connect), without importing pyspark."""
    return any(c.__name__ == "DataFrame" and c.__module__.startswith("pyspark.sql")
               for c in type(frame).__mro__)


def _spark_prepare(sdf, personal: list[str] | None):
    """``sdf`` without its personal columns (``personal`` None: unmasked), decimals as doubles."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    drop = None if personal is None else PERSONAL_COLUMNS | {p.lower() for p in personal}
    cols = []
    for f in sdf.schema.fields:
        if drop is not None and f.name.lower() in drop:
            continue
        col = F.col(f"`{f.name}`")
        cols.append(col.cast("double").alias(f.name) if isinstance(f.dataType, DecimalType) else col)
    return sdf.select(*cols)


def _spark_count(sdf, *, check_ids: bool) -> tuple[int, int, list]:
    """Rows of ``sdf`` and, with ``check_ids``, how many customer_id values repeat (and up to 5)."""
    from pyspark.sql import functions as F

    if not check_ids:
        return int(sdf.count()), 0, []
    row = sdf.agg(F.count(F.lit(1)).alias("rows"), F.count("customer_id").alias("ids"),
                  F.countDistinct("customer_id").alias("distinct")).first()
    rows, ids, distinct = int(row["rows"]), int(row["ids"]), int(row["distinct"])
    if ids == distinct and rows - ids <= 1:
        return rows, 0, []
    repeated = sdf.groupBy("customer_id").count().where(F.col("count") > 1).select("customer_id")
    dup = repeated.count()
    examples = [r[0] for r in repeated.orderBy("customer_id").limit(5).collect()]
    return rows, int(dup), examples


_INT_TYPES = {"ByteType": ("int8", "Int8"), "ShortType": ("int16", "Int16"),
              "IntegerType": ("int32", "Int32"), "LongType": ("int64", "Int64")}


def _kind(data_type) -> str:
    kind = type(data_type).__name__
    if kind in _INT_TYPES:
        return kind
    return {"FloatType": "float32", "DoubleType": "float64", "BooleanType": "bool",
            "StringType": "text", "VarcharType": "text", "CharType": "text",
            "TimestampType": "timestamp", "TimestampNTZType": "timestamp"}.get(kind, "other")


def _arrow_type(kind: str):
    import pyarrow as pa

    if kind in _INT_TYPES:
        return getattr(pa, _INT_TYPES[kind][0])()
    return {"float32": pa.float32(), "float64": pa.float64(), "bool": pa.bool_(),
            "timestamp": pa.timestamp("us")}.get(kind, pa.string())


def _as_cell_text(value):
    """A cell the pandas path would turn into text (lists, dates, maps, ...), as it does."""
    if value is None:
        return None
    if hasattr(value, "asDict"):  # a struct (pyspark Row): shown as the dict it is in pandas
        value = value.asDict(recursive=True)
    value = _as_text(value)
    return value if isinstance(value, str) else str(value)


def _chunk_frame(rows: list, names: list[str], kinds: list[str]) -> pd.DataFrame:
    """One chunk of Spark rows as the pandas frame the pandas path would have made of them."""
    data = {}
    for i, (col, kind) in enumerate(zip(names, kinds, strict=True)):
        values = [r[i] for r in rows]
        if kind in _INT_TYPES:
            numpy, nullable = _INT_TYPES[kind]
            data[col] = pd.Series(values, dtype=nullable if None in values else numpy)
        elif kind in ("float32", "float64"):
            data[col] = pd.Series([float("nan") if v is None else v for v in values], dtype=kind)
        elif kind == "bool":
            data[col] = pd.Series(values, dtype="boolean" if None in values else "bool")
        elif kind == "timestamp":
            data[col] = pd.Series(pd.to_datetime(values)).astype("datetime64[us]")
        elif kind == "text":
            data[col] = pd.Series(values, dtype=object)
        else:
            data[col] = pd.Series([_as_cell_text(v) for v in values], dtype=object)
    return pd.DataFrame(data, columns=names)


def _write_spark(sdf, csv_path: Path, parquet_path: Path, chunk_rows: int | None = None) -> None:
    """Stream ``sdf`` into the CSV and Parquet files, :data:`CHUNK_ROWS` rows at a time."""
    import itertools

    import pyarrow as pa
    import pyarrow.parquet as pq

    chunk_rows = chunk_rows or CHUNK_ROWS
    names = list(sdf.columns)
    kinds = [_kind(f.dataType) for f in sdf.schema.fields]
    schema = pa.schema([pa.field(n, _arrow_type(k)) for n, k in zip(names, kinds, strict=True)])
    rows = sdf.toLocalIterator(prefetchPartitions=False)  # one partition at a time in the driver
    # Arrow's default pool (mimalloc) keeps what each chunk freed, about 20 MB more in the driver
    # to the end of the run over 240,000 rows; the system allocator reuses it.
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        with open(csv_path, "wb") as csv, pq.ParquetWriter(parquet_path, schema) as writer:
            csv.write("\ufeff".encode("utf-8"))
            header = True
            while True:
                chunk = list(itertools.islice(rows, chunk_rows))
                if not chunk and not header:
                    break
                part = _chunk_frame(chunk, names, kinds)
                csv.write(_csv_text(part, header=header).encode("utf-8"))
                if chunk:
                    writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))
                header = False
                if not chunk:
                    break
    finally:
        pa.set_memory_pool(pool)


# ------------------------------------------------------------------------------ runner side

def read_manifest(folder: str | Path) -> list[dict]:
    """The entries of ``folder/lists.json`` (``folder``: a lists folder); [] if there is none."""
    path = Path(folder) / MANIFEST
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and "name" in e] if isinstance(entries, list) else []


def read_list(folder: str | Path, name: str) -> pd.DataFrame | None:
    """List ``name`` from a lists folder (its Parquet file), or None if it is not there."""
    path = Path(folder) / f"{name}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


@contextlib.contextmanager
def staging(folder: Path):
    """Point ``CRMLIB_LISTS_DIR`` at ``folder`` while a kernel is started (it inherits it)."""
    saved = os.environ.get(LISTS_DIR_ENV)
    os.environ[LISTS_DIR_ENV] = str(folder)
    try:
        yield folder
    finally:
        if saved is None:
            os.environ.pop(LISTS_DIR_ENV, None)
        else:
            os.environ[LISTS_DIR_ENV] = saved


def collect(run_tmp: Path, *, ok: bool) -> list[dict]:
    """The lists a finished notebook wrote into ``run_tmp/lists``; all removed if it failed."""
    folder = Path(run_tmp) / LISTS
    if not ok:
        shutil.rmtree(folder, ignore_errors=True)
        return []
    entries = [e for e in read_manifest(folder)
               if (folder / f"{e['name']}.csv").is_file() and (folder / f"{e['name']}.parquet").is_file()]
    return entries


_LIST_LINK = re.compile(r'<a\s[^>]*class="crmlib-list"[^>]*>')


def publish_latest(report_dir: Path, run_dir: Path, run_id: str, html: bytes) -> bytes:
    """Copy ``run_dir/lists`` to ``report_dir/lists/<run_id>/`` and return ``html`` linking there.

    The copy is complete (written to a hidden folder, then renamed) before the caller replaces
    ``latest.html``; older copies are removed by :func:`drop_old_latest` afterwards.
    """
    source = Path(run_dir) / LISTS
    if not source.is_dir():
        return html
    target_root = Path(report_dir) / LISTS
    target_root.mkdir(parents=True, exist_ok=True)
    final = target_root / run_id
    if not final.is_dir():
        tmp = target_root / f".tmp-{run_id}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        os.replace(tmp, final)
    return relink(html.decode("utf-8"), f"{LISTS}/{run_id}/").encode("utf-8")


def relink(page: str, prefix: str) -> str:
    """``page`` with its list links (``href="lists/NAME..."``) pointing into ``prefix`` instead."""
    return _LIST_LINK.sub(lambda m: m.group(0).replace(f'href="{LISTS}/', f'href="{prefix}', 1), page)


def drop_old_latest(report_dir: Path, keep: str | None) -> None:
    """Remove ``report_dir/lists/*`` except the run ``keep`` (the one latest.html links)."""
    root = Path(report_dir) / LISTS
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.is_dir() and path.name != keep:
            shutil.rmtree(path, ignore_errors=True)
