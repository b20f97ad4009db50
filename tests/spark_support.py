"""Shared pieces of the tests that run a report on Spark: a spark-defaults.conf that keeps the
notebook kernel's Spark small, and reading a report's rules table back from its executed notebook."""

from __future__ import annotations

import json
from pathlib import Path

SMALL_SPARK_DEFAULTS = """\
spark.ui.enabled false
spark.ui.showConsoleProgress false
spark.sql.shuffle.partitions 2
spark.default.parallelism 2
spark.driver.memory 512m
spark.executor.memory 512m
spark.cores.max 1
"""


def small_spark_conf(folder: Path) -> Path:
    """A SPARK_CONF_DIR whose spark-defaults.conf every Spark driver started under it reads."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spark-defaults.conf").write_text(SMALL_SPARK_DEFAULTS)
    return folder


def rules_output(run_dir: Path, report: str = "association_rules") -> str:
    """The HTML of the rules table (cell 'Top N rules by lift') of an executed notebook."""
    nb = json.loads((run_dir / f"{report}.ipynb").read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/html", ""))
            if "rules by lift" in text:
                return text
    raise AssertionError(f"no rules table in {run_dir}")
