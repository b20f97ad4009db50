import subprocess
import sys

import pytest

from crmlib.cli import main


def test_sample_refuses_to_overwrite(small_url, capsys):
    assert main(["sample", "--customers", "100", "--url", small_url, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already exists; pass --replace" in err and err.count("\n") == 1


@pytest.mark.parametrize("n", ["10", "0"])
def test_sample_rejects_tiny_sizes(tmp_path, capsys, n):
    assert main(["sample", "--customers", n, "--url", f"sqlite:///{tmp_path}/x.sqlite", "--quiet"]) == 2
    assert "'customers' must be an int >= 50" in capsys.readouterr().err


def test_entry_point_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/s.sqlite"
    out = subprocess.run([sys.executable, "-m", "crmlib.cli", "sample", "--customers", "60", "--url", url,
                          "--quiet"], capture_output=True, text=True, check=True)
    assert "built" in out.stdout and (tmp_path / "s.sqlite").exists()


def _quiet_env():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}  # the user's defaults


@pytest.mark.parametrize("argv", [["--help"], ["import", "--help"], ["run", "--help"]])
def test_help_prints_no_warning_and_imports_no_spark(argv):
    # pyspark warns that it does not fully support pandas 3 whenever something imports it;
    # nothing behind the help of these commands needs Spark, so nothing may import it
    code = ("import runpy, sys; sys.argv = ['crmlib', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('crmlib.cli', run_name='__main__')\n"
            "except SystemExit as stop:\n    assert stop.code == 0, stop.code\n"
            "print('pyspark imported:', any(m.split('.')[0] in ('pyspark', 'pandera') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          env=_quiet_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "usage: crmlib" in done.stdout and done.stdout.rstrip().endswith("pyspark imported: False")
