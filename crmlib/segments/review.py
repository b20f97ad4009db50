"""The segmentation report's findings: plain sentences from the tables the analysis made."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns
from .clv import clv_figures

__all__ = ["Findings", "findings"]


@dataclass(frozen=True)
class Findings:
    """The sentences, and the two headline shares they state (for the run's metrics).

    Parameters
    ----------
    sentences : list of str
    champions_share : float
        Share of customers in the 'Champions' segment (0 when there is none).
    top20_share : float
        Share of the margin (or revenue, without costs) earned by the top 20% of customers.
    """

    sentences: list[str]
    champions_share: float
    top20_share: float


def findings(*, segment_table: pd.DataFrame, pareto: pd.DataFrame, tiers: pd.DataFrame, clusters,
             clv, at_risk, horizon: int, by_campaign: pd.DataFrame,
             tests: pd.DataFrame, response: pd.DataFrame, retention: pd.DataFrame,
             gaps: dict) -> Findings:
    """Sentences for a reader: segments, value concentration, clusters, CLV, acquisition, pricing.

    Parameters
    ----------
    segment_table : pandas.DataFrame
        :func:`~crmlib.segments.segment_summary` (``segment, customer_share, revenue_share``).
    pareto : pandas.DataFrame
        :func:`~crmlib.segments.pareto_curve` (``customer_share, value_share``, ascending).
    tiers : pandas.DataFrame
        :func:`~crmlib.segments.tier_summary` (``tier, customers, avg_margin``) with a 'high' tier.
    clusters : CustomerClusters
        Fitted; its largest cluster is named.
    clv : pandas.DataFrame or dict
        :func:`~crmlib.segments.customer_lifetime_value` (``clv, probability_alive``), or its
        :func:`~crmlib.segments.clv.clv_figures` (what a Spark run brings back).
    at_risk : pandas.DataFrame or int
        The valuable customers who are probably lost (one row each), or how many they are.
    horizon : int
        Months of the CLV.
    by_campaign : pandas.DataFrame
        :func:`~crmlib.segments.acquisition_cost` per campaign (``name, converted, cost_per_converted``).
    tests : pandas.DataFrame
        :func:`~crmlib.segments.pricing_tests` (``test, p_value``).
    response : pandas.DataFrame
        :func:`~crmlib.segments.discount_response` (``volume_lift`` per segment).
    retention : pandas.DataFrame
        :func:`~crmlib.segments.cohort_retention` (column 1: the share buying in month 2).
    gaps : dict
        :func:`~crmlib.segments.data_gaps`: a section whose data is missing is left out, and its
        note is appended.

    Returns
    -------
    Findings

    Raises
    ------
    DataContractError
        A table lacks a column used.
    """
    where = "segments.findings"
    check_columns(segment_table, ("segment", "customer_share", "revenue_share"), where=f"{where}(segment_table)")
    check_columns(pareto, ("customer_share", "value_share"), where=f"{where}(pareto)")
    check_columns(tiers, ("tier", "customers", "avg_margin"), where=f"{where}(tiers)")
    if not isinstance(clv, dict):
        check_columns(clv, ("clv", "probability_alive"), where=f"{where}(clv)")
        clv = clv_figures(clv)
    lost = at_risk if isinstance(at_risk, (int, np.integer)) else len(at_risk)
    by_name = segment_table.set_index("segment")
    champ = by_name.loc["Champions"] if "Champions" in by_name.index else None
    top_share = float(pareto.loc[pareto["customer_share"] >= 0.2, "value_share"].iloc[0])
    high = tiers.set_index("tier").loc["high"]
    measure = "revenue" if "unit_cost" in gaps else "profit"  # margins are revenue without costs
    sentences = [
        (f"Champions are {champ['customer_share']:.0%} of customers and bring "
         f"{champ['revenue_share']:.0%} of net revenue." if champ is not None
         else "No customer scores as a Champion."),
        f"The top 20% of customers by {measure} earn {top_share:.0%} of the {measure}; the high tier "
        f"({int(high['customers']):,} customers) averages {high['avg_margin']:,.0f} in {measure}.",
        f"The behavioural clustering finds {clusters.n_clusters_} groups; the largest is "
        f"'{clusters.cluster_names_.iloc[0]}' ({clusters.profiles_['share'].iloc[0]:.0%} of buyers).",
        f"BG/NBD puts {clv['share_probably_lost']:.0%} of buyers below a 50% chance of still being active; "
        f"{lost:,} of them were in the top quarter by spend.",
        f"Expected value over the next {horizon} months: {clv['clv_total']:,.0f} in total, "
        f"{clv['clv_median']:,.0f} for the median customer.",
    ]
    if "campaigns" not in gaps:
        sentences.append(_acquisition(by_campaign, where))
    if "discounts" not in gaps and "price_bands" not in gaps:
        sentences.append(_pricing(tests, response, where))
    ret = retention[1].dropna() if 1 in retention.columns else pd.Series(dtype=float)
    if len(ret):
        sentences.append(f"On average {ret.mean():.0%} of a monthly cohort buys again in its second month.")
    sentences += list(gaps.values())  # what could not be measured, and why
    return Findings(sentences, float(champ["customer_share"]) if champ is not None else 0.0, top_share)


def _acquisition(by_campaign: pd.DataFrame, where: str) -> str:
    check_columns(by_campaign, ("name", "converted", "cost_per_converted"), where=f"{where}(by_campaign)")
    acquired = by_campaign[by_campaign["converted"] > 0]
    if not len(acquired):
        return "No campaign acquired a customer who went on to buy."
    cheapest = acquired.loc[acquired["cost_per_converted"].idxmin()]
    dearest = acquired.loc[acquired["cost_per_converted"].idxmax()]
    return (f"Acquisition cost per converted customer ranges from {cheapest['cost_per_converted']:,.0f} "
            f"({cheapest['name']}) to {dearest['cost_per_converted']:,.0f} ({dearest['name']}).")


def _pricing(tests: pd.DataFrame, response: pd.DataFrame, where: str) -> str:
    check_columns(tests, ("test", "p_value"), where=f"{where}(tests)")
    check_columns(response, ("volume_lift",), where=f"{where}(response)")
    p = tests.set_index("test")["p_value"]
    lift = response["volume_lift"].mean()

    def differ(value):
        return "differ" if value < 0.01 else "do not differ clearly"

    def shown(value):
        return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"

    disc_p, band_p = p["discount_use"], p["price_band_mix"]
    return (f"Segments {differ(disc_p)} in discount use ({shown(disc_p)}) and {differ(band_p)} in "
            f"price-band mix ({shown(band_p)}); discounted lines are {lift:+.0%} larger on average, so "
            + ("volume does respond to discounts." if lift > 0.1 else
               "discounts buy little extra volume: one list price with targeted discounts looks sufficient."))
