"""crmlib.credit.risk and crmlib.credit.drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from credit_data import AS_OF, backtest, fitted, tiny_invoices, tiny_payments

from crmlib.credit import drift as D
from crmlib.credit import risk as R
from crmlib.errors import DataContractError, ParameterError


def test_exposure_by_hand():
    e = R.exposure(tiny_invoices(), tiny_payments(), as_of=AS_OF).set_index("customer_id")
    # customer 2: invoice 4 is in default (150 open), invoice 5 open and 1 day past due (60)
    assert e.loc[2].to_dict() == {"open_invoices": 2, "outstanding": 60.0, "past_due": 60.0,
                                  "in_default": 150.0}
    assert e.loc[3].to_dict() == {"open_invoices": 1, "outstanding": 30.0, "past_due": 0.0,
                                  "in_default": 0.0}
    assert 1 not in e.index  # paid up


def test_expected_loss_by_hand():
    scores = pd.DataFrame({"customer_id": [1, 2, 3], "probability": [0.5, 0.1, 0.2]})
    e = R.exposure(tiny_invoices(), tiny_payments(), as_of=AS_OF)
    el = R.expected_loss(scores, e, lgd=0.5)
    assert el["customer_id"].tolist() == [2, 3, 1]
    assert el["expected_loss"].tolist() == pytest.approx([3.0, 3.0, 0.0])
    s = R.loss_summary(el)
    assert s["expected_loss"] == pytest.approx(6.0) and s["outstanding"] == 90.0
    assert s["in_default"] == 150.0 and s["customers_with_balance"] == 2


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda e: R.expected_loss(pd.DataFrame({"customer_id": [1]}), e), DataContractError,
     r"credit.expected_loss\(scores\): missing column\(s\) \['probability'\]"),
    (lambda e: R.expected_loss(pd.DataFrame({"customer_id": [1], "probability": [0.1]}), e, lgd=2),
     ParameterError, r"credit.expected_loss: 'lgd' must be a number in \[0, 1\]; got 2"),
])
def test_risk_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(R.exposure(tiny_invoices(), tiny_payments(), as_of=AS_OF))


def test_psi_by_hand():
    ref = ["a"] * 50 + ["b"] * 50
    cur = ["a"] * 80 + ["b"] * 20
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert D.psi(ref, cur) == pytest.approx(expected)
    assert D.psi(ref, ref) == 0.0


def test_psi_numeric_uses_reference_deciles():
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 5000)
    assert D.psi(ref, rng.normal(0, 1, 5000)) < 0.02
    assert D.psi(ref, rng.normal(1, 1, 5000)) > 0.25
    assert D.psi(np.r_[ref, [np.nan] * 100], np.r_[ref, [np.nan] * 100]) == 0.0


def test_psi_table_flags():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"same": rng.normal(size=4000), "moved": rng.normal(size=4000),
                        "bit": rng.normal(size=4000)})
    cur = pd.DataFrame({"same": rng.normal(size=4000), "moved": rng.normal(1.5, 1, 4000),
                        "bit": rng.normal(0.45, 1, 4000)})
    t = D.psi_table(ref, cur).set_index("variable")
    assert t.loc["same", "status"] == "stable"
    assert t.loc["bit", "status"] == "moderate"
    assert t.loc["moved", "status"] == "significant"
    assert list(D.psi_table(ref, cur).columns) == ["variable", "psi", "status"]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: D.psi([], [1.0]), r"credit.psi: 'reference' and 'current' must not be empty; got 0 and 1"),
    (lambda: D.psi([1.0], [1.0], bins=1), r"credit.psi: 'bins' must be an int in \[2, 50\]; got 1"),
    (lambda: D.psi_table(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]}), ["a"]),
     r"credit.psi_table: 'columns' must be in both frames; got \['a'\] missing"),
])
def test_drift_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_scorecard_drift_between_training_and_holdout(small_url):
    sc = fitted(small_url)["scorecard"]
    bt = backtest(small_url)
    bins = D.psi_table(sc.bins(bt.train), sc.bins(bt.holdout))
    assert set(bins["variable"]) == set(sc.variables_)
    # the planted population does not change over time: income and occupation stay stable
    assert (bins.set_index("variable").loc[["income_band", "occupation"], "status"] == "stable").all()
    assert D.psi(sc.score(bt.train), sc.score(bt.holdout)) < 0.25
