"""The analyses on Apache Spark, reading the Parquet mart (``crmlib mart export``).

Importing this package does not import pyspark; each module does when it is used.

- :mod:`crmlib.spark.session`: :func:`get_session` (``local[*]`` or a master URL)
- :mod:`crmlib.spark.rules`: FPGrowth itemsets, crmlib.baskets' rule measures, Fisher tests,
  redundancy pruning, weekday contrast
- :mod:`crmlib.spark.rfm`: RFM table, scores and named segments (crmlib.segments' definitions)
- :mod:`crmlib.spark.clustering`: crmlib.segments' behavioural features, their scalings and
  Spark ML KMeans with restarts
- :mod:`crmlib.spark.credit`: payment and purchase behaviour per invoice and customer
  (crmlib.credit's definitions)
- :mod:`crmlib.spark.cube`: sales roll-ups and cubes over the star schema
"""

from __future__ import annotations

from .session import DEFAULT_MASTER, get_session, java_available

__all__ = ["DEFAULT_MASTER", "get_session", "java_available"]
