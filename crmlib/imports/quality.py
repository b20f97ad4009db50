"""Data-quality measures per canonical table, with a traffic light each.

:func:`quality_report` takes the canonical tables as DataFrames (as ``crmlib.connect(url).load``
returns them) and measures, per table:

``completeness``
    Share of filled cells over the table's columns.
``validity``
    Share of rows that break no rule of :mod:`crmlib.imports.rules`.
``uniqueness``
    Share of rows whose primary key is unique; for customers, also net of the duplicates found by
    :class:`crmlib.imports.dedup.Deduplicator` (if given).
``referential_integrity``
    Share of foreign-key values that exist in the parent table (where the parent was given).
``freshness``
    Days from the newest row (:data:`crmlib.schema.TIME_COLUMN`) to ``as_of``: now, or with
    ``as_of='latest'`` the newest time in any table (which tables lag behind the others).

Each measure gets a status 'green', 'amber' or 'red' from :data:`THRESHOLDS`.

>>> import pandas as pd
>>> channels = pd.DataFrame({"channel_id": [1, 2], "name": ["Web", None], "kind": ["online", "kiosk"],
...                          "region": [None, None]})
>>> report = quality_report({"channels": channels})
>>> report.set_index("dimension").loc[["validity", "uniqueness"], "status"].to_dict()
{'validity': 'red', 'uniqueness': 'green'}
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import schema as S
from . import rules

__all__ = ["BROKEN_COLUMNS", "DIMENSIONS", "FRESHNESS_DAYS", "REPORT_COLUMNS", "THRESHOLDS", "broken_rules",
           "import_history", "load_tables", "quality_report", "status", "traffic_lights"]

DIMENSIONS = ("completeness", "validity", "uniqueness", "referential_integrity", "freshness")
#: (green bound, amber bound) per dimension: shares are green at or above the first bound, amber at
#: or above the second; freshness (days) is green at or below the first, amber at or below the second.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "completeness": (0.90, 0.70),
    "validity": (0.99, 0.95),
    "uniqueness": (0.99, 0.95),
    "referential_integrity": (1.0, 0.99),
    "freshness": (7, 31),
}
#: Freshness bounds (days) for tables that change slowly; other tables use THRESHOLDS['freshness'].
FRESHNESS_DAYS: dict[str, tuple[float, float]] = {
    "campaigns": (120, 365), "campaign_contacts": (120, 365), "campaign_responses": (120, 365),
    "rep_targets": (45, 92), "opportunities": (31, 92),
}
#: Columns of :func:`quality_report`.
REPORT_COLUMNS = ["table", "dimension", "value", "status", "detail"]
#: Columns of :func:`broken_rules` (``examples`` only when asked for).
BROKEN_COLUMNS = ["table", "column", "rule", "rows"]
_RANK = {"green": 0, "amber": 1, "red": 2, "n/a": -1}


def status(dimension: str, value: float, table: str | None = None) -> str:
    """The traffic light of one measure: 'green', 'amber', 'red' (:data:`THRESHOLDS`) or 'n/a'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    good, fair = THRESHOLDS[dimension]
    if dimension == "freshness" and table in FRESHNESS_DAYS:
        good, fair = FRESHNESS_DAYS[table]
    if dimension == "freshness":
        return "green" if value <= good else "amber" if value <= fair else "red"
    return "green" if value >= good else "amber" if value >= fair else "red"


def quality_report(tables: dict[str, pd.DataFrame], *, as_of=None, dedup=None) -> pd.DataFrame:
    """Measure completeness, validity, uniqueness, referential integrity and freshness per table.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Canonical tables (any subset).
    as_of : str or datetime, optional
        The moment freshness is measured at: default now; 'latest' is the newest time in any of
        ``tables``.
    dedup : Deduplicator, optional
        A fitted :class:`crmlib.imports.dedup.Deduplicator` over ``tables['customers']``; its
        merges lower the customers' uniqueness.

    Returns
    -------
    pandas.DataFrame
        :data:`REPORT_COLUMNS`: ``table`` (str), ``dimension`` (str), ``value`` (float64: a share
        in [0, 1], or days for freshness), ``status`` ('green', 'amber', 'red' or 'n/a'),
        ``detail`` (str, plain language). One row per table and dimension.
    """
    if isinstance(as_of, str) and as_of == "latest":
        newest = [tables[t][c].max() for t, c in S.TIME_COLUMN.items() if t in tables and c in tables[t]]
        newest = [v for v in newest if pd.notna(v)]
        as_of = max(newest) if newest else None
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(dt.datetime.now())
    rows = []
    for table in [t for t in S.CANONICAL_TABLES if t in tables]:
        frame = tables[table]
        spec = S.metadata.tables[table]
        n = len(frame)
        cols = [c for c in spec.columns.keys() if c in frame]
        # completeness
        filled = float(frame[cols].notna().to_numpy().mean()) if n and cols else np.nan
        emptiest = frame[cols].isna().mean().sort_values(ascending=False) if n else pd.Series(dtype=float)
        worst = ", ".join(f"{c} {v:.0%} empty" for c, v in emptiest.head(3).items() if v > 0)
        rows.append((table, "completeness", filled, f"{n:,} rows; " + (worst or "no empty cells")))
        # validity
        fails = rules.failures(table, frame) if n else pd.DataFrame(columns=rules.FAILURE_COLUMNS)
        bad = fails["row"].nunique()
        top = fails.groupby(["column", "rule"]).size().sort_values(ascending=False).head(3)
        detail = "; ".join(f"{c} {r}: {k:,}" for (c, r), k in top.items()) or "every row passes the rules"
        rows.append((table, "validity", 1 - bad / n if n else np.nan, detail))
        # uniqueness
        pk = [c.name for c in spec.primary_key.columns]
        dup_keys = int(frame.duplicated(subset=pk).sum()) if n and all(c in frame for c in pk) else 0
        detail = f"{dup_keys:,} duplicate key(s)"
        merged = 0
        if table == "customers" and dedup is not None:
            merged = int(dedup.n_merged_)
            detail += f"; {merged:,} customer(s) look like duplicates of another"
        rows.append((table, "uniqueness", 1 - (dup_keys + merged) / n if n else np.nan, detail))
        # referential integrity
        checked, broken, notes = 0, 0, []
        for col in spec.columns:
            for fk in col.foreign_keys:
                parent = fk.column.table.name
                if col.name not in frame or parent not in tables or fk.column.name not in tables[parent]:
                    continue
                values = frame[col.name].dropna()
                missing = ~values.isin(tables[parent][fk.column.name])
                checked += len(values)
                broken += int(missing.sum())
                if missing.any():
                    notes.append(f"{int(missing.sum()):,} {col.name} not in {parent}")
        rows.append((table, "referential_integrity", 1 - broken / checked if checked else np.nan,
                     "; ".join(notes) or ("every reference resolves" if checked else "no references checked")))
        # freshness
        time_col = S.TIME_COLUMN.get(table)
        if time_col and time_col in frame and n and frame[time_col].notna().any():
            newest = pd.Timestamp(frame[time_col].max())
            days = max(0.0, (as_of - newest).total_seconds() / 86400)
            rows.append((table, "freshness", round(days, 1), f"newest {time_col} {newest:%Y-%m-%d}"))
        else:
            rows.append((table, "freshness", np.nan, "no time column" if not time_col else "no rows"))
    report = pd.DataFrame(rows, columns=["table", "dimension", "value", "detail"])
    report["value"] = report["value"].astype("float64")
    report["status"] = [status(d, v, t) for t, d, v in
                        zip(report["table"], report["dimension"], report["value"], strict=True)]
    empty = report["table"].map(lambda t: len(tables[t]) == 0)
    report.loc[empty, "status"] = "n/a"  # an empty table has no quality to measure
    return report[REPORT_COLUMNS]


def broken_rules(tables: dict[str, pd.DataFrame], *, examples: int = 0) -> pd.DataFrame:
    """Rows per table, column and broken rule (:func:`crmlib.imports.rules.failures`), most first.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
    examples : int, default=0
        Add ``examples``: the first ``examples`` distinct offending values (repr, comma-joined);
        0 leaves the values out (they can be personal data).

    Returns
    -------
    pandas.DataFrame
        :data:`BROKEN_COLUMNS` (and ``examples``); empty when every row passes.
    """
    columns = [*BROKEN_COLUMNS, *(["examples"] if examples else [])]
    broken = [rules.failures(name, frame).assign(table=name) for name, frame in tables.items() if len(frame)]
    broken = [b for b in broken if len(b)]
    if not broken:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "rows" else object) for c in columns})
    broken = pd.concat(broken, ignore_index=True)
    keys = ["table", "column", "rule"]
    out = broken.groupby(keys).agg(rows=("row", "nunique"))
    if examples:
        out["examples"] = broken.groupby(keys)["value"].agg(lambda v: ", ".join(map(repr, v.unique()[:examples])))
    out = out.reset_index().sort_values("rows", ascending=False, kind="stable")
    return out[columns].reset_index(drop=True)


def traffic_lights(report: pd.DataFrame) -> pd.DataFrame:
    """One row per table, one column per dimension, holding the status; plus the worst ``overall``."""
    if report.empty:
        return pd.DataFrame(columns=["table", *DIMENSIONS, "overall"])
    wide = report.pivot(index="table", columns="dimension", values="status")
    wide = wide.reindex(columns=list(DIMENSIONS)).fillna("n/a")
    wide["overall"] = wide.apply(lambda r: max(r, key=lambda s: _RANK[s]), axis=1)
    order = [t for t in S.CANONICAL_TABLES if t in wide.index]
    return wide.loc[order].reset_index()


def load_tables(crm, tables=None) -> dict[str, pd.DataFrame]:
    """Every canonical table present in ``crm`` (a :class:`crmlib.db.Crm`), typed."""
    present = set(crm.tables())
    names = [t for t in (tables or S.CANONICAL_TABLES) if t in present]
    return {t: crm.load(t) for t in names}


def import_history(crm) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Import runs and quarantine reasons recorded by ``crmlib import`` in ``crm`` (empty if none).

    Returns
    -------
    runs : pandas.DataFrame
        The ``import_runs`` table (run_id, mapping, started_at, ..., read, loaded, quarantined,
        merged, skipped).
    reasons : pandas.DataFrame
        ``run_id``, ``table_name``, ``reason`` (quoted values replaced by '…', so no personal data),
        ``rows`` (int64): quarantined rows per reason.
    """
    import sqlalchemy as sa

    present = set(crm.tables())
    runs = pd.DataFrame(columns=["run_id", "mapping", "started_at", "finished_at", "status", "read",
                                 "loaded", "quarantined", "merged", "skipped"])
    reasons = pd.DataFrame(columns=["run_id", "table_name", "reason", "rows"])
    with crm.engine.connect() as conn:
        if "import_runs" in present:
            runs = pd.read_sql(sa.text("SELECT * FROM import_runs ORDER BY run_id"), conn)
        if "import_quarantine" in present:
            q = pd.read_sql(sa.text("SELECT run_id, table_name, reason FROM import_quarantine"), conn)
            if len(q):
                q["reason"] = q["reason"].str.replace(r"'[^']*'", "'…'", regex=True)
                reasons = q.groupby(["run_id", "table_name", "reason"]).size().rename("rows").reset_index()
                reasons = reasons.sort_values(["run_id", "rows"], ascending=[True, False])
    return runs, reasons
