"""crmlib.credit.models: the quality bar against the oracle, the scorecard, reasons, and checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from credit_data import backtest, fitted, tables

from crmlib.credit import evaluation as E
from crmlib.credit import models as M
from crmlib.credit.target import binomial_rows
from crmlib.errors import DataContractError, NotFittedError, ParameterError

ORACLE_MARGIN = 0.03


def _oracle(url):
    """Rank the holdout invoices by the planted truth p_default of their customer (see
    crmlib.credit.evaluation: same invoices, same outcomes as the models)."""
    ho = backtest(url).holdout
    p = ho["customer_id"].map(tables(url)["truth_customers"].set_index("customer_id")["p_default"])
    assert p.notna().all()
    return E.evaluate(p, ho["defaults_next"], ho["invoices_next"])


def test_better_model_reaches_oracle_auc(small_url):
    ho = backtest(small_url).holdout
    oracle = _oracle(small_url)["auc"]
    aucs = {name: E.evaluate(m.predict(ho), ho["defaults_next"], ho["invoices_next"])["auc"]
            for name, m in fitted(small_url).items()}
    best = max(aucs.values())
    print(f"holdout AUC: oracle {oracle:.4f}, " + ", ".join(f"{k} {v:.4f}" for k, v in aucs.items()))
    assert best >= oracle - ORACLE_MARGIN, f"oracle {oracle:.4f}, models {aucs}"
    assert min(aucs.values()) > 0.7  # both models are useful, not only the better one


def test_models_are_roughly_calibrated(small_url):
    ho = backtest(small_url).holdout
    for name, m in fitted(small_url).items():
        ev = E.evaluate(m.predict(ho), ho["defaults_next"], ho["invoices_next"])
        assert ev["mean_probability"] == pytest.approx(ev["default_rate"], rel=0.35), name
        assert ev["brier"] < ev["default_rate"] * (1 - ev["default_rate"])  # beats the base rate


def test_scorecard_points_follow_risk(small_url):
    sc = fitted(small_url)["scorecard"]
    t = sc.table()
    assert list(t.columns) == ["variable", "label", "bin", "count", "count_share", "event_rate", "woe",
                               "iv", "points"]
    assert {"income_band", "share_late_adj"} <= set(sc.variables_)
    for var, g in t[t["count"] > 0].groupby("variable"):
        # a bin with a higher weight of evidence (fewer defaults) never earns fewer points
        g = g.sort_values("woe")
        assert g["points"].is_monotonic_increasing, var
    income = t[t["variable"] == "income_band"].set_index("bin")["points"]
    assert income["low"] < income["middle"] < income["high"]


def test_scorecard_points_add_up(small_url):
    sc = fitted(small_url)["scorecard"]
    ho = backtest(small_url).holdout.head(50)
    np.testing.assert_allclose(sc.points_by_variable(ho).sum(axis=1), sc.score(ho), rtol=1e-9)
    # higher score, lower probability
    order = np.argsort(sc.score(ho))
    assert np.all(np.diff(sc.predict(ho)[order]) <= 1e-12)


@pytest.mark.parametrize("name", ["scorecard", "boosting"])
def test_reasons(small_url, name):
    model = fitted(small_url)[name]
    ho = backtest(small_url).holdout
    top = ho.iloc[np.argsort(-model.predict(ho))[:10]]
    r = model.reasons(top, top=3)
    impact = "points_lost" if name == "scorecard" else "probability_added"
    assert list(r.columns) == ["customer_id", "rank", "variable", "label", "value", impact]
    assert set(r["customer_id"]) <= set(top["customer_id"]) and r["rank"].max() <= 3
    assert (r[impact] > 0).all()
    assert r.groupby("customer_id")[impact].apply(lambda s: s.is_monotonic_decreasing).all()
    text = M.reason_text(r)
    assert text["customer_id"].tolist() == list(pd.unique(r["customer_id"]))
    assert text["reasons"].str.len().gt(0).all()


def test_reason_text_by_hand():
    r = pd.DataFrame({"customer_id": [7, 7, 3], "rank": [2, 1, 1], "variable": ["age", "income_band", "age"],
                      "label": ["age", "income band", "age"], "value": [23.4, "low", np.nan],
                      "points_lost": [5.0, 9.0, 1.0]})
    out = M.reason_text(r)
    assert out.to_dict("list") == {"customer_id": [7, 3], "reasons": ["income band: low; age: 23", "age: none"]}


def test_permutation_importance_ranks_the_drivers(small_url):
    model = fitted(small_url)["scorecard"]
    ho = backtest(small_url).holdout
    imp = E.permutation_importance(model, ho, ho["defaults_next"], ho["invoices_next"], n_repeats=2)
    assert list(imp.columns) == ["variable", "label", "importance", "std"]
    assert set(imp["variable"].head(2)) == {"income_band", "share_late_adj"}


def test_unseen_categories_do_not_break_scoring(small_url):
    ho = backtest(small_url).holdout.head(20).copy()
    ho["occupation"] = pd.Categorical(["astronaut"] * len(ho))
    for m in fitted(small_url).values():
        p = m.predict(ho)
        assert np.isfinite(p).all()


@pytest.mark.parametrize("cls", [M.ScorecardModel, M.BoostingModel])
def test_not_fitted(cls):
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} instance is not fitted yet"):
        cls().predict_proba(pd.DataFrame({"age": [1.0]}))


@pytest.fixture(scope="module")
def small_xyw():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.uniform(18, 80, 400),
                      "income_band": pd.Categorical(rng.choice(["low", "high"], 400))})
    y = (rng.random(400) < np.where(X["income_band"] == "low", 0.3, 0.05)).astype(int)
    return X, y, np.ones(400)


@pytest.mark.parametrize(("model", "match"), [
    (M.ScorecardModel(max_n_bins=1), r"credit.ScorecardModel.fit: 'max_n_bins' must be an int in \[2, 20\]; got 1"),
    (M.ScorecardModel(pdo=0), r"'pdo' must be a number in \(0, inf\); got 0"),
    (M.ScorecardModel(min_bin_size=0.7), r"'min_bin_size' must be a number in \(0, 0.5\]; got 0.7"),
    (M.BoostingModel(learning_rate=0), r"credit.BoostingModel.fit: 'learning_rate' must be a number in \(0, 1\]; got 0"),
    (M.BoostingModel(max_iter=2.5), r"'max_iter' must be an int in \[1, 5000\]; got 2.5"),
    (M.BoostingModel(n_threads=0), r"'n_threads' must be an int in \[1, 256\]; got 0"),
    (M.BoostingModel(features="age"), r"'features' must be a list of str; got 'age'"),
])
def test_bad_model_parameters(small_xyw, model, match):
    X, y, w = small_xyw
    with pytest.raises(ParameterError, match=match):
        model.fit(X, y, sample_weight=w)


@pytest.mark.parametrize(("args", "exc", "match"), [
    (lambda X, y, w: (X, y[:10], w), ParameterError, r"'y' must have one value per row of X \(400\); got shape \(10,\)"),
    (lambda X, y, w: (X, y * 2, w), ParameterError, r"'y' must hold 0/1 or bool values; got \[2\]"),
    (lambda X, y, w: (X, np.zeros(400), w), ParameterError, r"'y' must contain both defaults and non-defaults"),
    (lambda X, y, w: (X, y, -w), ParameterError, r"'sample_weight' must hold one finite weight >= 0 per row of X \(400\)"),
    (lambda X, y, w: (X[["age"]].rename(columns={"age": "x"}), y, w), ParameterError,
     r"'features' must name at least one column of X; got none of"),
])
def test_bad_fit_input(small_xyw, args, exc, match):
    with pytest.raises(exc, match=match):
        M.BoostingModel().fit(*args(*small_xyw))


def test_missing_feature_column(small_xyw):
    X, y, w = small_xyw
    with pytest.raises(DataContractError, match=r"credit.ScorecardModel.fit: missing column\(s\) \['tenure_days'\]"):
        M.ScorecardModel(features=["age", "tenure_days"]).fit(X, y, sample_weight=w)


def test_fit_on_tiny_frame_and_inputs_unchanged(small_xyw):
    X, y, w = small_xyw
    before = X.copy()
    sc = M.ScorecardModel().fit(X, y, sample_weight=w)
    gb = M.BoostingModel(min_samples_leaf=20).fit(X, y, sample_weight=w)
    pd.testing.assert_frame_equal(X, before)
    assert sc.features_ == ["income_band", "age"] == gb.features_
    low = X["income_band"] == "low"
    assert sc.predict(X)[low].mean() > sc.predict(X)[~low].mean()
    assert gb.predict(X)[low].mean() > gb.predict(X)[~low].mean()


def test_binomial_rows():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "defaults": [1, 0, 2], "invoices": [4, 3, 2]})
    X, y, w = binomial_rows(frame, ["a"])
    assert X["a"].tolist() == [1.0, 3.0, 1.0, 2.0]  # the empty (y=1, w=0) rows are dropped
    assert y.tolist() == [1, 1, 0, 0] and w.tolist() == [1, 2, 3, 3]
