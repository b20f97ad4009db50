"""The data-quality measures (:mod:`crmlib.imports.quality`) as Spark aggregations over the mart.

Same measures, same numbers as :func:`crmlib.imports.quality.quality_report` on the canonical
tables: per table one aggregation counts the rows, the filled cells per column, the rows breaking
each rule and the newest time; a grouped count finds duplicate keys; one anti-join per foreign key
counts the references that do not resolve. Only these counts (and, if asked, a few example values
per broken rule) come back to the driver.

The rules are the pandera schemas of :func:`crmlib.imports.rules.table_schema`, translated check by
check into Spark SQL predicates (labels taken from the pandera checks, so a broken rule reads the
same on both engines). pandera's own PySpark backend (``pandera.pyspark``) is not used: with the
installed pandas 3 and pyspark 4 it does not import (it needs ``pyspark.pandas``, which fails on
pandas 3), and it reports whether a check failed, not how many rows, nor which rows break any rule,
which validity needs.

What the mart cannot hold is read from the database, bounded: ``fact_sales`` keeps only order
lines with an order, and facts are partitioned by month, so a fact row without its time column
is not in the mart. :func:`unheld_rows` fetches those rows (normally none) with one query per
fact, at most ``limit`` per table, and they are measured with the rest.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

import numpy as np
import pandas as pd

from .. import schema as S
from ..mart import table_path
from . import quality, rules

__all__ = ["MART_TABLES", "UNHELD_LIMIT", "Tables", "canonical_tables", "quality_report", "rule_checks", "unheld_rows"]

#: The mart table each canonical table is measured on (order lines: ``fact_sales``' line columns).
MART_TABLES: dict[str, str] = {
    "customers": "dim_customer", "products": "dim_product", "channels": "dim_channel",
    "sales_reps": "dim_rep", "rep_targets": "dim_rep_target", "campaigns": "dim_campaign",
    "orders": "fact_orders", "order_lines": "fact_sales", "invoices": "fact_invoices",
    "payments": "fact_payments", "interactions": "fact_interactions",
    "service_tickets": "fact_service_tickets", "campaign_contacts": "fact_campaign_contacts",
    "campaign_responses": "fact_campaign_responses", "opportunities": "fact_opportunities",
}
#: Most rows per table that :func:`unheld_rows` brings from the database.
UNHELD_LIMIT = 100_000


class Tables(dict):
    """Canonical table name -> Spark DataFrame; ``beyond``: rows per table the mart does not hold
    and :func:`unheld_rows` did not bring either (over its limit)."""

    beyond: dict[str, int]


def canonical_tables(spark, mart, *, crm=None, limit: int = UNHELD_LIMIT) -> Tables:
    """The canonical tables as Spark DataFrames over the mart (canonical columns only).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or Path
    crm : crmlib.db.Crm, optional
        The database the mart was exported from: the rows the mart cannot hold
        (:func:`unheld_rows`, at most ``limit`` per table) are appended to their table.
    limit : int, default=UNHELD_LIMIT
    """
    extra, counts = unheld_rows(crm, limit=limit) if crm is not None else ({}, {})
    out = Tables()
    out.beyond = {t: n - len(extra.get(t, ())) for t, n in counts.items() if n > len(extra.get(t, ()))}
    for table, name in MART_TABLES.items():
        frame = spark.read.parquet(table_path(mart, name))
        cols = [c for c in S.table_columns(table) if c in frame.columns]
        frame = frame.select(*cols)
        more = extra.get(table)
        if more is not None and len(more):
            frame = frame.unionByName(_to_spark(spark, more[cols], frame.schema))
        out[table] = frame
    return out


def _to_spark(spark, frame: pd.DataFrame, schema):
    frame = frame.astype(object).where(frame.notna(), None)
    rows = [tuple(_plain(v) for v in r) for r in frame.itertuples(index=False, name=None)]
    return spark.createDataFrame(rows, schema=schema)


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def unheld_rows(crm, *, limit: int = UNHELD_LIMIT) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Rows of the database the mart cannot hold, at most ``limit`` per table.

    Order lines without an order (or whose order has no ``ordered_at``), and fact rows without
    their time column (the mart partitions facts by it). One counting query per fact; rows are
    fetched only where there are some.

    Returns
    -------
    rows : dict of str to pandas.DataFrame
        Per table with such rows: the first ``limit`` of them (canonical columns, typed).
    counts : dict of str to int
        Per table: how many there are in all.
    """
    import sqlalchemy as sa

    where = {"order_lines": 'FROM "order_lines" AS t LEFT JOIN "orders" AS o ON o."order_id" = t."order_id" '
                            'WHERE o."order_id" IS NULL OR o."ordered_at" IS NULL'}
    for table, column in S.TIME_COLUMN.items():
        if MART_TABLES.get(table, "").startswith("fact_"):
            where[table] = f'FROM "{table}" AS t WHERE t."{column}" IS NULL'
    present = set(crm.tables())
    rows, counts = {}, {}
    with crm.engine.connect() as conn:
        for table, body in where.items():
            if table not in present or (table == "order_lines" and "orders" not in present):
                continue
            n = int(conn.execute(sa.text(f"SELECT COUNT(*) {body}")).scalar())
            counts[table] = n
            if n:
                cols = ", ".join(f't."{c}"' for c in S.table_columns(table))
                frame = pd.read_sql(sa.text(f"SELECT {cols} {body} LIMIT {int(limit)}"), conn)
                for col in S.DATE_COLUMNS.get(table, ()):
                    frame[col] = pd.to_datetime(frame[col], errors="coerce", format="mixed")
                rows[table] = frame
    return rows, counts


# ---------------------------------------------------------------------- the rules in Spark SQL
def _is_time(column) -> bool:
    import sqlalchemy as sa

    return isinstance(column.type, (sa.Date, sa.DateTime))


def _value_predicates(column, col_rules: dict) -> list:
    """The Spark predicates (True = passes) of one column's rules, in the order of rules._checks."""
    from pyspark.sql import functions as F

    c = F.col(column.name)

    def bound(v):
        return F.lit(pd.Timestamp(v).to_pydatetime()).cast("timestamp_ntz") if _is_time(column) else F.lit(v)

    preds = []
    for key, arg in col_rules.items():
        if key == "isin":
            preds.append(c.isin(list(arg)))
        elif key == "iso_country":
            preds.append(c.isin(list(rules._countries())))
        elif key in ("ge", "gt", "le", "lt"):
            preds.append(getattr(c, {"ge": "__ge__", "gt": "__gt__", "le": "__le__", "lt": "__lt__"}[key])(bound(arg)))
        elif key == "between":
            preds.append(c.between(bound(arg[0]), bound(arg[1])))
        elif key == "matches":
            # Python's fullmatch: anchored at both ends (\z: no newline before the end), Unicode \s
            preds.append(c.cast("string").rlike(f"(?U)^(?:{arg})\\z"))
        elif key == "max_length":
            preds.append(F.length(c) <= arg)
        elif key == "not_future":
            tomorrow = pd.Timestamp.now() + pd.Timedelta(days=1)
            preds.append(c <= F.lit(tomorrow.to_pydatetime()).cast("timestamp_ntz"))
    import sqlalchemy as sa

    length = getattr(column.type, "length", None)
    if length and "max_length" not in col_rules and isinstance(column.type, sa.String):
        preds.append(F.length(c) <= length)
    return preds


def rule_checks(table: str, columns) -> list[tuple[str, str, object]]:
    """Every rule of ``table`` as ``(column, rule, fails)`` with ``fails`` a Spark boolean Column.

    The rules and their labels are those of :func:`crmlib.imports.rules.table_schema` (the
    pandera schema): 'not missing' for a missing value where none is allowed, each value check
    on the filled values, and cross-column rules ('due_at >= issued_at', on its first column).
    Unique keys are counted apart (:func:`quality_report`).

    Parameters
    ----------
    table : str
    columns : iterable of str
        The columns the Spark table has (rules on other columns are skipped, as pandera does).
    """
    from pyspark.sql import functions as F

    schema = rules.table_schema(table)
    spec = S.metadata.tables[table]
    table_rules = rules.RULES.get(table, {})
    present = set(columns)
    out = []
    for column in spec.columns:
        if column.name not in present:
            continue
        pa_col = schema.columns[column.name]
        c = F.col(column.name)
        if not pa_col.nullable:
            out.append((column.name, "not missing", c.isNull()))
        col_rules = {k: v for k, v in table_rules.get(column.name, {}).items() if k != "ge_column"}
        preds = _value_predicates(column, col_rules)
        if len(preds) != len(pa_col.checks):  # pragma: no cover - a rule key added to one side only
            raise AssertionError(f"spark_quality: {table}.{column.name} has {len(pa_col.checks)} pandera "
                                 f"checks but {len(preds)} Spark predicates")
        for check, passes in zip(pa_col.checks, preds, strict=True):
            label = str(check.error) if check.error else check.name
            out.append((column.name, label, c.isNotNull() & ~passes))
    for col, col_rules in table_rules.items():
        other = col_rules.get("ge_column")
        if other and col in present and other in present:
            a, b = F.col(col), F.col(other)
            out.append((col, f"{col} >= {other}", a.isNotNull() & b.isNotNull() & ~(a >= b)))
    return out


# ---------------------------------------------------------------------- the measures
def _measure(table: str, frame, tables: dict, *, examples: int):
    """One table's counts in one Spark job: rows, filled cells, rule failures (duplicated keys
    included), references that do not resolve, newest time."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spec = S.metadata.tables[table]
    cols = [c.name for c in spec.columns if c.name in frame.columns]
    pk = [c.name for c in spec.primary_key.columns]
    checks = rule_checks(table, cols)
    work = frame
    aggs = [F.count(F.lit(1)).alias("n")]
    if all(c in frame.columns for c in pk):
        # duplicated keys: a window partitioned by the key (pandas: duplicated(keep=False) flags,
        # duplicated() counts the rows after the first)
        by_key = Window.partitionBy(*pk)
        work = work.withColumn("_dup", F.count(F.lit(1)).over(by_key) > 1)
        work = work.withColumn("_later", F.row_number().over(by_key.orderBy(*pk)) > 1)
        aggs.append(F.sum(F.col("_later").cast("long")).alias("dup_keys"))
        if len(pk) == 1:  # rules.failures: a duplicated, filled key
            checks.append((pk[0], "unique key", F.col("_dup") & F.col(pk[0]).isNotNull()))
        else:  # pandera's unique=pk: every column of the key, on each duplicated row
            checks += [(k, "unique key", F.col("_dup")) for k in pk]
    refs = []
    for col in spec.columns:
        for fk in col.foreign_keys:
            parent, key = fk.column.table.name, fk.column.name
            if col.name not in frame.columns or parent not in tables or key not in tables[parent].columns:
                continue
            i = len(refs)
            keys = tables[parent].select(F.col(key).alias(f"_key_{i}")).distinct()
            work = work.join(keys, on=F.col(col.name) == F.col(f"_key_{i}"), how="left")
            refs.append((col.name, parent))
            aggs += [F.count(F.col(col.name)).alias(f"checked_{i}"),
                     F.sum((F.col(col.name).isNotNull() & F.col(f"_key_{i}").isNull()).cast("long")).alias(f"missing_{i}")]
    time_col = S.TIME_COLUMN.get(table)
    aggs += [F.count(F.col(c)).alias(f"filled_{i}") for i, c in enumerate(cols)]
    aggs += [F.sum(F.coalesce(fails, F.lit(False)).cast("long")).alias(f"fail_{i}")
             for i, (_, _, fails) in enumerate(checks)]
    bad = reduce(lambda x, y: x | y, [F.coalesce(fails, F.lit(False)) for _, _, fails in checks], F.lit(False))
    aggs.append(F.sum(bad.cast("long")).alias("bad"))
    if time_col and time_col in frame.columns:
        aggs.append(F.max(time_col).alias("newest"))
    row = work.agg(*aggs).first().asDict()
    n = int(row["n"])
    fails = pd.DataFrame([(c, r, int(row[f"fail_{i}"] or 0)) for i, (c, r, _) in enumerate(checks)],
                         columns=["column", "rule", "rows"])
    fails = fails[fails["rows"] > 0].groupby(["column", "rule"], sort=True)["rows"].sum().reset_index()
    if examples and len(fails):
        fails["examples"] = [_examples(work, checks, c, r, examples)
                             for c, r in zip(fails["column"], fails["rule"], strict=True)]
    filled = pd.Series({c: int(row[f"filled_{i}"]) for i, c in enumerate(cols)}, dtype="int64")
    checked = sum(int(row[f"checked_{i}"]) for i in range(len(refs)))
    missing = [int(row[f"missing_{i}"] or 0) for i in range(len(refs))]
    notes = [f"{k:,} {col} not in {parent}" for (col, parent), k in zip(refs, missing, strict=True) if k]
    return {"n": n, "cols": cols, "filled": filled, "fails": fails, "bad": int(row["bad"] or 0),
            "dup_keys": int(row.get("dup_keys") or 0), "newest": row.get("newest"),
            "refs": (checked, sum(missing), notes)}


def _examples(frame, checks, column: str, rule: str, k: int) -> str:
    """Up to ``k`` distinct offending values of one rule (a bounded look: the first 1,000 failing rows)."""
    fails = reduce(lambda x, y: x | y, [f for c, r, f in checks if c == column and r == rule])
    values = [_plain(r[0]) for r in frame.where(fails).select(column).limit(1000).distinct().limit(k).collect()]
    return ", ".join(repr(pd.Timestamp(v) if isinstance(v, dt.datetime) else v) for v in values)


def quality_report(tables: dict, *, as_of=None, dedup=None, examples: int = 0):
    """:func:`crmlib.imports.quality.quality_report` over Spark DataFrames, and the broken rules.

    Parameters
    ----------
    tables : dict of str to pyspark.sql.DataFrame
        Canonical tables (:func:`canonical_tables`).
    as_of : str or datetime, optional
        As :func:`crmlib.imports.quality.quality_report` ('latest', a date, None for now).
    dedup : Deduplicator, optional
        Fitted on the customers (or a bounded sample of them): its merges lower their uniqueness.
    examples : int, default=0
        Offending values per broken rule to bring back (0: none, for masked reports).

    Returns
    -------
    report : pandas.DataFrame
        :data:`crmlib.imports.quality.REPORT_COLUMNS`, the same rows as the pandas report.
    broken : pandas.DataFrame
        ``table``, ``column``, ``rule``, ``rows`` (and ``examples`` if asked): rows per broken rule.
    """
    measured = {t: _measure(t, tables[t], tables, examples=examples) for t in S.CANONICAL_TABLES if t in tables}
    if isinstance(as_of, str) and as_of == "latest":
        newest = [m["newest"] for m in measured.values() if m.get("newest") is not None]
        as_of = max(pd.Timestamp(v) for v in newest) if newest else None
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(dt.datetime.now())
    rows, broken = [], []
    for table, m in measured.items():
        n, cols = m["n"], m["cols"]
        # completeness (the pandas report's numbers and wording)
        filled = float(m["filled"].sum() / (n * len(cols))) if n and cols else np.nan
        emptiest = ((n - m["filled"]) / n).sort_values(ascending=False) if n else pd.Series(dtype=float)
        worst = ", ".join(f"{c} {v:.0%} empty" for c, v in emptiest.head(3).items() if v > 0)
        rows.append((table, "completeness", filled, f"{n:,} rows; " + (worst or "no empty cells")))
        # validity
        fails = m["fails"]
        top = fails.set_index(["column", "rule"])["rows"].sort_values(ascending=False).head(3)
        detail = "; ".join(f"{c} {r}: {k:,}" for (c, r), k in top.items()) or "every row passes the rules"
        rows.append((table, "validity", 1 - m["bad"] / n if n else np.nan, detail))
        if len(fails):
            broken.append(fails.assign(table=table))
        # uniqueness
        detail = f"{m['dup_keys']:,} duplicate key(s)"
        merged = 0
        if table == "customers" and dedup is not None:
            merged = int(dedup.n_merged_)
            detail += f"; {merged:,} customer(s) look like duplicates of another"
        rows.append((table, "uniqueness", 1 - (m["dup_keys"] + merged) / n if n else np.nan, detail))
        # referential integrity
        checked, bad_refs, notes = m["refs"]
        rows.append((table, "referential_integrity", 1 - bad_refs / checked if checked else np.nan,
                     "; ".join(notes) or ("every reference resolves" if checked else "no references checked")))
        # freshness
        time_col = S.TIME_COLUMN.get(table)
        if time_col and time_col in cols and n and m.get("newest") is not None:
            newest = pd.Timestamp(m["newest"])
            days = max(0.0, (as_of - newest).total_seconds() / 86400)
            rows.append((table, "freshness", round(days, 1), f"newest {time_col} {newest:%Y-%m-%d}"))
        else:
            rows.append((table, "freshness", np.nan, "no time column" if not time_col else "no rows"))
        extra = getattr(tables, "beyond", {}).get(table, 0)
        if extra:
            rows[-5] = (*rows[-5][:3], rows[-5][3] + f"; {extra:,} more rows in the database not measured")
    report = pd.DataFrame(rows, columns=["table", "dimension", "value", "detail"])
    report["value"] = report["value"].astype("float64")
    report["status"] = [quality.status(d, v, t) for t, d, v in
                        zip(report["table"], report["dimension"], report["value"], strict=True)]
    empty = report["table"].map(lambda t: measured[t]["n"] == 0)
    report.loc[empty, "status"] = "n/a"
    columns = [*quality.BROKEN_COLUMNS, *(["examples"] if examples else [])]
    if broken:  # as quality.broken_rules: by table, column and rule, then most rows first
        broken = pd.concat(broken, ignore_index=True).sort_values(["table", "column", "rule"])
        broken = broken.sort_values("rows", ascending=False, kind="stable")[columns].reset_index(drop=True)
    else:
        broken = pd.DataFrame({c: pd.Series(dtype="int64" if c == "rows" else object) for c in columns})
    return report[quality.REPORT_COLUMNS], broken
