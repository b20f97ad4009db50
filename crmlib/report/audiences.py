"""Who sees what: ``audiences.yml`` and one published site per audience.

``audiences.yml`` (beside ``notebooks/``, at the project root)::

    audiences:
      management:
        description: Every report, no personal data, no customer lists.
        reports: all            # notebook names, or all
        mask_pii: true          # default true: personal data masked
        lists: none             # list names (or report/list), all, or none (the default)
      finance:
        reports: [payment_default, sales_performance]
        mask_pii: false         # sees names and e-mail addresses
        lists: [watch_list, sales_performance/flagged]
        notebooks: true         # also the executed notebook (with code); default false

With an audiences file, ``crmlib run`` (and ``crmlib schedule``) publishes, after each successful
run, ``reports/<audience>/index.html`` and ``reports/<audience>/<report>/latest.html`` (plus
``latest.ipynb`` with ``notebooks: true`` and the received lists under
``reports/<audience>/<report>/lists/<run id>/``) for every audience whose ``reports`` hold the
report. A site folder holds nothing else: a report leaves the folder when it leaves the audience's
set, and a site whose audience left the file is deleted at the next run. Access control is the
web server's or file share's: serve each ``reports/<audience>/`` to
its own group only, and nothing else of ``reports/`` (see docs/reports.md).

Personal data never leaks into a masked site, by construction: masking happens inside the kernel
while the notebook runs (:func:`crmlib.present.mask_pii`, :func:`crmlib.report.lists.publish`), so
an executed notebook either holds personal data or does not, and nothing downstream can mask it
again reliably. A site therefore only ever receives the output of a run executed with **its own**
``mask_pii``: the runner executes a report a second time, with the other setting, when an audience
needs it (into ``reports/.audiences/<masked|unmasked>/``, a run history of its own), and a run
whose ``mask_pii`` differs from the audience's is never copied into its folder. A masked site also
refuses a list whose manifest names personal columns.

List names are read from the notebooks' ``lists.publish("NAME", ...)`` calls (the literal first
argument), so ``audiences.yml`` is checked before anything runs: unknown keys, reports, lists and
site names that would collide with the reports folder's own entries are each named in one message.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from ..errors import ParameterError
from . import store

__all__ = ["AUDIENCES_FILE", "Audience", "Audiences", "POLICY_TREES", "declared_lists",
           "default_path", "load_audiences", "policy_tree", "publish_run", "build_site_index",
           "retire_sites"]

AUDIENCES_FILE = "audiences.yml"
TOP_KEYS = ("audiences",)
AUDIENCE_KEYS = ("description", "reports", "mask_pii", "lists", "notebooks")
TREES = ".audiences"
#: The run trees of the second execution, by mask_pii.
POLICY_TREES = {True: "masked", False: "unmasked"}
SITE_META = "about.json"
_RESERVED = {store.RUNS, store.LOCKS, "index", "index.html", "audit.jsonl", TREES, "lists"}
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Audience:
    """One audience of ``audiences.yml``.

    Attributes
    ----------
    name : str
        Also its folder under the reports folder.
    reports : tuple of str
        The reports it sees (notebook names).
    mask_pii : bool
        True: personal data masked in its pages, notebooks and lists.
    lists : dict
        ``{report: frozenset of list names}`` it receives (reports without lists left out).
    notebooks : bool
        Whether its site also holds the executed notebooks.
    description : str
    """

    name: str
    reports: tuple[str, ...]
    mask_pii: bool = True
    lists: dict = field(default_factory=dict)
    notebooks: bool = False
    description: str = ""

    def receives(self, report: str, list_name: str) -> bool:
        return list_name in self.lists.get(report, ())


@dataclass
class Audiences:
    """The checked content of ``audiences.yml``."""

    path: Path
    audiences: dict[str, Audience]

    def for_report(self, report: str) -> list[Audience]:
        """The audiences that see ``report``."""
        return [a for a in self.audiences.values() if report in a.reports]

    def policies(self, report: str) -> set[bool]:
        """The ``mask_pii`` settings that the audiences of ``report`` need."""
        return {a.mask_pii for a in self.for_report(report)}


def default_path(notebooks_dir: str | Path) -> Path:
    """Where ``crmlib run`` looks for the audiences file: beside the notebooks folder."""
    return Path(notebooks_dir).absolute().parent / AUDIENCES_FILE


def policy_tree(reports_dir: str | Path, mask_pii: bool) -> Path:
    """The reports folder of the runs made for audiences with this ``mask_pii``."""
    return Path(reports_dir) / TREES / POLICY_TREES[bool(mask_pii)]


# ------------------------------------------------------------------------------------- checking

def declared_lists(notebook: str | Path) -> list[str]:
    """The list names a notebook publishes: the literal first argument of its ``publish(...)``
    calls (``lists.publish("target_list", ...)``), in order, without repeats."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and ((isinstance(node.func, ast.Attribute) and node.func.attr == "publish"
                          and isinstance(node.func.value, ast.Name) and node.func.value.id == "lists")
                         or (isinstance(node.func, ast.Name) and node.func.id == "publish"))):
                if node.args[0].value not in names:
                    names.append(node.args[0].value)
    return names


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _as_names(value, *, allow_keywords: tuple[str, ...]) -> list[str] | str | None:
    """A YAML value as a keyword (``all``/``none``) or a list of strings; None when malformed."""
    if value is None:
        return "none" if "none" in allow_keywords else None
    if isinstance(value, str):
        return value if value in allow_keywords else [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def load_audiences(path: str | Path, *, notebooks_dir: str | Path) -> Audiences:
    """Read and check ``audiences.yml`` against the notebooks in ``notebooks_dir``.

    Parameters
    ----------
    path : str or Path
        The audiences file.
    notebooks_dir : str or Path
        The notebooks its reports and lists must exist in.

    Returns
    -------
    Audiences

    Raises
    ------
    ParameterError
        One message naming every problem (each as ``audience 'x': ...``), separated by ``; ``:
        unknown keys, unknown reports, unknown lists, a list of a report the audience does not
        see, a ``mask_pii``/``notebooks`` that is not true or false, a bad or reserved name.
    """
    import yaml

    from ..errors import CrmlibError

    path = Path(path)
    where = path.name
    if not path.is_file():
        raise CrmlibError(f"no audiences file at {path}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CrmlibError(f"{where}: not valid YAML: {' '.join(str(err).split())}") from err
    if not isinstance(raw, dict) or not isinstance(raw.get("audiences"), dict) or not raw["audiences"]:
        raise ParameterError(f"{where}: must hold 'audiences:', a mapping of audience names to "
                             f"their reports, mask_pii and lists.", name="audiences")
    problems = [f"unknown key {k!r} (allowed: {list(TOP_KEYS)})" for k in raw if k not in TOP_KEYS]
    notebooks = {p.stem: p for p in Path(notebooks_dir).glob("*.ipynb") if not p.name.startswith(".")}
    known_lists = {name: declared_lists(nb) for name, nb in notebooks.items()}
    audiences = {}
    for name, spec in raw["audiences"].items():
        here = f"audience {name!r}"
        name = str(name)
        if not name or set(name) - _NAME_CHARS or name.startswith(("-", "_")):
            problems.append(f"{here}: a name uses lower-case letters, digits, '_' and '-' (it is "
                            f"the site's folder)")
            continue
        if name in _RESERVED or name in notebooks:
            problems.append(f"{here}: the name is taken by the reports folder's own "
                            f"{'report' if name in notebooks else 'entry'} '{name}'; choose another")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{here}: must be a mapping with keys {list(AUDIENCE_KEYS)}")
            continue
        problems += [f"{here}: unknown key {k!r}{_suggest(k, AUDIENCE_KEYS)}; allowed keys: "
                     f"{list(AUDIENCE_KEYS)}" for k in spec if k not in AUDIENCE_KEYS]
        flags = {}
        for key, default in (("mask_pii", True), ("notebooks", False)):
            value = spec.get(key, default)
            if not isinstance(value, bool):
                problems.append(f"{here}: '{key}' must be true or false; got {value!r}")
            flags[key] = value if isinstance(value, bool) else default
        reports = _as_names(spec.get("reports"), allow_keywords=("all",))
        if reports is None or reports == []:
            problems.append(f"{here}: 'reports' must be a list of notebook names or 'all'; got "
                            f"{spec.get('reports')!r}")
            continue
        if reports == "all":
            reports = sorted(notebooks)
        bad = [r for r in reports if r not in notebooks]
        problems += [f"{here}: unknown report {r!r}{_suggest(r, notebooks)}; reports: "
                     f"{sorted(notebooks)}" for r in bad]
        reports = [r for r in dict.fromkeys(reports) if r in notebooks]
        wanted = _as_names(spec.get("lists"), allow_keywords=("all", "none"))
        received: dict[str, set[str]] = {}
        if wanted is None:
            problems.append(f"{here}: 'lists' must be a list of list names (or report/list), "
                            f"'all' or 'none'; got {spec.get('lists')!r}")
        elif wanted == "all":
            received = {r: set(known_lists[r]) for r in reports if known_lists[r]}
        elif wanted != "none":
            for item in wanted:
                report, _, list_name = item.rpartition("/")
                if report:
                    if report not in notebooks:
                        problems.append(f"{here}: list {item!r}: unknown report {report!r}"
                                        f"{_suggest(report, notebooks)}")
                    elif report not in reports:
                        problems.append(f"{here}: list {item!r} belongs to report {report!r}, "
                                        f"which the audience does not see")
                    elif list_name not in known_lists[report]:
                        problems.append(f"{here}: unknown list {item!r}"
                                        f"{_suggest(list_name, known_lists[report])}; "
                                        f"{report} publishes {known_lists[report]}")
                    else:
                        received.setdefault(report, set()).add(list_name)
                    continue
                mine = [r for r in reports if list_name in known_lists[r]]
                if mine:
                    for r in mine:
                        received.setdefault(r, set()).add(list_name)
                    continue
                elsewhere = sorted(r for r, names in known_lists.items() if list_name in names)
                if elsewhere:
                    problems.append(f"{here}: list {list_name!r} belongs to report(s) {elsewhere}, "
                                    f"which the audience does not see")
                else:
                    available = sorted({n for r in reports for n in known_lists[r]})
                    problems.append(f"{here}: unknown list {list_name!r}"
                                    f"{_suggest(list_name, available)}; its reports publish "
                                    f"{available}")
        description = spec.get("description") or ""
        if not isinstance(description, str):
            problems.append(f"{here}: 'description' must be text")
            description = ""
        audiences[name] = Audience(name=name, reports=tuple(reports), mask_pii=flags["mask_pii"],
                                   lists={r: frozenset(v) for r, v in received.items()},
                                   notebooks=flags["notebooks"], description=description)
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        raise ParameterError(f"{where}: {count}: " + "; ".join(problems) + ".", name="audiences")
    return Audiences(path=path.absolute(), audiences=audiences)


# ----------------------------------------------------------------------------------- publishing

def _neutral(summary: dict) -> bool:
    """A notebook without a ``mask_pii`` parameter looks the same to every audience."""
    return "mask_pii" not in (summary.get("effective_parameters") or {})


def _copy_lists(source: Path, target: Path, names: list[str]) -> None:
    if target.is_dir():
        return  # this run's lists are there already (a site republished)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in names:
        for ext in ("csv", "parquet"):
            shutil.copy2(source / f"{name}.{ext}", tmp / f"{name}.{ext}")
    os.replace(tmp, target)


def _page(run_dir: Path, summary: dict, received: list[dict]) -> bytes:
    """The report's stakeholder HTML showing only the ``received`` lists, linked into this site."""
    from .lists import LISTS, relink

    report, run_id = summary["report"], summary["run_id"]
    every = summary.get("lists") or []
    if len(received) == len(every):
        html = (run_dir / f"{report}.html").read_text(encoding="utf-8")
    else:  # rendered again from the same executed notebook, with fewer list links
        import nbformat

        from .render import render_html

        nb = nbformat.read(str(run_dir / f"{report}.ipynb"), as_version=4)
        html = render_html(nb, {**summary, "lists": received},
                           path=Path(summary.get("notebook") or ".").parent)
    return relink(html, f"{LISTS}/{run_id}/").encode("utf-8")


def _publish_one(audience: Audience, site: Path, run_dir: Path, summary: dict) -> None:
    from . import lists as _lists

    report, run_id = summary["report"], summary["run_id"]
    target = site / report
    received = [e for e in summary.get("lists") or [] if audience.receives(report, e["name"])]
    if audience.mask_pii:
        personal = [e["name"] for e in received if e.get("personal_columns")]
        if personal:  # cannot happen with a masked run; refuse rather than trust it
            raise ParameterError(f"audience '{audience.name}': lists {personal} of {report} hold "
                                 f"personal data; not published to a masked site.", name="mask_pii")
    if received:
        _copy_lists(run_dir / _lists.LISTS, target / _lists.LISTS / run_id,
                    [e["name"] for e in received])
    store.write_atomic(target / "latest.html", _page(run_dir, summary, received))
    notebook = target / "latest.ipynb"
    if audience.notebooks and (run_dir / f"{report}.ipynb").is_file():
        store.write_atomic(notebook, (run_dir / f"{report}.ipynb").read_bytes())
    else:
        notebook.unlink(missing_ok=True)
    meta = {
        "report": report, "title": summary.get("title") or report, "run_id": run_id,
        "started": summary.get("started"), "mask_pii": audience.mask_pii,
        "metrics": summary.get("metrics") or {}, "findings": summary.get("findings") or [],
        "notebook": notebook.is_file(),
        "lists": [{"name": e["name"], "title": e.get("title", e["name"]), "rows": e.get("rows", 0),
                   "files": {k: f"{_lists.LISTS}/{run_id}/{Path(v).name}"
                             for k, v in (e.get("files") or {}).items()}} for e in received],
    }
    store.write_atomic(target / SITE_META, json.dumps(meta, indent=2, default=str))
    _lists.drop_old_latest(target, keep=run_id if received else None)


def publish_run(config: Audiences, reports_dir: str | Path, run_dir: str | Path, summary: dict
                ) -> tuple[list[str], list[Path]]:
    """Publish a successful run to every audience that sees its report and shares its ``mask_pii``.

    Parameters
    ----------
    config : Audiences
    reports_dir : str or Path
        The main reports folder (the sites are its sub-folders).
    run_dir : str or Path
        The finished run folder (executed notebook, HTML, lists, summary).
    summary : dict
        Its summary; only ``status == "ok"`` runs are published.

    Returns
    -------
    (list of str, list of Path)
        The audiences published to, and their report folders (for the audit log's hashes).
    """
    from filelock import FileLock

    if summary.get("status") != "ok":
        return [], []
    reports_dir, run_dir = Path(reports_dir), Path(run_dir)
    masked = summary.get("mask_pii", True) is not False
    done, folders = [], []
    for audience in config.for_report(summary["report"]):
        if audience.mask_pii != masked and not _neutral(summary):
            continue
        site = reports_dir / audience.name
        with FileLock(str(store.lock_path(reports_dir, f"site-{audience.name}")), timeout=120):
            _publish_one(audience, site, run_dir, summary)
            build_site_index(audience, site)
        done.append(audience.name)
        folders += [site / summary["report"], site / "index.html"]
    return done, folders


@lru_cache(maxsize=1)
def _templates():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined)


def retire_sites(config: Audiences, reports_dir: str | Path) -> list[str]:
    """Delete the sites of audiences no longer in ``config`` (folders holding a site's
    ``about.json``), so that nobody keeps reading what an audience was once given."""
    from filelock import FileLock

    reports_dir = Path(reports_dir)
    gone = []
    if not reports_dir.is_dir():
        return gone
    for folder in sorted(reports_dir.iterdir()):
        if folder.name in config.audiences or not (folder / SITE_META).is_file():
            continue
        try:
            meta = json.loads((folder / SITE_META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("audience") == folder.name:
            with FileLock(str(store.lock_path(reports_dir, f"site-{folder.name}")), timeout=120):
                shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder.name)
    return gone


def _site_entry(folder: Path) -> dict | None:
    from .figures import format_value, label

    try:
        meta = json.loads((folder / SITE_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = quote(folder.name)
    return {
        "name": folder.name, "title": meta.get("title") or folder.name,
        "href": f"{name}/latest.html",
        "notebook_href": f"{name}/latest.ipynb" if (folder / "latest.ipynb").is_file() else None,
        "started": str(meta.get("started") or "").replace("T", " ").replace("Z", "")[:16],
        "findings": meta.get("findings") or [],
        "figures": [{"label": label(k), "value": format_value(k, v)}
                    for k, v in list((meta.get("metrics") or {}).items())[:6]],
        "lists": [{"title": e["title"], "rows": e["rows"], "href": f"{name}/{quote(e['files']['csv'])}",
                   "parquet": f"{name}/{quote(e['files']['parquet'])}"}
                  for e in meta.get("lists") or [] if (folder / e["files"]["csv"]).is_file()],
    }


def build_site_index(audience: Audience, site: str | Path) -> Path:
    """Rebuild ``site/index.html`` from the reports published there; drop every folder of a report
    the audience no longer sees (so a site never holds more than its set)."""
    import datetime as _dt

    site = Path(site)
    site.mkdir(parents=True, exist_ok=True)
    for path in site.iterdir():
        if path.is_dir() and not path.name.startswith(".") and path.name not in audience.reports:
            shutil.rmtree(path, ignore_errors=True)
    entries = [e for e in (_site_entry(site / r) for r in audience.reports) if e]
    html = _templates().get_template("site_index.html.j2").render(
        audience=audience.name, description=audience.description, masked=audience.mask_pii,
        reports=entries, generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"))
    store.write_atomic(site / "index.html", html)
    store.write_atomic(site / SITE_META, json.dumps(
        {"audience": audience.name, "description": audience.description,
         "mask_pii": audience.mask_pii, "reports": list(audience.reports)}, indent=2))
    return site / "index.html"
