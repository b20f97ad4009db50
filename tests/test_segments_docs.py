"""The numpydoc 'Parameters' of every public segments function and class match its signature."""

from __future__ import annotations

import inspect
import re

import pytest

from crmlib import segments
from crmlib.segments import plots


def documented(doc: str) -> list[str]:
    match = re.search(r"\n\s*Parameters\n\s*-+\n(.*?)(\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)", doc, re.S)
    if not match:
        return []
    names = []
    for line in match.group(1).splitlines():
        head = re.match(r"^([A-Za-z_*][\w, *]*?)(?: :.*)?$", line)  # getdoc() dedents
        if head:
            names += [n.strip().lstrip("*") for n in head.group(1).split(",")]
    return names


def public_objects():
    for name in segments.__all__:
        obj = getattr(segments, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield name, obj
    for name in plots.__all__:
        yield f"plots.{name}", getattr(plots, name)


@pytest.mark.parametrize(("name", "obj"), list(public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_documented_parameters_match_signature(name, obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    signature = [p for p in inspect.signature(target).parameters if p not in ("self", "y")]
    doc = inspect.getdoc(obj) or ""
    assert documented("\n" + doc) == signature, name
