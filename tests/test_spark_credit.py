"""crmlib.credit.spark against crmlib.credit: the same payment-behaviour features, column by column."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from spark_support import assert_same_frame

import crmlib
from crmlib.credit import features as CF
from crmlib.errors import DataContractError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

# one cutoff mid-history, one late and off midnight (payments and due dates fall on both sides)
CUTOFFS = ("2024-07-01", "2025-09-15 12:00")


@pytest.fixture(scope="module")
def tables(spark, small_mart, small_url):
    from crmlib.credit import spark as sc

    crm = crmlib.connect(small_url)
    pandas_tables = (crm.invoices(), crm.payments(), crm.customers())
    return pandas_tables, sc.read_tables(spark, small_mart)


@pytest.fixture(scope="module")
def sales(spark, small_mart, small_url):
    from crmlib.credit import spark as sc

    crm = crmlib.connect(small_url)
    return (crm.orders(), crm.order_lines(), crm.channels()), sc.read_sales(spark, small_mart)


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_invoice_status_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.invoice_status(inv, pay, as_of=cutoff)
    got = sc.to_pandas(sc.invoice_status(sinv, spay, as_of=cutoff))
    assert_same_frame(ref, got)
    # the comparison covers every state: on time, late, open, matured, default
    assert ref["is_late"].sum() > 50 and ref["is_default"].sum() > 10
    assert ref["paid_at"].isna().sum() > 10 and (~ref["is_due"]).sum() > 10


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_payment_behaviour_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.payment_behaviour(inv, pay, cutoff=cutoff)
    got = sc.to_pandas(sc.payment_behaviour(sinv, spay, cutoff=cutoff))
    assert_same_frame(ref, got)
    assert ref["repeat_defaulter"].sum() > 0 and ref["late_trend"].isna().sum() > 0
    assert ref["late_trend"].notna().sum() > 0 and ref["days_since_late"].notna().sum() > 0


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_customer_features_equal(tables, cutoff):
    from crmlib.credit import spark as sc

    (inv, pay, cus), (sinv, spay, scus) = tables
    ref = CF.customer_features(inv, pay, cus, cutoff=cutoff)
    got = sc.to_pandas(sc.customer_features(sinv, spay, scus, cutoff=cutoff))
    assert_same_frame(ref, got)
    assert (ref["invoices"] == 0).sum() > 0  # customers without invoices are filled as pandas does
    assert ref["age_band"].nunique() >= 4 and ref["tenure_band"].nunique() >= 3


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_customer_features_with_orders_equal(tables, sales, cutoff):
    """The payment-default notebook's call: purchase behaviour from the orders too."""
    from crmlib.credit import spark as sc

    (inv, pay, cus), (sinv, spay, scus) = tables
    (orders, lines, channels), (ssales, schannels) = sales
    ref = CF.customer_features(inv, pay, cus, cutoff=cutoff, orders=orders, order_lines=lines,
                               channels=channels)
    got = sc.to_pandas(sc.customer_features(sinv, spay, scus, cutoff=cutoff, sales=ssales,
                                            channels=schannels))
    assert_same_frame(ref, got)
    assert {"orders", "discount_share", "order_channel"} <= set(ref.columns)
    assert ref["order_channel"].nunique() == 4 and (ref["orders"] == 0).sum() > 0  # 3 kinds + 'unknown'


def test_purchase_behaviour_without_channels_equal(sales):
    from crmlib.credit import spark as sc

    (orders, lines, _), (ssales, _) = sales
    ref = CF.purchase_behaviour(orders, lines, cutoff=CUTOFFS[0])
    got = sc.to_pandas(sc.purchase_behaviour(ssales, cutoff=CUTOFFS[0]))
    assert list(ref.columns) == ["customer_id", "orders", "discount_share"]
    assert_same_frame(ref, got)


def test_default_days_is_passed_through(tables):
    from crmlib.credit import spark as sc

    (inv, pay, _), (sinv, spay, _) = tables
    ref = CF.payment_behaviour(inv, pay, cutoff=CUTOFFS[1], default_days=30)
    got = sc.to_pandas(sc.payment_behaviour(sinv, spay, cutoff=CUTOFFS[1], default_days=30))
    assert_same_frame(ref, got)
    default90 = CF.payment_behaviour(inv, pay, cutoff=CUTOFFS[1])
    assert ref["defaults"].sum() > default90["defaults"].sum()


@pytest.mark.parametrize("call, error, match", [
    (lambda sc, i, p, c: sc.payment_behaviour(i, p, cutoff="next tuesday"), ParameterError,
     r"credit.spark.payment_behaviour: 'cutoff' must be a date such as '2025-03-01'; got 'next tuesday'"),
    (lambda sc, i, p, c: sc.customer_features(i, p, c, cutoff=[2025, 3, 1]), ParameterError,
     r"credit.spark.customer_features: 'cutoff' must be a date .*got \[2025, 3, 1\]"),
    (lambda sc, i, p, c: sc.invoice_status(i, p, as_of=None), ParameterError,
     r"credit.spark.invoice_status: 'as_of' must be a date .*got None"),
    (lambda sc, i, p, c: sc.payment_behaviour(i, p, cutoff="2025-01-01", default_days=0), ParameterError,
     r"'default_days' must be an int in \[1, 365\]; got 0"),
    (lambda sc, i, p, c: sc.invoice_status(i.toPandas(), p, as_of="2025-01-01"), ParameterError,
     r"credit.spark.invoice_status: 'invoices' must be a Spark DataFrame"),
    (lambda sc, i, p, c: sc.invoice_status(i, p.drop("paid_at"), as_of="2025-01-01"), DataContractError,
     r"credit.spark.invoice_status\(payments\): missing column\(s\) \['paid_at'\]"),
    (lambda sc, i, p, c: sc.customer_attributes(c.drop("birth_date"), as_of="2025-01-01"), DataContractError,
     r"credit.spark.customer_attributes\(customers\): missing column\(s\) \['birth_date'\]"),
])
def test_bad_input_is_named(tables, call, error, match):
    from crmlib.credit import spark as sc

    with pytest.raises(error, match=match):
        call(sc, *tables[1])


@pytest.mark.parametrize("reader, table", [("read_tables", "fact_payments"), ("read_tables", "dim_customer"),
                                           ("read_sales", "dim_channel")])
def test_missing_mart_table(spark, small_mart, tmp_path, reader, table):
    from crmlib.credit import spark as sc

    mart = tmp_path / "mart"
    shutil.copytree(small_mart, mart, ignore=shutil.ignore_patterns(table))
    with pytest.raises(DataContractError,
                       match=rf"credit.spark.{reader}: .* has no readable table '{table}' \(run `crmlib mart export`\)") as err:
        getattr(sc, reader)(spark, mart)
    assert err.value.table == table


# ---------------------------------------------------------------------- the report on Spark (spark_models)
PAYMENT_FEATURES = ("income_band", "age", "occupation", "share_late_adj", "default_rate_adj", "days_past_due_mean")


@pytest.fixture(scope="module")
def backtests(spark, small_mart, small_url):
    """The pandas backtest and the Spark one of the same sample, with both models fitted on each."""
    from crmlib.credit import models, target
    from crmlib.credit import spark as sc
    from crmlib.credit import spark_models as sm

    crm = crmlib.connect(small_url)
    inv, pay, cus = crm.invoices(), crm.payments(), crm.customers()
    ref = target.backtest_samples(inv, pay, cus, orders=crm.orders(), order_lines=crm.order_lines(),
                                  channels=crm.channels())
    sinv, spay, scus = sc.read_tables(spark, small_mart)
    sales, kinds = sc.read_sales(spark, small_mart)
    got = sm.backtest(sinv, spay, scus, sales=sales, channels=kinds)
    train = sm.training_sample(got.train)
    return {"ref": ref, "got": got, "train": train, "fit_ref": models.fit_models(ref.train),
            "fit_got": models.fit_models(train), "tables": (inv, pay), "spark_tables": (sinv, spay, scus),
            "truth": crm.truth("customers")[["customer_id", "p_default"]]}


def test_backtest_and_training_sample_equal_pandas(backtests):
    from crmlib.credit.models import MODEL_FEATURES

    ref, got, train = backtests["ref"], backtests["got"], backtests["train"]
    assert (got.cutoff, got.train_cutoffs, got.data_start, got.data_end) == (
        ref.cutoff, ref.train_cutoffs, ref.data_start, ref.data_end)
    pd.testing.assert_frame_equal(got.summary(), ref.summary(), check_dtype=False)
    # every row came back (the data fit the bound), in the pandas order, with its dtypes
    assert train.attrs == {"population": len(ref.train), "sampled": False, "fraction": 1.0}
    cols = ["customer_id", *[f for f in MODEL_FEATURES if f in ref.train.columns], "invoices_next",
            "defaults_next"]
    assert_same_frame(ref.train[cols], train[cols])


def test_models_fitted_on_the_sample_equal_pandas(backtests):
    holdout = backtests["ref"].holdout
    for name, model in backtests["fit_ref"].items():
        np.testing.assert_array_equal(backtests["fit_got"][name].predict(holdout), model.predict(holdout),
                                      err_msg=name)


def test_training_sample_is_bounded_and_stratified(backtests):
    from crmlib.credit import spark_models as sm

    train = backtests["got"].train
    small = sm.training_sample(train, max_rows=1000, seed=3)
    assert small.attrs["sampled"] and small.attrs["population"] == len(backtests["ref"].train)
    assert 700 < len(small) < 1300
    share = (small["defaults_next"] > 0).mean()
    full = (backtests["ref"].train["defaults_next"] > 0).mean()
    assert abs(share - full) < 0.05 and small["defaults_next"].gt(0).sum() > 20


def test_scorecard_as_spark_sql_equals_the_model(backtests):
    from crmlib.credit import spark_models as sm

    card, holdout = backtests["fit_got"]["scorecard"], backtests["ref"].holdout
    cols = sm.scorecard_columns(card)
    got = (backtests["got"].holdout.select(
        "customer_id", cols["score"].alias("score"), cols["probability"].alias("probability"),
        *[cols["bins"][v].alias(f"bin_{v}") for v in card.variables_]).toPandas()
        .sort_values("customer_id").reset_index(drop=True))
    np.testing.assert_array_equal(got["score"].to_numpy(), card.score(holdout))  # same additions, same order
    np.testing.assert_allclose(got["probability"].to_numpy(), card.predict(holdout), rtol=1e-12, atol=0)
    bins = card.bins(holdout)
    for v in card.variables_:
        assert (got[f"bin_{v}"].to_numpy() == bins[v].to_numpy()).all(), v
    assert len(card.variables_) >= 3 and any(v in card.categories_ for v in card.variables_)


def test_boosting_scored_in_map_in_pandas_equals_the_model(backtests):
    from crmlib.credit import spark_models as sm

    model, holdout = backtests["fit_got"]["boosting"], backtests["ref"].holdout
    got = sm.predict(model, backtests["got"].holdout).toPandas().sort_values("customer_id")
    np.testing.assert_array_equal(got["customer_id"].to_numpy(), holdout["customer_id"].to_numpy())
    np.testing.assert_array_equal(got["probability"].to_numpy(), model.predict(holdout))


def test_holdout_evaluation_from_grouped_counts_equals_pandas(spark, backtests):
    from crmlib.credit import evaluation
    from crmlib.credit import spark_models as sm

    fitted, holdout = backtests["fit_got"], backtests["ref"].holdout
    outcome = holdout["defaults_next"], holdout["invoices_next"]
    truth = backtests["truth"]
    oracle = holdout["customer_id"].map(truth.set_index("customer_id")["p_default"])
    scores = {name: m.predict(holdout) for name, m in fitted.items()}
    ref = evaluation.compare_models(scores, *outcome, oracle=oracle)
    held = sm.holdout_scores(fitted, backtests["got"].holdout, oracle=spark.createDataFrame(truth))
    got = sm.compare_models(held, list(fitted), oracle="oracle")
    pd.testing.assert_frame_equal(got[ref.columns].loc[ref.index], ref, rtol=1e-12, atol=1e-15)
    tables = sm.holdout_tables(held, list(fitted), oracle=True)
    assert tables["rounded"] == []
    for name, s in {**scores, "oracle": oracle}.items():
        pd.testing.assert_frame_equal(tables["gains"][name], evaluation.gains_table(s, *outcome),
                                      check_dtype=False, rtol=1e-12)
        roc = evaluation.roc_table(s, *outcome)
        pd.testing.assert_frame_equal(tables["roc"][name], roc, rtol=1e-9)
        if name != "oracle":
            pd.testing.assert_frame_equal(tables["calibration"][name], evaluation.calibration_table(s, *outcome),
                                          check_dtype=False, rtol=1e-9)
    # the scorecard has many tied scores: the tables place them as the pandas stable sort does
    assert pd.Series(scores["scorecard"]).duplicated().sum() > 100


def test_money_at_risk_and_lists_equal_pandas(backtests):
    from crmlib.credit import actions, models, risk
    from crmlib.credit import features as cf
    from crmlib.credit import spark as sc
    from crmlib.credit import spark_models as sm

    inv, pay = backtests["tables"]
    sinv, spay, scus = backtests["spark_tables"]
    end = backtests["ref"].data_end
    feats = cf.customer_features(inv, pay, crmlib.connect(os.environ["CRMLIB_DB_URL"]).customers(), cutoff=end)
    active = feats[feats["invoices_12m"] > 0].reset_index(drop=True)
    sactive = sc.customer_features(sinv, spay, scus, cutoff=end).where("invoices_12m > 0")
    # a quick scorer on the columns both frames have (no purchases here)
    train = backtests["ref"].train
    small = models.BoostingModel(features=list(PAYMENT_FEATURES), max_iter=20).fit(
        train, train["defaults_next"].gt(0).astype(int))
    scored = pd.DataFrame({"customer_id": active["customer_id"], "probability": small.predict(active)})
    losses = risk.expected_loss(scored, risk.exposure(inv, pay, as_of=end))
    sscored = sm.predict(small, sactive)
    slosses = sm.expected_loss(sscored, sm.exposure(sinv, spay, as_of=end)).cache()
    pd.testing.assert_series_equal(sm.loss_summary(slosses), risk.loss_summary(losses), rtol=1e-12)
    # the watch list: the same customers (ties by customer_id), the same balances
    watch = actions.watch_list(scored.assign(score=0.0), losses)
    got = sm.watch_list(sscored.withColumn("score", sscored["probability"] * 0), slosses).toPandas()
    got = got.sort_values(["probability", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, watch, check_dtype=False, rtol=1e-12)
    top = sm.top_customers(sscored, sactive, slosses, scus, 15)
    np.testing.assert_array_equal(top["customer_id"].to_numpy(),
                                  scored.nlargest(15, "probability")["customer_id"].to_numpy())


def test_drift_from_counts_equals_pandas(backtests):
    from crmlib.credit import drift
    from crmlib.credit import spark_models as sm

    ref, got, card = backtests["ref"], backtests["got"], backtests["fit_got"]["scorecard"]
    cols = sm.scorecard_columns(card)
    binned = [cols["score"].alias("score"), *[cols["bins"][v].alias(v) for v in card.variables_]]
    # the holdout against the training snapshots (both have every model feature)
    want = drift.psi_table(card.bins(ref.train), card.bins(ref.holdout))
    have = sm.psi_table(got.train.select(*binned), got.holdout.select(*binned), card.variables_)
    pd.testing.assert_frame_equal(have, want, rtol=1e-12)
    assert sm.score_psi(got.train.select(*binned), got.holdout.select(*binned), "score") == pytest.approx(
        drift.psi(card.score(ref.train), card.score(ref.holdout)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("k", [1, 7, 50, 299, 300])
def test_top_k_breaks_ties_by_key_without_a_global_sort(spark, k):
    from crmlib.credit import spark_models as sm

    rng = np.random.default_rng(k)
    frame = pd.DataFrame({"customer_id": rng.permutation(300), "v": rng.integers(0, 12, 300).astype(float)})
    ref = frame.sort_values(["v", "customer_id"], ascending=[False, True]).head(k)
    got = sm.top_k(spark.createDataFrame(frame), "v", k).toPandas()
    assert sorted(got["customer_id"]) == sorted(ref["customer_id"])


def test_quantiles_from_counts_equal_numpy():
    from crmlib.credit.spark_models import quantiles_from_counts

    rng = np.random.default_rng(0)
    for _ in range(20):
        values = np.round(rng.normal(500, 40, rng.integers(5, 40)), 1)
        weights = rng.integers(1, 30, len(values)).astype(float)
        q = np.linspace(0, 1, 11)[1:-1]
        # to the last bit or so: the PSI bins only move if an edge falls on a value, and an edge
        # between two values is never within rounding of either
        np.testing.assert_allclose(quantiles_from_counts(values, weights, q),
                                   np.quantile(np.repeat(values, weights.astype(int)), q), rtol=1e-14)
