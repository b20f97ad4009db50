"""crmlib.segments.review: the segmentation report's findings sentences."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from crmlib import segments as seg
from crmlib.errors import DataContractError


@pytest.fixture
def parts():
    return dict(
        segment_table=pd.DataFrame({"segment": ["Champions", "Lost"], "customer_share": [0.2, 0.8],
                                    "revenue_share": [0.6, 0.4]}),
        pareto=pd.DataFrame({"customer_share": [0.1, 0.2, 1.0], "value_share": [0.5, 0.7, 1.0]}),
        tiers=pd.DataFrame({"tier": ["high", "low"], "customers": [1200, 4800], "avg_margin": [950.4, 20.0]}),
        clusters=SimpleNamespace(n_clusters_=3, cluster_names_=pd.Series(["big spenders", "a", "b"]),
                                 profiles_=pd.DataFrame({"share": [0.4, 0.3, 0.3]})),
        clv=pd.DataFrame({"clv": [10.0, 20.0, 30.0, 40.0], "probability_alive": [0.9, 0.4, 0.2, 0.8]}),
        at_risk=pd.DataFrame({"customer_id": [7]}),
        horizon=12,
        by_campaign=pd.DataFrame({"name": ["Spring", "Radio", "Idle"], "converted": [10, 4, 0],
                                  "cost_per_converted": [36.0, 400.0, float("nan")]}),
        tests=pd.DataFrame({"test": ["price_band_mix", "discount_use"], "p_value": [0.2, 0.0001]}),
        response=pd.DataFrame({"segment": ["A", "B"], "volume_lift": [0.05, 0.07]}),
        retention=pd.DataFrame({0: [1.0, 1.0], 1: [0.3, 0.5]}),
        gaps={},
    )


def test_sentences_by_hand(parts):
    found = seg.findings(**parts)
    assert found.champions_share == 0.2 and found.top20_share == 0.7
    assert found.sentences == [
        "Champions are 20% of customers and bring 60% of net revenue.",
        "The top 20% of customers by profit earn 70% of the profit; the high tier (1,200 customers) "
        "averages 950 in profit.",
        "The behavioural clustering finds 3 groups; the largest is 'big spenders' (40% of buyers).",
        "BG/NBD puts 50% of buyers below a 50% chance of still being active; 1 of them were in the top "
        "quarter by spend.",
        "Expected value over the next 12 months: 100 in total, 25 for the median customer.",
        "Acquisition cost per converted customer ranges from 36 (Spring) to 400 (Radio).",
        "Segments differ in discount use (p < 0.001) and do not differ clearly in price-band mix "
        "(p = 0.2); discounted lines are +6% larger on average, so discounts buy little extra volume: "
        "one list price with targeted discounts looks sufficient.",
        "On average 40% of a monthly cohort buys again in its second month.",
    ]


def test_gaps_leave_sections_out_and_say_why(parts):
    gaps = {"unit_cost": "No unit cost.", "campaigns": "No campaign.", "discounts": "No discount."}
    no_champions = parts["segment_table"].assign(segment=["Loyal", "Lost"])
    found = seg.findings(**{**parts, "gaps": gaps, "segment_table": no_champions,
                            "by_campaign": pd.DataFrame(), "tests": pd.DataFrame()})
    assert found.champions_share == 0.0
    assert found.sentences[0] == "No customer scores as a Champion."
    assert "by revenue earn 70% of the revenue" in found.sentences[1]
    assert not any("Acquisition" in s or "discount use" in s for s in found.sentences)
    assert found.sentences[-3:] == list(gaps.values())


def test_no_campaign_acquired_a_buyer(parts):
    idle = parts["by_campaign"].assign(converted=0)
    assert "No campaign acquired a customer who went on to buy." in seg.findings(**{**parts, "by_campaign": idle}).sentences


def test_missing_column(parts):
    with pytest.raises(DataContractError, match=r"segments.findings\(clv\): missing column"):
        seg.findings(**{**parts, "clv": parts["clv"].drop(columns="probability_alive")})
