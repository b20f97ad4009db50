"""``reports/index.html``: every report, its last run and last success, key figures, run history.

The page is rebuilt from the run folders' ``summary.json`` files after every run (and by
``crmlib index`` / ``crmlib prune``), under a lock so that concurrent runs of different reports do
not interleave, and replaced atomically. It is one self-contained file: inline CSS, no script,
relative links only, so it works from ``file://`` and when the folder is copied elsewhere.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from urllib.parse import quote

from . import store
from .render import engine_text, format_metric, jinja_env

__all__ = ["build_index"]

MAX_METRICS = 6
MAX_HISTORY = 50
MAX_TREND = 20  # runs in a key figure's trend chart


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ").replace("Z", "")[:16]


def _error_text(summary: dict) -> str:
    err = summary.get("error") or {}
    if not err:
        return ""
    where = f"cell {err['cell_index']}: " if err.get("cell_index") is not None else ""
    evalue = " ".join(str(err.get("evalue", "")).split())
    return f"{where}{err.get('ename', '')}: {evalue[:200]}"


def _notebook_href(rel: str, files: dict, name: str) -> str | None:
    """The executed notebook of a run; None for a run that started none (not applicable)."""
    if "notebook" in files and files["notebook"] is None:
        return None
    return f"{rel}/{quote(files.get('notebook') or name + '.ipynb')}"


def _report_entry(reports_dir: Path, name: str) -> dict | None:
    runs = store.list_runs(reports_dir, name)
    if not runs:
        return None
    history = []
    for run_dir in reversed(runs[-MAX_HISTORY:]):
        s = store.read_summary(run_dir)
        rel = f"{store.RUNS}/{quote(name)}/{quote(run_dir.name)}"
        files = s.get("files") or {}
        history.append({
            "summary": s,
            "started": _when(s.get("started")) or run_dir.name,
            "status": s.get("status", "failed"),
            "duration": f"{s['duration_s']:.1f} s" if isinstance(s.get("duration_s"), (int, float)) else "",
            "error": _error_text(s),
            "reason": s.get("reason") or "",  # why a run was not applicable
            "engine": engine_text(s),
            "html_href": f"{rel}/{quote(files['html'])}" if files.get("html") else None,
            "notebook_href": _notebook_href(rel, files, name),
            "summary_href": f"{rel}/{store.SUMMARY}",
        })
    last = history[0]
    success = next((h for h in history if h["status"] == "ok"), None)
    latest = reports_dir / name / "latest.html"
    if success is None and latest.is_file():  # the last success is older than the runs kept
        try:
            old = json.loads((reports_dir / name / "latest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        success = {"started": _when(old.get("started")), "summary": old}
    metrics_source = (success or {}).get("summary") or {}
    title = metrics_source.get("title") or last["summary"].get("title") or name
    metrics = list((metrics_source.get("metrics") or {}).items())[:MAX_METRICS]
    return {
        "name": name,
        "title": title,
        "runs": history,
        "last": last,
        "success": success,
        "latest_href": f"{quote(name)}/latest.html" if latest.is_file() else None,
        # the published page is older than the last run, which found no data to report on
        "not_refreshed": last["status"] == "not applicable" and success is not None,
        "metrics": [(k, format_metric(v)) for k, v in metrics],
        "figures": key_figure_trends(history, metrics),
        "lists": published_lists(reports_dir, name, metrics_source),
    }


def key_figure_trends(history: list[dict], metrics: list[tuple]) -> list[dict]:
    """Per key figure: reader's label, value with unit and an inline SVG of its successful runs."""
    from .figures import format_value, label, sparkline_svg, trend_points

    ok = [h["summary"] for h in reversed(history[:MAX_TREND]) if h["status"] == "ok"]
    return [{"label": label(k), "value": format_value(k, v),
             "svg": sparkline_svg(k, trend_points(ok, k)) if trend_points(ok, k) else ""}
            for k, v in metrics]


def published_lists(reports_dir: Path, name: str, summary: dict) -> list[dict]:
    """The lists of the published run, with links relative to the index (only those on disk)."""
    run_id = summary.get("run_id")
    out = []
    for entry in summary.get("lists") or []:
        files = entry.get("files") or {}
        csv = files.get("csv", "")
        if not run_id or not csv.startswith("lists/"):
            continue
        rel = f"lists/{run_id}/{csv[len('lists/'):]}"
        if (Path(reports_dir) / name / rel).is_file():
            out.append({"title": entry.get("title", entry.get("name")), "rows": entry.get("rows", 0),
                        "href": f"{quote(name)}/{quote(rel)}"})
    return out


def audience_sites(reports_dir: Path, *, exclude=frozenset()) -> list[dict]:
    """The audience sites published under ``reports_dir`` (crmlib.report.audiences): a folder with
    an ``index.html`` whose report folders hold the site's ``about.json``. For the analysts' index,
    so they can open what each audience is shown."""
    from .audiences import SITE_META

    sites = []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name in exclude or not (folder / "index.html").is_file():
            continue
        metas = []
        for meta in sorted(folder.glob(f"*/{SITE_META}")):
            try:
                metas.append(json.loads(meta.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        if metas:
            sites.append({"name": folder.name, "href": f"{quote(folder.name)}/index.html",
                          "reports": len(metas),
                          "masked": all(m.get("mask_pii", True) is not False for m in metas)})
    return sites


def build_index(reports_dir: str | Path, *, title: str = "CRM reports") -> Path:
    """Rebuild ``reports_dir/index.html`` from the recorded runs; returns its path."""
    from filelock import FileLock

    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(store.lock_path(reports_dir, "index")), timeout=120):
        names = store.list_reports(reports_dir)
        entries = [e for e in (_report_entry(reports_dir, n) for n in names) if e]
        html = jinja_env().get_template("index.html.j2").render(
            title=title,
            reports=entries,
            sites=audience_sites(reports_dir, exclude=set(names)),
            generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"),
        )
        path = reports_dir / "index.html"
        store.write_atomic(path, html)
    return path
