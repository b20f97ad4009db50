"""pyproject.toml, environment.yml, the Makefile and requirements-lock.txt describe one environment.

pyproject.toml holds the core dependencies and the extras; `make install` installs the core plus
the extras named in the Makefile (EXTRAS), at the versions pinned in the lock file (LOCK), and
environment.yml lists the same for conda users.
"""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"psycopg[binary]": "psycopg"}  # extras have no conda spelling
# What a plain `pip install crmlib` must not bring (tests/test_plain_install.py installs it).
NOT_CORE = {"pyspark", "pytest", "nbval", "lifetimes"}


def _norm(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", spec.strip()).groups()
    name = CONDA_NAMES.get(name.lower(), name.lower()).replace("_", "-")
    return name, bound.replace(" ", "")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _make_var(name: str) -> str:
    return re.search(rf"^{name}\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


def _installed_specs() -> list[str]:
    """Core dependencies plus the extras `make install` installs."""
    project = _project()
    extras = _make_var("EXTRAS").split(",")
    return project["dependencies"] + [s for e in extras for s in project["optional-dependencies"][e]]


def test_make_install_takes_core_and_the_spark_and_test_extras_from_the_lock_file():
    assert set(_make_var("EXTRAS").split(",")) == {"spark", "test"}
    lock = _make_var("LOCK")
    assert (ROOT / lock).is_file()
    recipe = (ROOT / "Makefile").read_text()
    assert 'pip install -q -c $(LOCK) -e ".[$(EXTRAS)]"' in recipe


def test_environment_yml_matches_pyproject():
    # environment.yml is the full working environment: the core and every extra
    project = _project()["dependencies"] + [d for extra in _project()["optional-dependencies"].values() for d in extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    listed = dict(_norm(s) for s in conda + [p for p in pip if not p.startswith("-e")])
    assert listed == dict(_norm(s) for s in project)


def test_core_leaves_spark_and_test_tools_to_extras():
    project = _project()
    core = {canonicalize_name(Requirement(s).name) for s in project["dependencies"]}
    assert not core & NOT_CORE
    extras = project["optional-dependencies"]
    assert {canonicalize_name(Requirement(s).name) for s in extras["spark"]} == {"pyspark"}
    assert NOT_CORE - {"pyspark"} <= {canonicalize_name(Requirement(s).name) for s in extras["test"]}


def test_lock_file_pins_every_dependency_within_its_bounds():
    pins = {}
    for line in (ROOT / _make_var("LOCK")).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(;[^#]*)?", line)
        if m and not m.group(3):  # pins for every platform and Python (markers: other platforms)
            pins[canonicalize_name(m.group(1))] = m.group(2)
    for spec in _installed_specs():
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{name} is not in the lock file: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(req.specifier))
    # the pairing docs/spark.md explains: pandas 3 with pyspark 4.3
    assert pins["pandas"].startswith("3.") and pins["pyspark"].startswith("4.3")


def test_gitignore_keeps_generated_files_out():
    ignore = (ROOT / ".gitignore").read_text()
    lines = ignore.splitlines()
    assert ".venv" in lines  # a directory or, in a worktree, a link
    for pattern in ("data/*.sqlite", "reports/*", "site/"):
        assert pattern in ignore
