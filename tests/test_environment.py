"""pyproject.toml and environment.yml must describe the same environment."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"psycopg[binary]": "psycopg"}  # extras have no conda spelling


def _norm(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", spec.strip()).groups()
    name = CONDA_NAMES.get(name.lower(), name.lower()).replace("_", "-")
    return name, bound.replace(" ", "")


def test_environment_yml_matches_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # environment.yml is the full working environment: the core and every extra
    project = meta["dependencies"] + [d for extra in meta.get("optional-dependencies", {}).values()
                                      for d in extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    listed = dict(_norm(s) for s in conda + [p for p in pip if not p.startswith("-e")])
    assert listed == dict(_norm(s) for s in project)


def test_gitignore_keeps_generated_files_out():
    ignore = (ROOT / ".gitignore").read_text()
    for pattern in ("data/*.sqlite", "reports/*", ".venv", "site/"):
        assert pattern in ignore
