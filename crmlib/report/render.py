"""Stakeholder HTML from an executed notebook: no code, no prompts, one self-contained file.

nbconvert's HTML exporter does the work with ``exclude_input`` (papermill's ``report_mode`` only
sets a JupyterLab display hint that nbconvert ignores) and a template, ``templates/crmlib_html``,
that extends JupyterLab's and drops every script from the internet (require.js, MathJax, mermaid,
widgets). Plots are inline PNG data, markdown images are embedded (``embed_images``), and
interactive tables carry their own DataTables bundle (itables' offline mode), so the file works
offline from ``file://``.

Before export a preprocessor removes what a stakeholder should not see: the parameter cells, cells
tagged ``remove-cell`` (outputs of cells tagged ``remove-output``), stderr streams (warnings,
progress bars) and the metrics/findings outputs of :mod:`crmlib.present`, whose content goes into
the header block instead (title, run date, status, findings, key figures, parameters).
"""

from __future__ import annotations

import copy
import logging
import re
from functools import lru_cache
from pathlib import Path

from ..present import FINDINGS_MIME, METRICS_MIME
from .lists import LISTS_MIME

__all__ = ["extract_results", "notebook_title", "render_html"]

TEMPLATES = Path(__file__).parent / "templates"
HIDDEN_CELL_TAGS = {"parameters", "injected-parameters", "remove-cell", "remove_cell",
                    "papermill-error-cell-tag"}
HIDDEN_OUTPUT_TAGS = {"remove-output", "remove_output"}
_QUIET_LOG = logging.getLogger("crmlib.report.nbconvert")  # level set in render_html
_H1 = re.compile(r"^\s*#\s+(.+?)\s*$", re.MULTILINE)


def extract_results(nb) -> tuple[dict, list[str]]:
    """The metrics and findings that :mod:`crmlib.present` displayed in an executed notebook.

    Returns
    -------
    (dict, list of str)
        Metrics merged in display order (a later value of the same name wins), and all findings.
    """
    metrics: dict = {}
    found: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {}) if out.get("output_type") in ("display_data",
                                                                       "execute_result") else {}
            if isinstance(data.get(METRICS_MIME), dict):
                metrics.update(data[METRICS_MIME])
            if isinstance(data.get(FINDINGS_MIME), dict):
                found.extend(str(s) for s in data[FINDINGS_MIME].get("findings", []))
    return metrics, found


def notebook_title(nb, default: str) -> str:
    """``metadata.title``, else the first ``# heading`` of the first markdown cell, else ``default``."""
    if nb.metadata.get("title"):
        return str(nb.metadata["title"])
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = _H1.search(cell.source)
            return m.group(1) if m else default
    return default


def _stakeholder_copy(nb, title: str, summary: dict | None = None):
    """A copy of ``nb`` without what a stakeholder should not see (see the module docstring)."""
    from .changes import fill_key_figures

    nb = copy.deepcopy(nb)
    cells = []
    title_dropped = False
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_CELL_TAGS:
            continue
        if cell.cell_type == "markdown" and not title_dropped:
            m = _H1.search(cell.source)
            if m and m.group(1) == title:  # the header shows the title already
                cell.source = (cell.source[: m.start()] + cell.source[m.end():]).strip()
                title_dropped = True
            if not cell.source:
                continue
        if cell.cell_type == "code":
            if tags & HIDDEN_OUTPUT_TAGS:
                cell.outputs = []
            cell.outputs = [
                o for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                and not ({METRICS_MIME, FINDINGS_MIME, LISTS_MIME} & set(o.get("data", {})))
            ]
            cell.outputs = fill_key_figures(cell.outputs, summary or {})
        cells.append(cell)
    nb.cells = cells
    nb.metadata["title"] = title
    return nb


@lru_cache(maxsize=1)
def jinja_env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def format_metric(value) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def engine_text(summary: dict) -> str:
    """'pandas' or 'Spark (master URL)': which engine made the report (runs before engines: pandas)."""
    if summary.get("engine") == "spark":
        master = summary.get("spark_master")
        return f"Spark ({master})" if master else "Spark"
    return "pandas"


def render_html(nb, summary: dict, *, path: str | Path | None = None) -> str:
    """The stakeholder HTML of an executed notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed (and already redacted) notebook; not changed.
    summary : dict
        The run summary (see :mod:`crmlib.report.runner`): report, run_id, started, status,
        error, duration_s, effective_parameters (redacted), metrics, findings, crmlib_version,
        notebook, mask_pii.
    path : str or Path, optional
        Folder that relative image links in markdown cells are read from (to embed them).

    Returns
    -------
    str
        A complete HTML document.
    """
    from nbconvert import HTMLExporter

    _QUIET_LOG.setLevel(logging.ERROR)  # not "Alternative text is missing" for every plot

    title = notebook_title(nb, summary["report"])
    env = jinja_env()
    context = {
        "title": title,
        "report": summary["report"],
        "run_date": summary["started"].replace("T", " ")[:19],
        "duration": summary.get("duration_s"),
        "engine": engine_text(summary),
        "status": summary.get("status", "ok"),
        "error": summary.get("error"),
        "findings": summary.get("findings") or [],
        "metrics": {k: format_metric(v) for k, v in (summary.get("metrics") or {}).items()},
        "parameters": {k: "None" if v is None else str(v)
                       for k, v in (summary.get("effective_parameters") or {}).items()},
        "lists": summary.get("lists") or [],
    }
    footer = {
        "version": summary.get("crmlib_version", ""),
        "notebook": Path(summary.get("notebook", "")).name,
        "run_id": summary.get("run_id", ""),
        "masked": summary.get("mask_pii", True) is not False,
    }
    exporter = HTMLExporter(
        template_name="crmlib_html",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        log=_QUIET_LOG,
    )
    resources = {
        "crmlib": {
            "header": env.get_template("header.html.j2").render(**context),
            "footer": env.get_template("footer.html.j2").render(**footer),
            "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
        },
        "metadata": {"name": summary["report"], "path": str(path) if path else ""},
    }
    body, _ = exporter.from_notebook_node(_stakeholder_copy(nb, title, summary), resources=resources)
    return body
