"""RFM table, quintile scores, named segments and the segment summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import segments_frames as F

from crmlib.errors import DataContractError, ParameterError
from crmlib.segments import (
    SEGMENT_MAPS,
    SEGMENT_ORDER,
    assign_segments,
    rfm_scores,
    rfm_table,
    segment_summary,
)
from crmlib.segments.rfm import RFM_COLUMNS


def test_rfm_table_by_hand():
    rfm = rfm_table(F.transactions(), as_of=F.AS_OF).set_index("customer_id")
    assert list(rfm.index) == [1, 2, 4]
    assert rfm.loc[1, ["recency", "frequency", "monetary"]].tolist() == [11.0, 3, 150.0]
    assert rfm.loc[2, ["recency", "frequency", "monetary"]].tolist() == [58.0, 1, 100.0]
    # one purchase and one refund: frequency 1, refund subtracted from monetary
    assert rfm.loc[4, ["recency", "frequency", "monetary"]].tolist() == [75.0, 1, 40.0]
    assert rfm.loc[1, "first_purchase"] == pd.Timestamp("2025-01-05 10:00")


def test_rfm_table_with_customers_lists_non_buyers():
    rfm = rfm_table(F.transactions(), as_of=F.AS_OF, customers=F.customers()).set_index("customer_id")
    assert list(rfm.index) == [1, 2, 3, 4, 5, 6]
    for cid in (3, 5, 6):
        assert rfm.loc[cid, "frequency"] == 0
        assert np.isnan(rfm.loc[cid, "recency"])
        assert rfm.loc[cid, "monetary"] == 0.0
    assert pd.isna(rfm.loc[5, "last_purchase"])


def test_rfm_table_only_refund_customer():
    tx = pd.DataFrame({"customer_id": [9], "ordered_at": pd.to_datetime(["2025-01-02"]),
                       "amount": [-25.0]})
    rfm = rfm_table(tx, as_of=F.AS_OF, customers=pd.DataFrame({"customer_id": [9]}))
    assert rfm.loc[0, "frequency"] == 0
    assert rfm.loc[0, "monetary"] == -25.0
    scored = rfm_scores(rfm)
    assert scored.loc[0, "segment"] == "No Purchase"


def test_rfm_table_same_day_order_counts():
    rfm = rfm_table(F.transactions(), as_of="2025-03-20").set_index("customer_id")
    assert rfm.loc[1, "recency"] == 0.0
    assert rfm.loc[1, "frequency"] == 3


def test_rfm_table_default_as_of_is_last_order_day():
    rfm = rfm_table(F.transactions()).set_index("customer_id")
    assert rfm.loc[1, "recency"] == 0.0
    assert rfm.loc[2, "recency"] == 47.0


def test_rfm_table_as_of_before_any_order():
    rfm = rfm_table(F.transactions(), as_of="2024-12-31")
    assert list(rfm.columns) == list(RFM_COLUMNS)
    assert len(rfm) == 0
    scored = rfm_scores(rfm)
    assert len(scored) == 0 and "segment" in scored
    summary = segment_summary(scored)
    assert len(summary) == 0 and "revenue_share" in summary


def test_as_of_before_any_order_with_customers_all_no_purchase():
    rfm = rfm_table(F.transactions(), as_of="2024-12-31", customers=F.customers())
    scored = rfm_scores(rfm)
    assert set(scored["segment"]) == {"No Purchase"}
    assert (scored[["R", "F", "M"]] == 0).all().all()
    summary = segment_summary(scored)
    assert summary["segment"].tolist() == ["No Purchase"]
    assert np.isnan(summary.loc[0, "revenue_share"])


def test_rfm_table_empty_transactions():
    empty = F.transactions().iloc[:0]
    rfm = rfm_table(empty, as_of=F.AS_OF)
    assert len(rfm) == 0 and list(rfm.columns) == list(RFM_COLUMNS)


def test_rfm_table_empty_without_as_of():
    with pytest.raises(ParameterError, match="'as_of' is None and there is no order"):
        rfm_table(F.transactions().iloc[:0])


def test_rfm_scores_by_hand():
    scored = rfm_scores(rfm_table(F.transactions(), as_of=F.AS_OF)).set_index("customer_id")
    assert scored["R"].tolist() == [5, 4, 2]
    assert scored["F"].tolist() == [5, 3, 3]  # tied frequencies share a score
    assert scored["M"].tolist() == [5, 4, 2]
    assert scored["FM"].tolist() == [5, 4, 3]  # (3 + 4) / 2 = 3.5 rounds up
    assert scored["rfm_score"].tolist() == ["555", "434", "232"]
    assert scored["segment"].tolist() == ["Champions", "Loyal", "At Risk"]


def test_rfm_scores_rf_map():
    scored = rfm_scores(rfm_table(F.transactions(), as_of=F.AS_OF), segment_map="rf")
    assert scored["segment"].tolist() == ["Champions", "Potential Loyalist", "At Risk"]


def test_rfm_scores_does_not_change_input():
    rfm = rfm_table(F.transactions(), as_of=F.AS_OF)
    before = rfm.copy()
    rfm_scores(rfm)
    pd.testing.assert_frame_equal(rfm, before)


def test_quintiles_are_balanced_on_distinct_values():
    rfm = pd.DataFrame({"customer_id": range(100), "recency": np.arange(100.0),
                        "frequency": np.arange(1, 101), "monetary": np.arange(100.0) + 1})
    scored = rfm_scores(rfm)
    for col in ("R", "F", "M"):
        assert scored[col].value_counts().sort_index().tolist() == [20] * 5
    assert scored.loc[0, "R"] == 5 and scored.loc[99, "R"] == 1


def test_score_maps_cover_all_cells_and_named_segments():
    for grid in SEGMENT_MAPS.values():
        assert len(grid) == 5 and all(len(row) == 5 for row in grid)
        assert set(name for row in grid for name in row) <= set(SEGMENT_ORDER)
    eleven = {name for row in SEGMENT_MAPS["rfm"] for name in row}
    assert eleven == set(SEGMENT_ORDER) - {"No Purchase"}
    assert len(eleven) == 11


@pytest.mark.parametrize(
    ("r", "x", "segment"),
    [(5, 5, "Champions"), (5, 1, "New"), (4, 1, "Promising"), (3, 1, "About to Sleep"),
     (3, 3, "Need Attention"), (2, 5, "Can't Lose Them"), (1, 1, "Lost"), (2, 2, "Hibernating"),
     (1, 3, "At Risk"), (4, 4, "Loyal"), (4, 2, "Potential Loyalist")],
)
def test_assign_segments_rfm_map(r, x, segment):
    assert assign_segments(pd.Series([r]), pd.Series([x])).iloc[0] == segment


def test_custom_grid():
    grid = tuple(tuple(f"r{5 - i}x{j + 1}" for j in range(5)) for i in range(5))
    assert assign_segments(pd.Series([4]), pd.Series([2]), segment_map=grid).iloc[0] == "r4x2"


def test_segment_summary_by_hand():
    scored = rfm_scores(rfm_table(F.transactions(), as_of=F.AS_OF, customers=F.customers()))
    summary = segment_summary(scored).set_index("segment")
    assert summary.index.tolist() == ["Champions", "Loyal", "At Risk", "No Purchase"]
    assert summary["customers"].tolist() == [1, 1, 1, 3]
    assert summary.loc["Champions", "revenue_share"] == pytest.approx(150 / 290)
    assert summary.loc["No Purchase", "customer_share"] == pytest.approx(0.5)
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"segment_map": "xyz"}, ParameterError,
      r"segments.rfm_scores: 'segment_map' must be one of \['rfm', 'rf'\]; got 'xyz'"),
     ({"segment_map": (("a",) * 5,) * 4}, ParameterError, r"'segment_map' must be a 5 x 5 grid"),
     ({"segment_map": 3}, ParameterError, r"'segment_map' must be one of \['rfm', 'rf'\] or a 5 x 5")],
)
def test_rfm_scores_bad_map(kwargs, error, match):
    with pytest.raises(error, match=match):
        rfm_scores(rfm_table(F.transactions(), as_of=F.AS_OF), **kwargs)


def test_rfm_table_missing_column():
    with pytest.raises(DataContractError,
                       match=r"segments.rfm_table: missing column\(s\) \['amount'\]; found"):
        rfm_table(F.transactions().drop(columns="amount"), as_of=F.AS_OF)


def test_rfm_scores_missing_column():
    with pytest.raises(DataContractError, match=r"rfm_scores: missing column\(s\) \['monetary'\]"):
        rfm_scores(pd.DataFrame({"customer_id": [1], "recency": [1.0], "frequency": [1]}))


def test_rfm_table_bad_as_of():
    with pytest.raises(ParameterError, match=r"segments.rfm_table: 'as_of' must be a date"):
        rfm_table(F.transactions(), as_of=[2025])
