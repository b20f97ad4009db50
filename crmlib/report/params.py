"""Notebook parameters: read them with papermill's own inspection, check and coerce values.

Everything here runs before any kernel starts, so a typo or a wrong type costs nothing but a
clear message. The accepted type of a parameter comes from the annotation in its ``parameters``
cell (``top_n: int = 20``) or else from its default value:

=================  =====================================================================
default            accepted values (strings from the command line are converted)
=================  =====================================================================
``20``             int (``"20"``)
``0.5``            float or int (``"0.5"``, ``"1"``)
``True``           bool (``"true"``, ``"false"``, ``"yes"``, ``"no"``, ``"1"``, ``"0"``)
``"2025-01-01"``   an ISO date string (``"2024-06-30"``); a datetime default takes ISO datetimes
``"text"``         str
``None``           str or None (``"None"`` on the command line means None)
``[1, 2]``         list (YAML/JSON text on the command line); ``{...}`` likewise dict
other expression   str (the notebook receives the text)
=================  =====================================================================
"""

from __future__ import annotations

import ast
import datetime as _dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import redact_url
from ..errors import ParameterError

__all__ = ["NotebookParameter", "coerce_value", "notebook_defaults", "notebook_parameters",
           "validate_parameters"]

_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

#: kind -> how the accepted type is named in messages
TYPE_NAMES = {
    "int": "an int",
    "float": "a float (or int)",
    "bool": "a bool (true/false)",
    "str": "a str",
    "date": "an ISO date string (YYYY-MM-DD)",
    "datetime": "an ISO datetime string (YYYY-MM-DDTHH:MM[:SS])",
    "optional": "a str or None",
    "list": "a list",
    "dict": "a dict",
}
_ANNOTATIONS = {
    "int": "int", "float": "float", "bool": "bool", "str": "str", "list": "list", "dict": "dict",
    "Optional[str]": "optional", "str | None": "optional", "None | str": "optional",
    "date": "date", "datetime.date": "date", "datetime": "datetime", "datetime.datetime": "datetime",
}


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter of a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
    default : str
        The default as written in the cell (source text).
    kind : str
        One of the keys of ``TYPE_NAMES``: what values the parameter accepts.
    help : str
        The trailing comment of its line, if any.
    """

    name: str
    default: str
    kind: str
    help: str = ""

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.kind]

    @property
    def value(self) -> Any:
        """The default as a Python value (its source text when it is not a literal)."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return self.default


def _kind(default_src: str, annotation: str | None) -> str:
    if annotation and annotation != "None" and annotation in _ANNOTATIONS:
        return _ANNOTATIONS[annotation]
    try:
        value = ast.literal_eval(default_src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "str"
    if value is None:
        return "optional"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, str) and _DATE.match(value):
        return "date"
    if isinstance(value, str) and _DATETIME.match(value):
        return "datetime"
    return "str"


def notebook_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """The parameters declared in the ``parameters`` cell of the notebook at ``path``.

    Uses papermill's own inspection (the translator behind :func:`papermill.inspect_notebook`),
    also for notebooks without kernelspec metadata; a notebook without such a cell has none.

    Returns
    -------
    dict of str to NotebookParameter, in the order of the cell.
    """
    import nbformat
    from papermill.translators import papermill_translators

    nb = nbformat.read(str(path), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    spec = nb.metadata.get("kernelspec", {})
    language = spec.get("language") or nb.metadata.get("language_info", {}).get("name") or "python"
    translator = papermill_translators.find_translator(spec.get("name") or "python3", language)
    return {
        p.name: NotebookParameter(
            name=p.name,
            default=str(p.default),
            kind=_kind(str(p.default), p.inferred_type_name),
            help=p.help or "",
        )
        for p in translator.inspect(cell)
    }


def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """The default value of each parameter of the notebook at ``path``, in the order of the cell.

    What a run without ``-p`` uses; see :func:`notebook_parameters` for names, kinds and help.
    """
    return {name: p.value for name, p in notebook_parameters(path).items()}


def _fail(param: NotebookParameter, value: Any, where: str) -> ParameterError:
    return ParameterError(
        redact_url(f"{where}: parameter '{param.name}' must be {param.type_name}; got {value!r}."),
        name=param.name,
    )


def coerce_value(param: NotebookParameter, value: Any, *, where: str) -> Any:
    """Check ``value`` against the type of ``param``; convert strings given on a command line.

    Returns the value to inject (dates stay ISO strings, as the notebook's default is a string).

    Raises
    ------
    ParameterError
        When the value does not fit, naming the parameter and the accepted type.
    """
    kind = param.kind
    if isinstance(value, str):
        text = value.strip()
        if kind == "int" and _INT.match(text):
            return int(text)
        if kind == "float":
            try:
                return float(text)
            except ValueError:
                raise _fail(param, value, where) from None
        if kind == "bool" and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        if kind == "str":
            return value
        if kind == "optional":
            return None if text in ("None", "null") else value
        if kind == "date" and _DATE.match(text):
            try:
                return _dt.date.fromisoformat(text).isoformat()
            except ValueError:
                raise _fail(param, value, where) from None
        if kind == "datetime" and (_DATETIME.match(text) or _DATE.match(text)):
            try:
                _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise _fail(param, value, where) from None
            return text
        if kind in ("list", "dict"):
            import yaml

            try:
                parsed = yaml.safe_load(text)
            except yaml.YAMLError:
                raise _fail(param, value, where) from None
            if isinstance(parsed, list if kind == "list" else dict):
                return parsed
        raise _fail(param, value, where)

    # typed values (YAML schedules, Python callers)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "optional" and value is None:
        return None
    if kind == "date" and isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value.isoformat()
    if kind == "datetime" and isinstance(value, _dt.date):
        return value.isoformat()
    if kind == "list" and isinstance(value, (list, tuple)):
        return list(value)
    if kind == "dict" and isinstance(value, dict):
        return value
    raise _fail(param, value, where)


def unknown_parameter_error(name: str, known, *, where: str) -> ParameterError:
    """The error for a parameter name a notebook does not declare."""
    known = sorted(known)
    hint = difflib.get_close_matches(name, known, n=1)
    did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
    return ParameterError(
        f"{where}: unknown parameter '{name}'{did_you_mean}; known parameters: {known}.", name=name
    )


def validate_parameters(declared: dict[str, NotebookParameter], values: dict[str, Any], *,
                        where: str) -> dict[str, Any]:
    """Check every name and value in ``values`` against the notebook's declared parameters.

    Returns
    -------
    dict
        The values converted to the parameters' types, ready for papermill.

    Raises
    ------
    ParameterError
        For the first unknown name (listing the known names) or wrong type.
    """
    out = {}
    for name, value in values.items():
        if name not in declared:
            raise unknown_parameter_error(name, declared, where=where)
        out[name] = coerce_value(declared[name], value, where=where)
    return out
