"""crmlib.credit.evaluation: metrics on invoice counts agree with one row per invoice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from crmlib.credit import evaluation as E
from crmlib.errors import ParameterError


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 8, 300)
    p = rng.beta(1, 12, 300)
    k = rng.binomial(n, np.clip(p * 1.5, 0, 1))
    return np.round(p, 2), k, n  # rounded: many ties


def _per_invoice(score, k, n):
    s = np.repeat(score, n)
    y = np.concatenate([np.r_[np.ones(ki), np.zeros(ni - ki)] for ki, ni in zip(k, n, strict=True)])
    return s, y


def test_evaluate_matches_one_row_per_invoice(counts):
    p, k, n = counts
    s, y = _per_invoice(p, k, n)
    ev = E.evaluate(p, k, n)
    assert ev["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert ev["gini"] == pytest.approx(2 * roc_auc_score(y, s) - 1, abs=1e-12)
    assert ev["brier"] == pytest.approx(brier_score_loss(y, s), abs=1e-12)
    assert (ev["customers"], ev["invoices"], ev["defaults"]) == (300, n.sum(), k.sum())
    # KS by brute force over thresholds
    ks = max(abs((s[y == 1] >= t).mean() - (s[y == 0] >= t).mean()) for t in np.unique(s))
    assert ev["ks"] == pytest.approx(ks, abs=1e-12)


def test_evaluate_by_hand():
    ev = E.evaluate([0.9, 0.1, 0.5], [1, 0, 0])
    assert ev["auc"] == 1.0 and ev["ks"] == 1.0
    assert ev["brier"] == pytest.approx((0.01 + 0.01 + 0.25) / 3)
    assert E.evaluate([0.5, 0.5], [1, 0])["auc"] == 0.5  # ties count one half


def test_roc_table(counts):
    p, k, n = counts
    roc = E.roc_table(p, k, n)
    assert roc.iloc[0][["fpr", "tpr"]].tolist() == [0.0, 0.0]
    assert roc.iloc[-1][["fpr", "tpr"]].tolist() == [1.0, 1.0]
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].is_monotonic_increasing
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(E.evaluate(p, k, n)["auc"])


def test_gains_table(counts):
    p, k, n = counts
    g = E.gains_table(p, k, n)
    assert g["decile"].tolist() == list(range(1, 11))
    assert g["customers"].sum() == 300 and g["defaults"].sum() == k.sum()
    assert g["cum_share_of_defaults"].iloc[-1] == pytest.approx(1.0)
    assert g["cum_lift"].iloc[-1] == pytest.approx(1.0)
    assert g["default_rate"].iloc[0] > g["default_rate"].iloc[-1]  # riskiest first


def test_calibration_table(counts):
    p, k, n = counts
    c = E.calibration_table(p, k, n, n_bins=5)
    assert c["bin"].tolist() == [1, 2, 3, 4, 5]
    assert c["invoices"].sum() == n.sum()
    assert c["predicted"].is_monotonic_increasing
    assert ((c["observed_low"] <= c["observed"]) & (c["observed"] <= c["observed_high"])).all()


@pytest.mark.parametrize(("call", "match"), [
    (lambda: E.evaluate([0.1, 0.2], [1]), r"credit.evaluate: 'score', 'events' and 'trials' must be 1-d with one value per customer"),
    (lambda: E.evaluate([0.1, np.nan], [1, 0]), r"credit.evaluate: 'score' must not contain NaN; got 1"),
    (lambda: E.evaluate([0.1, 0.2], [3, 0], [2, 1]), r"'events' must be between 0 and 'trials'"),
    (lambda: E.gains_table([0.1], [1], groups=1), r"credit.gains_table: 'groups' must be an int in \[2, 100\]; got 1"),
    (lambda: E.calibration_table([0.1], [1], n_bins=0), r"'n_bins' must be an int in \[2, 50\]; got 0"),
])
def test_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_inputs_may_be_series(counts):
    p, k, n = counts
    a = E.evaluate(pd.Series(p), pd.Series(k), pd.Series(n))
    b = E.evaluate(p, k, n)
    pd.testing.assert_series_equal(a, b)
