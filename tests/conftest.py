"""Shared fixtures: a small sample database on SQLite (and PostgreSQL), built once per session.

``pytest_configure`` builds the small SQLite sample before collection and points
``CRMLIB_DB_URL`` at it, so nbval runs the notebooks against it with their default parameters.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from pgserver import PostgresServer, PostgresUnavailable  # noqa: E402

SMALL_CUSTOMERS = 2000
SEED = 7
_TMP = Path(tempfile.mkdtemp(prefix="crmlib-tests-"))


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")
    if os.environ.get("CRMLIB_TEST_DB_URL"):
        os.environ["CRMLIB_DB_URL"] = os.environ["CRMLIB_TEST_DB_URL"]
        return
    from crmlib.sample import build

    path = _TMP / "small.sqlite"
    build(f"sqlite:///{path}", customers=SMALL_CUSTOMERS, seed=SEED)
    os.environ["CRMLIB_DB_URL"] = f"sqlite:///{path}"


def pytest_unconfigure(config):
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def small_url() -> str:
    """URL of the small SQLite sample (2,000 customers, seed 7); never written by the tests."""
    return os.environ["CRMLIB_DB_URL"]


@pytest.fixture(scope="session")
def small_path(small_url) -> Path:
    return Path(small_url.removeprefix("sqlite:///"))


@pytest.fixture
def db_copy(small_path, tmp_path) -> Path:
    """A private copy of the small sample that a test may damage."""
    target = tmp_path / "copy.sqlite"
    shutil.copy(small_path, target)
    return target


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL 15 server; the tests that need it skip, with the reason, if none starts."""
    try:
        server = PostgresServer()
        server.start()
    except PostgresUnavailable as err:
        pytest.skip(f"PostgreSQL not available: {err}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """A PostgreSQL database holding the small sample (same seed as the SQLite one)."""
    from crmlib.sample import build

    url = pg_server.create_database("crm_small")
    build(url, customers=SMALL_CUSTOMERS, seed=SEED)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, small_url):
    """Run a test on both backends."""
    if request.param == "sqlite":
        return small_url
    return request.getfixturevalue("pg_url")


# ---------------------------------------------------------------------- Spark (crmlib.spark)
SPARK_TEST_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
}


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (skips, with the reason, without Java)."""
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from crmlib.spark import get_session, java_available

    if not java_available():
        pytest.skip("Spark tests need a Java runtime (java not on PATH and no JAVA_HOME)")
    session = get_session("local[2]", app_name="crmlib-tests", config=SPARK_TEST_CONFIG)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_mart(small_url, tmp_path_factory) -> Path:
    """The small sample exported to a Parquet mart (read-only for tests)."""
    from crmlib import mart

    out = tmp_path_factory.mktemp("spark-mart") / "mart"
    mart.export(small_url, out)
    return out
