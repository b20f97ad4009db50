"""crmlib.segments.spark_clv and spark_cohorts against crmlib.segments: the same CLV summary, fits,
values per customer, cohort table; and the fitters' sample weights against expanded rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import segments as seg
from crmlib.segments import clv as seg_clv

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


# ---------------------------------------------------------------------- sample weights (no Spark)
def test_weighted_fit_equals_fit_on_expanded_rows():
    rng = np.random.default_rng(11)
    rows = pd.DataFrame({"frequency": rng.integers(0, 6, 300), "T": rng.integers(20, 60, 300).astype(float)})
    rows["recency"] = np.where(rows["frequency"] > 0, np.floor(rows["T"] * rng.uniform(0.2, 1, 300)), 0.0)
    rows["monetary_value"] = np.where(rows["frequency"] > 0, np.round(rng.gamma(3, 20, 300), 0), 0.0)
    expanded = rows.loc[rows.index.repeat(rng.integers(1, 4, 300))].reset_index(drop=True)
    bg_t = seg_clv.tuple_counts(expanded, ["frequency", "recency", "T"])
    gg_t = seg_clv.tuple_counts(expanded, ["frequency", "monetary_value"])
    assert bg_t["customers"].sum() == len(expanded) and len(bg_t) < len(expanded)
    bg_w, gg_w = seg_clv.fit_clv_models(bg_t, gg_t)
    bg = seg.BetaGeoFitter().fit(expanded)
    gg = seg.GammaGammaFitter().fit(expanded)
    np.testing.assert_allclose(bg_w.params_, bg.params_, rtol=1e-6)
    np.testing.assert_allclose(gg_w.params_, gg.params_, rtol=1e-6)
    assert bg_w.n_obs_ == bg.n_obs_ and gg_w.n_obs_ == gg.n_obs_
    np.testing.assert_allclose(bg_w.log_likelihood_, bg.log_likelihood_, rtol=1e-9)


def test_bad_sample_weight_is_one_clear_error():
    from crmlib.errors import ParameterError

    data = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 5.0], "T": [10.0, 10.0]})
    with pytest.raises(ParameterError, match="sample_weight"):
        seg.BetaGeoFitter().fit(data, sample_weight=[1.0])
    with pytest.raises(ParameterError, match="sample_weight"):
        seg.BetaGeoFitter().fit(data, sample_weight=[1.0, -1.0])


def test_clv_figures():
    clv = pd.DataFrame({"clv": [1.0, 3.0, 10.0, 2.0], "probability_alive": [0.2, 0.9, 0.49, 0.5]})
    got = seg_clv.clv_figures(clv)
    assert got == {"customers": 4, "clv_total": 16.0, "clv_median": 2.5, "share_probably_lost": 0.5}


# ---------------------------------------------------------------------- Spark against pandas
@pytest.fixture(scope="module")
def both(spark, small_mart, small_url):
    from crmlib.segments import spark_rfm

    crm = crmlib.connect(small_url)
    tx = seg.order_values(crm.orders(), crm.order_lines())
    day = tx["ordered_at"].max().normalize()
    orders = spark_rfm.order_values(spark, small_mart).cache()
    yield tx, orders, day
    orders.unpersist()


@pytest.mark.parametrize("time_unit,zero", [("day", False), ("week", True)])
def test_clv_summary_equal(both, time_unit, zero):
    from crmlib.segments import spark_clv

    tx, orders, day = both
    ref = seg.clv_summary(tx, as_of=day, time_unit=time_unit, zero_is_purchase=zero)
    got = spark_clv.clv_summary(orders, as_of=day, time_unit=time_unit, zero_is_purchase=zero)
    assert got.attrs == ref.attrs
    assert seg.dropped_text(got) == seg.dropped_text(ref)
    frame = got.toPandas().set_index("customer_id").sort_index()
    assert frame.index.tolist() == ref.index.tolist()
    assert (frame["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    for col in ("recency", "T"):
        np.testing.assert_array_equal(frame[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    # means of money: the order of float additions differs between the engines
    np.testing.assert_allclose(frame["monetary_value"], ref["monetary_value"], rtol=1e-12, atol=1e-9)


def test_clv_summary_counts_dropped_customers(spark):
    """A customer with only a refund and a $0 order is dropped; one whose first order was $0 starts later."""
    from crmlib.segments import spark_clv

    tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3], "amount": [0.0, 5.0, -3.0, 0.0, 8.0],
                       "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-02",
                                                     "2025-01-03", "2025-02-01"])})
    ref = seg.clv_summary(tx, as_of="2025-01-20")
    got = spark_clv.clv_summary(spark.createDataFrame(tx), as_of="2025-01-20")
    assert got.attrs == ref.attrs
    assert got.attrs["dropped_customers"] == 1 and got.attrs["first_purchase_moved"] == 1


def test_fits_and_values_equal(both, small_url):
    from crmlib.segments import spark_clv

    tx, orders, day = both
    ref_summary = seg.clv_summary(tx, as_of=day)
    summary = spark_clv.clv_summary(orders, as_of=day).cache()
    # the pandas engine fits on the same tuples (tuple_counts of the pandas summary)
    bg_ref, gg_ref = seg_clv.fit_clv_models(
        seg_clv.tuple_counts(ref_summary, ["frequency", "recency", "T"]),
        seg_clv.tuple_counts(ref_summary, ["frequency", "monetary_value"]), time_unit="day")
    bg, gg = spark_clv.fit_models(summary)
    assert bg.tuples_["sampled"] is False and bg.tuples_["population"] < len(ref_summary)
    np.testing.assert_array_equal(bg.params_.to_numpy(), bg_ref.params_.to_numpy())  # same tuples, same fit
    # Gamma-Gamma: the mean spends differ in the last bits (float sums in another order), and the
    # likelihood is flat along p * q: measured 3e-7 relative on the test sample
    np.testing.assert_allclose(gg.params_.to_numpy(), gg_ref.params_.to_numpy(), rtol=1e-5)
    # and the tuple fit equals the plain fit on one row per customer (up to the optimiser's tolerance)
    np.testing.assert_allclose(bg.params_, seg.BetaGeoFitter().fit(ref_summary).params_, rtol=1e-5)

    ref = seg.customer_lifetime_value(bg, gg, ref_summary, horizon=12, period=30.0, discount_rate=0.01)
    got = spark_clv.lifetime_value(bg, gg, summary, horizon=12, period=30.0, discount_rate=0.01)
    frame = got.toPandas().set_index("customer_id").sort_index()
    assert frame.index.tolist() == ref.index.tolist()
    for col in ("probability_alive", "expected_purchases", "expected_spend", "clv"):
        np.testing.assert_allclose(frame[col], ref[col], rtol=1e-12, atol=1e-12, err_msg=col)

    figures = spark_clv.clv_figures(got)
    expected = seg_clv.clv_figures(ref)
    assert figures["customers"] == expected["customers"]
    assert figures["share_probably_lost"] == expected["share_probably_lost"]
    assert figures["clv_median"] == pytest.approx(expected["clv_median"], rel=1e-12)
    assert figures["clv_total"] == pytest.approx(expected["clv_total"], rel=1e-12)

    rfm = seg.rfm_scores(seg.rfm_table(tx, as_of=day))
    joined = ref.join(rfm.set_index("customer_id")[["monetary"]])
    ref_risk = joined[(joined["monetary"] >= joined["monetary"].quantile(0.75))
                      & (joined["probability_alive"] < 0.5)]
    monetary = spark_clv.clv_summary(orders, as_of=day).sparkSession.createDataFrame(
        rfm[["customer_id", "monetary"]])
    rows, threshold = spark_clv.at_risk(got.join(monetary, "customer_id", "left"))
    assert threshold == pytest.approx(joined["monetary"].quantile(0.75), rel=1e-12)
    assert sorted(r[0] for r in rows.select("customer_id").collect()) == sorted(ref_risk.index)
    summary.unpersist()


def test_cohort_retention_equal(both):
    from crmlib.segments import spark_cohorts

    tx, orders, day = both
    for freq in ("M", "Q"):
        pd.testing.assert_frame_equal(spark_cohorts.cohort_retention(orders, as_of=day, freq=freq),
                                      seg.cohort_retention(tx, as_of=day, freq=freq))
    pd.testing.assert_frame_equal(spark_cohorts.cohort_retention(orders, as_of="2024-06-30", normalize=False),
                                  seg.cohort_retention(tx, as_of="2024-06-30", normalize=False))


# ---------------------------------------------------------------------- the notebook's dispatch (crmlib.engines.analyses)
def test_migration_table_from_counts_equals_migration_matrix():
    from crmlib.engines.analyses import _migration_table
    from crmlib.report.changes import migration_matrix

    before = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "rfm_segment": ["Lost", "Loyal", "Loyal", "New", "Lost"]})
    after = pd.DataFrame({"customer_id": [1, 2, 3, 6, 7], "rfm_segment": ["Loyal", "Loyal", "Zed", "New", "Lost"]})
    merged = before.merge(after, on="customer_id", how="outer", suffixes=("_b", "_a"))
    counts = (merged.groupby(["rfm_segment_b", "rfm_segment_a"], dropna=False).size().rename("n")
              .reset_index().rename(columns={"rfm_segment_b": "_before", "rfm_segment_a": "_after"}))
    order = ["Champions", "Loyal", "New", "Lost"]
    pd.testing.assert_frame_equal(_migration_table(counts, order),
                                  migration_matrix(before, after, "rfm_segment", order=order))


@pytest.fixture(scope="module")
def engines_both(spark, small_mart, small_url):
    from crmlib.engines import Engine, analyses

    crm = crmlib.connect(small_url)
    pan = Engine("pandas")
    spk = Engine("spark", master="local[2]", mart=str(small_mart), session=spark)
    customers, orders, lines = crm.customers(), crm.orders(), crm.order_lines()
    out = {}
    for eng, args in ((pan, (orders, lines)), (spk, ())):
        tx = analyses.order_values(eng, *args)
        base = analyses.order_counts(eng, tx, customers)
        day = base["last_order"].normalize()
        rfm = analyses.rfm_customers(eng, tx, as_of=day, customers=customers)
        summary = analyses.clv_summary(eng, tx, as_of=day)
        bg, gg = analyses.fit_clv(eng, summary)
        clv = analyses.lifetime_value(eng, bg, gg, summary, rfm)
        out[eng.name] = dict(eng=eng, base=base, rfm=rfm, clv=clv, bg=bg, gg=gg,
                             gaps=analyses.data_gaps(eng, customers=customers, campaigns=crm.campaigns(),
                                                             products=crm.products(), order_lines=lines))
    return out, customers


def test_counts_gaps_and_fits_equal_on_both_engines(engines_both):
    out, _ = engines_both
    p, s = out["pandas"], out["spark"]
    assert p["base"] == s["base"]
    assert p["gaps"] == s["gaps"]
    np.testing.assert_array_equal(p["bg"].params_.to_numpy(), s["bg"].params_.to_numpy())


def test_top_and_at_risk_tables_equal(engines_both):
    from crmlib.engines import analyses

    out, customers = engines_both
    p, s = out["pandas"], out["spark"]
    top_p = analyses.top_customers(p["eng"], p["clv"], by="clv", n=10, customers=customers)
    top_s = analyses.top_customers(s["eng"], s["clv"], by="clv", n=10, customers=customers)
    assert top_s.index.tolist() == top_p.index.tolist()
    assert list(top_s.columns) == list(top_p.columns)
    assert (top_s["email"] == top_p["email"]).all()
    risk_p, n_p = analyses.at_risk(p["eng"], p["clv"])
    risk_s, n_s = analyses.at_risk(s["eng"], s["clv"])
    assert n_s == n_p > 0
    a = analyses.top_customers(p["eng"], risk_p, by="monetary", n=5, customers=customers)
    b = analyses.top_customers(s["eng"], risk_s, by="monetary", n=5, customers=customers)
    assert b.index.tolist() == a.index.tolist()


def test_value_list_equal(engines_both, tmp_path):
    from crmlib.engines import analyses

    out, customers = engines_both
    p, s = out["pandas"], out["spark"]
    clusters = pd.Series(np.arange(len(customers)) % 3, index=customers["customer_id"])
    names = pd.Series({0: "a", 1: "b", 2: "c"})
    ref = analyses.value_list(p["eng"], p["rfm"], p["clv"], clusters, names, customers=customers)
    got = analyses.value_list(s["eng"], s["rfm"], s["clv"], clusters, names).toPandas()
    ref = ref.sort_values("customer_id").reset_index(drop=True)
    got = got.sort_values("customer_id").reset_index(drop=True)[list(ref.columns)]
    assert (got["customer_id"].to_numpy() == ref["customer_id"].to_numpy()).all()
    for col in ("rfm_segment", "cluster_name", "email"):
        assert (got[col].astype(str).to_numpy() == ref[col].astype(str).to_numpy()).all(), col
    assert (got["cluster"].to_numpy() == ref["cluster"].to_numpy(dtype=float)).all()
    np.testing.assert_allclose(got["clv"].to_numpy(float), ref["clv"].to_numpy(float), rtol=1e-9, equal_nan=True)

    # published as the report's list: the same file from either engine (rows sorted by customer)
    from crmlib.report import lists

    scores = ["rfm_segment", "cluster", "clv", "probability_alive"]
    for name, frame in (("p", ref), ("s", analyses.value_list(s["eng"], s["rfm"], s["clv"], clusters, names))):
        lists.publish("customer_value", frame, folder=tmp_path / name, scores=scores, display=False)
    a = lists.read_list(tmp_path / "p" / "lists", "customer_value")
    b = lists.read_list(tmp_path / "s" / "lists", "customer_value")
    if a is None:  # publish writes into folder itself
        a = lists.read_list(tmp_path / "p", "customer_value")
        b = lists.read_list(tmp_path / "s", "customer_value")
    a = a.sort_values("customer_id").reset_index(drop=True)
    b = b.sort_values("customer_id").reset_index(drop=True)
    assert list(b.columns) == list(a.columns) and "email" not in a.columns  # masked
    assert (b["rfm_segment"] == a["rfm_segment"]).all()
    np.testing.assert_allclose(b["clv"].to_numpy(float), a["clv"].to_numpy(float), rtol=1e-9, equal_nan=True)
