"""The import graph of crmlib: no cycle among its modules (imports inside functions count too),
and no private name imported from another module.

Parsed with ``ast`` (nothing is imported), so a cycle hidden in a function body is found.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "crmlib"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package(module: str) -> list[str]:
    return module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]


def _target(module: str, node: ast.ImportFrom) -> str | None:
    if node.level:
        base = _package(module)[: len(_package(module)) - node.level + 1]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module


def _imports(module: str):
    """(imported module, imported name or None, line) for every crmlib import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # walk: imports inside functions count
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "crmlib":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _target(module, node)
            if target and target.split(".")[0] == "crmlib":
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    if full in MODULES:  # `from . import x` imports the module x
                        yield full, None, node.lineno
                    else:
                        yield target, alias.name, node.lineno


def _graph() -> dict[str, set[str]]:
    graph = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_checker_finds_a_cycle_and_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    src = "def f():\n    from .rules import _text\n"
    node = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom))
    assert node.level == 1 and _private(node.names[0].name) and not _private("__version__")


def test_no_import_cycle_in_crmlib():
    assert len(MODULES) > 50
    assert _cycles(_graph()) == []


def test_no_private_name_imported_from_another_module():
    bad = [f"{module}:{line}: from {target} import {name}"
           for module in sorted(MODULES) for target, name, line in _imports(module)
           if name is not None and _private(name) and target != module]
    assert bad == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_private_modules_stay_in_their_package(module):
    """``crmlib.x._y`` is imported only from inside ``crmlib.x``."""
    bad = []
    for target, _, line in _imports(module):
        parts = target.split(".")
        for i, part in enumerate(parts):
            if _private(part):
                owner = ".".join(parts[:i])
                if not (module == owner or module.startswith(owner + ".")):
                    bad.append(f"{module}:{line}: {target}")
    assert bad == []
