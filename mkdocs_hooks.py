"""mkdocs hook: the API reference pages, generated at build time from the package's modules.

One page per public module of crmlib (no path part starting with ``_``), so a module added or
removed needs no edit here: ``::: crmlib.x.y`` makes mkdocstrings render the module's numpydoc
docstrings. A package page shows the package's docstring and links to its modules. Module
docstrings for the index are read with ``ast``, so the hook imports nothing from crmlib (and
tests/test_docs_references.py imports it without mkdocs installed).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent
PACKAGE = ROOT / "crmlib"


def public_modules() -> list[str]:
    """Dotted names of crmlib's public modules, packages before their modules."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or "__pycache__" in path.parts:
            continue
        names.append(".".join(parts))
    return sorted(names, key=lambda n: n.split("."))


def is_package(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").is_file()


def page_path(name: str) -> str:
    """One flat file per module (``api/crmlib.report.index.md``): a module never collides with
    its package's page."""
    return f"api/{name}.md"


def summary(name: str) -> str:
    path = ROOT / Path(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def page_content(name: str, modules: list[str]) -> str:
    title = f"# `{name}`\n\n"
    if is_package(name) and name != "crmlib":
        children = [m for m in modules if m.rsplit(".", 1)[0] == name]
        body = f"::: {name}\n    options:\n      show_root_heading: false\n      members: false\n\n"
        if children:
            body += "## Modules\n\n" + "".join(
                f"- [`{m}`]({m}.md): {summary(m)}\n"
                for m in children)
        return title + body
    return title + f"::: {name}\n    options:\n      show_root_heading: false\n"


def index_content(modules: list[str]) -> str:
    lines = ["# API reference", "",
             "Generated from the numpydoc docstrings of every public module of crmlib (modules and",
             "names starting with `_` are internal). The [user guide](../index.md) explains how",
             "the pieces fit together.", "",
             "| module | what it is |", "|---|---|"]
    for m in modules:
        lines.append(f"| [`{m}`]({m}.md) | {summary(m)} |")
    return "\n".join(lines) + "\n"


def nav_entries(modules: list[str]) -> list:
    top = [m for m in modules if m.count(".") == 1]
    entries: list = ["api/index.md", {"crmlib": page_path("crmlib")}]
    for m in top:
        short = m.split(".", 1)[1]
        if is_package(m):
            children = [c for c in modules if c.startswith(m + ".")]
            entries.append({short: [page_path(m)] + [{c.rsplit(".", 1)[1]: page_path(c)}
                                                     for c in children]})
        else:
            entries.append({short: page_path(m)})
    return entries


def on_config(config, **kwargs):
    nav = config["nav"]
    for i, item in enumerate(nav):
        if isinstance(item, dict) and "API reference" in item:
            nav[i] = {"API reference": nav_entries(public_modules())}
    return config


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File  # here: tests import this module without mkdocs

    modules = public_modules()
    files.append(File.generated(config, "api/index.md", content=index_content(modules)))
    for m in modules:
        files.append(File.generated(config, page_path(m), content=page_content(m, modules)))
    return files
