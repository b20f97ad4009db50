"""Customer segmentation and value: RFM, behavioural clusters, profit tiers, CLV, acquisition, pricing.

All functions take DataFrames shaped like the canonical tables (or each other's outputs) and return
DataFrames; nothing here opens a database. Plots live in :mod:`crmlib.segments.plots`.

>>> from crmlib import segments
>>> tx = segments.order_values(orders, order_lines)          # doctest: +SKIP
>>> scored = segments.rfm_scores(segments.rfm_table(tx, as_of="2025-06-30"))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# Names load their submodule on first use (PEP 562): RFM alone must not import scikit-learn
# (clustering) and SciPy (CLV, pricing tests), about 105 MB of a notebook kernel's memory that
# sales_performance, which only needs RFM segments, paid on either engine.
_SOURCES = {
    "acquisition": ["acquisition_cost", "cohort_retention"],
    "clustering": ["CustomerClusters"],
    "clv": ["TIME_UNITS", "BetaGeoFitter", "GammaGammaFitter", "clv_summary", "customer_lifetime_value",
            "dropped_text"],
    "coverage": ["GAP_NOTES", "data_gaps"],
    "features": ["CLUSTER_FEATURES", "customer_features", "order_values"],
    "pricing": ["discount_response", "pricing_tests", "segment_pricing"],
    "profit": ["customer_margin", "pareto_curve", "profit_tiers", "tier_summary"],
    "review": ["Findings", "findings"],
    "rfm": ["SEGMENT_MAPS", "SEGMENT_ORDER", "assign_segments", "rfm_scores", "rfm_table", "segment_summary"],
}
_SOURCE_OF = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str):
    module = _SOURCE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
