"""Acquisition cost per campaign and channel, and the cohort retention matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import segments_frames as F

from crmlib.errors import DataContractError, ParameterError
from crmlib.segments import acquisition_cost, cohort_retention


def test_cost_per_campaign_by_hand():
    out = acquisition_cost(F.customers(), F.campaigns(), F.orders()).set_index("campaign_id")
    assert out["acquired"].tolist() == [3, 2, 0]
    # customer 3 never ordered, customer 6 only has a cancelled order
    assert out["converted"].tolist() == [2, 1, 0]
    assert out.loc[10, ["cost_per_acquired", "cost_per_converted"]].tolist() == [100.0, 150.0]
    assert out.loc[20, ["cost_per_acquired", "cost_per_converted"]].tolist() == [50.0, 100.0]
    assert np.isnan(out.loc[30, "cost_per_converted"])  # acquired nobody
    assert out.loc[10, "conversion_rate"] == pytest.approx(2 / 3)


def test_cost_per_campaign_channel():
    out = acquisition_cost(F.customers(), F.campaigns(), F.orders(), by="channel").set_index("channel")
    assert out.loc["email", ["campaigns", "cost", "acquired", "converted"]].tolist() == [2, 350.0, 3, 2]
    assert out.loc["email", "cost_per_converted"] == 175.0
    assert out.loc["social", "cost_per_converted"] == 100.0


def test_cost_per_acquisition_channel():
    out = acquisition_cost(F.customers(), F.campaigns(), F.orders(),
                           by="acquisition_channel").set_index("acquisition_channel")
    # campaign 10 (300) splits over its 3 customers: 2 email, 1 search; campaign 20 over 2 social
    assert out["cost"].to_dict() == {"email": 200.0, "organic": 0.0, "search": 100.0, "social": 100.0}
    assert out.loc["email", "cost_per_converted"] == 200.0
    assert out.loc["organic", "cost_per_converted"] == 0.0
    assert out["acquired"].sum() == 6


def test_without_orders_every_acquired_customer_converts():
    out = acquisition_cost(F.customers(), F.campaigns()).set_index("campaign_id")
    assert out["converted"].tolist() == out["acquired"].tolist()


def test_as_of_limits_customers_and_orders():
    out = acquisition_cost(F.customers(), F.campaigns(), F.orders(), as_of="2025-01-31")
    out = out.set_index("campaign_id")
    # customers 2 (created Jan 20) yes, 6 (created Mar 1) no; customer 2's order is in February
    assert out.loc[10, ["acquired", "converted"]].tolist() == [3, 1]
    assert out.loc[20, ["acquired", "converted"]].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"by": "region"}, ParameterError,
      r"acquisition_cost: 'by' must be one of \['campaign', 'channel', 'acquisition_channel'\]; got 'region'"),
     ({"exclude_status": "cancelled"}, ParameterError, r"'exclude_status' must be a tuple of str")],
)
def test_acquisition_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        acquisition_cost(F.customers(), F.campaigns(), F.orders(), **kwargs)


def test_acquisition_missing_column():
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['acquisition_channel'\]"):
        acquisition_cost(F.customers().drop(columns="acquisition_channel"), F.campaigns(),
                         by="acquisition_channel")


def test_cohort_retention_by_hand():
    m = cohort_retention(F.transactions(), as_of=F.AS_OF)
    assert [str(p) for p in m.index] == ["2025-01", "2025-02"]
    assert list(m.columns) == [0, 1, 2]
    assert m.loc[pd.Period("2025-01", "M")].tolist() == [1.0, 0.5, 0.5]
    row = m.loc[pd.Period("2025-02", "M")]
    assert row.iloc[:2].tolist() == [1.0, 0.0]
    assert np.isnan(row.iloc[2])  # April lies after as_of


def test_cohort_retention_counts_and_quarters():
    counts = cohort_retention(F.transactions(), as_of=F.AS_OF, normalize=False)
    assert counts[0].tolist() == [2.0, 1.0]
    quarters = cohort_retention(F.transactions(), as_of=F.AS_OF, freq="Q")
    assert [str(p) for p in quarters.index] == ["2025Q1"]
    assert quarters.iloc[0].tolist() == [1.0]


def test_cohort_retention_as_of_before_any_order():
    m = cohort_retention(F.transactions(), as_of="2024-12-31")
    assert len(m) == 0


def test_cohort_retention_bad_freq():
    with pytest.raises(ParameterError, match=r"cohort_retention: 'freq' must be one of \['M', 'Q'\]; got 'W'"):
        cohort_retention(F.transactions(), freq="W")
