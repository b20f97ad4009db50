"""Discount use, price-band mix and volume response per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import segments_frames as F

from crmlib.errors import DataContractError
from crmlib.segments import discount_response, pricing_tests, segment_pricing

SEGS = pd.DataFrame({"customer_id": [1, 2, 4], "segment": ["Champions", "Loyal", "At Risk"]})


def test_segment_pricing_by_hand():
    out = segment_pricing(F.orders(), F.order_lines(), F.products(), SEGS).set_index("segment")
    assert out.index.tolist() == ["At Risk", "Champions", "Loyal"]
    ch = out.loc["Champions"]
    assert ch["lines"] == 4 and ch["customers"] == 1
    assert ch["discount_line_share"] == 0.5
    assert ch["discount_revenue_share"] == pytest.approx(140 / 170)
    assert ch["avg_discount"] == pytest.approx(20 / 170)
    assert ch[["band_low", "band_mid", "band_high"]].tolist() == pytest.approx([0.2, 0.2, 0.6])
    assert out.loc["Loyal", "band_high"] == 1.0
    # the return line is left out: 1 line, all mid
    assert out.loc["At Risk", ["lines", "band_mid"]].tolist() == [1, 1.0]


def test_discount_response_by_hand():
    out = discount_response(F.orders(), F.order_lines(), SEGS).set_index("segment")
    ch = out.loc["Champions"]
    assert ch[["lines_full_price", "lines_discounted"]].tolist() == [2, 2]
    assert ch["qty_full_price"] == 1.5 and ch["qty_discounted"] == 1.0
    assert ch["volume_lift"] == pytest.approx(1.0 / 1.5 - 1)
    assert np.isnan(out.loc["Loyal", "units_per_10pt"])  # never discounted


def test_discount_response_detects_responsive_segment():
    rng = np.random.default_rng(0)
    n = 400
    disc = rng.choice([0.0, 0.1, 0.2, 0.3], n)
    cust = np.r_[np.ones(n // 2, int), np.full(n // 2, 2)]
    qty = np.where(cust == 1, 1 + np.round(10 * disc), 1)  # segment A buys one more per 10 points
    orders = pd.DataFrame({"order_id": range(n), "customer_id": cust,
                           "ordered_at": pd.Timestamp("2025-01-01"), "status": "completed"})
    lines = pd.DataFrame({"order_id": range(n), "quantity": qty, "unit_price": 10.0,
                          "discount": disc})
    segs = pd.DataFrame({"customer_id": [1, 2], "segment": ["A", "B"]})
    out = discount_response(orders, lines, segs).set_index("segment")
    assert out.loc["A", "units_per_10pt"] == pytest.approx(1.0, abs=0.05)
    assert out.loc["B", "units_per_10pt"] == pytest.approx(0.0, abs=1e-9)


def test_pricing_tests():
    out = pricing_tests(F.orders(), F.order_lines(), F.products(), SEGS)
    assert out["test"].tolist() == ["price_band_mix", "discount_use"]
    assert out.loc[0, "dof"] == 4
    assert 0 <= out.loc[0, "p_value"] <= 1
    one = pricing_tests(F.orders(), F.order_lines(), F.products(), SEGS.iloc[:1])
    assert one["p_value"].isna().all()


def test_segments_missing_column():
    with pytest.raises(DataContractError, match=r"segment_pricing: missing column\(s\) \['segment'\]"):
        segment_pricing(F.orders(), F.order_lines(), F.products(), SEGS[["customer_id"]])


def test_products_missing_price_band():
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['price_band'\]"):
        segment_pricing(F.orders(), F.order_lines(), F.products().drop(columns="price_band"), SEGS)
