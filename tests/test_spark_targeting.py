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
    # sums of money are added in another order on Spark: equal to the last few bits
    assert list(got.columns) == list(ref.columns)
    for col in ref.columns:
        if ref[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12,
                                       atol=1e-9, equal_nan=True, err_msg=col)
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
