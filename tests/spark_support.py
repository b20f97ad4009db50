"""Shared pieces of the Spark tests: a spark-defaults.conf that keeps the notebook kernel's Spark
small, reading a report's rules table back from its executed notebook, and comparing a Spark
result with the pandas path's frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

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


def assert_same_frame(ref: pd.DataFrame, got: pd.DataFrame):
    """Same columns, dtypes and rows; ints, flags and categories exact, floats to 1e-9."""
    assert list(got.columns) == list(ref.columns)
    assert len(got) == len(ref)
    for col in ref.columns:
        a, b = ref[col], got[col]
        assert b.dtype == a.dtype, f"{col}: dtype {b.dtype}, the pandas path has {a.dtype}"
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert list(b.cat.categories) == list(a.cat.categories), col
            assert b.cat.ordered == a.cat.ordered, col
            assert (b.astype(str).to_numpy() == a.astype(str).to_numpy()).all(), col
        elif a.dtype.kind == "f":
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=1e-9, atol=1e-9,
                                       equal_nan=True, err_msg=col)
        else:
            assert (b.isna() == a.isna()).all(), col
            mismatch = int((b[a.notna()].to_numpy() != a[a.notna()].to_numpy()).sum())
            assert mismatch == 0, f"{col}: {mismatch} rows differ"
