"""crmlib.credit.review: the payment-default report's findings sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from crmlib.credit import review
from crmlib.errors import DataContractError, ParameterError


@pytest.fixture
def parts():
    people = pd.DataFrame({
        "income_band": ["low", "low", "high", "high"],
        "defaults": [3, 0, 0, 0],
        "matured_invoices": [5, 5, 5, 5],
        "repeat_defaulter": [True, False, False, False],
    })
    metrics = pd.DataFrame({"auc": [0.75, 0.8], "gini": [0.5, 0.6], "ks": [0.4, 0.45]},
                           index=["boosting", "oracle"])
    gains = pd.DataFrame({"cum_share_of_defaults": [0.3, 0.5], "lift": [3.0, 2.5]})
    psi = pd.DataFrame({"variable": ["score", "share_late"], "psi": [0.05, 0.02],
                        "status": ["stable", "stable"]})
    money = {"expected_loss": 1234.4, "outstanding": 10000.0, "expected_loss_rate": 0.1234,
             "in_default": 500.0}
    return dict(people=people, top_attributes=["income_band"], metrics=metrics, chosen="boosting",
                gains=gains, psi=psi, money=money, window_months=6, cutoff=pd.Timestamp("2025-03-01"))


def call(parts, **changes):
    kw = {**parts, **changes}
    return review.findings(kw.pop("people"), **kw)


def test_sentences_by_hand(parts):
    out = call(parts)
    assert out[0] == ("25% of customers with two or more matured invoices are repeat defaulters. The "
                      "attributes that separate them best are income band; for example customers with "
                      "income band 'low' repeat-default at 50% (2.0 times the average).")
    assert out[1] == ("On the holdout (6 months after 2025-03-01) the boosting model ranks invoices by "
                      "default risk with AUC 0.75 (Gini 0.50, KS 0.40); ranking by the customers' true "
                      "default probabilities would give 0.80.")
    assert out[2] == ("The riskiest 10% of customers by the model hold 30% of the defaulted invoices "
                      "(3.0 times the average rate).")
    assert out[3] == ("Expected loss on today's open balances is 1,234 of 10,000 outstanding (12.3%); "
                      "another 500 is already in default.")
    assert out[4] == ("The score is stable between the training period and today (PSI 0.05); no "
                      "scorecard variable moved. ")


def test_without_an_oracle_and_with_drift(parts):
    psi = pd.DataFrame({"variable": ["score", "share_late"], "psi": [0.3, 0.2],
                        "status": ["shifted", "moderate"]})
    out = call(parts, metrics=parts["metrics"].drop(index="oracle"), psi=psi)
    assert out[1].endswith("(Gini 0.50, KS 0.40).")
    assert "variables that moved (PSI >= 0.1):" in out[4] and out[4].endswith("Refit the models on recent data.")


@pytest.mark.parametrize(("changes", "exc", "match"), [
    ({"chosen": "oracle"}, ParameterError, r"credit.findings: 'chosen' must be one of \['boosting'\]"),
    ({"top_attributes": []}, ParameterError, r"'top_attributes' must name at least one attribute"),
    ({"gains": pd.DataFrame({"lift": [1.0]})}, DataContractError, r"cum_share_of_defaults"),
])
def test_bad_input(parts, changes, exc, match):
    with pytest.raises(exc, match=match):
        call(parts, **changes)
