"""A plain ``pip install .`` (no extras) works without pyspark, pytest, nbval or lifetimes.

The test makes a throwaway virtual environment and runs ``pip install .`` in it. Resolving and
downloading the whole core from the package index would take minutes, so the environment is
handed the packages this suite runs on (the tested versions), minus the four that must not be
needed and crmlib itself: a ``.pth`` file points at a folder of links into this environment's
site-packages that leaves them out. pip then resolves crmlib's core dependencies against those;
a core dependency that needed one of the four (directly or through another package) would make
pip install it, and the check below would find it. Only the build tools (setuptools, wheel) come
from the package index, for building crmlib's wheel in pip's isolated build environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_CORE = ("pyspark", "pytest", "nbval", "lifetimes")
# left out of the handed-over packages: the four, what only they bring, and crmlib itself
LEFT_OUT = {"pyspark", "py4j", "pytest", "nbval", "lifetimes", "crmlib"}


def _top_level_entries(site: Path, names: set[str]) -> set[str]:
    """site-packages entries (packages, modules, .dist-info) of the distributions ``names``."""
    entries = set()
    for dist in metadata.distributions(path=[str(site)]):
        if canonicalize_name(dist.metadata["Name"]) in names:
            entries |= {PurePosixPath(str(f)).parts[0] for f in dist.files or ()
                        if not str(f).startswith("..")}
    return entries


def _handed_over(site: Path, folder: Path) -> Path:
    folder.mkdir()
    skip = _top_level_entries(site, LEFT_OUT)
    for entry in site.iterdir():
        name = entry.name
        if name in skip or name.endswith(".pth") or name.startswith(("__editable__", "crmlib")):
            continue
        (folder / name).symlink_to(entry)
    return folder


def _run(args, *, env, cwd, timeout=600):
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A fresh virtual environment in which ``pip install .`` has run; its python and bin folder."""
    base = tmp_path_factory.mktemp("plain-install")
    venv = base / "venv"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONWARNINGS", "VIRTUAL_ENV", "CRMLIB_HOME")}
    done = _run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=base)
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    venv_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          env=env, cwd=base).stdout.strip())
    tested = _handed_over(Path(sysconfig.get_paths()["purelib"]), base / "tested-packages")
    (venv_site / "tested-packages.pth").write_text(f"{tested}\n")
    # a copy of the project, so that nothing is built inside the work tree
    source = base / "source"
    done = _run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                env=env, cwd=base)
    for rel in filter(None, done.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            (source / rel).write_bytes((ROOT / rel).read_bytes())
    done = _run([str(python), "-m", "pip", "install", "--no-input", "."], env=env, cwd=source, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"python": python, "bin": venv / "bin", "env": env, "cwd": base, "pip_output": done.stdout}


def test_plain_install_has_none_of_pyspark_pytest_nbval_lifetimes(plain):
    code = ("import importlib.util, importlib.metadata as md, crmlib\n"
            f"print([m for m in {NOT_IN_CORE!r} if importlib.util.find_spec(m)])\n"
            "print(md.distribution('crmlib').read_text('direct_url.json') is not None, crmlib.__file__)")
    done = _run([str(plain["python"]), "-c", code], env=plain["env"], cwd=plain["cwd"])
    assert done.returncode == 0, done.stderr
    found, installed = done.stdout.splitlines()
    assert found == "[]"
    # pip resolved the core against the tested packages and had to add nothing but crmlib
    assert plain["pip_output"].strip().splitlines()[-1] == "Successfully installed crmlib-0.1.0"
    assert installed.startswith("True ") and str(plain["bin"].parent) in installed  # not the work tree
    done = _run([str(plain["python"]), "-m", "pip", "check"], env=plain["env"], cwd=plain["cwd"])
    assert done.returncode == 0, done.stdout  # every core requirement is met without the four


def test_every_crmlib_module_imports_without_the_extras(plain):
    code = ("import importlib, pkgutil, crmlib\n"
            "for m in pkgutil.walk_packages(crmlib.__path__, 'crmlib.'):\n"
            "    importlib.import_module(m.name)\n"
            "print('ok')")
    done = _run([str(plain["python"]), "-c", code], env=plain["env"], cwd=plain["cwd"])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_crmlib_help_works(plain):
    done = _run([str(plain["bin"] / "crmlib"), "--help"], env=plain["env"], cwd=plain["cwd"])
    assert done.returncode == 0 and "usage: crmlib" in done.stdout and done.stderr == ""


def test_the_spark_engine_says_in_one_line_how_to_add_it(plain):
    env = {**plain["env"], "CRMLIB_HOME": str(ROOT)}  # the project's notebooks
    done = _run([str(plain["bin"] / "crmlib"), "run", "payment_default", "--engine", "spark"],
                env=env, cwd=plain["cwd"])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip install 'crmlib[spark]'" in done.stderr, done.stderr
