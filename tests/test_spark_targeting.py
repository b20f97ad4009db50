"""crmlib.targeting.spark: the campaign_targeting steps on Spark equal the pandas path on the test sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import targeting as tg
from crmlib.errors import ParameterError
from crmlib.targeting import plan

ts = pytest.importorskip("crmlib.targeting.spark")
ORDER = ["started_at", "campaign_id", "customer_id"]


@pytest.fixture(scope="module")
def tables(small_url):
    crm = crmlib.connect(small_url)
    return {name: crm.load(name, cols) for name, cols in tg.REQUIRED_COLUMNS.items()}


@pytest.fixture(scope="module")
def stables(spark, small_mart):
    return ts.read_tables(spark, small_mart)


@pytest.fixture(scope="module")
def campaign_ids(tables):
    rates = tg.response_rates(tables["campaign_contacts"], tables["campaign_responses"], tables["campaigns"])
    return rates["campaign_id"].tolist()


def _same_features(ref: pd.DataFrame, got: pd.DataFrame):
    # equal to the last bit: Spark adds money as pandas does (Kahan), so models see the same values
    assert list(got.columns) == list(ref.columns)
    for col in ref.columns:
        if ref[col].dtype.kind == "f":
            np.testing.assert_array_equal(got[col].to_numpy(float), ref[col].to_numpy(float), err_msg=col)
        else:
            assert (got[col].to_numpy() == ref[col].to_numpy()).all(), col


def test_customer_features_equal_pandas(tables, stables):
    as_of = pd.Timestamp("2025-06-01")
    ref = tg.customer_features(tables, as_of=as_of)
    got = ts.to_pandas(ts.customer_features(stables, as_of=as_of), order=["customer_id"], index="customer_id")
    assert got.index.tolist() == ref.index.tolist()
    _same_features(ref, got)
    assert ref["orders_total"].sum() > 0 and ref["prior_contacts"].sum() > 0  # not a frame of zeros


def test_customer_features_of_chosen_customers(spark, tables, stables):
    ids = tables["customers"]["customer_id"].iloc[::7].tolist()
    ref = tg.customer_features(tables, as_of="2024-12-31", customer_ids=ids)
    chosen = spark.createDataFrame(pd.DataFrame({"customer_id": ids}))
    got = ts.to_pandas(ts.customer_features(stables, as_of="2024-12-31", customer_ids=chosen),
                       order=["customer_id"], index="customer_id")
    assert got.index.tolist() == ref.index.tolist()
    _same_features(ref, got)


def test_campaign_frame_equal_pandas(tables, stables, campaign_ids):
    ref = tg.campaign_frame(tables, campaign_ids)
    got = ts.to_pandas(ts.campaign_frame(stables, campaign_ids), order=ORDER)
    assert len(ref) > 1000 and ref["converted"].sum() > 0
    _same_features(ref, got)


def test_campaign_frame_unknown_id(stables):
    with pytest.raises(ParameterError, match="unknown campaign id"):
        ts.campaign_frame(stables, [99999])


# ---------------------------------------------------------------------- engine dispatch
@pytest.fixture(scope="module")
def eng(spark, small_mart):
    from crmlib.engines import Engine

    return Engine("spark", master="local[2]", mart=str(small_mart), session=spark)


@pytest.fixture(scope="module")
def pandas_eng():
    from crmlib.engines import open_engine

    return open_engine("pandas")


def test_response_rates_equal_pandas(eng, tables, stables):
    from crmlib.engines import analyses

    ref = tg.response_rates(tables["campaign_contacts"], tables["campaign_responses"], tables["campaigns"])
    got = analyses.response_rates(eng, stables, tables["campaigns"])
    pd.testing.assert_frame_equal(got, ref)


def test_margin_and_data_end_equal_pandas(eng, pandas_eng, tables, stables):
    from crmlib.engines import analyses

    end = analyses.data_end(pandas_eng, tables)
    assert analyses.data_end(eng, stables) == end
    ref = analyses.margin_per_conversion(pandas_eng, tables, as_of=end)
    assert analyses.margin_per_conversion(eng, stables, as_of=end) == pytest.approx(ref, rel=1e-12)


def test_fit_sample_takes_every_contact_in_pandas_order(eng, tables, stables, campaign_ids):
    from crmlib.engines import analyses

    ref = tg.campaign_frame(tables, campaign_ids)
    got = analyses.campaign_frame(eng, stables, campaign_ids)
    assert got.attrs["sampled"] is False and got.attrs["population"] == len(ref)
    _same_features(ref, got)
    # a bound below the data size: a stratified sample that keeps both groups and conversions
    small = analyses.campaign_frame(eng, stables, campaign_ids, max_rows=len(ref) // 3)
    assert small.attrs["sampled"] is True and len(small) < len(ref) * 0.6
    assert small["treatment"].any() and (~small["treatment"]).any() and small["converted"].any()


@pytest.fixture(scope="module")
def fitted(tables, campaign_ids):
    frame = tg.campaign_frame(tables, campaign_ids)
    return tg.fit_model(frame, model="two_model"), tg.fit_model(frame, model="propensity")


def test_candidates_scored_on_spark_equal_pandas(eng, pandas_eng, small_url, tables, stables, fitted):
    from crmlib.engines import analyses

    people = crmlib.connect(small_url).customers(analyses.TARGET_PEOPLE_COLUMNS)
    tables = {**tables, "people": people}
    models = {"propensity": fitted[1], "uplift": fitted[0]}
    as_of = pd.Timestamp("2025-09-01")
    ref = analyses.target_candidates(pandas_eng, tables, as_of=as_of, models=models)
    got = ts.to_pandas(analyses.target_candidates(eng, stables, as_of=as_of, models=models), order=["customer_id"])
    assert 500 < len(ref) < len(people)  # only those who accept marketing
    assert got["customer_id"].tolist() == ref["customer_id"].tolist()
    for col in ("propensity", "uplift"):
        np.testing.assert_array_equal(got[col], ref[col], err_msg=col)


def _cand(spark, n=3000, seed=1):
    rng = np.random.default_rng(seed)
    cand = pd.DataFrame({"customer_id": np.arange(1, n + 1, dtype="int64"),
                         "propensity": np.round(rng.random(n), 2),  # many ties
                         "uplift": rng.normal(0.01, 0.02, n)})
    return cand, spark.createDataFrame(cand).repartition(3)


@pytest.mark.parametrize("rank_by, budget", [("uplift", 500.0), ("propensity", 900.0), ("uplift", 50_000.0)])
def test_target_list_equal_pandas(spark, rank_by, budget):
    cand, scand = _cand(spark)
    kw = dict(cost_per_contact=1.1, margin_per_conversion=90.0, budget=budget, rank_by=rank_by)
    ref = plan.target_list(cand, **kw)
    got = ts.target_list(scand, **kw)
    if budget // 1.1 < len(cand):  # a bound above the rows Spark knows a local table has drops the limit
        assert "TakeOrderedAndProject" in got._jdf.queryExecution().executedPlan().toString()
    got = ts.to_pandas(got, order=["rank"])
    assert len(ref) > 0
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)


def test_target_list_needs_a_bound(spark):
    _, scand = _cand(spark, n=10)
    with pytest.raises(ParameterError, match="needs a bound"):
        ts.target_list(scand, cost_per_contact=0.0, margin_per_conversion=90.0, budget=100.0)


def test_target_file_and_summary_equal_pandas(eng, pandas_eng, spark):
    from crmlib.engines import analyses
    from crmlib.targeting.actions import target_file

    cand, scand = _cand(spark)
    kw = dict(cost_per_contact=1.1, margin_per_conversion=90.0, budget=500.0, rank_by="uplift")
    ref = plan.target_list(cand, **kw)
    got = ts.target_list(scand, **kw)
    money = dict(cost_per_contact=1.1, margin_per_conversion=90.0)
    pd.testing.assert_series_equal(analyses.list_summary(eng, got, **money), plan.list_summary(ref, **money),
                                   rtol=1e-12)
    files = ts.to_pandas(ts.target_file(got), order=["rank"])
    pd.testing.assert_frame_equal(files, target_file(ref))


@pytest.mark.parametrize("rank_by", ["uplift", "propensity"])
def test_profit_curve_points_are_exact(spark, rank_by):
    cand, scand = _cand(spark)
    money = dict(cost_per_contact=1.1, margin_per_conversion=90.0)
    full = plan.profit_curve(cand, rank_by=rank_by, **money)
    got = ts.profit_curves(scand, rank_by=(rank_by,), decimals=2, **money)[rank_by]
    assert 10 < len(got) < len(full) and got["rank"].iloc[-1] == len(full)
    at = got["rank"].to_numpy()[1:] - 1
    np.testing.assert_allclose(got["cumulative_profit"].to_numpy()[1:], full["cumulative_profit"].to_numpy()[at],
                               rtol=1e-9, atol=1e-9)


def test_category_propensity_equal_pandas(eng, pandas_eng, tables, stables):
    from crmlib.engines import analyses

    as_of = pd.Timestamp("2025-10-01")
    products = tables["products"]
    _, ref_eval, ref_top = analyses.category_propensity(pandas_eng, tables, products, as_of=as_of, top_n=5)
    _, got_eval, got_top = analyses.category_propensity(eng, stables, products, as_of=as_of, top_n=5)
    pd.testing.assert_frame_equal(got_eval, ref_eval, check_exact=False, rtol=1e-9)
    assert len(ref_top) > 0
    pd.testing.assert_frame_equal(got_top, ref_top, check_exact=False, rtol=1e-9)
