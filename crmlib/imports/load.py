"""Run an import: read the sources, make canonical records, write them to the target database.

:func:`run_import` follows a mapping table by table, parents first, in one transaction on the
TARGET database (sources are only read, through read-only connections). Per table it

1. makes the records (:func:`crmlib.imports.transform.prepare_table`); rows with a problem go to
   quarantine with their reason;
2. skips records whose source ID is already in the ID map (so importing the same file twice changes
   nothing);
3. turns source IDs in ``references`` columns into canonical IDs through the ID map (an unknown
   ID sends the record to quarantine), numbers ``sequence`` columns;
4. checks the rules of :mod:`crmlib.imports.rules` (a broken rule sends the record to quarantine);
5. de-duplicates customers if the mapping asks for it (:class:`crmlib.imports.dedup.Deduplicator`),
   against each other and against the customers already in the target;
6. allocates canonical IDs, inserts the records and records source ID -> canonical ID.

On PostgreSQL the SERIAL sequences of the loaded tables are then moved past the imported IDs, so
rows added later by other applications do not collide with them.

Beside the canonical tables the target gets three bookkeeping tables: ``import_id_map``
(system, table_name, source_key, canonical_key, run_id, match_score), ``import_runs`` (one row per
run with its counts) and ``import_quarantine`` (run_id, source, source_row, table_name,
source_key, reason). A log file and a quarantine CSV are written to ``log_dir``, by default
beside the target database (:func:`default_log_dir`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .. import schema as S
from ..config import DATA_DIR, default_url, redact_url
from ..errors import CrmlibError, DatabaseUnavailableError
from . import rules
from .mapping import Mapping, auto_key, load_mapping
from .sources import SourceData, read_source
from .transform import KEY_SEP, QUARANTINE_COLUMNS, Prepared, prepare_table

__all__ = ["COUNT_COLUMNS", "ImportResult", "bookkeeping", "default_log_dir", "run_import"]

log = logging.getLogger(__name__)

#: Columns of :attr:`ImportResult.counts`.
COUNT_COLUMNS = ["table", "read", "loaded", "quarantined", "merged", "skipped"]

bookkeeping = sa.MetaData()
ID_MAP = sa.Table(
    "import_id_map", bookkeeping,
    sa.Column("system", sa.String(80), primary_key=True),
    sa.Column("table_name", sa.String(40), primary_key=True),
    sa.Column("source_key", sa.String(255), primary_key=True),
    sa.Column("canonical_key", sa.String(80), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("match_score", sa.Float),
)
RUNS = sa.Table(
    "import_runs", bookkeeping,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("mapping", sa.String(120), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    *[sa.Column(c, sa.Integer, nullable=False) for c in COUNT_COLUMNS[1:]],
    sa.Column("log_path", sa.String(500)),
    sa.Column("quarantine_path", sa.String(500)),
)
QUARANTINE = sa.Table(
    "import_quarantine", bookkeeping,
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("source", sa.String(80), nullable=False),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("table_name", sa.String(40), nullable=False),
    sa.Column("source_key", sa.String(255)),
    sa.Column("reason", sa.Text, nullable=False),
)


@dataclass
class ImportResult:
    """What :func:`run_import` did.

    Attributes
    ----------
    run_id : int
    url : str
        The target, password redacted.
    counts : pandas.DataFrame
        :data:`COUNT_COLUMNS`, one row per table: source rows ``read``, records ``loaded``, source
        rows ``quarantined``, customers ``merged`` into another, records ``skipped`` (imported before).
    quarantine : pandas.DataFrame
        source, source_row, table, key, reason.
    log_path, quarantine_path : Path or None
    notes : list of str
        Things worth knowing (an encoding guessed, rows left out by ``where``).
    """

    run_id: int
    url: str
    counts: pd.DataFrame
    quarantine: pd.DataFrame
    log_path: Path | None
    quarantine_path: Path | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Counts summed over tables."""
        return {c: int(self.counts[c].sum()) for c in COUNT_COLUMNS[1:]}

    def summary(self) -> str:
        """A few lines for the command line."""
        lines = [f"import run {self.run_id} into {self.url} in {self.seconds:.1f} s"]
        for row in self.counts.itertuples(index=False):
            lines.append(f"  {row.table:<18} read {row.read:>8,}  loaded {row.loaded:>8,}  quarantined "
                         f"{row.quarantined:>6,}  merged {row.merged:>5,}  skipped {row.skipped:>7,}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.quarantine_path is not None:
            lines.append(f"  quarantined rows with reasons: {self.quarantine_path}")
        if self.log_path is not None:
            lines.append(f"  log: {self.log_path}")
        return "\n".join(lines)


def default_log_dir(url: str, mapping: Mapping | None = None) -> Path:
    """Where an import into ``url`` writes its log and quarantine CSV when not told.

    Beside the target, so the record of an import stays with the database it changed:

    * a SQLite file ``x.sqlite``: the folder ``x.imports/`` next to it (``data/crm.sqlite`` ->
      ``data/crm.imports/``);
    * a database server: the folder ``imports/`` next to the mapping file, which lives with the
      sources it names; ``data/imports/`` for a mapping not read from a file.

    Every run also records its log's path in the target's ``import_runs`` table.

    >>> default_log_dir("sqlite:////srv/crm/shop.sqlite").as_posix()
    '/srv/crm/shop.imports'
    """
    target = make_url(url)
    if target.get_backend_name() == "sqlite" and target.database and target.database != ":memory:":
        path = Path(target.database).expanduser().resolve()
        return path.with_name(f"{path.stem}.imports")
    if mapping is not None and mapping.path is not None:
        return Path(mapping.path).resolve() / "imports"  # Mapping.path is the file's folder
    return DATA_DIR / "imports"


def run_import(mapping: Mapping | str | Path, url: str | None = None, *,
               log_dir: str | Path | None = None) -> ImportResult:
    """Import the sources of ``mapping`` into the canonical tables at ``url``.

    Parameters
    ----------
    mapping : Mapping, str or Path
        A checked mapping or the path of a YAML mapping file.
    url : str, optional
        Target SQLAlchemy URL; default :func:`crmlib.config.default_url`. Canonical tables are
        created if missing. Never one of the mapping's source databases.
    log_dir : str or Path, optional
        Where the log and the quarantine CSV go; default :func:`default_log_dir`, beside the
        target database.

    Returns
    -------
    ImportResult

    Raises
    ------
    MappingError
        The mapping file has mistakes.
    DataContractError
        A source lacks a column the mapping uses; a CSV cannot be decoded.
    EmptyDataError
        A source is empty.
    DatabaseUnavailableError
        A source or the target cannot be opened; the target is a source database.
    """
    started = dt.datetime.now()
    clock = time.perf_counter()
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    url = url or default_url()
    safe_url = redact_url(url)
    _refuse_source_target(mapping, url)
    log_dir = Path(log_dir) if log_dir is not None else default_log_dir(url, mapping)

    data: dict[str, SourceData] = {}
    notes: list[str] = []
    for spec in mapping.tables.values():
        if spec.source not in data:
            data[spec.source] = read_source(mapping.sources[spec.source])
            notes += list(data[spec.source].notes)

    engine = _target_engine(url)
    counts, quarantine = [], []
    try:
        with engine.begin() as conn:
            S.metadata.create_all(conn)
            bookkeeping.create_all(conn)
            run_id = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(RUNS.c.run_id), 0))).scalar()) + 1
            for spec in mapping.tables.values():
                source = mapping.sources[spec.source]
                prepared = prepare_table(spec, source, data[spec.source].frame,
                                         where=mapping.name)
                if prepared.filtered:
                    notes.append(f"{spec.table}: {prepared.filtered:,} source row(s) left out by 'where'")
                row_counts, bad = _load_table(conn, spec, source, prepared, run_id, notes)
                counts.append(row_counts)
                quarantine.append(bad)
            quarantined = pd.concat(quarantine, ignore_index=True) if quarantine else \
                pd.DataFrame(columns=QUARANTINE_COLUMNS)
            counts_frame = pd.DataFrame(counts, columns=COUNT_COLUMNS)
            log_path, q_path = _write_files(log_dir, mapping, run_id, started, safe_url, counts_frame,
                                            quarantined, notes)
            if len(quarantined):
                conn.execute(QUARANTINE.insert(), [
                    {"run_id": run_id, "source": r.source, "source_row": int(r.source_row),
                     "table_name": r.table, "source_key": None if pd.isna(r.key) else str(r.key),
                     "reason": r.reason} for r in quarantined.itertuples(index=False)])
            conn.execute(RUNS.insert().values(
                run_id=run_id, mapping=mapping.name, started_at=started, finished_at=dt.datetime.now(),
                status="ok", **{c: int(counts_frame[c].sum()) for c in COUNT_COLUMNS[1:]},
                log_path=str(log_path), quarantine_path=None if q_path is None else str(q_path)))
            _advance_sequences(conn, [S.metadata.tables[t] for t in mapping.tables] + [RUNS])
    except sa.exc.OperationalError as err:
        raise DatabaseUnavailableError(f"import into {safe_url} failed: {redact_url(str(err.orig)).strip()}",
                                       url=safe_url) from None
    finally:
        engine.dispose()
    result = ImportResult(run_id=run_id, url=safe_url, counts=counts_frame, quarantine=quarantined,
                          log_path=log_path, quarantine_path=q_path,
                          seconds=time.perf_counter() - clock, notes=notes)
    log.info(result.summary())
    return result


# ---------------------------------------------------------------------- target
def _target_engine(url: str) -> sa.Engine:
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if not target.database or target.database == ":memory:":
            raise DatabaseUnavailableError("crmlib import: give a SQLite file URL such as sqlite:///data/crm.sqlite")
        Path(target.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(target)

        # pysqlite commits before DDL on its own; take over so that the whole import, tables
        # included, is one transaction (atomic, and one disk sync instead of one per statement)
        @sa.event.listens_for(engine, "connect")
        def _no_autocommit(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")

        return engine
    return sa.create_engine(target)


def _advance_sequences(conn, tables: list[sa.Table]) -> None:
    """Move PostgreSQL's SERIAL sequences past the IDs the import wrote explicitly.

    The import allocates IDs itself (max + 1), which leaves the sequences behind; rows another
    application adds later would then collide with imported IDs. SQLite needs nothing: its integer
    keys continue after the largest one.
    """
    if conn.dialect.name != "postgresql":
        return
    for column in [t.autoincrement_column for t in tables if t.autoincrement_column is not None]:
        # setval(NULL, ...) is NULL: a key without a sequence (a table made elsewhere) is left alone
        conn.execute(sa.select(sa.func.setval(
            sa.func.pg_get_serial_sequence(column.table.name, column.name),
            sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1).scalar_subquery(), False)))


def _same_database(a: str, b: str) -> bool:
    ua, ub = make_url(a), make_url(b)
    if ua.get_backend_name() == ub.get_backend_name() == "sqlite":
        return bool(ua.database and ub.database) and Path(ua.database).resolve() == Path(ub.database).resolve()
    return (ua.get_backend_name(), ua.host, ua.port, ua.database) == (ub.get_backend_name(), ub.host, ub.port, ub.database)


def _refuse_source_target(mapping: Mapping, url: str) -> None:
    for source in mapping.sources.values():
        if source.kind == "sql" and _same_database(source.url, url):
            raise CrmlibError(f"crmlib import: the target {redact_url(url)} is the database of source "
                              f"{source.name!r}; imports never write to a source, give another --url")


# ---------------------------------------------------------------------- one table
def _id_map(conn, system: str, table: str) -> dict[str, str]:
    rows = conn.execute(sa.select(ID_MAP.c.source_key, ID_MAP.c.canonical_key)
                        .where(ID_MAP.c.system == system, ID_MAP.c.table_name == table))
    return dict(rows.all())


def _quarantine_records(records: pd.DataFrame, reasons: pd.Series, source: str, table: str) -> pd.DataFrame:
    """One quarantine row per source row of each record that has a reason."""
    bad = records.loc[reasons.index]
    out = pd.DataFrame({"source": source, "source_row": bad["_rows"].to_numpy(), "table": table,
                        "key": bad["_key"].to_numpy(), "reason": reasons.to_numpy()})
    return out.explode("source_row")[QUARANTINE_COLUMNS]


def _load_table(conn, spec, source, prepared: Prepared, run_id: int,
                notes: list[str]) -> tuple[dict, pd.DataFrame]:
    table = S.metadata.tables[spec.table]
    records = prepared.records.copy()
    quarantine = [prepared.quarantine]
    counts = {"table": spec.table, "read": prepared.read, "loaded": 0, "quarantined": 0, "merged": 0,
              "skipped": 0}
    known = _id_map(conn, source.system, spec.table)
    old = records["_key"].isin(known)
    counts["skipped"] = int(old.sum())
    records = records[~old].reset_index(drop=True)

    # references: source IDs -> canonical IDs
    reasons = pd.Series(dtype=object)
    for name, col in spec.columns.items():
        if not col.references:
            continue
        lookup = _id_map(conn, source.system, col.references)
        raw = records[name]
        mapped = raw.map(lambda v, ids=lookup: ids.get(str(v)) if v is not None and not pd.isna(v) else None)
        unknown = raw.notna() & mapped.isna()
        if unknown.any():
            text = raw[unknown].map(lambda v, c=col.references, n=name: f"{n}: no {c} record with source ID {v!r}")
            reasons = _add_reasons(reasons, text)
        records[name] = pd.to_numeric(mapped, errors="coerce").astype("Int64")
    # sequences: 1, 2, ... within the parent, after what the target already holds
    for name, col in spec.columns.items():
        if col.sequence:
            parent = records[col.sequence]
            start = _max_per_parent(conn, table, col.sequence, name, parent.dropna().unique())
            order = records.sort_values([col.sequence, "_key"], kind="stable").index
            seq = records.loc[order].groupby(col.sequence, dropna=False).cumcount() + 1
            records[name] = (seq + parent.loc[order].map(start).fillna(0)).reindex(records.index).astype("Int64")
    # rules, on the rows that are still in
    columns = [c for c in spec.columns if c in table.c]
    good = records.drop(index=reasons.index.unique())
    reasons = _add_reasons(reasons, rules.row_problems(spec.table, good[columns]))
    if len(reasons):
        reasons = reasons.groupby(level=0).agg("; ".join)
        quarantine.append(_quarantine_records(records, reasons, source.name, spec.table))
        records = records.drop(index=reasons.index)

    auto = auto_key(spec.table)
    score = pd.Series(np.nan, index=records.index)
    if auto is not None:
        first = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c[auto]), 0))).scalar()) + 1
        records[auto] = np.arange(first, first + len(records))
        records["_canonical"] = records[auto]
        if spec.deduplicate and len(records):
            records, score, counts["merged"] = _deduplicate(conn, spec, records, notes)
        canonical = records["_canonical"].astype("int64").astype(str)
        inserted = records[records[auto] == records["_canonical"]]
    else:
        pk = [c.name for c in table.primary_key.columns]
        canonical = pd.Series("", index=records.index, dtype=object)
        for i, col in enumerate(pk):
            canonical = canonical + ("" if i == 0 else KEY_SEP) + records[col].astype(str)
        inserted = records
    _insert(conn, table, inserted[[c for c in table.c.keys() if c in inserted]])
    if len(records):
        conn.execute(ID_MAP.insert(), [
            {"system": source.system, "table_name": spec.table, "source_key": k, "canonical_key": c,
             "run_id": run_id, "match_score": None if pd.isna(s) else float(s)}
            for k, c, s in zip(records["_key"], canonical, score.reindex(records.index), strict=True)])
    bad = pd.concat(quarantine, ignore_index=True)
    counts["loaded"] = len(inserted)
    counts["quarantined"] = int(bad["source_row"].nunique()) if len(bad) else 0
    return counts, bad


def _add_reasons(reasons: pd.Series, new: pd.Series) -> pd.Series:
    if new is None or not len(new):
        return reasons
    return pd.concat([reasons, new.astype(object)]) if len(reasons) else new.astype(object)


def _max_per_parent(conn, table, parent_col: str, seq_col: str, parents) -> dict:
    if not len(parents):
        return {}
    out = {}
    values = [int(p) for p in parents]
    for i in range(0, len(values), 500):
        chunk = values[i:i + 500]
        rows = conn.execute(sa.select(table.c[parent_col], sa.func.max(table.c[seq_col]))
                            .where(table.c[parent_col].in_(chunk)).group_by(table.c[parent_col]))
        out.update({int(p): int(m) for p, m in rows})
    return out


def _deduplicate(conn, spec, records: pd.DataFrame, notes: list[str]):
    """Link new customers to each other and to existing ones; survivors keep merged values."""
    from .dedup import Deduplicator

    options = spec.deduplicate
    table = S.metadata.tables["customers"]
    existing = pd.read_sql(sa.select(table), conn)
    columns = [c for c in table.c.keys()]
    new = records.reindex(columns=columns)
    both = pd.concat([existing.astype(object), new.astype(object)], ignore_index=True)
    for c in ("birth_date", "created_at", "anniversary_date"):
        both[c] = pd.to_datetime(both[c], errors="coerce")
    # clerical decisions handed back from the review CSV; absent until someone has reviewed
    decisions = options.get("decisions")
    if decisions is not None and not Path(decisions).is_file():
        notes.append(f"customers: no clerical decisions yet at {decisions} (the model decides every pair)")
        decisions = None
    model = Deduplicator(threshold=options["threshold"], survivorship=options["survivorship"],
                         recency_column=options["recency_column"], decisions=decisions).fit(both)
    canonical = records["customer_id"].map(model.id_map_)
    records = records.assign(_canonical=canonical.to_numpy())
    merged = model.merge(both).set_index("customer_id")
    survivors = records["customer_id"] == records["_canonical"]
    for col in spec.columns:  # survivors take the values the rules picked across their cluster
        if col in merged:
            records.loc[survivors, col] = merged.loc[records.loc[survivors, "customer_id"], col].to_numpy()
    pairs = model.pairs_[model.pairs_["score"] >= options["threshold"]]
    best = pd.concat([pairs[["left_id", "score"]].rename(columns={"left_id": "id"}),
                      pairs[["right_id", "score"]].rename(columns={"right_id": "id"})]).groupby("id")["score"].max()
    score = records["customer_id"].map(best)
    score[survivors & ~records["customer_id"].isin(records.loc[~survivors, "_canonical"])] = np.nan
    return records, score, int((~survivors).sum())


def _insert(conn, table: sa.Table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    out = frame.copy()
    for col in out.columns:
        kind = table.c[col].type
        if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            out[col] = pd.to_datetime(out[col]).dt.date
        elif isinstance(kind, sa.DateTime):
            out[col] = pd.to_datetime(out[col]).dt.to_pydatetime() if len(out) else out[col]
    values = out.astype(object).where(out.notna(), None)
    records = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
               for row in values.to_dict("records")]
    for i in range(0, len(records), 20000):
        conn.execute(table.insert(), records[i:i + 20000])


def _write_files(log_dir: Path, mapping: Mapping, run_id: int, started: dt.datetime, url: str,
                 counts: pd.DataFrame, quarantine: pd.DataFrame, notes: list[str]):
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{mapping.name}-run{run_id:04d}-{started:%Y%m%d-%H%M%S}"
    q_path = None
    if len(quarantine):
        q_path = log_dir / f"{stem}-quarantine.csv"
        quarantine.to_csv(q_path, index=False)
    log_path = log_dir / f"{stem}.log"
    lines = [f"crmlib import run {run_id}: mapping {mapping.name} into {url}", f"started {started:%Y-%m-%d %H:%M:%S}",
             counts.to_string(index=False)]
    lines += [f"note: {n}" for n in notes]
    if q_path is not None:
        top = quarantine["reason"].str.split(";").str[0].str.replace(r"'.*", "", regex=True).value_counts().head(10)
        lines += [f"quarantined {quarantine['source_row'].nunique():,} source row(s); see {q_path.name}",
                  "most common reasons:", top.to_string()]
    log_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return log_path, q_path
