"""The Spark session the Spark engine runs on (``local[*]`` or a master URL).

Importing this package does not import pyspark. The analyses on Spark live beside their pandas
versions and share their definitions: :mod:`crmlib.baskets.spark` (FPGrowth itemsets, the rule
measures, Fisher tests, redundancy pruning, weekday contrast), :mod:`crmlib.segments.spark_rfm`
(RFM table, scores and segments), :mod:`crmlib.segments.spark_clustering` (behavioural
features, scalings, KMeans), :mod:`crmlib.credit.spark` (payment and purchase behaviour) and
:mod:`crmlib.cube.spark` (aggregates and roll-ups of the sales cube); they read the Parquet mart
(:func:`crmlib.mart.table_path`). :mod:`crmlib.engines` chooses between pandas and Spark.

- :mod:`crmlib.spark.session`: :func:`get_session`, :func:`java_available`
"""

from __future__ import annotations

from .session import DEFAULT_MASTER, get_session, java_available

__all__ = ["DEFAULT_MASTER", "get_session", "java_available"]
