"""segments.data_gaps: which inputs of the segmentation report hold no data (e.g. after an import)."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlib.errors import DataContractError
from crmlib.segments import GAP_NOTES, data_gaps


def full():
    return {
        "customers": pd.DataFrame({"acquisition_campaign_id": [10, None], "acquisition_channel": ["web", None]}),
        "campaigns": pd.DataFrame({"campaign_id": [10, 20]}),
        "products": pd.DataFrame({"unit_cost": [0.0, 2.5], "price_band": [None, "low"]}),
        "order_lines": pd.DataFrame({"discount": [0.0, 0.1, None]}),
    }


def test_complete_data_has_no_gap():
    assert data_gaps(**full()) == {}


@pytest.mark.parametrize(("table", "column", "value", "gap"), [
    ("products", "unit_cost", 0.0, "unit_cost"),
    ("products", "unit_cost", None, "unit_cost"),
    ("customers", "acquisition_campaign_id", None, "campaigns"),
    ("customers", "acquisition_campaign_id", 99, "campaigns"),  # no such campaign
    ("customers", "acquisition_channel", None, "acquisition_channel"),
    ("order_lines", "discount", 0.0, "discounts"),
    ("products", "price_band", None, "price_bands"),
])
def test_a_column_without_data_is_a_gap(table, column, value, gap):
    frames = full()
    frames[table] = frames[table].assign(**{column: value})
    assert data_gaps(**frames) == {gap: GAP_NOTES[gap]}


def test_imported_export_lacks_all_but_the_basics():
    frames = full()
    frames["campaigns"] = frames["campaigns"].iloc[:0]
    frames["customers"] = frames["customers"].assign(acquisition_campaign_id=None, acquisition_channel=None)
    frames["products"] = frames["products"].assign(unit_cost=0.0, price_band=None)
    frames["order_lines"] = frames["order_lines"].assign(discount=0.0)
    assert list(data_gaps(**frames)) == list(GAP_NOTES)


def test_missing_column_is_named():
    frames = full()
    frames["products"] = frames["products"].drop(columns="price_band")
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['price_band'\]"):
        data_gaps(**frames)
