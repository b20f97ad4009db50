"""Which parts of the segmentation the data can support.

A CRM imported from a transaction export (``crmlib import``) has customers, products and orders but
often no campaigns, no unit costs, no discounts and no price bands. The analyses still run on such
data, but their numbers would mislead (a margin equal to revenue, a test p-value of NaN), so the
report states what is missing instead of showing them.
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_frame

__all__ = ["GAP_NOTES", "data_gaps"]

#: The plain-language note per gap, in report order.
GAP_NOTES: dict[str, str] = {
    "unit_cost": "No product has a unit cost (all missing or 0), so margins equal revenue: the profit "
                 "tiers and the Pareto curve rank customers by revenue, not by profit.",
    "campaigns": "The database holds no campaign that acquired a customer, so acquisition cost per "
                 "campaign cannot be measured.",
    "acquisition_channel": "No customer records an acquisition channel, so acquisition cost per "
                           "channel cannot be measured.",
    "discounts": "No order line carries a discount, so how volume responds to discounts and whether "
                 "segments differ in discount use cannot be measured.",
    "price_bands": "No product has a price band, so the price-band mix of the segments cannot be "
                   "compared.",
}


def _empty(values: pd.Series, *, zero_is_empty: bool = False) -> bool:
    filled = values.dropna()
    if zero_is_empty:
        filled = pd.to_numeric(filled, errors="coerce").fillna(0)
        filled = filled[filled != 0]
    return filled.empty


def data_gaps(*, customers: pd.DataFrame, campaigns: pd.DataFrame, products: pd.DataFrame,
              order_lines: pd.DataFrame) -> dict[str, str]:
    """The inputs of the segmentation report that hold no data, each with a note for the reader.

    Parameters
    ----------
    customers : pandas.DataFrame
        ``acquisition_campaign_id, acquisition_channel``.
    campaigns : pandas.DataFrame
        ``campaign_id``.
    products : pandas.DataFrame
        ``unit_cost, price_band``.
    order_lines : pandas.DataFrame
        ``discount``.

    Returns
    -------
    dict of str to str
        Keys of :data:`GAP_NOTES` whose data is missing (in that order), mapped to the note; empty
        when every input has data.

    Examples
    --------
    >>> gaps = data_gaps(
    ...     customers=pd.DataFrame({"acquisition_campaign_id": [None], "acquisition_channel": ["web"]}),
    ...     campaigns=pd.DataFrame({"campaign_id": []}),
    ...     products=pd.DataFrame({"unit_cost": [2.5], "price_band": ["low"]}),
    ...     order_lines=pd.DataFrame({"discount": [0.0, 0.1]}))
    >>> list(gaps)
    ['campaigns']
    """
    where = "segments.data_gaps"
    check_frame(customers, ("acquisition_campaign_id", "acquisition_channel"), where=where, name="customers")
    check_frame(campaigns, ("campaign_id",), where=where, name="campaigns")
    check_frame(products, ("unit_cost", "price_band"), where=where, name="products")
    check_frame(order_lines, ("discount",), where=where, name="order_lines")
    acquired = customers["acquisition_campaign_id"].dropna()
    missing = {
        "unit_cost": _empty(products["unit_cost"], zero_is_empty=True),
        "campaigns": campaigns.empty or not acquired.isin(campaigns["campaign_id"]).any(),
        "acquisition_channel": _empty(customers["acquisition_channel"]),
        "discounts": _empty(order_lines["discount"], zero_is_empty=True),
        "price_bands": _empty(products["price_band"]),
    }
    return {key: note for key, note in GAP_NOTES.items() if missing[key]}
