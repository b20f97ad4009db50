"""crmlib.targeting uplift and propensity models on small synthetic experiments with a known effect."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crmlib import targeting as tg
from crmlib.errors import NotFittedError, ParameterError


def experiment(n=4000, seed=0, control_share=0.3):
    """Uplift +0.15 where friction is low, -0.10 where it is high; baseline 0.1."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(tg.MODEL_FEATURES))), columns=tg.MODEL_FEATURES)
    high = X["friction_rate"].to_numpy() > 0.5
    tau = np.where(high, -0.08, 0.15)
    t = rng.random(n) > control_share
    y = rng.random(n) < 0.1 + 0.1 * (X["order_rate"] > 0) + t * tau
    return X.assign(treatment=t, converted=y, customer_id=np.arange(n) // 2), tau


@pytest.fixture(scope="module")
def data():
    return experiment()


@pytest.mark.parametrize("name", ["two_model", "interaction_logit", "dr_learner", "x_learner", "ensemble"])
def test_learners_find_the_planted_effect(data, name):
    frame, tau = data
    model = tg.make_model(name).fit(frame, frame["treatment"], frame["converted"])
    pred = model.predict(frame)
    assert pred.shape == (len(frame),)
    assert pred[tau > 0].mean() - pred[tau < 0].mean() > 0.08
    out = model.predict_outcomes(frame.head(5))
    assert list(out.columns) == ["p_control", "p_treated", "uplift"]
    assert np.allclose(out["uplift"], out["p_treated"] - out["p_control"])


def test_propensity_predicts_response_not_uplift(data):
    frame, _ = data
    p = tg.ResponsePropensity().fit(frame, frame["treatment"], frame["converted"]).predict(frame)
    assert ((p >= 0) & (p <= 1)).all()
    high = frame["order_rate"].to_numpy() > 0
    assert p[high].mean() > p[~high].mean() + 0.05


def test_not_fitted():
    with pytest.raises(NotFittedError, match="This DRLearner instance is not fitted yet"):
        tg.DRLearner().predict(pd.DataFrame(columns=tg.MODEL_FEATURES, dtype=float))


def test_no_control_group_raises_for_uplift(data):
    frame, _ = data
    with pytest.raises(tg.NoControlGroupError, match=r"no control group: all 4,000 contacts were contacted"):
        tg.TwoModelUplift().fit(frame, np.ones(len(frame), bool), frame["converted"])


def test_no_control_group_falls_back_to_propensity(data):
    frame, _ = data
    treated = frame.assign(treatment=True)
    with pytest.warns(tg.TargetingWarning, match="No control group: all 4,000 contacts"):
        fitted = tg.fit_model(treated, model="ensemble")
    assert fitted.kind == "propensity" and fitted.name == "propensity"
    assert "response propensity" in fitted.note
    assert fitted.predict(frame).shape == (len(frame),)


def test_with_control_group_no_warning(data):
    frame, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted = tg.fit_model(frame, model="interaction_logit")
    assert fitted.kind == "uplift" and fitted.note is None


@pytest.mark.parametrize("model", ["two_model", "propensity"])
def test_too_few_conversions(data, model):
    frame, _ = data
    few = frame.assign(converted=False)
    few.loc[few.index[:3], "converted"] = True
    with pytest.raises(tg.TooFewConversionsError, match=r"too few conversions to train: \d+ conversions among [\d,]+ contacted rows"):
        tg.fit_model(few, model=model)


def test_unknown_model_name():
    with pytest.raises(ParameterError, match=r"'model' must be one of \['ensemble', .*'propensity'\]; got 'forest'"):
        tg.make_model("forest")


@pytest.mark.parametrize("bad, match", [
    (lambda f: f.drop(columns=["friction_rate"]), r"missing column\(s\) \['friction_rate'\]"),
    (lambda f: f.assign(order_rate=np.nan), r"4000 row\(s\) of 'X' have missing feature values"),
])
def test_bad_features(data, bad, match):
    from crmlib.errors import CrmlibError

    frame, _ = data
    with pytest.raises(CrmlibError, match=match):
        tg.InteractionLogit().fit(bad(frame), frame["treatment"], frame["converted"])


def test_cross_fit_keeps_customers_together(data):
    frame, tau = data
    scores = tg.cross_fit_predict(frame, {"il": tg.InteractionLogit()}, folds=3)
    assert scores.index.equals(frame.index) and not scores["il"].isna().any()
    assert tg.qini_coefficient(frame["converted"], frame["treatment"], scores["il"]) > 0
    with pytest.raises(ParameterError, match=r"'folds' must be an int in \[2, inf\); got 1"):
        tg.cross_fit_predict(frame, {"il": tg.InteractionLogit()}, folds=1)


def test_fit_does_not_change_the_input(data):
    frame, _ = data
    before = frame.copy()
    tg.DRLearner().fit(frame, frame["treatment"], frame["converted"])
    pd.testing.assert_frame_equal(frame, before)
