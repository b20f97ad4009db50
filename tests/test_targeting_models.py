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
    with pytest.raises(ParameterError, match=r"'model' must be one of \['auto', 'ensemble', .*'propensity'\]; got 'forest'"):
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


def test_interaction_logit_design_built_in_blocks_is_the_whole_design(data, monkeypatch):
    """The design is filled (and scored) block by block to bound memory; the blocks must add up to
    the design stacked whole: [B(x), t, B(x) t]."""
    from crmlib.targeting import uplift

    frame, _ = data
    t, y = frame["treatment"], frame["converted"]
    whole = uplift.InteractionLogit().fit(frame, t, y)
    monkeypatch.setattr(uplift, "DESIGN_BLOCK_ROWS", 7)  # 4,000 rows: 572 blocks, the last one short
    blocks = uplift.InteractionLogit().fit(frame, t, y)
    np.testing.assert_array_equal(blocks.logit_.coef_, whole.logit_.coef_)
    values = frame[tg.MODEL_FEATURES].to_numpy(float)
    basis = whole.splines_.transform(uplift._signed_log(values))
    treated = t.to_numpy(float)[:, None]
    np.testing.assert_array_equal(blocks._design(values, t), np.hstack([basis, treated, basis * treated]))
    stacked = {arm: whole.logit_.predict_proba(np.hstack([basis, np.full_like(treated, arm), basis * arm]))[:, 1]
               for arm in (0.0, 1.0)}
    out = blocks.predict_outcomes(frame)
    np.testing.assert_allclose(out["p_control"], stacked[0.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(out["p_treated"], stacked[1.0], rtol=0, atol=1e-15)


def test_fit_does_not_change_the_input(data):
    frame, _ = data
    before = frame.copy()
    tg.DRLearner().fit(frame, frame["treatment"], frame["converted"])
    pd.testing.assert_frame_equal(frame, before)


# -- UpliftSelector -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return experiment(n=2000, seed=1)[0]


def test_selector_refits_the_learner_with_the_best_cross_validated_qini(small):
    frame = small
    sel = tg.UpliftSelector(candidates=["interaction_logit", "two_model"], cv=3).fit(
        frame, frame["treatment"], frame["converted"])
    table = sel.cv_scores_
    assert list(table.index) == ["interaction_logit", "two_model"] and table.index.name == "model"
    assert list(table.columns) == ["qini", "qini_std", "fold_1", "fold_2", "fold_3", "chosen"]
    folds = table[["fold_1", "fold_2", "fold_3"]]
    assert np.allclose(table["qini"], folds.mean(axis=1)) and np.allclose(table["qini_std"], folds.std(axis=1))
    assert sel.chosen_ == table["qini"].idxmax() and table["chosen"].sum() == 1 and table.loc[sel.chosen_, "chosen"]
    refit = tg.make_model(sel.chosen_).fit(frame, frame["treatment"], frame["converted"])
    assert np.allclose(sel.predict(frame), refit.predict(frame))
    out = sel.predict_outcomes(frame.head(5))
    assert np.allclose(out["uplift"], out["p_treated"] - out["p_control"])


def test_selector_folds_are_held_out_customers_stratified_by_contact_and_conversion(small):
    """Each fold's Qini equals the one computed by hand on customer-grouped, stratified folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    frame = small
    t, y = frame["treatment"].to_numpy(), frame["converted"].to_numpy()
    sel = tg.UpliftSelector(candidates=["two_model"], cv=3, random_state=4).fit(frame, t, y)
    folds = StratifiedGroupKFold(3, shuffle=True, random_state=4).split(
        frame, 2 * t.astype(int) + y.astype(int), groups=frame["customer_id"])
    for i, (train, test) in enumerate(folds, start=1):
        assert not set(frame["customer_id"].iloc[train]) & set(frame["customer_id"].iloc[test])
        model = tg.TwoModelUplift(random_state=4).fit(frame.iloc[train], t[train], y[train])
        expected = tg.qini_coefficient(y[test], t[test], model.predict(frame.iloc[test]))
        assert sel.cv_scores_.loc["two_model", f"fold_{i}"] == pytest.approx(expected)


def test_selector_scores_the_ensemble_as_the_mean_of_its_members(small):
    frame = small
    args = frame, frame["treatment"], frame["converted"]
    shared = tg.UpliftSelector(candidates=["ensemble", "dr_learner", "interaction_logit"], cv=2).fit(*args)
    alone = tg.UpliftSelector(candidates=["ensemble"], cv=2).fit(*args)
    assert shared.cv_scores_.loc["ensemble", "qini"] == pytest.approx(alone.cv_scores_.loc["ensemble", "qini"])


def test_selector_is_the_default_model(small):
    assert isinstance(tg.make_model(), tg.UpliftSelector)
    fitted = tg.fit_model(small)
    assert fitted.name == "auto" and fitted.kind == "uplift"
    assert fitted.model.chosen_ in tg.LEARNERS and list(fitted.model.cv_scores_.index) == list(tg.LEARNERS)


@pytest.mark.parametrize("params, frame_edit, match", [
    ({"candidates": ["forest"]}, None, r"'candidates' must be one of \['ensemble', .*'interaction_logit'\]; got 'forest'"),
    ({"candidates": []}, None, r"'candidates' is empty"),
    ({"candidates": ["two_model", "two_model"]}, None, r"'candidates' names a learner twice"),
    ({"candidates": ["propensity"]}, None, r"'candidates' must be one of"),
    ({"cv": 1}, None, r"'cv' must be an int in \[2, inf\); got 1"),
    ({}, lambda f: f.drop(columns="customer_id"), r"missing column\(s\) \['customer_id'\]"),
])
def test_selector_bad_input(small, params, frame_edit, match):
    frame = frame_edit(small) if frame_edit else small
    from crmlib.errors import CrmlibError

    with pytest.raises(CrmlibError, match=match):
        tg.UpliftSelector(**params).fit(frame, frame["treatment"], frame["converted"])


def test_selector_without_groups_and_unfitted(small):
    frame = small.drop(columns="customer_id")
    sel = tg.UpliftSelector(candidates=["two_model"], group=None).fit(frame, frame["treatment"], frame["converted"])
    assert sel.chosen_ == "two_model"
    with pytest.raises(NotFittedError, match="This UpliftSelector instance is not fitted yet"):
        tg.UpliftSelector().predict(frame)
