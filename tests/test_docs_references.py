"""No stale references: every file, page, notebook, make target and crmlib command that the README,
the docs, schedules.yml or crmlib's own messages name exists.

What is read: README.md and docs/**/*.md (links, code spans and code blocks), schedules.yml (also
its commented-out examples), the notebooks, and every string in crmlib's source (docstrings and
error messages). What is checked against: the files in the repository, the pages of the docs site
(mkdocs.yml's nav and the API pages mkdocs_hooks.py generates), the Makefile's targets, the
`crmlib` command's parser and the notebooks' parameters.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
MARKDOWN = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")

sys.path.insert(0, str(ROOT))
import mkdocs_hooks  # noqa: E402  (the API pages the docs build generates)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def prose(text: str) -> str:
    """Markdown without its code blocks (links inside code are not links)."""
    return FENCE.sub("", text)


def code_of(text: str) -> list[str]:
    """The code blocks and code spans of a markdown text."""
    blocks = [m.group(0) for m in FENCE.finditer(text)]
    spans = re.findall(r"``(.+?)``|`([^`\n]+)`", prose(text))
    return blocks + [a or b for a, b in spans]


def python_strings(*folders: str) -> list[tuple[str, str]]:
    """(file, text) of every string constant and f-string skeleton in crmlib (or the folders)."""
    found = []
    paths = [p for folder in folders or ("crmlib",) for p in (ROOT / folder).rglob("*.py")]
    for path in sorted(paths):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((rel(path), node.value))
            elif isinstance(node, ast.JoinedStr):
                found.append((rel(path), "".join(v.value if isinstance(v, ast.Constant) else "{}"
                                                 for v in node.values)))
    return found


def notebook_texts() -> list[tuple[str, str]]:
    return [(rel(nb), "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]))
            for nb in sorted(NOTEBOOKS.glob("*.ipynb"))]


def slug(heading: str) -> str:
    """Python-Markdown's toc anchor of a heading (what mkdocs links to)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", prose(page.read_text()), re.M)}


def site_pages() -> set[str]:
    """Pages of the docs site, relative to docs/: the nav's and the generated API pages."""
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    pages: set[str] = set()

    def walk(item):
        if isinstance(item, str):
            pages.add(item)
        elif isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)

    walk(nav)
    pages.add("api/index.md")
    pages.update(mkdocs_hooks.page_path(m) for m in mkdocs_hooks.public_modules())
    return pages


def notebook_names() -> set[str]:
    return {nb.stem for nb in NOTEBOOKS.glob("*.ipynb")}


# ---------------------------------------------------------------------------- the checks


def test_every_docs_page_is_in_the_site_and_every_nav_page_exists():
    pages = site_pages()
    on_disk = {rel(p)[len("docs/"):] for p in DOCS.rglob("*.md")}
    generated = {p for p in pages if p.startswith("api/")}
    assert on_disk - pages == set(), "docs pages missing from mkdocs.yml's nav"
    assert pages - generated - on_disk == set(), "nav pages that do not exist"


def test_every_relative_link_resolves():
    pages = site_pages()
    broken = []
    for page in MARKDOWN:
        for target in LINK.findall(prose(page.read_text())):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto:, ...
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            in_docs = dest.is_relative_to(DOCS)
            exists = dest.exists() or (in_docs and rel(dest)[len("docs/"):] in pages)
            if not exists:
                broken.append(f"{rel(page)}: {target}")
            elif anchor and dest.suffix == ".md" and dest.exists() and anchor not in anchors(dest):
                broken.append(f"{rel(page)}: {target} (no heading with that anchor)")
    assert broken == []


def test_every_docs_page_named_in_code_messages_or_notebooks_exists():
    """docs/*.md pointers in crmlib's docstrings and messages, tests, benchmarks, notebooks,
    schedules.yml and the Makefile."""
    sources = python_strings("crmlib", "tests", "benchmarks") + notebook_texts() + [
        ("schedules.yml", (ROOT / "schedules.yml").read_text()),
        ("Makefile", (ROOT / "Makefile").read_text())]
    pages = {"docs/" + p for p in site_pages()}
    named = [(where, m) for where, text in sources for m in re.findall(r"docs/[\w./-]+\.md", text)]
    assert named, "no docs pointer found: the check would not check anything"
    assert [f"{w}: {m}" for w, m in named if m not in pages or not (ROOT / m).is_file()] == []


REPO_PATH = re.compile(r"(?<![\w./-])((?:crmlib|tests|benchmarks|notebooks|docs|data/mappings)"
                       r"/[\w./-]*\.(?:py|ipynb|yml|yaml|md|toml|json))\b")


def test_every_repository_file_named_in_the_docs_exists():
    """Paths such as `tests/test_cube_flags.py` or `notebooks/segmentation.ipynb` in README/docs."""
    pages = {"docs/" + p for p in site_pages()}
    missing = []
    for page in MARKDOWN:
        for code in code_of(page.read_text()):
            for path in REPO_PATH.findall(code):
                if not (ROOT / path).exists() and path not in pages:
                    missing.append(f"{rel(page)}: {path}")
    assert missing == []


def scheduled_reports() -> list[tuple[str, str]]:
    """(job, report) for every job of schedules.yml, commented-out examples included."""
    text = (ROOT / "schedules.yml").read_text()
    found = []
    for job, spec in (yaml.safe_load(text).get("jobs") or {}).items():
        reports = spec.get("report", "all")
        found += [(job, r) for r in ([reports] if isinstance(reports, str) else reports)]
    # commented examples: uncomment the file's comment lines and read the YAML keys again
    for m in re.finditer(r"^\s*#\s*report:\s*(.+?)\s*(?:#.*)?$", text, re.M):
        value = yaml.safe_load(m.group(1))
        found += [("(commented)", r) for r in ([value] if isinstance(value, str) else value)]
    return found


def test_every_notebook_named_in_schedules_exists():
    found = scheduled_reports()
    assert any(job == "(commented)" for job, _ in found), "the commented example was not read"
    known = notebook_names() | {"all"}
    assert [f"{job}: {r}" for job, r in found if r not in known] == []


def test_every_notebook_named_in_the_docs_exists():
    """`crmlib run NAME` and `report: NAME` in README/docs name real notebooks."""
    known = notebook_names() | {"all"}
    bad = []
    for page in MARKDOWN:
        for code in code_of(page.read_text()):
            for name in re.findall(r"crmlib run ([\w-]+)", code) + \
                    re.findall(r"^\s*report:\s*([\w-]+)", code, re.M):
                if name not in known:
                    bad.append(f"{rel(page)}: {name}")
    assert bad == []


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_every_make_target_named_exists():
    texts = [(rel(p), c) for p in MARKDOWN for c in code_of(p.read_text())] + \
        [(w, t) for w, t in python_strings() if "`make " in t] + \
        [(".ci/run", (ROOT / ".ci" / "run").read_text())]
    # where a shell would run it: a line or code span starting with make, or after ; | &&
    named = [(w, t) for w, text in texts
             for t in re.findall(r"(?:^\s*|[;|&`]\s*)make ([a-z][\w-]*)", text, re.M)]
    assert {t for _, t in named} >= {"reports", "test", "docs"}
    targets = make_targets()
    assert [f"{w}: make {t}" for w, t in named if t not in targets] == []


def crmlib_commands() -> dict[str, set[str]]:
    """The `crmlib` subcommands and, for each, its own subcommands (``mart export``)."""
    import argparse

    from crmlib.cli import build_parser

    def subcommands(parser) -> dict:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    return {name: set(subcommands(p)) for name, p in subcommands(build_parser()).items()}


COMMAND_AT_START = re.compile(  # `crmlib X` where a shell would run it
    r"(?:^|[;|&(]\s*|\$\(BIN\)/|\.venv/bin/|^\s*(?:[A-Z_]+=\S+\s+)+)"
    r"crmlib ([a-z][\w-]*)(?: ([a-z][\w-]*))?",
    re.M)


def test_every_crmlib_command_named_exists():
    named = []
    for page in MARKDOWN:
        for code in code_of(page.read_text()):
            named += [(rel(page), m.groups()) for m in COMMAND_AT_START.finditer(code.strip())]
    for where, text in python_strings():
        # `crmlib X ...` in docstrings, and messages that start "crmlib X: ..."
        named += [(where, (m.group(1), m.group(2)))
                  for m in re.finditer(r"`crmlib ([a-z][\w-]*)(?: ([a-z][\w-]*))?", text)]
        named += [(where, (m.group(1), None)) for m in re.finditer(r"^crmlib ([a-z][\w-]*):", text)]
    named += [("Makefile", m.groups()) for m in COMMAND_AT_START.finditer(
        (ROOT / "Makefile").read_text())]
    commands = crmlib_commands()
    assert {c for _, (c, _) in named} >= {"run", "sample", "import", "schedule", "mart"}
    bad = [f"{w}: crmlib {c}" for w, (c, _) in named if c not in commands]
    bad += [f"{w}: crmlib {c} {s}" for w, (c, s) in named
            if c in commands and commands[c] and s and s not in commands[c]]
    assert bad == []


def test_every_parameter_given_to_a_notebook_in_the_docs_exists():
    """`crmlib run NAME -p PARAM value` in README/docs names a parameter NAME declares."""
    from crmlib.report.params import notebook_parameters

    declared = {nb.stem: set(notebook_parameters(nb)) for nb in NOTEBOOKS.glob("*.ipynb")}
    bad, seen = [], 0
    for page in MARKDOWN:
        for code in code_of(page.read_text()):
            for line in code.splitlines():
                m = re.search(r"crmlib run ([\w-]+)(.*)", line)
                if not m or m.group(1) not in declared:
                    continue
                for param in re.findall(r"(?:^|\s)-p\s+([\w]+)", m.group(2)):
                    seen += 1
                    if param not in declared[m.group(1)]:
                        bad.append(f"{rel(page)}: {m.group(1)} -p {param}")
    assert seen > 0 and bad == []


@pytest.mark.parametrize("check", [
    lambda: LINK.findall("see [the page](missing.md) and ![a shot](img/x.png)"),
    lambda: re.findall(r"docs/[\w./-]+\.md", "write one (see docs/reports.md) or pass"),
    lambda: COMMAND_AT_START.findall("CRMLIB_DB_URL=sqlite:///x crmlib run all"),
    lambda: REPO_PATH.findall("checked by `tests/test_cube_flags.py`"),
], ids=["link", "docs-pointer", "command", "repo-path"])
def test_the_patterns_find_what_they_look_for(check):
    assert check()
