"""A full report run never writes to the source database."""

import hashlib
import shutil

from crmlib.cli import main


def test_run_all_leaves_the_sqlite_file_unchanged(small_path, tmp_path, capsys):
    source = tmp_path / "crm.sqlite"
    shutil.copy(small_path, source)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    code = main(["run", "all", "--db", f"sqlite:///{source}", "--reports-dir", str(tmp_path / "reports"),
                 "--no-progress"])
    assert code == 0, capsys.readouterr()
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert (tmp_path / "reports" / "overview" / "latest.html").exists()
    assert (tmp_path / "reports" / "index.html").exists()
