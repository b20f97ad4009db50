"""The runner on the Spark engine (crmlib.report.runner): the mart exported once before any kernel,
the fact-load guard and the driver log in every Spark kernel, a Spark job failing mid-report, and
a master that does not answer."""

from __future__ import annotations

import json
import shutil
import socket

import pandas as pd
import pytest
from report_support import copy_notebooks
from spark_support import small_spark_conf

from crmlib import engines, mart
from crmlib.cli import main
from crmlib.errors import CrmlibError
from crmlib.report import runner

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def spark_runs(tmp_path_factory, small_path):
    """Runs of the `sparked` fixture (and a copy): good, then a failing Spark job, then a fact load."""
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from crmlib.spark import java_available

    if not java_available():
        pytest.skip("the Spark engine needs a Java runtime")
    root = tmp_path_factory.mktemp("spark-runner")
    db = root / "crm.sqlite"
    shutil.copy(small_path, db)
    url = f"sqlite:///{db}"
    notebooks = copy_notebooks(root / "notebooks", ("sparked",))
    shutil.copy(notebooks / "sparked.ipynb", notebooks / "sparked_too.ipynb")
    reports = root / "reports"
    exports = []
    real_export = mart.export
    patch = pytest.MonkeyPatch()
    patch.setenv("SPARK_CONF_DIR", str(small_spark_conf(root / "spark-conf")))
    patch.setattr(mart, "export", lambda *a, **k: exports.append(a) or real_export(*a, **k))
    common = {"notebooks_dir": notebooks, "reports_dir": reports, "progress": False, "timeout": 600,
              "db_url": url}
    try:
        good = runner.run_reports(["sparked", "sparked_too"], **common)
        exported = list(exports)  # by this run of two Spark reports
        latest = (reports / "sparked" / "latest.html").read_bytes()
        (failed,) = runner.run_reports(["sparked"], parameters={"fail": "true"}, **common)
        (loaded,) = runner.run_reports(["sparked"], parameters={"load_fact": "true"}, **common)
    finally:
        patch.undo()
    return {"good": good, "failed": failed, "loaded": loaded, "exports": exported, "url": url,
            "reports": reports, "latest": latest}


def test_the_mart_is_exported_once_before_the_kernels_and_passed_to_each(spark_runs):
    good = spark_runs["good"]
    assert [r.status for r in good] == ["ok", "ok"], [r.message for r in good]
    folder = str(engines.default_mart(spark_runs["url"]))
    assert spark_runs["exports"] == [(spark_runs["url"], engines.default_mart(spark_runs["url"]))]
    lines = len(mart.read(folder, "fact_sales"))
    for result in good:
        summary = result.summary
        assert summary["effective_parameters"]["mart"] == folder
        assert summary["engine"] == "spark" and summary["metrics"]["engine"] == "spark"
        assert summary["metrics"]["mart"] == folder and summary["metrics"]["order_lines"] == lines
        assert summary["metrics"]["guard"] == "1"  # the fact-load guard is on in a Spark kernel
        assert summary["spark_log"] == runner.SPARK_LOG
        assert (result.run_dir / runner.SPARK_LOG).is_file()
        (entry,) = summary["lists"]
        written = pd.read_parquet(result.run_dir / "lists" / "revenue.parquet")
        assert entry["rows"] == len(written) == written["customer_id"].nunique() > 0


def test_a_spark_job_failing_mid_report_fails_the_report_and_keeps_the_last_good(spark_runs):
    failed = spark_runs["failed"]
    assert failed.status == "failed"
    error = failed.summary["error"]
    nb = json.loads((failed.run_dir / "sparked.ipynb").read_text())
    assert "assert_true" in "".join(nb["cells"][error["cell_index"]]["source"])  # the failing cell
    assert "planted failure" in error["evalue"] and f"cell {error['cell_index']}" in failed.message
    reports = spark_runs["reports"]
    assert (reports / "sparked" / "latest.html").read_bytes() == spark_runs["latest"]
    assert json.loads((reports / "sparked" / "latest.json").read_text())["status"] == "ok"
    assert failed.summary["lists"] == [] and not (failed.run_dir / "lists").exists()


def test_a_fact_load_in_a_spark_kernel_fails_naming_the_table(spark_runs):
    loaded = spark_runs["loaded"]
    assert loaded.status == "failed"
    evalue = loaded.summary["error"]["evalue"]
    assert "'orders'" in evalue and "eng.table('fact_orders')" in evalue, evalue


def test_an_unreachable_master_stops_before_any_kernel(tmp_path, capsys):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    notebooks = copy_notebooks(tmp_path / "notebooks", ("sparked",))
    reports = tmp_path / "reports"
    master = f"spark://127.0.0.1:{closed_port()}"
    code = main(["run", "sparked", "--engine", "spark", "--spark-master", master, "--no-progress",
                 "--notebooks-dir", str(notebooks), "--reports-dir", str(reports)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"the Spark master {master} is not reachable" in err
    assert not reports.exists() or not any(reports.rglob("*"))


def test_probe_master(monkeypatch):
    engines.probe_master("local[2]")  # nothing to probe
    engines.probe_master("yarn")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        engines.probe_master(f"spark://127.0.0.1:{closed_port()},127.0.0.1:{port}")  # one answers
    with pytest.raises(CrmlibError, match=r"crmlib run: the Spark master spark://127\.0\.0\.1:\d+ is "
                                          r"not reachable \(127\.0\.0\.1:\d+: .+\): start it"):
        engines.probe_master(f"spark://127.0.0.1:{closed_port()}", where="crmlib run")
