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
    (lambda X, y, w: (X, np.zeros(400), w), ParameterError, r"'y' must contain both events \(1, e.g. defaults\) and non-events \(0\)"),
    (lambda X, y, w: (X, y, -w), ParameterError, r"'sample_weight' must hold one finite weight >= 0 per row of X \(400\)"),
    (lambda X, y, w: (X[["age"]].rename(columns={"age": "x"}), y, w), ParameterError,
     r"'features' must name at least one column of X; the default \(the CRM features .*\) found none "
     r"in \['x'\]; pass features=\[...\] naming the columns to use"),
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


# --- any frame (issue 21) ---------------------------------------------------------------------------

def _confounded(seed=0, n=3000):
    """x2 follows x1 closely; the event grows with x1 but falls with x2 once x1 is known
    (logit = 2 x1 - x2 + x3/2). Alone, x2 looks risky (cov(logit, x2) = 2 - 1.25 > 0), so its WoE
    coefficient comes out positive: the wrong sign for a scorecard."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = x1 + 0.5 * rng.normal(size=n)
    x3 = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * x1 - x2 + 0.5 * x3)))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3}), y


@pytest.mark.parametrize("seed", [0, 1])
def test_wrong_sign_is_dropped_with_a_warning(seed):
    X, y = _confounded(seed)
    with pytest.warns(UserWarning, match=r"credit.ScorecardModel.fit: dropped 'x2': its coefficient "
                                         r"\+\d\.\d+ has the wrong sign .* pass drop_wrong_sign=False"):
        m = M.ScorecardModel(features=["x1", "x2", "x3"]).fit(X, y)
    assert m.dropped_ == ["x2"]
    assert m.dropped_coefficients_["x2"] > 0
    assert m.variables_ == ["x1", "x3"]
    assert m.wrong_sign_ == []


def test_drop_wrong_sign_false_keeps_it():
    import warnings

    X, y = _confounded()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        m = M.ScorecardModel(features=["x1", "x2", "x3"], drop_wrong_sign=False).fit(X, y)
    assert m.dropped_ == [] and m.variables_ == ["x1", "x2", "x3"] and m.wrong_sign_ == ["x2"]
    coef = dict(zip(m.variables_, m.scorecard_.estimator_.coef_.ravel(), strict=True))
    assert coef["x2"] > 0 > coef["x1"]
    # kept, x2 now earns points where it is high: the confounded effect, adjusted for x1
    high = X.assign(x2=X["x2"] + 2)
    assert (m.points_by_variable(high)["x2"] >= m.points_by_variable(X)["x2"]).all()
    with pytest.raises(ParameterError, match=r"'drop_wrong_sign' must be a bool; got 'no'"):
        M.ScorecardModel(features=["x1"], drop_wrong_sign="no").fit(X, y)


def test_table_labels_bins_readably():
    """Bins read as intervals, 'missing' and category lists, with the counts one can check."""
    rng = np.random.default_rng(3)
    n = 600
    x = np.repeat([0.25, 1.0, 3.0], n // 3)
    kind = np.tile(["a", "b", "c", "d"], n // 4)
    p = np.select([x == 0.25, x == 1.0], [0.05, 0.2], 0.5) + np.isin(kind, ["c", "d"]) * 0.2
    y = (rng.random(n) < p).astype(int)
    x = x.copy()
    x[:30] = np.nan
    X = pd.DataFrame({"x": x, "kind": kind})
    t = M.ScorecardModel(features=["x", "kind"], min_bin_size=0.04).fit(X, y).table()
    bins = t.groupby("variable")["bin"].apply(list).to_dict()
    assert bins["x"] == ["(-inf, 0.625)", "[0.625, 2.0)", "[2.0, inf)", "missing"]
    assert t.loc[(t["variable"] == "x") & (t["bin"] == "missing"), "count"].item() == 30
    assert sorted(bins["kind"]) == ["a", "b", "c", "d"]
    two = M.ScorecardModel(features=["kind"], max_n_bins=2).fit(X, y).table()
    assert sorted(", ".join(sorted(b.split(", "))) for b in two["bin"]) == ["a, b", "c, d"]


def test_boosting_and_scorecard_fit_any_frame_with_features():
    X, y = _confounded(n=800)
    X = X.assign(colour=np.where(X["x3"] > 0, "red", "blue"))
    gb = M.BoostingModel(features=["x1", "colour"], min_samples_leaf=20).fit(X, y)
    assert gb.features_ == ["x1", "colour"] and gb.categories_ == {"colour": ["blue", "red"]}
    assert gb.predict(X).shape == (800,)
    sc = M.ScorecardModel(features=["x1", "colour"]).fit(X, y)
    assert sc.variables_ == ["x1", "colour"]
    assert np.corrcoef(sc.predict(X), X["x1"])[0, 1] > 0.8


def test_binomial_rows():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "defaults": [1, 0, 2], "invoices": [4, 3, 2]})
    X, y, w = binomial_rows(frame, ["a"])
    assert X["a"].tolist() == [1.0, 3.0, 1.0, 2.0]  # the empty (y=1, w=0) rows are dropped
    assert y.tolist() == [1, 1, 0, 0] and w.tolist() == [1, 2, 3, 3]
