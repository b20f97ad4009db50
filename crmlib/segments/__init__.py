"""Customer segmentation and value: RFM, behavioural clusters, profit tiers, CLV, acquisition, pricing.

All functions take DataFrames shaped like the canonical tables (or each other's outputs) and return
DataFrames; nothing here opens a database. Plots live in :mod:`crmlib.segments.plots`.

>>> from crmlib import segments
>>> tx = segments.order_values(orders, order_lines)          # doctest: +SKIP
>>> scored = segments.rfm_scores(segments.rfm_table(tx, as_of="2025-06-30"))  # doctest: +SKIP
"""

from __future__ import annotations

from .acquisition import acquisition_cost, cohort_retention
from .clustering import CustomerClusters
from .clv import (
    TIME_UNITS,
    BetaGeoFitter,
    GammaGammaFitter,
    clv_summary,
    customer_lifetime_value,
    dropped_text,
)
from .coverage import GAP_NOTES, data_gaps
from .features import CLUSTER_FEATURES, customer_features, order_values
from .pricing import discount_response, pricing_tests, segment_pricing
from .profit import customer_margin, pareto_curve, profit_tiers, tier_summary
from .review import Findings, findings
from .rfm import (
    SEGMENT_MAPS,
    SEGMENT_ORDER,
    assign_segments,
    rfm_scores,
    rfm_table,
    segment_summary,
)

__all__ = [
    "CLUSTER_FEATURES",
    "SEGMENT_MAPS",
    "SEGMENT_ORDER",
    "TIME_UNITS",
    "BetaGeoFitter",
    "CustomerClusters",
    "Findings",
    "GAP_NOTES",
    "GammaGammaFitter",
    "acquisition_cost",
    "assign_segments",
    "clv_summary",
    "cohort_retention",
    "customer_features",
    "customer_lifetime_value",
    "customer_margin",
    "data_gaps",
    "discount_response",
    "dropped_text",
    "findings",
    "order_values",
    "pareto_curve",
    "pricing_tests",
    "profit_tiers",
    "rfm_scores",
    "rfm_table",
    "segment_pricing",
    "segment_summary",
    "tier_summary",
]
