"""A real Spark cluster on loopback: a standalone master and one worker, started and stopped by PID.

The analysis runs in a child Python process (a driver of its own), because this test process
already holds the local session of the other Spark tests and a process has one SparkContext.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

DRIVER = r"""
import json, sys
from crmlib.baskets import spark as sr
from crmlib.spark import get_session
spark = get_session(sys.argv[1], app_name="crmlib-cluster-test", config={
    "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2",
    "spark.executor.memory": "512m", "spark.driver.memory": "512m", "spark.cores.max": "1"})
try:
    b = sr.baskets(spark, sys.argv[2])
    sets, n = sr.frequent_itemsets(b, min_support=float(sys.argv[3]))
    rows = sets.collect()
    print("RESULT " + json.dumps({"n": n, "master": spark.sparkContext.master,
          "executors": spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size(),
          "itemsets": {",".join(r["items"]): r["count"] for r in rows}}))
finally:
    spark.stop()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not seen in {log} after {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started, and the children in its own process group (executors)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def standalone_cluster(tmp_path):
    pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed")
    from crmlib.spark import java_available

    if not java_available():
        pytest.skip("the standalone-cluster test needs a Java runtime (java not on PATH, no JAVA_HOME)")
    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path),
           "SPARK_WORKER_DIR": str(tmp_path / "work"), "PYSPARK_PYTHON": sys.executable,
           "SPARK_NO_DAEMONIZE": "1"}
    port, ui1, ui2 = _free_port(), _free_port(), _free_port()
    cls = str(home / "bin" / "spark-class")
    started = []
    try:
        mlog = tmp_path / "master.log"
        master = subprocess.Popen(
            [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(ui1)], env=env, stdout=mlog.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        started.append(master)
        _wait_for(mlog, "I have been elected leader", master)
        url = f"spark://127.0.0.1:{port}"
        wlog = tmp_path / "worker.log"
        worker = subprocess.Popen(
            [cls, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
             "--memory", "1g", "--webui-port", str(ui2), "--work-dir", str(tmp_path / "work")],
            env=env, stdout=wlog.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        started.append(worker)
        _wait_for(wlog, "Successfully registered with master", worker)
        yield url, env
    finally:
        for proc in reversed(started):
            _stop(proc)
    assert all(p.poll() is not None for p in started)


def test_fpgrowth_on_a_standalone_cluster(standalone_cluster, small_mart, spark):
    from crmlib.baskets import spark as sr

    url, env = standalone_cluster
    proc = subprocess.run([sys.executable, "-c", DRIVER, url, str(small_mart), "0.01"], env=env,
                          capture_output=True, text=True, timeout=400)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert proc.returncode == 0 and line, proc.stderr[-3000:]
    got = json.loads(line[len("RESULT "):])
    assert got["master"] == url and got["executors"] >= 2  # the driver plus the worker's executor
    # the same itemsets as the local session of the other tests
    local, n = sr.frequent_itemsets(sr.baskets(spark, small_mart), min_support=0.01)
    assert got["n"] == n
    assert got["itemsets"] == {",".join(r["items"]): r["count"] for r in local.collect()}


def test_report_on_a_standalone_cluster(standalone_cluster, small_mart, tmp_path, monkeypatch):
    """One report through the runner, its Spark driver (the notebook kernel) connected to the
    standalone master: published, saying engine Spark and the master URL, with the pandas run's rules."""
    from spark_support import rules_output, small_spark_conf

    from crmlib.config import NOTEBOOKS_DIR
    from crmlib.report.runner import run_reports

    url, _ = standalone_cluster
    monkeypatch.setenv("SPARK_CONF_DIR", str(small_spark_conf(tmp_path / "conf")))  # 512m, 1 core
    reports = tmp_path / "reports"
    params = {"min_support": 0.01, "max_len": 2}
    (on_cluster,) = run_reports(["association_rules"], notebooks_dir=NOTEBOOKS_DIR, reports_dir=reports,
                                parameters={**params, "engine": "spark", "spark_master": url,
                                            "mart": str(small_mart)}, progress=False)
    assert on_cluster.status == "ok", on_cluster.message
    (on_pandas,) = run_reports(["association_rules"], notebooks_dir=NOTEBOOKS_DIR, reports_dir=reports,
                               parameters=params, progress=False)
    assert on_pandas.status == "ok", on_pandas.message
    published = (reports / "association_rules" / "latest.html")
    page = (on_cluster.run_dir / "association_rules.html").read_text()
    assert f"engine Spark ({url})" in page
    assert f"<strong>Engine: Spark</strong> (master <code>{url}</code>)" in page
    summary = json.loads((on_cluster.run_dir / "summary.json").read_text())
    assert (summary["engine"], summary["spark_master"]) == ("spark", url)
    assert rules_output(on_cluster.run_dir) == rules_output(on_pandas.run_dir)
    ref = json.loads((on_pandas.run_dir / "summary.json").read_text())["metrics"]
    assert {k: v for k, v in summary["metrics"].items() if k != "engine"} == \
           {k: v for k, v in ref.items() if k != "engine"}
    assert published.is_file()
