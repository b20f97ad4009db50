"""Does one price fit all segments? Discount use, price-band mix and volume response per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import check_frame
from ..definitions import NON_PURCHASE_STATUSES, line_revenue
from ._common import slug
from .features import LINE_COLUMNS, ORDER_COLUMNS

__all__ = ["TEST_COLUMNS", "contingency_test", "discount_response", "pricing_tests", "segment_pricing"]

#: Columns of :func:`pricing_tests`.
TEST_COLUMNS: list[str] = ["test", "statistic", "dof", "p_value", "cramers_v"]


def _segment_lines(orders, order_lines, segments, products, *, where, exclude_status):
    check_frame(orders, ORDER_COLUMNS, where=where, name="orders")
    check_frame(order_lines, LINE_COLUMNS, where=where, name="order_lines")
    check_frame(segments, ("customer_id", "segment"), where=where, name="segments")
    kept = orders.loc[~orders["status"].astype(object).isin(list(exclude_status)),
                      ["order_id", "customer_id"]]
    lines = order_lines.merge(kept, on="order_id", how="inner")
    seg = segments[["customer_id", "segment"]].drop_duplicates("customer_id")
    lines = lines.merge(seg, on="customer_id", how="inner")
    lines = lines[lines["quantity"].astype(float) > 0].copy()
    lines["segment"] = lines["segment"].astype(object).astype(str)
    lines["quantity"] = lines["quantity"].astype(float)
    lines["discount"] = lines["discount"].astype(float).fillna(0.0)
    lines["gross"] = lines["quantity"] * lines["unit_price"].astype(float)
    lines["revenue"] = line_revenue(lines["quantity"], lines["unit_price"].astype(float), lines["discount"])
    lines["discounted"] = lines["discount"] > 0
    if products is not None:
        check_frame(products, ("product_id", "price_band"), where=where, name="products")
        check_frame(order_lines, ("product_id",), where=where, name="order_lines")
        band = products.drop_duplicates("product_id").set_index("product_id")["price_band"]
        lines["price_band"] = lines["product_id"].map(band.astype(object)).fillna("unknown")
    return lines


def segment_pricing(orders, order_lines, products, segments, *,
                    exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Discount use and price-band mix per segment.

    Parameters
    ----------
    orders, order_lines : pandas.DataFrame
        Canonical tables (``order_lines`` with ``product_id``). Return lines (quantity <= 0) are
        left out.
    products : pandas.DataFrame
        ``product_id, price_band``.
    segments : pandas.DataFrame
        ``customer_id, segment`` (RFM segment, cluster, tier, ...).
    exclude_status : tuple of str, default=('cancelled', 'returned')

    Returns
    -------
    pandas.DataFrame
        One row per segment (sorted by name): ``segment``, ``customers`` (int, with a line),
        ``lines`` (int), ``revenue`` (float), ``discount_line_share`` (share of lines with a
        discount), ``discount_revenue_share`` (share of gross value bought on discount),
        ``avg_discount`` (gross-weighted mean discount rate), then ``band_<price_band>`` (share of
        revenue per price band, one column per band).

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [1, 2],
    ...     "ordered_at": pd.to_datetime(["2025-01-01"] * 2), "status": "completed"})
    >>> lines = pd.DataFrame({"order_id": [1, 2], "product_id": [1, 2], "quantity": [1, 1],
    ...     "unit_price": [10.0, 100.0], "discount": [0.5, 0.0]})
    >>> products = pd.DataFrame({"product_id": [1, 2], "price_band": ["low", "high"]})
    >>> segs = pd.DataFrame({"customer_id": [1, 2], "segment": ["A", "B"]})
    >>> segment_pricing(orders, lines, products, segs)[["segment", "avg_discount", "band_low"]]
      segment  avg_discount  band_low
    0       A           0.5       1.0
    1       B           0.0       0.0
    """
    where = "segments.segment_pricing"
    lines = _segment_lines(orders, order_lines, segments, products, where=where,
                           exclude_status=exclude_status)
    lines["dgross"] = lines["gross"].where(lines["discounted"], 0.0)
    lines["wdisc"] = lines["gross"] * lines["discount"]
    g = lines.groupby("segment")
    out = pd.DataFrame({
        "customers": g["customer_id"].nunique(),
        "lines": g.size(),
        "revenue": g["revenue"].sum(),
        "discount_line_share": g["discounted"].mean().astype(float),
    })
    gross = g["gross"].sum()
    out["discount_revenue_share"] = g["dgross"].sum() / gross.where(gross > 0)
    out["avg_discount"] = g["wdisc"].sum() / gross.where(gross > 0)
    mix = lines.pivot_table(index="segment", columns="price_band", values="revenue", aggfunc="sum",
                            fill_value=0.0, observed=True)
    mix = mix.div(mix.sum(axis=1).where(lambda s: s > 0), axis=0)
    mix.columns = [f"band_{slug(c)}" for c in mix.columns]
    out = out.join(mix).rename_axis("segment").reset_index()
    out["customers"] = out["customers"].astype(int)
    out["lines"] = out["lines"].astype(int)
    return out


def discount_response(orders, order_lines, segments, *,
                      exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """How purchase volume per line responds to discounts, per segment.

    Parameters
    ----------
    orders, order_lines, segments : pandas.DataFrame
        As for :func:`segment_pricing`.
    exclude_status : tuple of str, default=('cancelled', 'returned')

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``segment``, ``lines_full_price``, ``lines_discounted`` (int),
        ``qty_full_price``, ``qty_discounted`` (mean quantity per line), ``volume_lift``
        (``qty_discounted / qty_full_price - 1``), ``units_per_10pt`` (least-squares slope of
        quantity on the discount rate, per 10 percentage points; NaN when the discount never
        varies). A segment that buys more when discounted has a positive lift and slope.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [1, 1],
    ...     "ordered_at": pd.to_datetime(["2025-01-01"] * 2), "status": "completed"})
    >>> lines = pd.DataFrame({"order_id": [1, 2], "quantity": [1, 3],
    ...     "unit_price": [10.0, 10.0], "discount": [0.0, 0.2]})
    >>> segs = pd.DataFrame({"customer_id": [1], "segment": ["A"]})
    >>> discount_response(orders, lines, segs)[["segment", "volume_lift", "units_per_10pt"]]
      segment  volume_lift  units_per_10pt
    0       A          2.0             1.0
    """
    where = "segments.discount_response"
    lines = _segment_lines(orders, order_lines, segments, None, where=where,
                           exclude_status=exclude_status)
    rows = []
    for name, part in lines.groupby("segment"):
        full = part.loc[~part["discounted"], "quantity"]
        disc = part.loc[part["discounted"], "quantity"]
        d = part["discount"].to_numpy()
        q = part["quantity"].to_numpy()
        slope = np.nan
        if len(part) > 1 and np.ptp(d) > 0:
            slope = float(np.polyfit(d, q, 1)[0]) * 0.1
        qf = full.mean() if len(full) else np.nan
        qd = disc.mean() if len(disc) else np.nan
        rows.append({"segment": name, "lines_full_price": len(full), "lines_discounted": len(disc),
                     "qty_full_price": qf, "qty_discounted": qd,
                     "volume_lift": qd / qf - 1 if qf and not np.isnan(qf) else np.nan,
                     "units_per_10pt": slope})
    cols = ["segment", "lines_full_price", "lines_discounted", "qty_full_price", "qty_discounted",
            "volume_lift", "units_per_10pt"]
    return pd.DataFrame(rows, columns=cols)


def pricing_tests(orders, order_lines, products, segments, *,
                  exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Chi-square tests of whether segments differ in price-band mix and in discount use.

    A small p-value says the segments buy differently, so one uniform price (and discount policy)
    is unlikely to fit them all.

    Parameters
    ----------
    orders, order_lines, products, segments : pandas.DataFrame
        As for :func:`segment_pricing`.
    exclude_status : tuple of str, default=('cancelled', 'returned')

    Returns
    -------
    pandas.DataFrame
        Rows ``price_band_mix`` (lines per segment x price band) and ``discount_use`` (lines per
        segment x discounted or not): ``test``, ``statistic``, ``dof`` (int), ``p_value``,
        ``cramers_v`` (float, effect size 0..1). NaN when the table has fewer than 2 rows or
        columns.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [1, 2],
    ...     "ordered_at": pd.to_datetime(["2025-01-01"] * 2), "status": "completed"})
    >>> lines = pd.DataFrame({"order_id": [1, 2], "product_id": [1, 2], "quantity": [1, 1],
    ...     "unit_price": [10.0, 100.0], "discount": [0.5, 0.0]})
    >>> products = pd.DataFrame({"product_id": [1, 2], "price_band": ["low", "high"]})
    >>> segs = pd.DataFrame({"customer_id": [1, 2], "segment": ["A", "B"]})
    >>> pricing_tests(orders, lines, products, segs)["test"].tolist()
    ['price_band_mix', 'discount_use']
    """
    where = "segments.pricing_tests"
    lines = _segment_lines(orders, order_lines, segments, products, where=where,
                           exclude_status=exclude_status)
    rows = []
    for test, column in (("price_band_mix", "price_band"), ("discount_use", "discounted")):
        rows.append(contingency_test(test, pd.crosstab(lines["segment"], lines[column])))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def contingency_test(test: str, table: pd.DataFrame) -> dict:
    """One row of :func:`pricing_tests`: the chi-square test of independence of a count table.

    Parameters
    ----------
    test : str
        The row's name.
    table : pandas.DataFrame
        Counts, segments by categories (the Spark engine builds it from grouped counts).

    Returns
    -------
    dict
        :data:`TEST_COLUMNS`; NaN statistic, p-value and Cramer's V (dof 0) when the table has
        fewer than 2 rows or columns.
    """
    row = {"test": test, "statistic": np.nan, "dof": 0, "p_value": np.nan, "cramers_v": np.nan}
    if table.shape[0] >= 2 and table.shape[1] >= 2:
        chi2, p, dof, _ = stats.chi2_contingency(table.to_numpy())
        n = table.to_numpy().sum()
        v = np.sqrt(chi2 / (n * (min(table.shape) - 1))) if n else np.nan
        row.update(statistic=float(chi2), dof=int(dof), p_value=float(p), cramers_v=float(v))
    return row
