"""Interactive drill-down tables for notebooks and the stakeholder HTML, working offline.

:func:`drill_down_html` turns a drill-down tree into one self-contained HTML fragment: a table
whose rows expand and collapse (a region opens to its reps), whose columns sort on a click (within
each parent, so the hierarchy stays intact) and which filters as you type (matching rows keep
their ancestors). The behaviour is ~60 lines of inline JavaScript; there is no CDN, no server and
no library, so the HTML works from a file on any machine. Without JavaScript (or when printed)
every row is shown. :func:`table_html` does the same for a flat table.

Every value is HTML-escaped. Hooks for browser tests: the container has class ``crmlib-cube``,
each row ``data-id``, ``data-pid`` (parent id), ``data-depth``, ``data-level`` and ``data-label``,
each expander is a ``button.cube-toggle`` with ``aria-expanded``.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..errors import ParameterError
from .plots import one_period

__all__ = ["drill_down_html", "table_html"]

_RATIOS = ("attainment", "margin_pct", "discount_pct", "parent_attainment", "share", "growth")
_COUNTS = ("quantity", "lines", "orders", "customers", "base_quantity")
_DEFAULT = ("revenue", "margin", "orders", "target", "attainment", "gap", "revenue_share",
            "revenue_growth", "flagged", "reason")

_CSS = """
#{id} {{font-family: system-ui, sans-serif; font-size: 13px; margin: 6px 0 14px 0}}
#{id} .cube-tools {{margin: 4px 0}}
#{id} .cube-tools input {{padding: 2px 6px; width: 16em}}
#{id} .cube-tools button {{margin-left: 4px}}
#{id} table {{border-collapse: collapse}}
#{id} th {{cursor: pointer; text-align: right; padding: 3px 8px; border-bottom: 2px solid #555;
  white-space: nowrap; user-select: none}}
#{id} th:first-child, #{id} td:first-child {{text-align: left}}
#{id} th[data-dir=asc]::after {{content: " \\25B2"}}
#{id} th[data-dir=desc]::after {{content: " \\25BC"}}
#{id} td {{text-align: right; padding: 2px 8px; border-bottom: 1px solid #ddd; white-space: nowrap}}
#{id} .txt {{text-align: left; white-space: normal; max-width: 28em}}
#{id} tr[data-depth="0"] td {{font-weight: 600}}
#{id} tr.flagged td {{color: #b03a2e}}
#{id} .cube-toggle {{border: none; background: none; cursor: pointer; width: 1.4em; padding: 0}}
#{id} .cube-leaf {{display: inline-block; width: 1.4em}}
#{id} .cube-note {{color: #666; font-size: 11px}}
@media print {{ #{id} tr {{display: table-row !important}} #{id} .cube-tools {{display: none}} }}
"""

_JS = """
(function () {
  var root = document.getElementById("%(id)s");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var tbody = root.querySelector("tbody"), filter = root.querySelector("input");
  var rows = Array.prototype.slice.call(tbody.rows), byId = {}, kids = {}, open = {};
  rows.forEach(function (r) {
    byId[r.dataset.id] = r;
    (kids[r.dataset.pid] = kids[r.dataset.pid] || []).push(r);
  });
  function reset() {
    rows.forEach(function (r) { open[r.dataset.id] = +r.dataset.depth < %(expand)d; });
  }
  function shown(r) {
    for (var p = r.dataset.pid; p; p = byId[p].dataset.pid) { if (!open[p]) return false; }
    return true;
  }
  function render() {
    var q = filter.value.trim().toLowerCase(), hit = {};
    if (q) rows.forEach(function (r) {
      if (r.dataset.label.toLowerCase().indexOf(q) < 0) return;
      for (var x = r; x; x = x.dataset.pid ? byId[x.dataset.pid] : null) hit[x.dataset.id] = 1;
    });
    rows.forEach(function (r) {
      r.style.display = (q ? hit[r.dataset.id] : shown(r)) ? "" : "none";
      var b = r.querySelector(".cube-toggle");
      if (b) {
        var ex = q ? true : !!open[r.dataset.id];
        b.setAttribute("aria-expanded", ex ? "true" : "false");
        b.textContent = ex ? "\\u25BE" : "\\u25B8";
      }
    });
  }
  function toggle(id) {
    open[id] = !open[id];
    // a single child (a region's only manager) opens with its parent
    for (var k = kids[id]; open[id] && k && k.length === 1 && kids[k[0].dataset.id]; k = kids[k[0].dataset.id]) {
      open[k[0].dataset.id] = true;
    }
    render();
  }
  function sortBy(th) {
    var col = +th.dataset.col, num = th.dataset.type === "num";
    var dir = th.dataset.dir === "desc" ? "asc" : "desc";
    Array.prototype.forEach.call(root.querySelectorAll("th"), function (h) { h.removeAttribute("data-dir"); });
    th.setAttribute("data-dir", dir);
    function key(r) {
      var c = r.cells[col];
      if (!num) return c.textContent.trim().toLowerCase();
      var v = parseFloat(c.getAttribute("data-value"));
      return isNaN(v) ? -Infinity : v;
    }
    function cmp(a, b) {
      var x = key(a), y = key(b), o = x < y ? -1 : x > y ? 1 : 0;
      return dir === "asc" ? o : -o;
    }
    var out = [];
    (function walk(pid) {
      (kids[pid] || []).slice().sort(cmp).forEach(function (r) { out.push(r); walk(r.dataset.id); });
    })("");
    out.forEach(function (r) { tbody.appendChild(r); });
    render();
  }
  root.addEventListener("click", function (e) {
    var t = e.target.closest("button.cube-toggle, button[data-act], th[data-col]");
    if (!t) return;
    if (t.classList.contains("cube-toggle")) toggle(t.closest("tr").dataset.id);
    else if (t.dataset.act === "expand") { rows.forEach(function (r) { open[r.dataset.id] = true; }); render(); }
    else if (t.dataset.act === "collapse") { reset(); render(); }
    else sortBy(t);
  });
  filter.addEventListener("input", render);
  reset();
  render();
})();
"""


def drill_down_html(tree: pd.DataFrame, *, columns: Sequence[str] | None = None, period=None,
                    title: str | None = None, expand_depth: int = 1,
                    formats: Mapping[str, Callable] | None = None, max_rows: int = 5000) -> str:
    """An interactive, offline HTML table of a drill-down tree.

    Parameters
    ----------
    tree : pandas.DataFrame
        From :func:`~crmlib.cube.ops.drill_down`, :func:`~crmlib.cube.metrics.attainment` or
        :func:`~crmlib.cube.flags.flag_underperformers`.
    columns : sequence of str, optional
        Value columns to show; default those of ``revenue, margin, orders, target, attainment,
        gap, revenue_share, revenue_growth, flagged, reason`` the tree has.
    period : optional
        The period to show when the tree has a period column; default the latest.
    title : str, optional
        A caption above the table.
    expand_depth : int, default=1
        Rows shallower than this are open at first (1: the total shows its children).
    formats : dict of str to callable, optional
        Formatting per column (value -> text); defaults: money with thousands separators,
        ratios as percentages, counts as integers.
    max_rows : int, default=5000
        Refuse bigger trees (slice first): the page must stay light.

    Returns
    -------
    str
        An HTML fragment (a ``div`` with its style and script). In a notebook:
        ``IPython.display.HTML(drill_down_html(tree))``.

    Raises
    ------
    ParameterError
        Too many rows, a period the tree does not have.
    DataContractError
        A tree column or a requested column is missing.
    """
    where = "cube.drill_down_html"
    check_columns(tree, ["depth", "level", "member", "node", "parent"], where=where)
    check_interval(expand_depth, 0, None, name="expand_depth", where=where, integer=True)
    part, label = one_period(tree, period, where=where)
    if len(part) > max_rows:
        raise ParameterError(f"{where}: {len(part):,} rows is more than max_rows={max_rows:,}; "
                             "drill to a shallower level or slice first.", name="max_rows")
    columns = [c for c in _DEFAULT if c in part.columns] if columns is None else list(columns)
    check_columns(part, columns, where=where)
    if part["node"].duplicated().any():
        raise ParameterError(f"{where}: a node appears more than once; pass a tree of one period "
                             "(period=...) without other 'by' levels.", name="tree")
    ids = {node: str(i + 1) for i, node in enumerate(part["node"].astype(str))}
    pids = [ids.get(str(p), "") if pd.notna(p) else "" for p in part["parent"]]
    caption = title if title is not None else (f"{label}" if label else None)
    return _render(part, columns, ids=[ids[str(n)] for n in part["node"]], pids=pids,
                   depth=part["depth"].to_numpy(int), levels=part["level"].astype(str).tolist(),
                   labels=part["member"].astype(str).tolist(), title=caption,
                   expand=expand_depth, formats=formats or {}, hierarchy=True)


def table_html(table: pd.DataFrame, *, columns: Sequence[str] | None = None, title: str | None = None,
               formats: Mapping[str, Callable] | None = None, max_rows: int = 5000) -> str:
    """A sortable, filterable offline HTML table of a flat table (first column is the label).

    Parameters
    ----------
    table : pandas.DataFrame
    columns : sequence of str, optional
        Columns to show, the first being the label the filter searches; default all.
    title, formats, max_rows
        As for :func:`drill_down_html`.

    Returns
    -------
    str
    """
    where = "cube.table_html"
    columns = list(table.columns) if columns is None else list(columns)
    check_columns(table, columns, where=where)
    if len(table) > max_rows:
        raise ParameterError(f"{where}: {len(table):,} rows is more than max_rows={max_rows:,}; "
                             "show the top rows or slice first.", name="max_rows")
    n = len(table)
    label_col = columns[0]
    return _render(table, columns[1:], ids=[str(i + 1) for i in range(n)], pids=[""] * n,
                   depth=np.zeros(n, int), levels=[label_col] * n,
                   labels=[_text(v) for v in table[label_col]], title=title, expand=1,
                   formats=formats or {}, hierarchy=False, label_name=label_col)


# ------------------------------------------------------------------------------ rendering
def _render(frame, columns, *, ids, pids, depth, levels, labels, title, expand, formats, hierarchy,
            label_name="member") -> str:
    body = "\n".join(f"{k}|{v}" for k, v in zip(ids, labels, strict=True)) + "|".join(columns)
    uid = "cube-" + hashlib.sha1((body + str(len(frame))).encode()).hexdigest()[:10]
    has_kids = set(pids)
    head = [f'<th data-col="0" data-type="text">{html.escape(label_name)}</th>']
    kinds = []
    for i, col in enumerate(columns, start=1):
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        kinds.append(numeric)
        head.append(f'<th data-col="{i}" data-type="{"num" if numeric else "text"}"'
                    f'{"" if numeric else " class=txt"}>'
                    f'{html.escape(col.replace("_", " "))}</th>')
    out_rows = []
    flagged = frame["flagged"].to_numpy(bool) if "flagged" in frame.columns else np.zeros(len(frame), bool)
    values = {col: frame[col].tolist() for col in columns}
    for r in range(len(frame)):
        indent = f"padding-left:{1.2 * depth[r]:.1f}em" if hierarchy else ""
        toggle = ('<button class="cube-toggle" aria-expanded="false" title="expand">&#9656;</button>'
                  if ids[r] in has_kids else '<span class="cube-leaf"></span>') if hierarchy else ""
        cells = [f'<td><span style="{indent}">{toggle}{html.escape(labels[r])}</span></td>']
        for col, numeric in zip(columns, kinds, strict=True):
            v = values[col][r]
            text = html.escape(_format(col, v, formats))
            if numeric:
                raw = "" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))
                cells.append(f'<td data-value="{raw}">{text}</td>')
            else:
                cells.append(f'<td class="txt">{text}</td>')
        cls = ' class="flagged"' if flagged[r] else ""
        out_rows.append(
            f'<tr{cls} data-id="{ids[r]}" data-pid="{pids[r]}" data-depth="{int(depth[r])}" '
            f'data-level="{html.escape(levels[r])}" data-label="{html.escape(labels[r])}">'
            + "".join(cells) + "</tr>")
    buttons = ('<button type="button" data-act="expand">expand all</button>'
               '<button type="button" data-act="collapse">collapse</button>') if hierarchy else ""
    note = ("click &#9656; to open a row, a column title to sort; type to filter"
            if hierarchy else "click a column title to sort; type to filter")
    caption = f"<div><b>{html.escape(str(title))}</b></div>" if title else ""
    return (f'<div class="crmlib-cube" id="{uid}">'
            f"<style>{_CSS.format(id=uid)}</style>{caption}"
            f'<div class="cube-tools"><input type="search" placeholder="filter {html.escape(label_name)}" '
            f'aria-label="filter">{buttons} <span class="cube-note">{note}</span></div>'
            f"<table><thead><tr>{''.join(head)}</tr></thead><tbody>\n" + "\n".join(out_rows)
            + f"\n</tbody></table><script>{_JS % {'id': uid, 'expand': expand}}</script></div>")


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _format(col: str, v, formats: Mapping[str, Callable]) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if col in formats:
        return str(formats[col](v))
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else ""
    if isinstance(v, (int, float, np.integer, np.floating)):
        if col in _RATIOS or col.endswith(("_share", "_growth", "_pct")):
            return f"{float(v):.1%}"
        if col in _COUNTS or isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        return f"{float(v):,.0f}"
    return str(v)
