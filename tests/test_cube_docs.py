"""Every public function of crmlib.cube documents exactly the parameters it takes (numpydoc)."""

import inspect
import re

import pytest

import crmlib.cube as cube
from crmlib.cube import plots


def _documented(func) -> set[str] | None:
    doc = inspect.getdoc(func) or ""
    m = re.search(r"^Parameters\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, re.S | re.M)
    if not m:
        return None
    names = set()
    for line in m[1].splitlines():
        if line and not line.startswith(" "):
            names.update(n.strip() for n in line.split(" :")[0].split(","))
    return names


FUNCTIONS = [getattr(cube, n) for n in cube.__all__ if inspect.isfunction(getattr(cube, n))] + \
    [getattr(plots, n) for n in plots.__all__]


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_documented_parameters_match_the_signature(func):
    documented = _documented(func)
    params = {p for p in inspect.signature(func).parameters if not p.startswith("_")}
    if documented is None:
        assert len(params) <= 2, f"{func.__name__} takes {params} but has no Parameters section"
        return
    assert documented == params


def test_importing_the_cube_is_cheap():
    from import_support import modules_loaded

    assert modules_loaded("import crmlib.cube", ("matplotlib", "duckdb", "IPython")) == []
