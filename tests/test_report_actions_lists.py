"""The lists the analyses hand to the CRM: target file, customer value file, risk watch list."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from crmlib.credit.actions import WATCH_COLUMNS, watch_list
from crmlib.errors import DataContractError, ParameterError
from crmlib.segments.actions import VALUE_FILE_COLUMNS, value_file
from crmlib.targeting import actions as targeting_actions
from crmlib.targeting.actions import TARGET_FILE_COLUMNS, target_file


def test_target_file_reasons_and_order():
    chosen = pd.DataFrame({"rank": [2, 1], "customer_id": [20, 10], "score": [0.03, 0.05],
                           "uplift": [0.03, 0.05], "propensity": [0.2, 0.4], "expected_profit": [1.5, 3.25],
                           "cumulative_profit": [4.75, 3.25]})
    out = target_file(chosen)
    assert list(out.columns) == TARGET_FILE_COLUMNS
    assert out["customer_id"].tolist() == [10, 20]
    assert out["reason"].tolist() == [
        "contact raises the chance to buy by 5.0 points (rank 1); expected profit 3.25",
        "contact raises the chance to buy by 3.0 points (rank 2); expected profit 1.50"]
    by_propensity = target_file(chosen, rank_by="propensity")
    assert by_propensity["reason"][0].startswith("40% likely to respond (rank 1)")
    assert chosen["rank"].tolist() == [2, 1]  # input unchanged
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['propensity'\]"):
        target_file(chosen.drop(columns="propensity"))
    assert doctest.testmod(targeting_actions).failed == 0


def test_value_file_joins_segment_cluster_and_value():
    rfm = pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["Champions", "Lost", "No Purchase"]})
    clv = pd.DataFrame({"clv": [50.0, 5.0], "probability_alive": [0.9, 0.1]}, index=pd.Index([1, 2], name="customer_id"))
    clusters = pd.Series([0, 1], index=[1, 2])
    out = value_file(rfm, clv, clusters, pd.Series({0: "loyal big spenders", 1: "one-off buyers"}))
    assert list(out.columns) == VALUE_FILE_COLUMNS
    assert out["customer_id"].tolist() == [1, 2, 3]
    assert out["cluster"].tolist()[:2] == [0, 1] and out["cluster"].isna().tolist() == [False, False, True]
    assert out["cluster_name"].tolist()[:2] == ["loyal big spenders", "one-off buyers"]
    assert pd.isna(out["cluster_name"].iloc[2])
    assert out["clv"].tolist()[:2] == [50.0, 5.0] and np.isnan(out["clv"].iloc[2])
    assert out.loc[2, "rfm_segment"] == "No Purchase"


def test_watch_list_takes_the_top_share_with_balances():
    scored = pd.DataFrame({"customer_id": range(1, 101), "probability": np.linspace(0.01, 0.5, 100),
                           "score": np.linspace(700, 400, 100)})
    losses = pd.DataFrame({"customer_id": [100, 99], "outstanding": [1000.0, 50.0],
                           "expected_loss": [500.0, 24.0], "in_default": [0.0, 10.0]})
    out = watch_list(scored, losses, share=0.05, min_rows=3)
    assert list(out.columns) == WATCH_COLUMNS
    assert out["customer_id"].tolist() == [100, 99, 98, 97, 96]
    assert out["outstanding"].tolist() == [1000.0, 50.0, 0.0, 0.0, 0.0]
    assert len(watch_list(scored, losses, share=0.01, min_rows=20)) == 20
    with pytest.raises(ParameterError, match="'share'"):
        watch_list(scored, losses, share=0)
