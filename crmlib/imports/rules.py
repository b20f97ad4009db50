"""Validation rules per canonical table, declared as data and checked with pandera.

:data:`RULES` is the one place that says what a valid value is, per table and column; nullability
and primary-key uniqueness come from :mod:`crmlib.schema`. :func:`table_schema` turns them into a
``pandera`` DataFrameSchema. The importer checks every incoming frame with it (a failing row goes
to quarantine with the rule as the reason), the data-quality report measures validity with it, and
``crmlib.db`` can check what it loads with :func:`check_rules`.

Rule keys: ``isin`` (allowed values), ``ge`` / ``gt`` / ``le`` / ``lt`` (bounds), ``between``
([low, high], inclusive), ``matches`` (regular expression, whole value), ``max_length``, ``not_future``
(a date not after today), ``ge_column`` (not before another column of the same row).

>>> import pandas as pd
>>> bad = pd.DataFrame({"channel_id": [1, 2], "name": ["Web", "Shop"], "kind": ["online", "kiosk"]})
>>> failures("channels", bad)[["row", "column", "rule", "value"]].to_dict("records")
[{'row': 1, 'column': 'kind', 'rule': "isin(['store', 'online', 'phone'])", 'value': 'kiosk'}]
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import cache

import pandas as pd
import sqlalchemy as sa

from .. import schema as S
from .._validation import examples
from ..definitions import ORDER_STATUSES
from ..errors import DataContractError

__all__ = ["FAILURE_COLUMNS", "RULES", "check_rules", "failures", "row_problems", "table_schema"]

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
#: A phone number as people write it; imports store E.164 ('+12015550123'), which also matches.
PHONE_PATTERN = r"\+?[0-9(][0-9 ()./\-]{5,24}"

#: The value rules per canonical table and column (see the module docstring for the keys).
RULES: dict[str, dict[str, dict]] = {
    "customers": {
        "salutation": {"isin": ["Mr", "Mrs", "Ms", "Mx", "Dr", "Prof"]},
        "gender": {"isin": ["female", "male", "other"]},
        "marital_status": {"isin": ["single", "married", "divorced", "widowed", "partnership"]},
        "email": {"matches": EMAIL_PATTERN},
        "phone": {"matches": PHONE_PATTERN},
        "country": {"iso_country": True},
        "contact_preference": {"isin": ["email", "sms", "post", "phone", "none"]},
        "birth_date": {"ge": "1900-01-01", "not_future": True},
        "created_at": {"ge": "1970-01-01", "not_future": True},
    },
    "products": {
        "unit_price": {"ge": 0},
        "unit_cost": {"ge": 0},
        "price_band": {"isin": ["budget", "standard", "premium"]},
    },
    "channels": {"kind": {"isin": ["store", "online", "phone"]}},
    "rep_targets": {"target_amount": {"ge": 0}},
    "campaigns": {"cost": {"ge": 0}, "ended_at": {"ge_column": "started_at"}},
    "orders": {
        "status": {"isin": list(ORDER_STATUSES)},  # crmlib.definitions' vocabulary
        "ordered_at": {"ge": "1970-01-01", "not_future": True},
    },
    "order_lines": {
        "line_no": {"ge": 1},
        "quantity": {"gt": 0},
        "unit_price": {"ge": 0},
        "discount": {"between": [0, 1]},
    },
    "invoices": {"amount": {"ge": 0}, "due_at": {"ge_column": "issued_at"}},
    "payments": {"amount": {"gt": 0}},
    "service_tickets": {"satisfaction": {"between": [1, 5]}, "closed_at": {"ge_column": "opened_at"}},
    "opportunities": {"amount": {"ge": 0}, "closed_at": {"ge_column": "created_at"}},
}

#: Columns of :func:`failures`.
FAILURE_COLUMNS = ["row", "column", "rule", "value"]


@contextmanager
def _without_pyspark_warning():
    """A context in which pyspark's pandas-3 warning is not shown.

    pandera probes ``import pyspark.pandas`` whenever pyspark is installed (for its Spark type
    hints), at import and again when its pandas backends register on the first validation. With
    pandas 3 that import warns "PySpark does not yet fully support pandas >= 3.0.0" and then
    fails, which pandera ignores. Nothing here uses Spark, so the warning was noise on every
    ``crmlib import`` (three times). Only that warning, only around pandera (docs/spark.md).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        yield


@cache
def _pandera():
    """``pandera.pandas``, imported without pyspark's pandas-3 warning."""
    with _without_pyspark_warning():
        import pandera.pandas as pa
    return pa


@cache
def _countries() -> tuple[str, ...]:
    import pycountry

    return tuple(sorted(c.alpha_2 for c in pycountry.countries))


def _checks(column: sa.Column, rules: dict) -> list:
    pa = _pandera()

    is_time = isinstance(column.type, (sa.Date, sa.DateTime))

    def bound(v):
        return pd.Timestamp(v) if is_time else v

    checks = []
    for key, arg in rules.items():
        if key == "isin":
            checks.append(pa.Check.isin(arg, name=f"isin {arg}"))
        elif key == "iso_country":
            checks.append(pa.Check.isin(_countries(), name="ISO 3166 alpha-2 code"))
        elif key in ("ge", "gt", "le", "lt"):
            op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[key]
            checks.append(getattr(pa.Check, key)(bound(arg), name=f"{op} {arg}"))
        elif key == "between":
            checks.append(pa.Check.in_range(bound(arg[0]), bound(arg[1]), name=f"between {arg[0]} and {arg[1]}"))
        elif key == "matches":
            label = {EMAIL_PATTERN: "an e-mail address", PHONE_PATTERN: "a phone number"}.get(arg, arg)
            checks.append(pa.Check(lambda s, pattern=arg: s.astype("string").str.fullmatch(pattern).fillna(True)
                                   .astype(bool), name=f"is {label}"))
        elif key == "max_length":
            checks.append(pa.Check.str_length(max_value=arg, name=f"at most {arg} characters"))
        elif key == "not_future":
            checks.append(pa.Check(lambda s: s <= pd.Timestamp.now() + pd.Timedelta(days=1),
                                   element_wise=False, name="not in the future"))
    length = getattr(column.type, "length", None)
    if length and "max_length" not in rules and isinstance(column.type, sa.String):
        checks.append(pa.Check.str_length(max_value=length, name=f"at most {length} characters"))
    return checks


@cache
def table_schema(table: str):
    """The pandera DataFrameSchema of a canonical table (columns optional, values checked, not dtypes).

    Parameters
    ----------
    table : str
        A canonical table name.

    Returns
    -------
    pandera.pandas.DataFrameSchema
    """
    pa = _pandera()
    if table not in S.metadata.tables:
        raise DataContractError(f"rules: unknown table {table!r}; canonical tables are {sorted(S.CANONICAL_TABLES)}",
                                table=table)
    spec = S.metadata.tables[table]
    rules = RULES.get(table, {})
    columns = {}
    for col in spec.columns:
        col_rules = {k: v for k, v in rules.get(col.name, {}).items() if k != "ge_column"}
        columns[col.name] = pa.Column(
            checks=_checks(col, col_rules), nullable=bool(col.nullable and not col.primary_key),
            required=False, coerce=False, name=col.name,
        )
    wide = []
    for col, col_rules in rules.items():
        other = col_rules.get("ge_column")
        if other:
            wide.append(pa.Check(
                lambda df, a=col, b=other: df[a].isna() | df[b].isna() | (df[a] >= df[b])
                if a in df and b in df else pd.Series(True, index=df.index),
                name=f"{col} >= {other}"))
    pk = [c.name for c in spec.primary_key.columns]
    return pa.DataFrameSchema(columns, checks=wide, strict=False, name=table,
                              unique=pk if len(pk) > 1 else None,
                              report_duplicates="all")


def failures(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Every broken rule in ``frame``: one row per (row, column, rule).

    Returns
    -------
    pandas.DataFrame
        ``row`` (the frame's index label), ``column`` (str; the columns of a cross-column rule
        joined by ' >= '), ``rule`` (str, readable), ``value`` (the offending value). Empty,
        with these columns, when every row is valid.
    """
    schema = table_schema(table)  # imports pandera first (quietly)
    import pandera.errors as pe

    pk = [c.name for c in S.metadata.tables[table].primary_key.columns]
    out = []
    if len(pk) == 1 and pk[0] in frame:
        dup = frame[pk[0]].duplicated(keep=False) & frame[pk[0]].notna()
        if dup.any():
            out.append(pd.DataFrame({"row": frame.index[dup], "column": pk[0], "rule": "unique key",
                                     "value": frame.loc[dup, pk[0]].to_numpy()}))
    try:
        with _without_pyspark_warning():  # pandera registers its backends on first use
            schema.validate(frame, lazy=True)
    except pe.SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna()]
        if len(cases):
            rule = cases["check"].astype(str)
            # a cross-column rule ('due_at >= issued_at') is reported once, on its own column
            wide = rule.str.contains(" >= ", regex=False)
            own = rule.str.split(" >= ").str[0]
            column = cases["column"].astype(object).where(~wide, own)
            cases = cases[~wide | (cases["column"].astype(object) == own) | cases["column"].isna()]
            rule, column = rule[cases.index], column[cases.index]
            value = cases["failure_case"].astype(object)
            if wide.any():
                rows = cases["index"].to_numpy()
                picked = [frame.loc[r, c] if w and c in frame else v
                          for r, c, w, v in zip(rows, column, wide[cases.index], value, strict=True)]
                value = pd.Series(picked, index=cases.index, dtype=object)
            rule = rule.replace({"not_nullable": "not missing", "field_uniqueness": "unique key",
                                 "multiple_fields_uniqueness": "unique key"})
            out.append(pd.DataFrame({"row": cases["index"].to_numpy(), "column": column.to_numpy(),
                                     "rule": rule.to_numpy(), "value": value.to_numpy()}))
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})
    result = pd.concat(out, ignore_index=True).drop_duplicates(["row", "column", "rule"])
    return result.reset_index(drop=True)


def row_problems(table: str, frame: pd.DataFrame) -> pd.Series:
    """One problem text per row that breaks a rule ('gender: isin [...]: got 'x''), indexed like ``frame``."""
    fails = failures(table, frame)
    if fails.empty:
        return pd.Series(dtype=object)
    text = fails["column"].astype(str) + ": " + fails["rule"] + " (got " + fails["value"].map(repr) + ")"
    return text.groupby(fails["row"].to_numpy()).agg("; ".join)


def check_rules(table: str, frame: pd.DataFrame, *, where: str | None = None) -> pd.DataFrame:
    """Raise DataContractError if ``frame`` breaks a rule of ``table``; return it unchanged otherwise.

    The message gives, per broken rule, the number of rows and up to 5 example row labels.

    Raises
    ------
    DataContractError
        With ``table`` and ``column`` (the first offending column) set.
    """
    fails = failures(table, frame)
    if fails.empty:
        return frame
    pk = [c.name for c in S.metadata.tables[table].primary_key.columns]
    label = "row"
    if len(pk) == 1 and pk[0] in frame:  # name rows by their key, not their position
        fails["row"] = frame.loc[fails["row"], pk[0]].to_numpy()
        label = pk[0]
    parts = []
    for (column, rule), group in fails.groupby(["column", "rule"], sort=False):
        parts.append(f"{column} {rule}: {len(group)} row(s) (e.g. {label} {examples(group['row'].tolist())})")
    raise DataContractError(f"{where or table}: {fails['row'].nunique()} row(s) break the rules of "
                            f"{table}: " + "; ".join(parts), table=table, column=fails["column"].iloc[0])
