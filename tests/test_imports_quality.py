"""Data-quality measures and their traffic lights."""

import pandas as pd
import pytest

import crmlib
from crmlib.imports.dedup import Deduplicator
from crmlib.imports.quality import (
    DIMENSIONS,
    REPORT_COLUMNS,
    import_history,
    load_tables,
    quality_report,
    traffic_lights,
)


@pytest.fixture(scope="module")
def sample_report(small_url):
    tables = load_tables(crmlib.connect(small_url))
    return quality_report(tables, as_of="latest", dedup=Deduplicator().fit(tables["customers"]))


def test_report_shape(sample_report):
    assert list(sample_report.columns) == REPORT_COLUMNS
    assert set(sample_report["dimension"]) == set(DIMENSIONS)
    assert sample_report.groupby("table").size().eq(len(DIMENSIONS)).all()


def test_the_clean_sample_is_green_but_for_freshness_gaps(sample_report):
    core = sample_report[sample_report["dimension"].isin(["validity", "uniqueness", "referential_integrity"])]
    assert set(core["status"]) <= {"green", "n/a"}


def test_problems_turn_the_lights():
    customers = pd.DataFrame({"customer_id": [1, 2, 2], "gender": ["male", "m", None],
                              "created_at": pd.to_datetime(["2025-01-01"] * 3)})
    orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [1, 9], "channel_id": [1, 1],
                           "ordered_at": pd.to_datetime(["2024-01-01", "2024-02-01"]), "status": ["completed"] * 2})
    report = quality_report({"customers": customers, "orders": orders}, as_of="2025-01-10")
    got = report.set_index(["table", "dimension"])
    assert got.loc[("customers", "uniqueness"), "status"] == "red"
    assert got.loc[("customers", "validity"), "value"] == pytest.approx(1 / 3)
    assert got.loc[("orders", "referential_integrity"), "detail"] == "1 customer_id not in customers"
    assert got.loc[("customers", "freshness"), "value"] == 9.0
    assert got.loc[("orders", "freshness"), "status"] == "red"


def test_empty_tables_are_not_measured():
    report = quality_report({"channels": pd.DataFrame(columns=["channel_id", "name", "kind", "region"])})
    assert set(report["status"]) == {"n/a"}


def test_traffic_lights_take_the_worst(sample_report):
    lights = traffic_lights(sample_report)
    assert list(lights.columns) == ["table", *DIMENSIONS, "overall"]
    assert set(lights["overall"]) <= {"green", "amber", "red", "n/a"}


def test_import_history_is_empty_without_imports(small_url):
    runs, reasons = import_history(crmlib.connect(small_url))
    assert runs.empty and reasons.empty and "quarantined" in runs.columns
