"""Run report notebooks with papermill and publish them atomically.

``run_reports(["all"])`` is what ``crmlib run all`` does:

1. find the notebooks (``notebooks/*.ipynb``), read their ``parameters`` cells with papermill's
   inspection and check every given parameter's name and type, and pick the kernel — all before
   any kernel starts, so a bad parameter costs nothing;
2. per report, take its lock (``reports/.locks/<report>.lock``; a report already running elsewhere
   is skipped, never run twice at once), execute the notebook with papermill in a fresh kernel
   with a wall-clock timeout for the whole notebook, and write the executed notebook (with code,
   for the analyst), the stakeholder HTML and ``summary.json`` into a hidden temporary folder that
   is renamed to ``reports/runs/<report>/<run id>/`` when complete;
3. on success only, replace ``reports/<report>/latest.html`` (``.ipynb``, ``.json``) atomically; a
   failed or timed-out run leaves the last good report published and is recorded with its error;
4. regenerate ``reports/index.html``.

Database passwords never reach the disk: the executed notebook (injected parameters, outputs,
tracebacks), the summary and the HTML are redacted (``crmlib.config.redact_url`` plus the literal
passwords of every URL given), and the notebook is only written after redaction.

A notebook that declares the tables it needs (``metadata.crmlib.requires``, see
:mod:`crmlib.report.requires`) and finds one missing or empty is not started: the run is recorded
as ``not applicable`` with the reason, is no failure, and its last good page stays published.

``summary.json`` holds: report, notebook, run_id, status (``ok``, ``failed``, ``timeout``,
``not applicable`` with a ``reason``),
started, finished (ISO 8601 UTC), duration_s, kernel_startup_s, kernel, parameters (as given),
effective_parameters (defaults overlaid with the given ones), mask_pii, engine (``pandas`` or
``spark``), spark_master (with engine spark, password redacted), metrics, findings
(recorded with :mod:`crmlib.present`), lists (the manifest of the lists the notebook published,
:mod:`crmlib.report.lists`), previous_run (the run id "Since the last run" compares with), scores
(with ``scores_to``: status, rows, target, error; :mod:`crmlib.report.scores`), error (``{cell_index, ename, evalue}`` or null; cell_index
counts the cells of the executed notebook from 0), attempt, crmlib_version, python, files.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .. import __version__
from .. import config as _config
from ..errors import CrmlibError, ParameterError, ReportExecutionError
from . import store
from .params import (
    NotebookParameter,
    notebook_parameters,
    unknown_parameter_error,
    validate_parameters,
)

__all__ = ["DEFAULT_TIMEOUT", "RunResult", "find_notebooks", "not_applicable_reason", "plan_runs",
           "record_not_applicable", "run_report", "run_reports"]

DEFAULT_TIMEOUT = 1800.0
KERNEL_START_TIMEOUT = 60
STATUS_OK, STATUS_FAILED, STATUS_TIMEOUT, STATUS_SKIPPED = "ok", "failed", "timeout", "skipped"
STATUS_NOT_APPLICABLE = "not applicable"
_RESERVED_NAMES = {store.RUNS, "index"}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class RunResult:
    """The outcome of one report run.

    Attributes
    ----------
    report : str
    status : str
        ``ok``, ``failed``, ``timeout``, ``skipped`` (another run of the report held its lock) or
        ``not applicable`` (the database lacks a table the report needs; not a failure).
    run_dir : Path or None
        The run folder (None when skipped).
    summary : dict
        The content of summary.json (empty when skipped).
    """

    report: str
    status: str
    run_dir: Path | None = None
    summary: dict = field(default_factory=dict)
    message: str = ""
    scores: dict = field(default_factory=dict)
    sites: list = field(default_factory=list)        # audience sites it was published to
    policy_runs: list = field(default_factory=list)  # the same report run for other audiences
    sites_error: str = ""                             # why publishing to the sites failed

    @property
    def scores_failed(self) -> bool:
        """True when the run's scores could not be written (``--scores-to``)."""
        return self.scores.get("status") == STATUS_FAILED

    def scores_line(self) -> str | None:
        """One line about the scores written back, or None when none were asked for."""
        if not self.scores:
            return None
        if self.scores_failed:
            return f"{'SCORES FAILED':<13} {self.report:<23} {self.scores.get('error', '')}"
        rows = self.scores.get("rows", 0)
        what = f"{rows:,} rows" if rows else "no per-customer scores"
        return f"{'scores':<13} {self.report:<23} {what} -> {self.scores.get('target', '')}"

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def failed(self) -> bool:
        """Counts as a failure (exit code): anything but ok and not applicable."""
        return self.status not in (STATUS_OK, STATUS_NOT_APPLICABLE)

    def line(self) -> str:
        """One line for the terminal: status, report, duration and where to look."""
        label = {"ok": "ok", "failed": "FAILED", "timeout": "TIMEOUT", "skipped": "SKIPPED",
                 STATUS_NOT_APPLICABLE: "n/a"}[self.status]
        secs = self.summary.get("duration_s")
        took = f"{secs:7.1f}s" if secs is not None else " " * 8
        return f"{label:<8} {self.report:<28} {took}  {self.message}"

    def raise_for_status(self) -> RunResult:
        """Raise :class:`~crmlib.errors.ReportExecutionError` unless the run succeeded."""
        if self.status == STATUS_OK:
            return self
        err = self.summary.get("error") or {}
        raise ReportExecutionError(
            f"report '{self.report}' {self.status}: {self.message}", notebook=self.report,
            cell_index=err.get("cell_index"), ename=err.get("ename"), evalue=err.get("evalue"),
            path=str(self.run_dir / f"{self.report}.ipynb") if self.run_dir else None,
        )


@dataclass
class PlannedRun:
    """A notebook with its checked parameters, ready to execute."""

    notebook: Path
    parameters: dict[str, Any]
    declared: dict[str, NotebookParameter]

    @property
    def report(self) -> str:
        return self.notebook.stem


# ------------------------------------------------------------------------------- planning / checks

def find_notebooks(names: Iterable[str], notebooks_dir: Path) -> list[Path]:
    """The notebooks named (file stems, ``.ipynb`` optional), or every one for ``all``.

    Raises
    ------
    CrmlibError
        For a name without notebook (listing the available ones) or an empty selection.
    """
    notebooks_dir = Path(notebooks_dir)
    available = sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))
    by_name = {p.stem: p for p in available}
    names = list(names)
    if not names or "all" in names:
        if not available:
            raise CrmlibError(f"crmlib run: no notebooks in {notebooks_dir}.")
        chosen = available
    else:
        chosen = []
        for name in names:
            stem = name[:-6] if name.endswith(".ipynb") else name
            stem = Path(stem).name
            if stem not in by_name:
                raise CrmlibError(
                    f"crmlib run: no notebook '{name}' in {notebooks_dir}; "
                    f"available: {sorted(by_name)} or 'all'."
                )
            if by_name[stem] not in chosen:
                chosen.append(by_name[stem])
    for nb in chosen:
        if nb.stem in _RESERVED_NAMES or nb.stem.startswith("."):
            raise CrmlibError(f"crmlib run: a report cannot be named '{nb.stem}'; rename {nb}.")
    return chosen


def plan_runs(notebooks: list[Path], parameters: dict[str, Any] | None = None, *,
              db_url: str | None = None, mask_pii: bool = True) -> list[PlannedRun]:
    """Check ``parameters`` against every notebook's ``parameters`` cell; start no kernel.

    With one notebook, every name must be one of its parameters. With several (``all``), a name
    must belong to at least one of them and is passed to those that declare it. ``db_url`` (when
    given) must be declared by every notebook; ``mask_pii`` is passed where declared.

    Raises
    ------
    ParameterError
        Naming the unknown parameter and the known ones, or the parameter and its accepted type.
    """
    parameters = dict(parameters or {})
    declared = {nb: notebook_parameters(nb) for nb in notebooks}
    for name in parameters:
        if not any(name in d for d in declared.values()):
            if len(notebooks) == 1:
                nb = notebooks[0]
                raise unknown_parameter_error(name, declared[nb], where=f"notebook '{nb.stem}'")
            known = sorted(set().union(*declared.values()))
            raise unknown_parameter_error(name, known, where="crmlib run (no selected notebook "
                                                               "declares it)")
    plans = []
    for nb in notebooks:
        where = f"notebook '{nb.stem}'"
        if db_url is not None and "db_url" not in declared[nb]:
            raise ParameterError(
                f"{where}: cannot pass the database URL: its parameters cell has no 'db_url' "
                f"(declare `db_url = None`); known parameters: {sorted(declared[nb])}.",
                name="db_url",
            )
        mine = {k: v for k, v in parameters.items() if k in declared[nb]}
        if db_url is not None:
            mine["db_url"] = db_url
        if "mask_pii" in declared[nb] and "mask_pii" not in mine:
            mine["mask_pii"] = mask_pii
        values = validate_parameters(declared[nb], mine, where=where)
        _check_engine(declared[nb], values, where=where)
        plans.append(PlannedRun(nb, values, declared[nb]))
    return plans


def _check_engine(declared: dict[str, NotebookParameter], values: dict[str, Any], *, where: str) -> None:
    """engine='pandas'|'spark' and, for Spark, the master URL's form, pyspark and Java: checked
    here so that a typo or a machine without Java fails before any kernel starts."""
    if "engine" not in declared:
        return
    from ..engines import check_engine, require_spark

    engine = values.get("engine", declared["engine"].value)
    master = values.get("spark_master", declared["spark_master"].value
                        if "spark_master" in declared else None)
    check_engine(engine, master, where=where)
    if engine == "spark":
        require_spark(where=where)


# ---------------------------------------------------------------------------------------- secrets

def _secrets(values: Iterable[Any]) -> set[str]:
    """Passwords of every URL in ``values`` (and in the default database URL), raw and decoded."""
    found = set()
    texts = [v for v in values if isinstance(v, str)] + [_config.default_url()]
    for text in texts:
        for m in _config.URL_USERINFO.finditer(text):
            for pw in (m.group(2), unquote(m.group(2))):
                if len(pw) >= 3 and pw != "***":
                    found.add(pw)
    return found


def _redactor(secrets: set[str]) -> Callable[[str], str]:
    forms = set()
    for s in secrets:
        forms.add(s)
        forms.add(json.dumps(s)[1:-1])  # as it appears inside JSON text
    ordered = sorted(forms, key=len, reverse=True)

    def redact(text: str) -> str:
        text = _config.redact_url(text)
        for s in ordered:
            text = text.replace(s, "***")
        return text

    return redact


def _redact_obj(obj, redact):
    """Redact every string inside a JSON-like object."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: _redact_obj(v, redact) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_redact_obj(v, redact) for v in obj]
    return obj


# -------------------------------------------------------------------------------------- execution

def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _iso(ts: _dt.datetime) -> str:
    return ts.isoformat(timespec="seconds").replace("+00:00", "Z")


def _first_error(nb) -> dict | None:
    """The first error output of an executed notebook, as papermill finds it."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0"):
                    continue
                return {"cell_index": index, "ename": out.get("ename", ""),
                        "evalue": out.get("evalue", "")}
        if cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            return {"cell_index": index, "ename": "CellExecutionError", "evalue": ""}
    return None


def _kernel_startup(nb) -> float | None:
    """Seconds from papermill's notebook start to the first cell start (kernel start-up)."""
    try:
        start = _dt.datetime.fromisoformat(nb.metadata.papermill["start_time"])
        first = next(c.metadata.papermill["start_time"] for c in nb.cells
                     if c.get("metadata", {}).get("papermill", {}).get("start_time"))
        return round((_dt.datetime.fromisoformat(first) - start).total_seconds(), 3)
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError):
        return None


def _kernel_config():
    """Encrypt kernel traffic (CurveZMQ) where pyzmq and the kernelspec support it."""
    import zmq
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}})


def _execute(nb, *, kernel_name: str, timeout: float, cwd: Path, report: str,
             progress: bool) -> tuple[str, dict | None]:
    """Execute ``nb`` in place. Returns (status, error)."""
    from nbclient.exceptions import CellTimeoutError
    from papermill.engines import papermill_engines

    deadline = time.monotonic() + timeout
    state = {"cell": None}

    def timeout_func(cell):
        state["cell"] = cell
        left = deadline - time.monotonic()
        if left <= 0:
            raise CellTimeoutError(f"notebook exceeded its {timeout:g} s timeout")
        return max(1.0, left)

    # Plots must reach the report as images: a kernel inherits MPLBACKEND (Agg in tests, or a
    # GUI backend) and ipykernel only picks its inline backend when the variable is unset.
    saved_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    try:
        papermill_engines.execute_notebook_with_engine(
            None, nb, kernel_name=kernel_name, input_path=None, output_path=None,
            progress_bar={"desc": report, "leave": False} if progress else False,
            log_output=False, start_timeout=KERNEL_START_TIMEOUT, autosave_cell_every=0,
            timeout_func=timeout_func, shell_timeout_interval=1, shutdown_kernel="immediate",
            resources={"metadata": {"path": str(cwd)}}, config=_kernel_config(),
        )
    except CellTimeoutError:
        index = next((i for i, c in enumerate(nb.cells) if c is state["cell"]), None)
        return STATUS_TIMEOUT, {"cell_index": index, "ename": "TimeoutError",
                                "evalue": f"the notebook did not finish within its {timeout:g} s "
                                          f"timeout"}
    except Exception as err:  # kernel died, did not start, ...: recorded as a failed run
        error = _first_error(nb) or {"cell_index": None, "ename": type(err).__name__,
                                     "evalue": str(err).strip().splitlines()[0] if str(err).strip() else ""}
        if isinstance(state["cell"], dict) and error.get("cell_index") is None:
            error["cell_index"] = next((i for i, c in enumerate(nb.cells) if c is state["cell"]), None)
        return STATUS_FAILED, error
    finally:
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend
    error = _first_error(nb)
    return (STATUS_FAILED, error) if error else (STATUS_OK, None)


def _new_run_id(folder: Path, started: _dt.datetime) -> str:
    base = started.strftime("%Y%m%dT%H%M%SZ")
    run_id, n = base, 1
    while (folder / run_id).exists():
        n += 1
        run_id = f"{base}_{n}"
    return run_id



def _publish_latest(reports_dir: Path, report: str, run_dir: Path) -> None:
    from . import lists

    target = reports_dir / report
    for src, name in ((f"{report}.html", "latest.html"), (f"{report}.ipynb", "latest.ipynb"),
                      ("summary.json", "latest.json")):
        if (run_dir / src).is_file():
            data = (run_dir / src).read_bytes()
            if name == "latest.html":  # its lists first, complete, then the page that links them
                data = lists.publish_latest(target, run_dir, run_dir.name, data)
            store.write_atomic(target / name, data)
    lists.drop_old_latest(target, keep=run_dir.name)


def _previous_run_id(reports_dir: Path, report: str) -> str | None:
    from . import changes

    previous = changes.last_success(reports_dir, report)
    return previous.get("run_id") if previous else None


def _prepare(nb, plan: PlannedRun, kernel_name: str, output_path: Path):
    """Inject the parameters after the ``parameters`` cell (papermill's parameterize)."""
    import papermill
    from papermill.parameterize import parameterize_notebook

    nb.metadata["papermill"] = {"parameters": {}, "input_path": str(plan.notebook),
                                "output_path": str(output_path), "version": papermill.__version__}
    for cell in nb.cells:  # what papermill's own loader guarantees
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if plan.parameters:
        nb = parameterize_notebook(nb, plan.parameters, kernel_name=kernel_name, language="python")
    return nb


def run_report(plan: PlannedRun, *, reports_dir: Path, kernel_name: str,
               timeout: float = DEFAULT_TIMEOUT, progress: bool = False, attempt: int = 1,
               secrets: set[str] | None = None, update_index: bool = True) -> RunResult:
    """Execute one planned notebook and record it (see the module docstring).

    Returns
    -------
    RunResult
        Never raises for a failing notebook: the failure is recorded and returned.
    """
    import nbformat
    from filelock import FileLock, Timeout

    reports_dir = Path(reports_dir)
    report = plan.report
    redact = _redactor(set(secrets or ()) | _secrets(plan.parameters.values()))
    lock = FileLock(str(store.lock_path(reports_dir, report)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return RunResult(report, STATUS_SKIPPED, message=(
            f"already running elsewhere (lock {store.lock_path(reports_dir, report)} is held)"))
    try:
        runs = reports_dir / store.RUNS / report
        runs.mkdir(parents=True, exist_ok=True)
        started = _utcnow()
        run_id = _new_run_id(runs, started)
        tmp = runs / f".tmp-{run_id}-{os.getpid()}"
        tmp.mkdir()
        t0 = time.monotonic()

        nb = nbformat.read(plan.notebook, as_version=4)
        try:
            nb = _prepare(nb, plan, kernel_name, runs / run_id / f"{report}.ipynb")
            with _kernel_context(reports_dir, report, tmp):
                status, error = _execute(nb, kernel_name=kernel_name, timeout=timeout,
                                         cwd=plan.notebook.parent, report=report, progress=progress)
        except Exception as err:  # a bug or an unforeseen state: still recorded, never half-published
            status, error = STATUS_FAILED, {"cell_index": None, "ename": type(err).__name__,
                                            "evalue": str(err)}
        except BaseException as err:  # Ctrl-C: record the run, then stop
            status, error = STATUS_FAILED, {"cell_index": None, "ename": type(err).__name__,
                                            "evalue": "interrupted"}
            _finish(nb, plan, reports_dir, tmp, runs / run_id, run_id, started, t0, status, error,
                    kernel_name, attempt, redact, update_index)
            raise
        return _finish(nb, plan, reports_dir, tmp, runs / run_id, run_id, started, t0, status,
                       error, kernel_name, attempt, redact, update_index)
    finally:
        lock.release()


@contextlib.contextmanager
def _kernel_context(reports_dir: Path, report: str, tmp: Path):
    """What the kernel inherits besides the parameters: the staging folder for the report's lists
    (:mod:`crmlib.report.lists`) and where the last successful run is (:mod:`crmlib.report.changes`)."""
    from . import changes, lists

    with lists.staging(tmp / lists.LISTS), changes.previous_env(reports_dir, report):
        yield


def _finish(nb, plan, reports_dir, tmp, final, run_id, started, t0, status, error, kernel_name,
            attempt, redact, update_index) -> RunResult:
    import nbformat

    from . import lists
    from .render import extract_results, notebook_title, render_html

    report = plan.report
    metrics, found = extract_results(nb)
    published_lists = lists.collect(tmp, ok=status == STATUS_OK)
    effective = {name: p.value for name, p in plan.declared.items()}
    effective.update(plan.parameters)
    summary = {
        "report": report,
        "title": notebook_title(nb, report),
        "notebook": str(plan.notebook),
        "run_id": run_id,
        "status": status,
        "started": _iso(started),
        "finished": None,
        "duration_s": None,
        "kernel_startup_s": _kernel_startup(nb),
        "kernel": kernel_name,
        "parameters": plan.parameters,
        "effective_parameters": effective,
        "mask_pii": effective.get("mask_pii", True),
        "engine": effective.get("engine", "pandas"),
        "spark_master": effective.get("spark_master") if effective.get("engine") == "spark" else None,
        "metrics": metrics,
        "findings": found,
        "error": error,
        "attempt": attempt,
        "crmlib_version": __version__,
        "python": platform.python_version(),
        "files": {"notebook": f"{report}.ipynb", "html": f"{report}.html",
                  "summary": "summary.json"},
        "lists": published_lists,
        "previous_run": _previous_run_id(reports_dir, report),
    }
    nb.metadata["crmlib"] = {"report": report, "run_id": run_id, "status": status,
                             "crmlib_version": __version__}
    # redact before anything touches the disk
    nb = nbformat.reads(redact(nbformat.writes(nb)), as_version=4)
    nbformat.write(nb, tmp / f"{report}.ipynb")
    summary["duration_s"] = round(time.monotonic() - t0, 3)
    summary["finished"] = _iso(_utcnow())
    summary = _redact_obj(summary, redact)
    try:
        html = render_html(nb, summary, path=plan.notebook.parent)
        (tmp / f"{report}.html").write_text(redact(html), encoding="utf-8")
    except Exception as err:  # a notebook that ran but cannot be shown is not published
        if summary["status"] == STATUS_OK:
            summary["status"] = STATUS_FAILED
            summary["error"] = {"cell_index": None, "ename": type(err).__name__,
                                "evalue": redact(f"rendering the HTML failed: {err}")}
        summary["files"]["html"] = None
    if summary["status"] != STATUS_OK and summary["lists"]:  # no page to link them: none kept
        summary["lists"] = lists.collect(tmp, ok=False)
    (tmp / store.SUMMARY).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, final)
    if summary["status"] == STATUS_OK:
        _publish_latest(Path(reports_dir), report, final)
    if update_index:
        from .index import build_index

        build_index(reports_dir)
    return RunResult(report, summary["status"], final, summary, _message(summary, final, reports_dir))


def _write_scores(result: RunResult, scores_to: str, reports_dir: Path, *, redact) -> None:
    """Write the run's scores (after it is published) and record the outcome in its summary."""
    from .scores import write_scores

    target = redact(scores_to)
    try:
        rows = write_scores(scores_to, result.run_dir, result.summary)
        result.scores = {"status": STATUS_OK, "rows": rows, "target": target}
    except CrmlibError as err:
        result.scores = {"status": STATUS_FAILED, "rows": 0, "target": target,
                         "error": redact(" ".join(str(err).split()))}
    result.summary["scores"] = result.scores
    text = json.dumps(result.summary, indent=2, default=str)
    store.write_atomic(result.run_dir / store.SUMMARY, text)
    latest = Path(reports_dir) / result.report / "latest.json"
    if latest.is_file():
        store.write_atomic(latest, text)


def _message(summary: dict, run_dir: Path, reports_dir: Path) -> str:
    def rel(p: Path) -> str:
        try:
            return os.path.relpath(p)
        except ValueError:
            return str(p)

    if summary["status"] == STATUS_OK:
        return rel(Path(reports_dir) / summary["report"] / "latest.html")
    err = summary.get("error") or {}
    where = f"cell {err['cell_index']}: " if err.get("cell_index") is not None else ""
    evalue = " ".join(str(err.get("evalue", "")).split())[:160]
    return f"{where}{err.get('ename', '')}: {evalue}  ({rel(run_dir / (summary['report'] + '.ipynb'))})"


def _publish_and_audit(result: RunResult, plan: PlannedRun, sites, reports_dir: Path,
                       attempts: Callable) -> None:
    """Audience sites (:mod:`crmlib.report.audiences`) and the audit line of each run
    (:mod:`crmlib.report.audit`), after the run is published."""
    from . import audit

    runs = [(result, plan, reports_dir)]
    if sites is not None and result.ok and "mask_pii" in plan.declared:
        own = plan.parameters.get("mask_pii", plan.declared["mask_pii"].value) is not False
        for other in sorted(sites.policies(plan.report) - {own}):
            from .audiences import policy_tree

            again = PlannedRun(plan.notebook, {**plan.parameters, "mask_pii": other}, plan.declared)
            tree = policy_tree(reports_dir, other)
            extra = attempts(again, tree, update_index=False)
            extra.message = extra.message or str(tree)
            result.policy_runs.append(extra)
            runs.append((extra, again, tree))
    for run, planned, tree in runs:
        if run.status == STATUS_SKIPPED or run.run_dir is None:
            continue
        folders = [run.run_dir]
        if run.ok:
            folders += [tree / run.report / name for name in ("latest.html", "latest.ipynb",
                                                             "latest.json")]
            folders.append(tree / run.report / "lists" / run.run_dir.name)
            if sites is not None:
                from .audiences import publish_run

                try:
                    run.sites, published = publish_run(sites, reports_dir, run.run_dir, run.summary)
                    folders += published
                except Exception as err:  # the report stays published; its sites keep the last good
                    run.sites_error = " ".join(f"{type(err).__name__}: {err}".split())
        database = planned.parameters.get("db_url") or _config.default_url()
        record = audit.run_record(run.summary, status=run.status, sites=run.sites, database=database,
                                  ended=_iso(_utcnow()), files=audit.file_hashes(reports_dir, folders))
        if run.sites_error:
            record["sites_error"] = run.sites_error
        audit.append(reports_dir, record)
    if sites is not None and any(run.sites for run, _, _ in runs):
        from .index import build_index

        build_index(reports_dir)  # the analysts' index links the sites, now updated


def run_reports(names: Iterable[str] = ("all",), *, notebooks_dir: str | Path | None = None,
                reports_dir: str | Path | None = None, parameters: dict[str, Any] | None = None,
                db_url: str | None = None, mask_pii: bool = True,
                timeout: float = DEFAULT_TIMEOUT, retries: int = 0,
                progress: bool | None = None, scores_to: str | None = None,
                audiences: str | Path | None = None,
                on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Check, run and publish the named notebooks (``all``: every notebook), one after another.

    Parameters
    ----------
    names : iterable of str, default=("all",)
        Notebook file stems in ``notebooks_dir``, or ``all``.
    notebooks_dir, reports_dir : str or Path, optional
        Default ``crmlib.config.NOTEBOOKS_DIR`` and ``REPORTS_DIR``.
    parameters : dict, optional
        Parameter values; strings are converted to each parameter's type.
    db_url : str, optional
        Passed as the notebooks' ``db_url``.
    mask_pii : bool, default=True
        Passed as the notebooks' ``mask_pii``.
    timeout : float, default=1800
        Seconds one notebook may run in total (kernel start-up excluded).
    retries : int, default=0
        Extra attempts for a failed or timed-out report (each attempt is recorded).
    progress : bool, optional
        Show a progress bar per notebook; default: when stderr is a terminal.
    scores_to : str, optional
        Database URL to write each successful run's per-customer scores into (table
        ``customer_scores``, see :mod:`crmlib.report.scores`); never the source database.
    audiences : str or Path, optional
        An ``audiences.yml``: publish each successful run to the sites of the audiences that see
        it, running the report again with the other ``mask_pii`` when an audience needs it (see
        :mod:`crmlib.report.audiences`). Every run is recorded in ``reports/audit.jsonl``
        (:mod:`crmlib.report.audit`) either way.
    on_result : callable, optional
        Called with each :class:`RunResult` as it is known.

    Returns
    -------
    list of RunResult
        One per report (the last attempt).

    Raises
    ------
    ParameterError, CrmlibError
        Before anything runs: unknown notebook or parameter, wrong type, no usable kernel.
    """
    from .._validation import check_interval
    from .kernel import resolve_kernel

    check_interval(timeout, 0, None, name="timeout", where="crmlib run", closed="neither")
    check_interval(retries, 0, 10, name="retries", where="crmlib run", integer=True)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else _config.NOTEBOOKS_DIR
    reports_dir = Path(reports_dir) if reports_dir else _config.REPORTS_DIR
    if scores_to:
        from .scores import check_target

        check_target(scores_to, db_url or (parameters or {}).get("db_url"))
    plans = plan_runs(find_notebooks(names, notebooks_dir), parameters, db_url=db_url,
                      mask_pii=mask_pii)
    sites = None
    if audiences is not None:
        from .audiences import load_audiences, retire_sites

        sites = load_audiences(audiences, notebooks_dir=notebooks_dir)
        retire_sites(sites, reports_dir)
    kernel_name = resolve_kernel()
    if progress is None:
        progress = sys.stderr.isatty()
    secrets = _secrets([db_url, *(parameters or {}).values()])
    reports_dir.mkdir(parents=True, exist_ok=True)
    results = []
    def attempts(plan, folder, update_index=True):
        reason = not_applicable_reason(plan)  # checked just before its kernel would start
        if reason is not None:
            return record_not_applicable(plan, reason, reports_dir=folder, secrets=secrets,
                                         update_index=update_index)
        for attempt in range(1, retries + 2):
            result = run_report(plan, reports_dir=folder, kernel_name=kernel_name,
                                timeout=timeout, progress=progress, attempt=attempt,
                                secrets=secrets, update_index=update_index)
            if result.status in (STATUS_OK, STATUS_SKIPPED):
                break
        return result

    for plan in plans:
        result = attempts(plan, reports_dir)
        if scores_to and result.ok:
            _write_scores(result, scores_to, reports_dir, redact=_redactor(secrets | _secrets([scores_to])))
        _publish_and_audit(result, plan, sites, reports_dir, attempts)
        results.append(result)
        if on_result:
            on_result(result)
    return results


# ------------------------------------------------------------------------------ not applicable

def not_applicable_reason(plan: PlannedRun) -> str | None:
    """Why ``plan``'s report does not apply to its database (a table it needs is missing or
    empty), or None. See :mod:`crmlib.report.requires`."""
    from .requires import missing_data, notebook_requires

    tables = notebook_requires(plan.notebook)
    if not tables:
        return None
    url = plan.parameters.get("db_url")
    if url is None and "db_url" in plan.declared:
        url = plan.declared["db_url"].value
    return missing_data(url, tables)


def record_not_applicable(plan: PlannedRun, reason: str, *, reports_dir: Path,
                          secrets: set[str] | None = None, update_index: bool = True) -> RunResult:
    """Record a run of ``plan`` that did not start because its data is missing.

    The run folder holds only ``summary.json`` (status ``not applicable``, ``reason``); the
    report's published ``latest.*`` files are left as they are.
    """
    import nbformat

    from .render import notebook_title

    reports_dir = Path(reports_dir)
    report = plan.report
    redact = _redactor(set(secrets or ()) | _secrets(plan.parameters.values()))
    runs = reports_dir / store.RUNS / report
    runs.mkdir(parents=True, exist_ok=True)
    started = _utcnow()
    run_id = _new_run_id(runs, started)
    effective = {name: p.value for name, p in plan.declared.items()}
    effective.update(plan.parameters)
    summary = _redact_obj({
        "report": report,
        "title": notebook_title(nbformat.read(plan.notebook, as_version=4), report),
        "notebook": str(plan.notebook),
        "run_id": run_id,
        "status": STATUS_NOT_APPLICABLE,
        "reason": reason,
        "started": _iso(started),
        "finished": _iso(_utcnow()),
        "duration_s": 0.0,
        "kernel_startup_s": None,
        "kernel": None,
        "parameters": plan.parameters,
        "effective_parameters": effective,
        "mask_pii": effective.get("mask_pii", True),
        "engine": effective.get("engine", "pandas"),
        "spark_master": None,
        "metrics": {},
        "findings": [],
        "error": None,
        "attempt": 1,
        "crmlib_version": __version__,
        "python": platform.python_version(),
        "files": {"notebook": None, "html": None, "summary": store.SUMMARY},
    }, redact)
    tmp = runs / f".tmp-{run_id}-{os.getpid()}"
    tmp.mkdir()
    (tmp / store.SUMMARY).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, runs / run_id)
    if update_index:
        from .index import build_index

        build_index(reports_dir)
    latest = reports_dir / report / "latest.html"
    kept = (f"; last good page kept, not refreshed: {os.path.relpath(latest)}"
            if latest.is_file() else "")
    return RunResult(report, STATUS_NOT_APPLICABLE, runs / run_id, summary, f"{reason}{kept}")
