"""What changed since the last run: the previous successful run, and generic comparisons.

``crmlib run`` tells the kernel where the report's last successful run is published: environment
variables ``CRMLIB_PREVIOUS_SUMMARY`` (its ``latest.json``) and ``CRMLIB_PREVIOUS_LISTS`` (the
folder of its lists, :mod:`crmlib.report.lists`). A notebook's "Since the last run" section calls
:func:`previous_run` and compares with DataFrame-in, DataFrame-out helpers that know nothing about
any analysis:

- :func:`show_key_figures`: the key figures then and now (the stakeholder page fills in this
  run's values from the run summary, with readable labels and units);
- :func:`migration_matrix`: customers moving between the categories of a column (RFM segments);
- :func:`set_changes`: items that appeared or disappeared (association rules);
- :func:`overlap`: how much of this run's list was on the last one (target lists).

The first run has no previous run: :func:`previous_run` returns None and :func:`show_key_figures`
says there is nothing to compare yet.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._validation import check_type
from ..errors import DataContractError
from .figures import NOTHING_TO_COMPARE, changes_html

__all__ = [
    "KEY_FIGURES_MIME",
    "NOTHING_TO_COMPARE",
    "PREVIOUS_LISTS_ENV",
    "PREVIOUS_SUMMARY_ENV",
    "PreviousRun",
    "fill_key_figures",
    "last_success",
    "migration_matrix",
    "overlap",
    "previous_env",
    "previous_run",
    "set_changes",
    "show_key_figures",
]

PREVIOUS_SUMMARY_ENV = "CRMLIB_PREVIOUS_SUMMARY"
PREVIOUS_LISTS_ENV = "CRMLIB_PREVIOUS_LISTS"
KEY_FIGURES_MIME = "application/vnd.crmlib.key-figures+json"
NEW, GONE = "(new)", "(gone)"


# ---------------------------------------------------------------------------------- runner side

def last_success(reports_dir: str | Path, report: str) -> dict | None:
    """The summary of ``report``'s published (last successful) run, or None."""
    path = Path(reports_dir) / report / "latest.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) and summary.get("status") == "ok" else None


def _lists_folder(reports_dir: Path, report: str, run_id: str | None) -> Path | None:
    """Where the last success's lists are: the published copy, else its run folder."""
    if not run_id:
        return None
    for folder in (Path(reports_dir) / report / "lists" / run_id,
                   Path(reports_dir) / "runs" / report / run_id / "lists"):
        if folder.is_dir():
            return folder
    return None


@contextlib.contextmanager
def previous_env(reports_dir: str | Path, report: str):
    """Set ``CRMLIB_PREVIOUS_SUMMARY`` / ``_LISTS`` for a kernel started inside (unset: no run)."""
    summary = last_success(reports_dir, report)
    values = {PREVIOUS_SUMMARY_ENV: None, PREVIOUS_LISTS_ENV: None}
    if summary is not None:
        values[PREVIOUS_SUMMARY_ENV] = str(Path(reports_dir).absolute() / report / "latest.json")
        folder = _lists_folder(reports_dir, report, summary.get("run_id"))
        values[PREVIOUS_LISTS_ENV] = str(folder.absolute()) if folder else None
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield summary
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------- kernel side

@dataclass
class PreviousRun:
    """The last successful run of a report, as a notebook sees it.

    Attributes
    ----------
    run_id : str
    started : str
        ISO 8601 UTC.
    metrics : dict
        Its key figures.
    lists_dir : Path or None
        The folder of its lists.
    """

    run_id: str
    started: str
    metrics: dict = field(default_factory=dict)
    lists_dir: Path | None = None

    def list(self, name: str) -> pd.DataFrame | None:
        """Its list ``name`` (as published), or None if that run did not publish it."""
        from .lists import read_list

        return read_list(self.lists_dir, name) if self.lists_dir else None


def previous_run(report: str | None = None, reports_dir: str | Path | None = None) -> PreviousRun | None:
    """The report's last successful run, or None (first run, or nothing published yet).

    Parameters
    ----------
    report, reports_dir : optional
        In a kernel started by ``crmlib run`` leave them out (the runner says where the run is);
        interactively, name the report (and the reports folder, default ``reports/``).
    """
    summary_path = os.environ.get(PREVIOUS_SUMMARY_ENV)
    lists_dir = os.environ.get(PREVIOUS_LISTS_ENV)
    if report is not None:
        from .. import config as _config

        root = Path(reports_dir) if reports_dir else _config.REPORTS_DIR
        summary = last_success(root, report)
        folder = _lists_folder(root, report, summary.get("run_id")) if summary else None
    elif summary_path:
        try:
            summary = json.loads(Path(summary_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = None
        folder = Path(lists_dir) if lists_dir else None
    else:
        return None
    if not summary:
        return None
    return PreviousRun(run_id=str(summary.get("run_id", "")), started=str(summary.get("started", "")),
                       metrics=dict(summary.get("metrics") or {}), lists_dir=folder)


def show_key_figures(previous: PreviousRun | None) -> None:
    """Display the key figures' change since ``previous`` (or that there is nothing to compare).

    In the notebook it shows the previous values; the published page shows both runs side by side
    with the change, from the run summary (so it always agrees with the header's key figures).
    """
    from IPython.display import display

    if previous is None:
        display({"text/plain": NOTHING_TO_COMPARE,
                 "text/html": f'<p class="crmlib-since-none">{html.escape(NOTHING_TO_COMPARE)}</p>',
                 KEY_FIGURES_MIME: {"previous": None}}, raw=True)
        return
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in previous.metrics.items())
    intro = f"Last successful run: {previous.started.replace('T', ' ').replace('Z', '')} UTC."
    display({"text/plain": intro + " " + ", ".join(f"{k}={v}" for k, v in previous.metrics.items()),
             "text/html": f"<p>{html.escape(intro)}</p><table>{rows}</table>",
             KEY_FIGURES_MIME: {"previous": previous.metrics, "run_id": previous.run_id,
                                "started": previous.started}}, raw=True)


# ------------------------------------------------------------------------------- comparisons

def _check(frame, columns, where, name):
    check_type(frame, pd.DataFrame, name=name, where=where, type_name="a DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataContractError(f"{where}: missing column(s) {missing} in '{name}'; "
                                f"found {list(frame.columns)}.")


def migration_matrix(before: pd.DataFrame, after: pd.DataFrame, column: str, *,
                     key: str = "customer_id", order: Iterable[str] | None = None) -> pd.DataFrame:
    """Counts of keys by their ``column`` value in ``before`` (rows) and ``after`` (columns).

    Keys only in ``after`` come from the row ``(new)``; keys only in ``before`` go to the column
    ``(gone)``. ``order`` sets the order of the categories (others follow, sorted).

    Returns
    -------
    pandas.DataFrame
        int64 counts; index named ``last run``, columns named ``this run``.
    """
    where = "report.changes.migration_matrix"
    _check(before, [key, column], where, "before")
    _check(after, [key, column], where, "after")
    merged = pd.merge(before[[key, column]].astype({column: object}),
                      after[[key, column]].astype({column: object}),
                      on=key, how="outer", suffixes=("_before", "_after"))
    rows = merged[f"{column}_before"].where(merged[f"{column}_before"].notna(), NEW).astype(str)
    cols = merged[f"{column}_after"].where(merged[f"{column}_after"].notna(), GONE).astype(str)
    table = pd.crosstab(rows, cols).astype("int64")
    known = [str(v) for v in (list(order) if order is not None else [])]
    seen = sorted(set(table.index) | set(table.columns) - {NEW, GONE})
    cats = [c for c in known if c in seen] + [c for c in seen if c not in known and c not in (NEW, GONE)]
    table = table.reindex(index=cats + ([NEW] if NEW in table.index else []),
                          columns=cats + ([GONE] if GONE in table.columns else []), fill_value=0)
    table.index.name, table.columns.name = "last run", "this run"
    return table


def set_changes(before: pd.DataFrame, after: pd.DataFrame, *, key: str) -> pd.DataFrame:
    """Rows of ``after`` whose ``key`` is new, and rows of ``before`` whose ``key`` is gone.

    Returns
    -------
    pandas.DataFrame
        ``change`` (``appeared`` / ``disappeared``) followed by the columns of the row (from
        ``after`` for appeared rows, ``before`` for the others); appeared first.
    """
    where = "report.changes.set_changes"
    _check(before, [key], where, "before")
    _check(after, [key], where, "after")
    appeared = after[~after[key].isin(before[key])].assign(change="appeared")
    gone = before[~before[key].isin(after[key])].assign(change="disappeared")
    out = pd.concat([appeared, gone], ignore_index=True)
    if out.empty:
        out = pd.DataFrame(columns=["change", *after.columns])
    return out[["change", *[c for c in out.columns if c != "change"]]]


def overlap(before, after) -> pd.Series:
    """How this run's list (``after``, ids) compares with the last one's (``before``).

    Returns
    -------
    pandas.Series
        ``this_run``, ``last_run``, ``in_both``, ``new``, ``dropped`` (int) and ``share_kept``
        (share of this run's ids that were on the last list; NaN for an empty list).
    """
    a, b = set(pd.Series(after).dropna()), set(pd.Series(before).dropna())
    both = len(a & b)
    return pd.Series({"this_run": len(a), "last_run": len(b), "in_both": both, "new": len(a - b),
                      "dropped": len(b - a), "share_kept": both / len(a) if a else float("nan")},
                     dtype=object)


def fill_key_figures(outputs: list, summary: dict) -> list:
    """``outputs`` of a cell with each :func:`show_key_figures` output replaced by the table of
    the key figures last run and this run (from ``summary``'s metrics): for the stakeholder page."""
    from nbformat.v4 import new_output


    filled = []
    for out in outputs:
        data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
        if KEY_FIGURES_MIME not in data:
            filled.append(out)
            continue
        info = data[KEY_FIGURES_MIME] or {}
        table = changes_html(info.get("previous"), summary.get("metrics") or {},
                             previous_started=info.get("started"))
        filled.append(new_output("display_data", data={"text/html": table,
                                                       "text/plain": "key figures since the last run"}))
    return filled
