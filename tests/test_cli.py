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
