"""The Parquet analytics mart: canonical tables -> star schema, partitioned by month.

>>> from crmlib import mart
>>> result = mart.export("sqlite:///data/crm.sqlite", "data/mart")   # doctest: +SKIP
>>> sales = mart.read("data/mart", "fact_sales", months=["2025-12"])  # doctest: +SKIP

See :mod:`crmlib.mart.export` for the layout, the manifest and how incremental runs work.
"""

from __future__ import annotations

from .export import (
    DIMENSIONS,
    FACTS,
    SALES_COLUMNS,
    ExportResult,
    export,
    read,
    sales_fact,
    table_path,
)

__all__ = ["DIMENSIONS", "FACTS", "SALES_COLUMNS", "ExportResult", "export", "read", "sales_fact", "table_path"]
