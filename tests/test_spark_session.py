"""crmlib.spark.session: the driver heap a local master gets, and who may override it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crmlib.spark import session


def _quarter_of_ram_mb() -> int:
    low, high = session.LOCAL_DRIVER_MEMORY_BOUNDS_MB
    return min(max(session._usable_memory_mb() // 4, low), high)


def _physical_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


@pytest.fixture
def no_spark_conf(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))  # an empty conf folder
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    return tmp_path


@pytest.mark.parametrize("master", ["local[*]", "local[2]", "local"])
def test_local_master_gets_a_quarter_of_memory_within_bounds(no_spark_conf, master):
    assert session._local_driver_memory(master) == {"spark.driver.memory": f"{_quarter_of_ram_mb()}m"}


@pytest.mark.parametrize(("content", "expected"), [
    ("2147483648\n", 2048),  # a 2 GB container
    ("max\n", None),          # cgroup v2 without a limit
    ("9223372036854771712\n", None),  # cgroup v1 without a limit: larger than the machine
])
def test_a_container_limit_below_physical_memory_counts(monkeypatch, tmp_path, content, expected):
    limit = tmp_path / "memory.max"
    limit.write_text(content)
    monkeypatch.setattr(session, "_CGROUP_LIMITS", (str(limit), "/nonexistent"))
    assert session._usable_memory_mb() == (expected if expected is not None else _physical_mb())


def test_no_cgroup_file_means_physical_memory(monkeypatch):
    monkeypatch.setattr(session, "_CGROUP_LIMITS", ("/nonexistent/a", "/nonexistent/b"))
    assert session._usable_memory_mb() == _physical_mb()


def test_a_small_container_gets_the_floor(no_spark_conf, monkeypatch, tmp_path):
    limit = tmp_path / "memory.max"
    limit.write_text(str(2 * 2**30))  # 2 GB: a quarter is 512 MB, below Spark's own 1 GB
    monkeypatch.setattr(session, "_CGROUP_LIMITS", (str(limit),))
    assert session._local_driver_memory("local[*]") == {"spark.driver.memory": "1024m"}


@pytest.mark.parametrize("master", ["spark://host:7077", "yarn", "k8s://https://host:443"])
def test_cluster_masters_keep_sparks_own_setting(no_spark_conf, master):
    # the driver of a cluster job runs no executors: Spark's default (or the cluster's) stands
    assert session._local_driver_memory(master) == {}


@pytest.mark.parametrize("line", ["spark.driver.memory 512m", "spark.driver.memory=2g",
                                  "  spark.driver.memory\t3g"])
def test_spark_defaults_conf_wins(no_spark_conf, line):
    (no_spark_conf / "spark-defaults.conf").write_text(f"# a comment\nspark.ui.enabled false\n{line}\n")
    assert session._local_driver_memory("local[*]") == {}


def test_commented_setting_does_not_count(no_spark_conf):
    (no_spark_conf / "spark-defaults.conf").write_text("# spark.driver.memory 512m\n\n")
    assert session._local_driver_memory("local[*]") != {}


def test_submit_args_win(no_spark_conf, monkeypatch):
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-memory 700m pyspark-shell")
    assert session._local_driver_memory("local[*]") == {}


def test_a_local_session_starts_with_that_heap(tmp_path):
    """A real driver JVM: its maximum heap is the default's, not Spark's 1 GB."""
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    if not session.java_available():
        pytest.skip("needs a Java runtime")
    code = ("from crmlib.spark import get_session\n"
            "s = get_session('local[1]', config={'spark.ui.enabled': 'false'})\n"
            "print(s.sparkContext.getConf().get('spark.driver.memory'),"
            " s.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory() // 2**20)\n"
            "s.stop()\n")
    env = {**os.environ, "SPARK_CONF_DIR": str(tmp_path)}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout.split()
    expected = _quarter_of_ram_mb()
    assert out[0] == f"{expected}m"
    # the JVM reports -Xmx give or take its heap regions and one survivor space
    assert 0.85 * expected <= int(out[1]) <= 1.01 * expected
