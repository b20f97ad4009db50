"""Mapping files: how another CRM's files or tables become the canonical tables.

A mapping is a YAML file with two parts: ``sources`` (CSV / Excel files, tables or queries of another
SQLAlchemy database, or inline rows) and ``tables`` (per canonical table: which source, which
source column(s) identify a record, and how each canonical column is made). ``docs/imports.md``
explains the format with examples; :func:`load_mapping` reads and checks a file, and reports every
mistake at once, each with its place in the file::

    online_retail.yml: tables.orders.columns.status: unknown option 'agregate'; allowed: [...]

A column is made by one of ``from`` (a source column), ``value`` (a constant), ``cases`` (first
matching condition wins), ``sequence`` (numbers 1, 2, ... within a parent) or ``split_name`` (one
part of a free-form full name); then ``map`` / ``standardise`` / ``date_format`` (a format, a list, or ``auto``) /
``transform`` clean it, ``default`` fills what is still missing, ``references`` turns a source ID into the
canonical ID of another imported table, and ``aggregate`` combines the rows that share a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import schema as S
from ..errors import CrmlibError
from .standardise import STANDARDISERS

__all__ = ["ColumnSpec", "Mapping", "MappingError", "SourceSpec", "TableSpec", "load_mapping",
           "parse_mapping"]

SOURCE_KINDS = ("csv", "excel", "sql", "rows")
AGGREGATES = ("first", "last", "min", "max", "sum", "mean", "median", "count", "priority")
TRANSFORMS = ("abs", "negate")
SPLIT_PARTS = ("first", "last", "salutation")
UNKNOWN = ("problem", "missing", "keep")
CONDITIONS = ("equals", "in", "startswith", "endswith", "contains", "matches", "lt", "le", "gt", "ge",
              "missing")
SURVIVORSHIP = ("most_complete", "most_recent", "oldest", "first")

_SOURCE_KEYS = {"path", "format", "encoding", "delimiter", "sheet", "url", "table", "query", "rows",
                "system", "phone_region", "decimal", "skip_rows"}
_TABLE_KEYS = {"source", "key", "columns", "deduplicate", "where"}
_COLUMN_KEYS = {"from", "value", "cases", "else", "sequence", "split_name", "map", "unknown",
                "standardise", "date_format", "dayfirst", "transform", "default", "references",
                "aggregate", "priority", "region", "required"}
_DEDUP_KEYS = {"threshold", "survivorship", "recency_column", "decisions"}


class MappingError(CrmlibError):
    """A mapping file cannot be read or says something crmlib cannot do.

    Attributes
    ----------
    path : str or None
        The mapping file.
    problems : list of str
        Every problem found, each starting with its place in the file.
    """

    def __init__(self, message: str, *, path: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.path = path
        self.problems = problems or [message]


@dataclass(frozen=True)
class SourceSpec:
    """Where rows come from. ``kind`` is one of csv, excel, sql, rows."""

    name: str
    kind: str
    system: str
    path: Path | None = None
    encoding: str = "auto"
    delimiter: str | None = None
    sheet: str | int | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    rows: tuple[dict, ...] = ()
    phone_region: str = "US"
    decimal: str = "."
    skip_rows: int = 0


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is made; see the module docstring and docs/imports.md."""

    target: str
    source: str | None = None
    value: Any = None
    has_value: bool = False
    cases: tuple[dict, ...] = ()
    otherwise: Any = None
    sequence: str | None = None
    split_name: str | None = None
    map: dict | None = None
    unknown: str = "problem"
    standardise: str | None = None
    date_format: tuple[str, ...] = ()
    dayfirst: bool | None = None
    transform: str | None = None
    default: Any = None
    has_default: bool = False
    references: str | None = None
    aggregate: str = "first"
    priority: tuple = ()
    region: str | None = None
    required: bool | None = None

    def source_columns(self) -> list[str]:
        """Every source column this spec reads."""
        cols = [self.source] if self.source else []
        cols += [case["if"]["column"] for case in self.cases]
        return cols


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: its source, key columns, column specs and de-duplication options."""

    table: str
    source: str
    key: tuple[str, ...]
    columns: dict[str, ColumnSpec]
    deduplicate: dict | None = None
    where: tuple[dict, ...] = ()

    def source_columns(self) -> list[str]:
        cols = list(self.key) + [w["column"] for w in self.where]
        for spec in self.columns.values():
            cols += spec.source_columns()
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file. ``tables`` are in the order they are loaded (parents first)."""

    name: str
    path: Path | None
    sources: dict[str, SourceSpec]
    tables: dict[str, TableSpec] = field(default_factory=dict)


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a YAML mapping file.

    Parameters
    ----------
    path : str or Path
        The mapping file. Relative source paths in it are relative to its folder.

    Returns
    -------
    Mapping

    Raises
    ------
    MappingError
        The file is missing, is not YAML, or has mistakes (all listed, each with its place).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise MappingError(f"mapping file not found: {path}", path=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise MappingError(f"{path.name}: not a readable YAML file: {err}", path=str(path)) from None
    return parse_mapping(data, base=path.parent, label=path.name, default_name=path.stem)


def parse_mapping(data: Any, *, base: Path | None = None, label: str = "mapping",
                  default_name: str = "import") -> Mapping:
    """Check a mapping given as a dict (as :func:`load_mapping` reads it from YAML)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise MappingError(f"{label}: a mapping must be a YAML dictionary with 'sources' and 'tables'; "
                           f"got {type(data).__name__}", problems=[f"{label}: not a dictionary"])
    _unknown_keys(data, {"name", "sources", "tables", "system"}, "", problems)
    name = str(data.get("name") or default_name)
    system = str(data.get("system") or name)
    sources = {}
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        problems.append("sources: give at least one source (name: {path: ...} or {url: ..., table: ...})")
        raw_sources = {}
    for sname, raw in raw_sources.items():
        spec = _source(str(sname), raw, base, system, problems)
        if spec is not None:
            sources[str(sname)] = spec

    raw_tables = data.get("tables")
    if not isinstance(raw_tables, dict) or not raw_tables:
        problems.append(f"tables: give at least one canonical table; canonical tables are {sorted(S.CANONICAL_TABLES)}")
        raw_tables = {}
    tables = {}
    for tname, raw in raw_tables.items():
        spec = _table(str(tname), raw, sources, raw_tables, problems, base)
        if spec is not None:
            tables[spec.table] = spec
    if problems:
        text = "\n  ".join(f"{label}: {p}" for p in problems)
        raise MappingError(f"{len(problems)} problem(s) in the mapping:\n  {text}", path=label,
                           problems=[f"{label}: {p}" for p in problems])
    ordered = {t: tables[t] for t in S.CANONICAL_TABLES if t in tables}
    return Mapping(name=name, path=base, sources=sources, tables=ordered)


# ---------------------------------------------------------------------- parts
def _unknown_keys(raw: dict, allowed: set[str], where: str, problems: list[str]) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(f"{where}{'' if not where else ': '}unknown option {key!r}; allowed: {sorted(allowed)}")


def _source(name: str, raw: Any, base: Path | None, system: str, problems: list[str]) -> SourceSpec | None:
    where = f"sources.{name}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a dictionary such as {{path: customers.csv}}")
        return None
    _unknown_keys(raw, _SOURCE_KEYS, where, problems)
    kind = raw.get("format")
    if kind is None:
        if "rows" in raw:
            kind = "rows"
        elif "url" in raw:
            kind = "sql"
        elif "path" in raw:
            suffix = Path(str(raw["path"])).suffix.lower()
            kind = "excel" if suffix in (".xlsx", ".xlsm", ".xls") else "csv"
    if kind not in SOURCE_KINDS:
        problems.append(f"{where}: 'format' must be one of {list(SOURCE_KINDS)} (or give path, url or rows); "
                        f"got {kind!r}")
        return None
    path = None
    if kind in ("csv", "excel"):
        if not raw.get("path"):
            problems.append(f"{where}: a {kind} source needs 'path'")
            return None
        path = Path(str(raw["path"])).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
    if kind == "sql":
        if not raw.get("url"):
            problems.append(f"{where}: a sql source needs 'url' (a SQLAlchemy URL)")
        if bool(raw.get("table")) == bool(raw.get("query")):
            problems.append(f"{where}: a sql source needs exactly one of 'table' or 'query'")
    rows = raw.get("rows") or ()
    if kind == "rows" and (not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows)):
        problems.append(f"{where}: 'rows' must be a list of dictionaries")
        rows = ()
    return SourceSpec(
        name=name, kind=kind, system=str(raw.get("system") or system), path=path,
        encoding=str(raw.get("encoding", "auto")), delimiter=raw.get("delimiter"),
        sheet=raw.get("sheet"), url=raw.get("url"), table=raw.get("table"), query=raw.get("query"),
        rows=tuple(rows), phone_region=str(raw.get("phone_region", "US")),
        decimal=str(raw.get("decimal", ".")), skip_rows=int(raw.get("skip_rows", 0) or 0),
    )


def _table(name: str, raw: Any, sources: dict, all_tables: dict, problems: list[str],
           base: Path | None = None) -> TableSpec | None:
    where = f"tables.{name}"
    if name not in S.metadata.tables:
        problems.append(f"{where}: {name!r} is not a canonical table; canonical tables are "
                        f"{sorted(S.CANONICAL_TABLES)}")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a dictionary with 'source', 'key' and 'columns'")
        return None
    _unknown_keys(raw, _TABLE_KEYS, where, problems)
    source = raw.get("source")
    if source not in sources:
        problems.append(f"{where}.source: {source!r} is not one of the sources {sorted(sources)}")
    key = raw.get("key")
    key = tuple(str(k) for k in ([key] if isinstance(key, str) else key or []))
    if not key:
        problems.append(f"{where}.key: give the source column(s) that identify one {name} record "
                        "(they make re-imports idempotent)")
    columns: dict[str, ColumnSpec] = {}
    raw_columns = raw.get("columns") or {}
    if not isinstance(raw_columns, dict):
        problems.append(f"{where}.columns: must be a dictionary of canonical column -> source column or spec")
        raw_columns = {}
    table = S.metadata.tables[name]
    for col, spec in raw_columns.items():
        if col not in table.c:
            problems.append(f"{where}.columns: {col!r} is not a column of {name}; columns are "
                            f"{S.table_columns(name)}")
            continue
        parsed = _column(name, str(col), spec, f"{where}.columns.{col}", all_tables, problems)
        if parsed is not None:
            columns[str(col)] = parsed
    auto = auto_key(name)
    needed = [c.name for c in table.columns
              if (not c.nullable or c.primary_key) and c.name != auto and c.name not in columns]
    if needed:
        problems.append(f"{where}.columns: required column(s) {needed} of {name} are not mapped "
                        "(give 'from', 'value' or 'default')")
    dedup = raw.get("deduplicate")
    if dedup is not None:
        dedup = _dedup(dedup, f"{where}.deduplicate", name, problems, base)
    where_rules = raw.get("where") or []
    if isinstance(where_rules, dict):
        where_rules = [where_rules]
    for i, cond in enumerate(where_rules):
        _condition(cond, f"{where}.where[{i}]", problems)
    return TableSpec(table=name, source=str(source), key=key, columns=columns, deduplicate=dedup,
                     where=tuple(w for w in where_rules if isinstance(w, dict)))


def auto_key(table: str) -> str | None:
    """The single integer primary key that the loader allocates, or None for composite keys."""
    pk = list(S.metadata.tables[table].primary_key.columns)
    if len(pk) == 1 and isinstance(pk[0].type, sa.Integer):
        return pk[0].name
    return None


def _column(table: str, col: str, raw: Any, where: str, all_tables: dict,
            problems: list[str]) -> ColumnSpec | None:
    if isinstance(raw, str):
        return ColumnSpec(target=col, source=raw)
    if not isinstance(raw, dict):
        problems.append(f"{where}: give a source column name or a dictionary such as {{from: Country}}; "
                        f"got {raw!r}")
        return None
    _unknown_keys(raw, _COLUMN_KEYS, where, problems)
    makers = [k for k in ("from", "value", "cases", "sequence") if k in raw]
    if len(makers) != 1:
        problems.append(f"{where}: give exactly one of 'from', 'value', 'cases' or 'sequence'; got {makers}")
        if not makers and "default" not in raw:
            return None
    kwargs: dict[str, Any] = {"target": col}
    if "from" in raw:
        kwargs["source"] = str(raw["from"])
    if "value" in raw:
        kwargs["value"], kwargs["has_value"] = raw["value"], True
    if "cases" in raw:
        cases = raw["cases"]
        if not isinstance(cases, list) or not cases:
            problems.append(f"{where}.cases: must be a list of {{if: {{column: ..., <test>: ...}}, then: value}}")
            cases = []
        for i, case in enumerate(cases):
            if not isinstance(case, dict) or set(case) != {"if", "then"}:
                problems.append(f"{where}.cases[{i}]: must have exactly 'if' and 'then'")
                continue
            _condition(case["if"], f"{where}.cases[{i}].if", problems)
        kwargs["cases"] = tuple(c for c in cases if isinstance(c, dict) and isinstance(c.get("if"), dict))
        kwargs["otherwise"] = raw.get("else")
    if "sequence" in raw:
        kwargs["sequence"] = str(raw["sequence"])
    if "split_name" in raw:
        if raw["split_name"] not in SPLIT_PARTS:
            problems.append(f"{where}.split_name: must be one of {list(SPLIT_PARTS)}; got {raw['split_name']!r}")
        kwargs["split_name"] = raw["split_name"]
    if "map" in raw:
        if not isinstance(raw["map"], dict):
            problems.append(f"{where}.map: must be a dictionary of source code -> canonical value")
        else:
            kwargs["map"] = {str(k): v for k, v in raw["map"].items()}
    for key, options, attr in (("unknown", UNKNOWN, "unknown"), ("transform", TRANSFORMS, "transform"),
                               ("aggregate", AGGREGATES, "aggregate")):
        if key in raw:
            if raw[key] not in options:
                problems.append(f"{where}.{key}: must be one of {list(options)}; got {raw[key]!r}")
            else:
                kwargs[attr] = raw[key]
    if "standardise" in raw:
        if raw["standardise"] not in STANDARDISERS:
            problems.append(f"{where}.standardise: must be one of {sorted(STANDARDISERS)}; "
                            f"got {raw['standardise']!r}")
        else:
            kwargs["standardise"] = raw["standardise"]
    if "date_format" in raw:
        fmt = raw["date_format"]
        formats = tuple([fmt] if isinstance(fmt, str) else fmt or [])
        if not all(isinstance(f, str) for f in formats):
            problems.append(f"{where}.date_format: must be 'auto', a strptime format such as "
                            f"\"%d.%m.%Y\" or a list of them; got {fmt!r}")
        elif "auto" in formats and len(formats) > 1:
            problems.append(f"{where}.date_format: 'auto' finds the format itself; give it alone, "
                            f"or list the formats without it; got {list(formats)}")
        kwargs["date_format"] = formats
    if "priority" in raw:
        kwargs["priority"] = tuple(raw["priority"] or [])
    if kwargs.get("aggregate") == "priority" and not kwargs.get("priority"):
        problems.append(f"{where}: aggregate 'priority' needs 'priority', a list of values, most important first")
    if "default" in raw:
        kwargs["default"], kwargs["has_default"] = raw["default"], True
    for key in ("dayfirst", "required"):
        if key in raw:
            kwargs[key] = bool(raw[key])
    if "region" in raw:
        kwargs["region"] = str(raw["region"])
    if "references" in raw:
        ref = raw["references"]
        target_fk = [fk.column.table.name for fk in S.metadata.tables[table].c[col].foreign_keys]
        if ref not in S.metadata.tables or auto_key(ref) is None:
            problems.append(f"{where}.references: {ref!r} is not a canonical table with an integer key")
        elif target_fk and ref not in target_fk:
            problems.append(f"{where}.references: {table}.{col} refers to {target_fk[0]}, not {ref!r}")
        kwargs["references"] = ref
    return ColumnSpec(**kwargs)


def _condition(cond: Any, where: str, problems: list[str]) -> None:
    if not isinstance(cond, dict) or "column" not in cond:
        problems.append(f"{where}: a condition needs 'column' and one test of {list(CONDITIONS)}")
        return
    tests = [k for k in cond if k != "column"]
    if len(tests) != 1 or tests[0] not in CONDITIONS:
        problems.append(f"{where}: give exactly one test of {list(CONDITIONS)}; got {tests}")


def _dedup(raw: Any, where: str, table: str, problems: list[str], base: Path | None = None) -> dict | None:
    if raw is True:
        raw = {}
    if table != "customers":
        problems.append(f"{where}: de-duplication is available for customers only")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be true or a dictionary with threshold / survivorship")
        return None
    _unknown_keys(raw, _DEDUP_KEYS, where, problems)
    threshold = raw.get("threshold", 0.8)
    if not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        problems.append(f"{where}.threshold: must be a number in (0, 1]; got {threshold!r}")
    rules = raw.get("survivorship") or {}
    if not isinstance(rules, dict):
        problems.append(f"{where}.survivorship: must be a dictionary of column (or 'default') -> rule")
        rules = {}
    for col, rule in rules.items():
        if rule not in SURVIVORSHIP:
            problems.append(f"{where}.survivorship.{col}: must be one of {list(SURVIVORSHIP)}; got {rule!r}")
        if col != "default" and col not in S.metadata.tables["customers"].c:
            problems.append(f"{where}.survivorship: {col!r} is not a customers column")
    # the clerical-review CSV handed back (left_id, right_id, decision); read at each import, and
    # absent until someone has reviewed the borderline pairs, so a missing file is not a mistake here
    decisions = raw.get("decisions")
    if decisions is not None:
        if not isinstance(decisions, str) or not decisions.strip():
            problems.append(f"{where}.decisions: must be the path of a CSV file of clerical decisions "
                            f"(left_id, right_id, decision); got {decisions!r}")
            decisions = None
        else:
            decisions = Path(decisions).expanduser()
            if not decisions.is_absolute() and base is not None:
                decisions = base / decisions
    return {"threshold": float(threshold) if isinstance(threshold, (int, float)) else 0.8,
            "survivorship": dict(rules), "recency_column": raw.get("recency_column", "created_at"),
            "decisions": decisions}
