"""Turn the rows of a source into canonical records, following one table of a mapping.

Pure: a DataFrame of source text in, canonical records and quarantined rows out; no database.
:func:`prepare_table` makes every column (``from`` / ``value`` / ``cases`` / ``split_name``, then
``map`` / ``standardise`` / typing by the canonical schema / ``transform`` / ``default``), collects
a problem per row and column, quarantines the rows with problems, and combines the remaining rows
that share a key with each column's ``aggregate``. References and sequences need the target
database and are resolved by :mod:`crmlib.imports.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .. import schema as S
from .._validation import check_columns
from . import standardise as st
from .mapping import ColumnSpec, MappingError, SourceSpec, TableSpec

__all__ = ["QUARANTINE_COLUMNS", "Prepared", "condition_mask", "prepare_table"]

#: Columns of the quarantine table: one row per source row and table, with every reason.
QUARANTINE_COLUMNS = ["source", "source_row", "table", "key", "reason"]
KEY_SEP = "|"


@dataclass
class Prepared:
    """Records ready for ID resolution, and the rows that went to quarantine.

    ``records`` has the mapped canonical columns (references still hold source IDs as text) plus
    ``_key`` (the record's source ID, key parts joined by '|') and ``_rows`` (list of source row
    numbers combined into it). ``quarantine`` has :data:`QUARANTINE_COLUMNS`; ``filtered`` counts
    rows left out by the table's ``where``.
    """

    records: pd.DataFrame
    quarantine: pd.DataFrame
    read: int
    filtered: int = 0


def condition_mask(frame: pd.DataFrame, cond: dict) -> pd.Series:
    """Rows of ``frame`` (source text) that meet a mapping condition such as {column: Qty, lt: 0}."""
    col = frame[cond["column"]]
    test, arg = next((k, v) for k, v in cond.items() if k != "column")
    text = col.astype("string").str.strip()
    if test == "missing":
        result = text.isna() | text.eq("")
        return result if arg else ~result
    if test == "equals":
        return text.eq(str(arg)).fillna(False)
    if test == "in":
        return text.isin([str(a) for a in arg]).fillna(False)
    if test == "startswith":
        return text.str.startswith(str(arg)).fillna(False)
    if test == "endswith":
        return text.str.endswith(str(arg)).fillna(False)
    if test == "contains":
        return text.str.contains(str(arg), regex=False).fillna(False)
    if test == "matches":
        return text.str.fullmatch(str(arg)).fillna(False)
    number = pd.to_numeric(text, errors="coerce")
    ops = {"lt": number.lt, "le": number.le, "gt": number.gt, "ge": number.ge}
    return ops[test](float(arg)).fillna(False)


def prepare_table(spec: TableSpec, source: SourceSpec, frame: pd.DataFrame, *,
                  where: str = "import") -> Prepared:
    """Make the canonical records of ``spec.table`` from ``frame``.

    Raises
    ------
    DataContractError
        A source column that the mapping uses is missing (all of them named at once).
    """
    check_columns(frame, spec.source_columns(), where=f"{where}: tables.{spec.table} (source {source.name!r})")
    read = len(frame)
    keep = pd.Series(True, index=frame.index)
    for cond in spec.where:
        keep &= condition_mask(frame, cond)
    frame = frame[keep]
    filtered = int((~keep).sum())

    key_parts = [frame[k].astype("string").str.strip() for k in spec.key]
    key = key_parts[0].copy()
    for part in key_parts[1:]:
        key = key + KEY_SEP + part
    problems: dict[str, pd.Series] = {}
    missing_key = pd.concat([p.isna() | p.eq("") for p in key_parts], axis=1).any(axis=1)
    if missing_key.any():
        problems["_key"] = pd.Series(np.where(missing_key, f"key {list(spec.key)} is missing", None),
                                     index=frame.index, dtype=object)

    columns: dict[str, pd.Series] = {}
    split_cache: dict[str, pd.DataFrame] = {}
    for name, col in spec.columns.items():
        values, col_problems = _make_column(spec.table, col, source, frame, split_cache)
        columns[name] = values
        if col_problems is not None and col_problems.notna().any():
            problems[name] = col_problems
    records = pd.DataFrame(columns, index=frame.index)
    records["_key"] = key.astype(object)

    reason = _join_problems(problems, frame.index)
    bad = reason.notna()
    quarantine = pd.DataFrame({
        "source": source.name, "source_row": frame.index[bad].to_numpy(), "table": spec.table,
        "key": key[bad].astype(object).to_numpy(), "reason": reason[bad].to_numpy(),
    }, columns=QUARANTINE_COLUMNS)
    good = records[~bad]
    return Prepared(records=_combine(spec, good), quarantine=quarantine, read=read, filtered=filtered)


def _join_problems(problems: dict[str, pd.Series], index: pd.Index) -> pd.Series:
    """One text per row: every column's problem, prefixed with the column, joined by '; '."""
    out = pd.Series(pd.NA, index=index, dtype="string")
    for name, col in problems.items():
        col = col.reindex(index).astype("string")
        text = col if name == "_key" else name + ": " + col
        out = out.where(col.isna(), out.where(out.isna(), out + "; ").fillna("") + text)
    return out.astype(object).where(out.notna(), pd.NA)


def _make_column(table: str, col: ColumnSpec, source: SourceSpec, frame: pd.DataFrame,
                 split_cache: dict) -> tuple[pd.Series, pd.Series | None]:
    column = S.metadata.tables[table].c[col.target]
    problems: list[pd.Series] = []
    index = frame.index
    # 1. make the raw value
    if col.has_value:
        values = pd.Series([col.value] * len(frame), index=index, dtype=object)
    elif col.cases:
        values = pd.Series(col.otherwise, index=index, dtype=object)
        decided = pd.Series(False, index=index)
        for case in col.cases:
            hit = condition_mask(frame, case["if"]) & ~decided
            values[hit] = case["then"]
            decided |= hit
    elif col.sequence:
        return pd.Series(np.nan, index=index, dtype=object), None  # numbered by the loader
    elif col.source is not None:
        values = frame[col.source]
    else:
        values = pd.Series(None, index=index, dtype=object)
    if col.split_name:
        if col.source not in split_cache:
            split_cache[col.source] = st.split_name(values)
        part = {"first": "first_name", "last": "last_name", "salutation": "salutation"}[col.split_name]
        values = split_cache[col.source][part]
    # 2. code maps and standardisers
    if col.map is not None:
        values, p = st.value_map(values, col.map, what=col.target, unknown=col.unknown)
        problems.append(p)
    if col.standardise:
        if col.standardise == "phone":
            values, p = st.phone(values, region=col.region or source.phone_region)
        elif col.standardise in ("gender", "salutation", "country"):
            values, p = st.STANDARDISERS[col.standardise](values, unknown=col.unknown)
        elif col.standardise == "number":
            values, p = st.number(values, decimal=source.decimal)
        else:
            values, p = st.STANDARDISERS[col.standardise](values)
        problems.append(p)
    # 3. type by the canonical schema (references stay source IDs until the loader resolves them)
    if col.references:
        values = values.astype("string").str.strip().astype(object)
        values = values.where(values.notna() & values.ne(""), None)
    else:
        values, p = _typed(values, column, col, source)
        problems.append(p)
    # 4. transform and default
    if col.transform == "abs":
        values = values.abs()
    elif col.transform == "negate":
        values = -values
    if col.has_default:
        default = col.default
        if isinstance(column.type, (sa.Date, sa.DateTime)) and default is not None:
            default = pd.Timestamp(default)
        if default is not None:
            values = values.fillna(default)
    problems = [p for p in problems if p is not None]
    required = col.required if col.required is not None else not column.nullable
    if required and not col.sequence:
        empty = pd.Series(values).isna()
        earlier = pd.concat(problems, axis=1).notna().any(axis=1) if problems else pd.Series(False, index=index)
        what = f"source column {col.source!r} is missing" if col.source else "no value"
        problems.append(pd.Series(np.where(empty & ~earlier, f"{what} (required)", None), index=index, dtype=object))
    merged = None
    for p in problems:
        if p is None:
            continue
        p = p.reindex(index)
        merged = p if merged is None else merged.where(merged.notna(), p)
    return values, merged


def _typed(values: pd.Series, column: sa.Column, col: ColumnSpec, source: SourceSpec):
    kind = column.type
    if isinstance(kind, (sa.Date, sa.DateTime)):
        try:
            values, p = st.dates(values, formats=list(col.date_format) or None, dayfirst=col.dayfirst)
        except st.AmbiguousDateError as err:
            what = f"source column {col.source!r}" if col.source else "the values"
            raise MappingError(f"tables.{column.table.name}.columns.{col.target}: {what}: {err}",
                               problems=[str(err)]) from err
        if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            values = values.dt.normalize()
        return values, p
    if isinstance(kind, sa.Boolean):
        if values.map(lambda v: isinstance(v, (bool, np.bool_)), na_action="ignore").all():
            return values.astype("boolean"), None
        values, p = st.boolean(values)
        return values.astype("boolean"), p
    if isinstance(kind, (sa.Integer, sa.Numeric, sa.Float)):
        if pd.api.types.is_numeric_dtype(values):
            numbers, p = values.astype("Float64"), None
        else:
            numbers, p = st.number(values, decimal=source.decimal)
        if isinstance(kind, sa.Integer):
            frac = numbers.notna() & (numbers != numbers.round())
            if frac.any():
                extra = pd.Series(np.where(frac, [f"{v!r} is not a whole number" for v in values], None),
                                  index=values.index, dtype=object)
                p = extra if p is None else p.where(p.notna(), extra)
                numbers = numbers.mask(frac)
            return numbers.round().astype("Int64"), p
        return numbers, p
    # text: strip and collapse whitespace unless a standardiser already did
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        text = values.map(lambda v: v if not isinstance(v, str) else re.sub(r"\s+", " ", v.strip()) or None,
                          na_action="ignore")
        return text.astype(object).where(text.notna(), None), None
    return values.astype("string").astype(object), None


def _combine(spec: TableSpec, records: pd.DataFrame) -> pd.DataFrame:
    """One record per key: rows sharing a key are combined with each column's ``aggregate``."""
    rows = pd.Series(records.index.to_numpy(), index=records.index)
    if records.empty:
        out = records.copy()
        out["_rows"] = pd.Series(dtype=object)
        return out.reset_index(drop=True)
    if not records["_key"].duplicated().any():
        out = records.copy()
        out["_rows"] = [[r] for r in rows]
        return out.reset_index(drop=True)
    groups = records.groupby("_key", sort=False)
    parts = {}
    for name, col in spec.columns.items():
        how = col.aggregate
        if how == "priority":
            rank = {v: i for i, v in enumerate(col.priority)}
            ranked = records[name].map(rank)
            best = ranked.groupby(records["_key"], sort=False).min()
            inverse = dict(enumerate(col.priority))
            parts[name] = best.map(inverse)
            unranked = groups[name].first()
            parts[name] = parts[name].where(parts[name].notna(), unranked)
        elif how in ("first", "last", "min", "max", "sum", "mean", "median", "count"):
            series = records[name]
            if how in ("sum", "mean", "median") and series.dtype == object:
                series = pd.to_numeric(series, errors="coerce")
            parts[name] = series.groupby(records["_key"], sort=False).agg(how)
    out = pd.DataFrame(parts)
    out["_rows"] = rows.groupby(records["_key"], sort=False).agg(list)
    out.index.name = "_key"
    out = out.reset_index()
    for name in spec.columns:  # keep dtypes the rows had (Int64, boolean, datetime)
        if name in records and out[name].dtype != records[name].dtype:
            try:
                out[name] = out[name].astype(records[name].dtype)
            except (TypeError, ValueError):
                pass
    return out[[*spec.columns, "_key", "_rows"]]
