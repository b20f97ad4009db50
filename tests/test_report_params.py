"""Parameters are checked against the parameters cell before any kernel starts."""

from __future__ import annotations

import pytest
from report_support import FIXTURES, SECRET_URL, copy_notebooks

from crmlib.errors import CrmlibError, ParameterError
from crmlib.report import kernel
from crmlib.report.params import (
    NotebookParameter,
    coerce_value,
    notebook_defaults,
    notebook_parameters,
)
from crmlib.report.runner import find_notebooks, plan_runs, run_reports

OK = FIXTURES / "ok.ipynb"


def param(kind, name="p"):
    return NotebookParameter(name=name, default="", kind=kind)


def test_parameters_are_read_with_their_types():
    params = notebook_parameters(OK)
    kinds = {name: p.kind for name, p in params.items()}
    assert kinds == {"db_url": "optional", "mask_pii": "bool", "top_n": "int", "ratio": "float",
                     "label": "str", "as_of": "date", "interactive": "bool", "fail": "bool"}


def test_defaults_are_python_values():
    assert notebook_defaults(OK) == {"db_url": None, "mask_pii": True, "top_n": 5, "ratio": 0.5,
                                     "label": "fixture", "as_of": "2025-01-31", "interactive": True,
                                     "fail": False}
    # a default that is an expression, not a literal, stays its source text
    assert NotebookParameter(name="n", default="2 ** 10", kind="str").value == "2 ** 10"


@pytest.mark.parametrize(("kind", "given", "expected"), [
    ("int", "12", 12),
    ("int", 12, 12),
    ("float", "0.25", 0.25),
    ("float", "2", 2.0),
    ("float", 3, 3.0),
    ("bool", "false", False),
    ("bool", "Yes", True),
    ("bool", True, True),
    ("str", "hello", "hello"),
    ("optional", "sqlite:///x.db", "sqlite:///x.db"),
    ("optional", "None", None),
    ("date", "2024-02-29", "2024-02-29"),
    ("datetime", "2024-02-29T10:30", "2024-02-29T10:30"),
    ("list", "[1, 2]", [1, 2]),
    ("dict", "{a: 1}", {"a": 1}),
])
def test_values_are_coerced_to_the_parameter_type(kind, given, expected):
    assert coerce_value(param(kind), given, where="nb") == expected


@pytest.mark.parametrize(("kind", "given", "message"), [
    ("int", "1.5", r"nb: parameter 'p' must be an int; got '1.5'"),
    ("int", True, r"must be an int; got True"),
    ("float", "abc", r"must be a float \(or int\); got 'abc'"),
    ("bool", "maybe", r"must be a bool \(true/false\); got 'maybe'"),
    ("date", "2024-02-30", r"must be an ISO date string \(YYYY-MM-DD\); got '2024-02-30'"),
    ("date", "yesterday", r"must be an ISO date string"),
    ("str", 5, r"must be a str; got 5"),
    ("list", "{a: 1}", r"must be a list"),
])
def test_wrong_types_name_the_parameter_and_the_accepted_type(kind, given, message):
    with pytest.raises(ParameterError, match=message):
        coerce_value(param(kind), given, where="nb")


def test_type_error_messages_redact_passwords():
    with pytest.raises(ParameterError, match=r"postgresql://crm:\*\*\*@") as info:
        coerce_value(param("int"), SECRET_URL, where="nb")
    assert "Sup3r" not in str(info.value)


def test_unknown_parameter_names_it_and_the_known_ones():
    with pytest.raises(ParameterError, match=r"notebook 'ok': unknown parameter 'top' "
                                             r"\(did you mean 'top_n'\?\); known parameters: "
                                             r"\['as_of', 'db_url', 'fail'"):
        plan_runs([OK], {"top": "3"})


def test_wrong_type_is_rejected_before_any_kernel(monkeypatch):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr("crmlib.report.runner._execute", no_kernel)
    with pytest.raises(ParameterError, match=r"notebook 'ok': parameter 'top_n' must be an int; "
                                             r"got 'many'"):
        run_reports(["ok"], notebooks_dir=FIXTURES, parameters={"top_n": "many"})


def test_all_passes_a_parameter_to_the_notebooks_that_declare_it():
    plans = plan_runs([FIXTURES / "ok.ipynb", FIXTURES / "slow.ipynb"], {"seconds": "2"},
                      db_url="sqlite:///x.db", mask_pii=False)
    by_name = {p.report: p.parameters for p in plans}
    assert by_name["slow"] == {"seconds": 2, "db_url": "sqlite:///x.db", "mask_pii": False}
    assert by_name["ok"] == {"db_url": "sqlite:///x.db", "mask_pii": False}


def test_all_rejects_a_parameter_no_notebook_declares():
    with pytest.raises(ParameterError, match=r"unknown parameter 'secs' \(did you mean "
                                             r"'seconds'\?\)"):
        plan_runs([FIXTURES / "ok.ipynb", FIXTURES / "slow.ipynb"], {"secs": "2"})


def test_db_url_needs_a_db_url_parameter(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cell = new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(new_notebook(cells=[cell]), tmp_path / "plain.ipynb")
    with pytest.raises(ParameterError, match=r"notebook 'plain': cannot pass the database URL: "
                                             r"its parameters cell has no 'db_url'"):
        plan_runs([tmp_path / "plain.ipynb"], db_url="sqlite:///x.db")


def test_mask_pii_is_true_by_default():
    (plan,) = plan_runs([OK])
    assert plan.parameters == {"mask_pii": True}


def test_unknown_notebook_lists_the_available_ones(tmp_path):
    copy_notebooks(tmp_path, ("ok", "broken"))
    with pytest.raises(CrmlibError, match=r"no notebook 'okk' in .*; available: \['broken', "
                                          r"'ok'\] or 'all'"):
        find_notebooks(["okk"], tmp_path)


def test_no_notebooks_is_an_error(tmp_path):
    with pytest.raises(CrmlibError, match=r"crmlib run: no notebooks in"):
        find_notebooks(["all"], tmp_path)


def test_all_and_names_select_notebooks(tmp_path):
    copy_notebooks(tmp_path, ("ok", "broken"))
    assert [p.stem for p in find_notebooks(["all"], tmp_path)] == ["broken", "ok"]
    assert [p.stem for p in find_notebooks(["ok.ipynb", "ok"], tmp_path)] == ["ok"]


# ---------------------------------------------------------------------------------------- kernel

def test_kernel_env_var_names_the_kernel(monkeypatch):
    monkeypatch.setenv(kernel.KERNEL_ENV, "python3")
    assert kernel.resolve_kernel() == "python3"


def test_missing_kernel_is_an_error_before_running(monkeypatch):
    monkeypatch.setenv(kernel.KERNEL_ENV, "no-such-kernel")
    with pytest.raises(CrmlibError, match=r"no usable Jupyter kernel: kernel 'no-such-kernel' is "
                                          r"not installed.*ipykernel install --sys-prefix --name "
                                          r"crmlib"):
        kernel.resolve_kernel()


def test_kernel_of_another_python_is_refused(monkeypatch):
    monkeypatch.delenv(kernel.KERNEL_ENV, raising=False)
    monkeypatch.setattr(kernel, "_spec_python",
                        lambda name: "/opt/other-env/bin/python" if name == "crmlib" else None)
    with pytest.raises(CrmlibError, match=r"kernel 'crmlib' runs /opt/other-env/bin/python, not "):
        kernel.resolve_kernel()


def test_crmlib_kernel_of_this_environment_is_preferred(monkeypatch):
    import sys

    monkeypatch.delenv(kernel.KERNEL_ENV, raising=False)
    monkeypatch.setattr(kernel, "_spec_python", lambda name: sys.executable)
    assert kernel.resolve_kernel() == "crmlib"
