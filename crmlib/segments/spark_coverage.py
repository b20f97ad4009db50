"""Which parts of the segmentation the data can support (:func:`crmlib.segments.data_gaps`), on Spark.

The customer-size and fact-size inputs are checked on the mart in one job: does any customer
record an acquisition channel or an acquisition campaign that exists, does any kept or other
order line carry a discount. Products and campaigns are small dimensions and may be passed as
pandas frames (else they are read from the mart).
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_frame
from ..mart import table_path
from .coverage import GAP_NOTES

__all__ = ["data_gaps"]


def data_gaps(spark, mart, *, campaigns: pd.DataFrame | None = None,
              products: pd.DataFrame | None = None) -> dict[str, str]:
    """The inputs of the segmentation report that hold no data, each with its note.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        ``dim_customer``, ``fact_sales`` (and ``dim_campaign``, ``dim_product`` when the frames
        are not given).
    campaigns : pandas.DataFrame, optional
        ``campaign_id``.
    products : pandas.DataFrame, optional
        ``unit_cost, price_band``.

    Returns
    -------
    dict of str to str
        As :func:`crmlib.segments.data_gaps`: the keys of :data:`crmlib.segments.GAP_NOTES`
        whose data is missing, in that order.
    """
    from pyspark.sql import functions as F

    where = "segments.spark_coverage.data_gaps"

    def read(name):
        return spark.read.parquet(table_path(mart, name))

    if campaigns is None:
        campaigns = read("dim_campaign").select("campaign_id").toPandas()
    if products is None:
        products = read("dim_product").select("unit_cost", "price_band").toPandas()
    check_frame(campaigns, ("campaign_id",), where=where, name="campaigns")
    check_frame(products, ("unit_cost", "price_band"), where=where, name="products")
    ids = pd.to_numeric(campaigns["campaign_id"], errors="coerce").dropna().astype(float).tolist()
    campaign = F.col("acquisition_campaign_id").cast("double")
    known = campaign.isin(ids) if ids else F.lit(False)
    customers = read("dim_customer").agg(
        F.count(F.when(known, 1)).alias("acquired"),
        F.count("acquisition_channel").alias("channels"))
    discount = F.coalesce(F.col("discount").cast("double"), F.lit(0.0))
    sales = read("fact_sales").agg(F.count(F.when(discount != 0, 1)).alias("discounts"))
    row = customers.crossJoin(sales).first()  # one job for both tables
    cost = pd.to_numeric(products["unit_cost"], errors="coerce").fillna(0)
    missing = {
        "unit_cost": not (cost != 0).any(),
        "campaigns": row["acquired"] == 0,
        "acquisition_channel": row["channels"] == 0,
        "discounts": row["discounts"] == 0,
        "price_bands": products["price_band"].dropna().empty,
    }
    return {key: note for key, note in GAP_NOTES.items() if missing[key]}
