"""Every public function and method of crmlib.credit documents exactly the parameters it takes."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = ["drift", "evaluation", "features", "models", "plots", "profile", "risk", "target"]


def _public_callables():
    for name in MODULES:
        module = importlib.import_module(f"crmlib.credit.{name}")
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj):
                yield f"{name}.{attr}", obj
            elif inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if inspect.isfunction(meth) and not meth_name.startswith("_"):
                        yield f"{name}.{attr}.{meth_name}", meth
                if "Parameters" in (obj.__doc__ or ""):
                    yield f"{name}.{attr}", obj


def _documented(doc: str) -> set[str]:
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return set()
    names = set()
    for i in range(start, len(lines)):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1]):
            break  # next section
        if line and not line.startswith(" "):
            names.update(n.strip().lstrip("*") for n in line.split(" : ")[0].split(","))
    return names


CALLABLES = dict(_public_callables())


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_documented_parameters_match_signature(name):
    obj = CALLABLES[name]
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
    doc = obj.__doc__ or ""
    documented = _documented(doc)
    if not params:
        assert not documented, name
        return
    assert doc.strip(), f"{name} has no docstring"
    assert documented == set(params), f"{name}: documented {sorted(documented)}, signature {params}"
