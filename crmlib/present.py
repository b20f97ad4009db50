"""Presentation helpers that notebooks call: metrics and findings for the run, safe tables, masking.

A report notebook uses them like this (import the module, not the names: the parameters cell
defines a variable ``mask_pii`` that would shadow the function)::

    # parameters
    db_url = None
    mask_pii = True

    from crmlib import present
    present.show_table(top_customers, top_n=20, sort_by="revenue", mask_pii=mask_pii)
    present.record_metrics(customers=len(rfm), segments=rfm["segment"].nunique())
    present.show_findings(["Champions (8% of customers) bring 41% of revenue."])

How results reach the runner: :func:`record_metrics` and :func:`show_findings` display a mime bundle of
type ``application/vnd.crmlib.metrics+json`` / ``application/vnd.crmlib.findings+json`` (with a
readable fallback for JupyterLab). ``crmlib run`` reads them from the executed notebook into
``summary.json`` and the index, and the stakeholder HTML shows them as the block at the top instead
of where they were displayed. Several calls add up (later metrics of the same name win).

Everything here escapes values for HTML: a customer called ``<script>alert(1)</script>`` shows as
that text.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import numbers
import re
from collections.abc import Iterable

import pandas as pd

from ._validation import check_interval, check_type
from .errors import ParameterError

__all__ = [
    "FINDINGS_MIME",
    "METRICS_MIME",
    "PII_COLUMNS",
    "mask_pii",
    "record_metrics",
    "show_findings",
    "show_table",
    "table_html",
]

METRICS_MIME = "application/vnd.crmlib.metrics+json"
FINDINGS_MIME = "application/vnd.crmlib.findings+json"

#: Column names (lower case) masked by :func:`mask_pii`, by kind of personal data.
PII_COLUMNS: dict[str, str] = {
    **dict.fromkeys(("first_name", "last_name", "full_name", "customer_name", "contact_name"), "name"),
    **dict.fromkeys(("email", "e_mail", "email_address"), "email"),
    **dict.fromkeys(("phone", "phone_number", "mobile", "telephone"), "phone"),
    **dict.fromkeys(("street", "street_address", "address", "address_line"), "street"),
}
MAX_ROWS = 1000

_itables_ready = False


# ---------------------------------------------------------------------------------------- masking

def _mask_name(text: str) -> str:
    text = text.strip()
    return f"{text[0]}." if text else text


def _mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@***" + (f".{tld}" if tld else "")


def _mask_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return f"***{digits[-2:]}" if len(digits) > 2 else "***"


_MASKERS = {"name": _mask_name, "email": _mask_email, "phone": _mask_phone,
            "street": lambda text: "***"}


def _mask_values(values: pd.Series | pd.Index, kind: str):
    fn = _MASKERS[kind]
    return [v if v is None or (not isinstance(v, str) and pd.isna(v)) else fn(str(v)) for v in values]


def mask_pii(df: pd.DataFrame, enabled: bool = True, *, columns: Iterable[str] = ()) -> pd.DataFrame:
    """Mask personal data: names, e-mail addresses, phone numbers and streets.

    Parameters
    ----------
    df : pandas.DataFrame
        Not changed.
    enabled : bool, default=True
        Pass the notebook's ``mask_pii`` parameter; False returns ``df`` as it is.
    columns : iterable of str, default=()
        More columns to mask like names (for example ``["name"]`` for a sales-rep table).

    Returns
    -------
    pandas.DataFrame
        A copy in which columns named as in :data:`PII_COLUMNS` (any case) and ``columns`` hold
        masked text: names keep their initial (``"A."``), e-mail the first letter and the
        top-level domain (``"a***@***.com"``), phone numbers the last two digits (``"***67"``),
        streets nothing (``"***"``). Missing values stay missing; an index with such a name is
        masked too.

    Examples
    --------
    >>> mask_pii(pd.DataFrame({"first_name": ["Anna"], "email": ["anna@example.com"]}))
      first_name           email
    0         A.  a***@***.com
    """
    check_type(df, pd.DataFrame, name="df", where="present.mask_pii", type_name="a DataFrame")
    check_type(enabled, bool, name="enabled", where="present.mask_pii",
               type_name="a bool (pass the notebook's mask_pii parameter)")
    if not enabled:
        return df
    extra = {str(c).lower(): "name" for c in columns}
    kinds = {**PII_COLUMNS, **extra}
    out = df.copy()
    for col in df.columns:
        kind = kinds.get(str(col).lower())
        if kind:
            out[col] = pd.Series(_mask_values(df[col], kind), index=df.index, dtype=object)
    if df.index.name is not None and str(df.index.name).lower() in kinds:
        out.index = pd.Index(_mask_values(df.index, kinds[str(df.index.name).lower()]),
                             name=df.index.name)
    return out


# --------------------------------------------------------------------------- metrics and findings

def _json_value(value, *, name: str):
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return value.isoformat()
    raise ParameterError(
        f"present.record_metrics: '{name}' must be a number, str, bool, date or None; "
        f"got {type(value).__name__}.", name=name
    )


def _display(bundle: dict) -> None:
    from IPython.display import display  # lazy: importing crmlib.present stays cheap

    display(bundle, raw=True)


def record_metrics(**metrics) -> None:
    """Record headline numbers of the report for the run summary and the index page.

    Parameters
    ----------
    **metrics
        name=value pairs; values are numbers, text, bools, dates or None (NaN becomes None).

    Raises
    ------
    ParameterError
        For a value that is not a number, text, bool, date or None.

    Examples
    --------
    >>> present.record_metrics(customers=5000, auc=0.81)  # doctest: +SKIP
    """
    clean = {name: _json_value(value, name=name) for name, value in metrics.items()}
    text = ", ".join(f"{k}={v}" for k, v in clean.items())
    _display({METRICS_MIME: clean, "text/plain": f"metrics recorded: {text}"})


def show_findings(sentences: str | Iterable[str]) -> None:
    """State the report's findings in plain language; they head the stakeholder HTML.

    Parameters
    ----------
    sentences : str or iterable of str
        One sentence per finding; shown as text (HTML in it is escaped).
    """
    items = [sentences] if isinstance(sentences, str) else list(sentences)
    for i, s in enumerate(items):
        check_type(s, str, name=f"sentences[{i}]", where="present.show_findings")
    items = [s.strip() for s in items if s.strip()]
    body = "".join(f"<li>{html.escape(s)}</li>" for s in items)
    _display({
        FINDINGS_MIME: {"findings": items},
        "text/html": f'<div class="crmlib-findings"><strong>Findings</strong><ul>{body}</ul></div>',
        "text/plain": "Findings:\n" + "\n".join(f"- {s}" for s in items),
    })


# ------------------------------------------------------------------------------------------ tables

def _fmt(value) -> str:
    if value is None or (not isinstance(value, (str, list, tuple, dict)) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        return f"{v:,.2f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (frozenset, set, list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _numeric_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns
            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def _prepare(df, *, top_n, sort_by, ascending, mask_pii_enabled, totals, where):
    check_type(df, (pd.DataFrame, pd.Series), name="df", where=where, type_name="a DataFrame")
    if isinstance(df, pd.Series):
        df = df.to_frame()
    check_interval(top_n, 1, MAX_ROWS, name="top_n", where=where, integer=True)
    if sort_by is not None:
        keys = [sort_by] if isinstance(sort_by, str) else list(sort_by)
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ParameterError(
                f"{where}: 'sort_by' must name columns of df; got {missing}; found {list(df.columns)}.",
                name="sort_by",
            )
        df = df.sort_values(keys, ascending=ascending, kind="stable")
    if totals is True:
        total_cols = _numeric_columns(df)
    elif totals is False or totals is None:
        total_cols = []
    else:
        total_cols = [totals] if isinstance(totals, str) else list(totals)
        bad = [c for c in total_cols if c not in _numeric_columns(df)]
        if bad:
            raise ParameterError(
                f"{where}: 'totals' must name numeric columns of df; got {bad}; "
                f"numeric columns: {_numeric_columns(df)}.", name="totals",
            )
    sums = {c: df[c].sum(skipna=True) for c in total_cols}
    shown = mask_pii(df.head(top_n), enabled=mask_pii_enabled)
    return df, shown, sums


def _note(n_total: int, n_shown: int, sort_by, sums: dict, *, include_sums: bool) -> str:
    order = ""
    if sort_by is not None and n_shown < n_total:
        keys = [sort_by] if isinstance(sort_by, str) else list(sort_by)
        order = " by " + ", ".join(html.escape(str(k)) for k in keys)
    if n_shown < n_total:
        text = f"Top {n_shown:,}{order} of {n_total:,} rows."
    else:
        text = f"{n_total:,} row{'s' if n_total != 1 else ''}."
    if include_sums and sums:
        parts = ", ".join(f"{html.escape(str(c))} {html.escape(_fmt(v))}" for c, v in sums.items())
        text += f" Totals over all rows: {parts}."
    return f'<p class="crmlib-table-note">{text}</p>'


def table_html(df: pd.DataFrame, *, top_n: int = 20, sort_by=None, ascending: bool = False,
               totals=True, caption: str | None = None, interactive: bool = False,
               mask_pii: bool = True) -> str:
    """The HTML of :func:`show_table` (same parameters), for tests and other pages."""
    where = "present.show_table"
    check_type(interactive, bool, name="interactive", where=where)
    full, shown, sums = _prepare(df, top_n=top_n, sort_by=sort_by, ascending=ascending,
                                 mask_pii_enabled=mask_pii, totals=totals, where=where)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    if interactive:
        return _interactive_html(shown, caption) + _note(len(full), len(shown), sort_by, sums,
                                                         include_sums=True)
    # a named index or labels (segments, regions) are shown; an unnamed row number becomes a rank
    show_index = shown.index.name is not None or not pd.api.types.is_integer_dtype(shown.index)
    index_label = html.escape(str(shown.index.name or "")) if show_index else "#"
    numeric = set(_numeric_columns(shown))
    head = f"<th>{index_label}</th>" + "".join(
        f'<th class="{"num" if c in numeric else "txt"}">{html.escape(str(c))}</th>'
        for c in shown.columns)
    rows = []
    for rank, (idx, row) in enumerate(shown.iterrows(), start=1):
        first = html.escape(_fmt(idx)) if show_index else str(rank)
        cells = "".join(
            f'<td class="{"num" if c in numeric else "txt"}">{html.escape(_fmt(v))}</td>'
            for c, v in zip(shown.columns, row.tolist(), strict=True))
        rows.append(f"<tr><th>{first}</th>{cells}</tr>")
    foot = ""
    if sums:
        cells = "".join(
            f'<td class="num">{html.escape(_fmt(sums[c]))}</td>' if c in sums else "<td></td>"
            for c in shown.columns)
        foot = f"<tfoot><tr><th>Total</th>{cells}</tr></tfoot>"
    return (f'<div class="crmlib-table"><table class="dataframe crmlib">{cap}'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>{foot}</table>'
            + _note(len(full), len(shown), sort_by, sums, include_sums=False) + "</div>")


def _interactive_html(shown: pd.DataFrame, caption: str | None) -> str:
    import itables

    frame = shown.copy()
    for col in frame.columns:  # categoricals and objects as plain text; itables escapes HTML
        if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
            frame[col] = [_fmt(v) for v in frame[col]]
    return itables.to_html_datatable(frame, caption=caption, connected=False, allow_html=False,
                                     display_logo_when_loading=False)


def _ensure_itables_offline() -> None:
    """Embed the DataTables library once per kernel (itables' offline mode: no CDN)."""
    global _itables_ready
    if not _itables_ready:
        import itables

        itables.init_notebook_mode(all_interactive=False, connected=False)
        _itables_ready = True


def show_table(df: pd.DataFrame, *, top_n: int = 20, sort_by=None, ascending: bool = False,
               totals=True, caption: str | None = None, interactive: bool = False,
               mask_pii: bool = True) -> None:
    """Display a readable top-N of ``df`` with totals, never thousands of raw rows.

    Parameters
    ----------
    df : pandas.DataFrame or pandas.Series
        Not changed.
    top_n : int, default=20
        Rows shown, in [1, 1000].
    sort_by : str or list of str, optional
        Columns to rank by before taking the top rows (descending unless ``ascending``).
    ascending : bool, default=False
    totals : bool or list of str, default=True
        Sum numeric columns over *all* rows (True: every numeric column; a list: those).
    caption : str, optional
    interactive : bool, default=False
        True: a sortable, searchable table (itables in offline mode, the library is embedded in
        the notebook, so the HTML works without internet).
    mask_pii : bool, default=True
        Mask personal data with :func:`mask_pii`; pass the notebook's ``mask_pii`` parameter.

    Notes
    -----
    Every value is HTML-escaped. An unnamed integer index (row numbers) is replaced by a rank
    column; any other index is shown as the first column.
    """
    from IPython.display import HTML, display

    text = table_html(df, top_n=top_n, sort_by=sort_by, ascending=ascending, totals=totals,
                      caption=caption, interactive=interactive, mask_pii=mask_pii)
    if interactive:
        _ensure_itables_offline()
    display(HTML(text))
