"""crmlib.targeting.features: features use only data before the cut-off (leakage tests), campaign frames."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import targeting as tg
from crmlib.errors import DataContractError, EmptyDataError, ParameterError


@pytest.fixture(scope="module")
def tables(small_url):
    crm = crmlib.connect(small_url)
    return {name: crm.load(name, cols) for name, cols in tg.REQUIRED_COLUMNS.items()}


@pytest.fixture(scope="module")
def latest(tables):
    return tg.select_campaign(tables["campaigns"], tables["campaign_contacts"], "latest")


def _damage_after(tables, cut):
    """Delete or change every row dated at or after ``cut`` (and ticket outcomes known only later)."""
    t = {k: v.copy() for k, v in tables.items()}
    late_orders = t["orders"]["ordered_at"] >= cut
    late_ids = t["orders"].loc[late_orders, "order_id"]
    t["orders"] = t["orders"][~late_orders | (t["orders"]["order_id"] % 2 == 0)].copy()
    t["orders"].loc[t["orders"]["ordered_at"] >= cut, "channel_id"] = 6  # change the survivors
    lines = t["order_lines"]
    late_lines = lines["order_id"].isin(late_ids)
    lines.loc[late_lines, "unit_price"] *= 3
    lines.loc[late_lines, "discount"] = 0.3
    inter = t["interactions"]
    inter.loc[inter["occurred_at"] >= cut, "kind"] = "complaint"
    tk = t["service_tickets"]
    tk.loc[tk["closed_at"] >= cut, "satisfaction"] = 1
    tk = tk[~((tk["opened_at"] >= cut) & (tk["customer_id"] % 3 == 0))]
    t["service_tickets"] = tk
    resp = t["campaign_responses"]
    t["campaign_responses"] = resp[resp["responded_at"] < cut]
    cont = t["campaign_contacts"]
    cont.loc[cont["contacted_at"] >= cut, "treatment"] = True
    extra = t["customers"].tail(3).assign(customer_id=lambda d: d["customer_id"] + 10**6, created_at=cut)
    t["customers"] = pd.concat([t["customers"], extra], ignore_index=True)
    return t


def test_features_ignore_rows_after_the_cut_off(tables, latest):
    cut = pd.Timestamp(latest["started_at"])
    before = tg.customer_features(tables, as_of=cut)
    after = tg.customer_features(_damage_after(tables, cut), as_of=cut)
    pd.testing.assert_frame_equal(before, after)
    assert list(before.columns) == tg.FEATURE_COLUMNS
    assert (before.dtypes == "float64").all()


def test_campaign_frame_ignores_rows_after_the_start(tables, latest):
    cid = int(latest["campaign_id"])
    cut = pd.Timestamp(latest["started_at"])
    damaged = _damage_after(tables, cut)
    # outcomes of the campaign itself come after the start: keep them, damage everything else
    damaged["campaign_responses"] = tables["campaign_responses"]
    damaged["campaign_contacts"] = tables["campaign_contacts"]
    a = tg.campaign_frame(tables, [cid])
    b = tg.campaign_frame(damaged, [cid])
    pd.testing.assert_frame_equal(a, b)


def test_leakage_on_the_database(db_copy, small_url, latest):
    """Deleting and changing rows after the campaign start in the database changes no feature."""
    cid = int(latest["campaign_id"])
    start = pd.Timestamp(latest["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(db_copy) as con:
        con.execute("DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM orders WHERE ordered_at >= ?)", (start,))
        con.execute("DELETE FROM orders WHERE ordered_at >= ?", (start,))
        con.execute("UPDATE interactions SET kind = 'complaint' WHERE occurred_at >= ?", (start,))
        con.execute("UPDATE service_tickets SET satisfaction = 1 WHERE closed_at >= ?", (start,))
        con.execute("DELETE FROM service_tickets WHERE opened_at >= ?", (start,))
    frames = []
    for url in (small_url, f"sqlite:///{db_copy}"):
        crm = crmlib.connect(url)
        t = {name: crm.load(name, cols) for name, cols in tg.REQUIRED_COLUMNS.items()}
        frames.append(tg.campaign_frame(t, [cid]))
    pd.testing.assert_frame_equal(*frames)


def test_customer_features_keep_only_customers_created_before(tables):
    cut = pd.Timestamp("2024-01-01")
    feats = tg.customer_features(tables, as_of=cut)
    created = tables["customers"].set_index("customer_id")["created_at"]
    assert (created.loc[feats.index] < cut).all()
    assert len(feats) == int((created < cut).sum())
    assert (feats["recency_days"] <= feats["tenure_days"] + 1).all()  # first order at sign-up (same day)


def test_campaign_frame_columns_and_outcome(tables, latest):
    frame = tg.campaign_frame(tables, [int(latest["campaign_id"])])
    assert list(frame.columns[:5]) == ["campaign_id", "customer_id", "started_at", "treatment", "converted"]
    assert frame["treatment"].dtype == bool and frame["converted"].dtype == bool
    won = tables["campaign_responses"]
    won = won[(won["campaign_id"] == latest["campaign_id"]) & won["converted"]]
    assert frame["converted"].sum() == won["customer_id"].nunique()


def test_select_campaign_latest_is_the_last_started_with_contacts(tables, latest):
    with_contacts = tables["campaigns"][tables["campaigns"]["campaign_id"].isin(tables["campaign_contacts"]["campaign_id"])]
    assert latest["started_at"] == with_contacts["started_at"].max()


def test_select_campaign_takes_an_id_given_as_text(tables, latest):
    # `crmlib run campaign_targeting -p campaign_id 5` passes '5': the parameter's default is 'latest'
    got = tg.select_campaign(tables["campaigns"], tables["campaign_contacts"], f" {latest['campaign_id']} ")
    assert got["campaign_id"] == latest["campaign_id"]


@pytest.mark.parametrize("bad, match", [
    (999, r"unknown campaign id 999; campaigns with contacts are"),
    ("999", r"unknown campaign id 999; campaigns with contacts are"),
    (1, r"campaign 1 \(.*\) has no contacts"),
    ("first", r"unknown campaign id 'first'"),
])
def test_select_campaign_errors(tables, bad, match):
    with pytest.raises(ParameterError, match=match):
        tg.select_campaign(tables["campaigns"], tables["campaign_contacts"], bad)


def test_select_campaign_latest_without_any_contacts(tables):
    with pytest.raises(EmptyDataError, match="no campaign has contacts"):
        tg.select_campaign(tables["campaigns"], tables["campaign_contacts"].iloc[:0], "latest")


def test_campaign_frame_unknown_id(tables):
    with pytest.raises(ParameterError, match=r"unknown campaign id\(s\) \[4242\]"):
        tg.campaign_frame(tables, [4242])


def test_missing_table_and_column_are_named(tables):
    partial = {k: v for k, v in tables.items() if k != "interactions"}
    with pytest.raises(DataContractError, match=r"missing table\(s\) \['interactions'\]"):
        tg.customer_features(partial, as_of="2024-01-01")
    broken = {**tables, "orders": tables["orders"].drop(columns=["channel_id"])}
    with pytest.raises(DataContractError, match=r"customer_features\(orders\): missing column\(s\) \['channel_id'\]"):
        tg.customer_features(broken, as_of="2024-01-01")


def test_bad_as_of(tables):
    with pytest.raises(ParameterError, match=r"'as_of' must be a date such as '2025-03-01'; got 'soon'"):
        tg.customer_features(tables, as_of="soon")


def test_friction_rate_is_higher_for_complaint_prone(small_url, tables):
    truth = crmlib.connect(small_url).truth("customers").set_index("customer_id")
    feats = tg.customer_features(tables, as_of="2025-06-01")
    prone = truth.loc[feats.index, "complaint_prone"].astype(bool).to_numpy()
    assert np.median(feats["friction_rate"][prone]) > 2 * np.median(feats["friction_rate"][~prone])


def test_category_propensity_on_a_later_period(tables):
    model, evaluation, scores = tg.category_propensity(tables, as_of="2025-10-01", horizon_days=90)
    assert list(evaluation.columns) == ["category", "candidates", "buyers", "base_rate", "auc",
                                        "top_decile_rate", "top_decile_lift"]
    assert evaluation["auc"].median() > 0.7
    # customers who already bought a category get no score for it
    frame = tg.category_frame(tables, as_of="2025-10-01")
    cat = evaluation["category"].iloc[0]
    assert scores.loc[frame.index[frame[f"had_{cat}"]], cat].isna().all()
    top = tg.top_prospects(scores, top_n=3)
    assert list(top.columns) == ["category", "rank", "customer_id", "probability"]
    assert (top.groupby("category").size() <= 3).all()


def test_plots_draw_on_the_given_axes(tables):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crmlib.targeting import plots

    rates = tg.response_rates(tables["campaign_contacts"], tables["campaign_responses"], tables["campaigns"])
    y = np.array([1, 0, 1, 0, 0, 1] * 5)
    t = np.array([True, False] * 15)
    s = np.linspace(1, 0, 30)
    cand = pd.DataFrame({"customer_id": range(30), "uplift": s / 10})
    fig, axes = plt.subplots(2, 2)
    assert plots.plot_response_rates(rates, ax=axes[0, 0]) is axes[0, 0]
    assert plots.plot_qini({"m": tg.qini_curve(y, t, s)}, ax=axes[0, 1]) is axes[0, 1]
    assert plots.plot_uplift_by_decile(tg.uplift_by_decile(y, t, s, bins=3), ax=axes[1, 0]) is axes[1, 0]
    curve = tg.profit_curve(cand, cost_per_contact=0.5, margin_per_conversion=10.0)
    assert plots.plot_profit_curve({"m": curve}, cutoff=5, ax=axes[1, 1]) is axes[1, 1]
    plt.close(fig)
