"""crmlib.targeting.review: model choice, held-out score checks and findings, checked on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib import targeting as tg
from crmlib.errors import DataContractError, ParameterError

# the 8 rows of test_targeting_evaluation: the first score ranks the effect first
Y = np.array([1, 0, 1, 0, 0, 0, 1, 0])
T = np.array([True, False, True, False, True, False, True, False])
S = np.array([8, 7, 6, 5, 4, 3, 2, 1], dtype=float)


# -- choose_model ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model, candidates", [
    ("auto", ("auto", "two_model", "propensity")),
    ("ensemble", ("ensemble", "two_model", "propensity")),
    ("two_model", ("two_model", "propensity")),
    ("propensity", ("propensity",)),
])
def test_choose_model_with_a_control_group(model, candidates):
    choice = tg.choose_model(model, has_control=True, campaign="Spring 2025")
    assert choice == tg.ModelChoice(model, candidates, None)


def test_choose_model_without_a_control_group_falls_back_to_propensity():
    choice = tg.choose_model("x_learner", has_control=False, campaign="Spring 2025")
    assert (choice.name, choice.candidates) == ("propensity", ("propensity",))
    assert choice.note == ("Campaign Spring 2025 has no control group: uplift cannot be measured for it, "
                           "so customers are ranked by response propensity instead.")
    assert tg.choose_model("propensity", has_control=False, campaign="x").note is None


@pytest.mark.parametrize("model, has_control, match", [
    ("forest", True, r"targeting.choose_model: 'model' must be one of \['auto', 'ensemble', 'dr_learner', "
                     r"'x_learner', 'two_model', 'interaction_logit', 'propensity'\]; got 'forest'"),
    ("ensemble", 1, r"targeting.choose_model: 'has_control' must be bool; got 1 \(int\)"),
])
def test_choose_model_bad_input(model, has_control, match):
    with pytest.raises(ParameterError, match=match):
        tg.choose_model(model, has_control=has_control, campaign="x")


# -- select_learner -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def contacts():
    from test_targeting_models import experiment

    return experiment(n=2000, seed=1)[0]


def test_select_learner_resolves_auto_by_cross_validated_qini(contacts):
    choice = tg.choose_model("auto", has_control=True, campaign="x")
    resolved, table = tg.select_learner(choice, contacts, cv=2)
    assert list(table.index) == list(tg.LEARNERS)
    assert resolved.name == table["qini"].idxmax() == table.index[table["chosen"]].item()
    assert resolved.candidates == tuple(dict.fromkeys((resolved.name, "two_model", "propensity")))
    assert resolved.note is None


@pytest.mark.parametrize("model, has_control", [("two_model", True), ("auto", False), ("propensity", True)])
def test_select_learner_leaves_a_named_model_alone(contacts, model, has_control):
    choice = tg.choose_model(model, has_control=has_control, campaign="x")
    assert tg.select_learner(choice, contacts) == (choice, None)


def test_select_learner_bad_input(contacts):
    with pytest.raises(ParameterError, match=r"targeting.select_learner: 'choice' must be ModelChoice; got"):
        tg.select_learner("auto", contacts)


# -- score_checks ---------------------------------------------------------------------------------

def test_score_checks_one_row_per_model_in_order():
    scores = pd.DataFrame({"good": S, "bad": -S})
    out = tg.score_checks(Y, T, scores)
    assert list(out.index) == ["good", "bad"] and list(out.columns) == list(tg.CHECK_COLUMNS)
    assert out.loc["good", "qini_coefficient"] == pytest.approx(tg.qini_coefficient(Y, T, S))
    assert out.loc["bad", "auuc"] == pytest.approx(tg.auuc(Y, T, -S))
    assert out.loc["good", "qini_coefficient"] > 0 > out.loc["bad", "qini_coefficient"]


def test_score_checks_bad_input():
    with pytest.raises(ParameterError, match=r"targeting.score_checks: 'scores' must be DataFrame; got"):
        tg.score_checks(Y, T, {"good": S})


# -- findings -------------------------------------------------------------------------------------

SUMMARY = pd.Series({"contacts": 400, "incremental_per_1000_contacts": 52.4, "expected_profit": 1234.5,
                     "break_even_cost_per_contact": 1.8349})
CAMPAIGN = pd.Series({"n_control": 100, "rate_treated": 0.1432, "rate_control": 0.0671})
CATEGORIES = pd.DataFrame({"category": ["Toys", "Home", "Books"], "auc": [0.7, np.nan, 0.6],
                           "top_decile_lift": [2.04, 9.0, 4.66]})
DECILES = pd.DataFrame({"decile": [1, 2, 3], "observed_uplift": [0.097, 0.02, -0.015]})
COMPARISON = pd.DataFrame({"strategy": ["uplift", "propensity", "random"],
                           "expected_profit": [700.4, 512.0, -20.6]})


def test_findings_every_sentence():
    out = tg.findings(SUMMARY, candidates=1000, campaign=CAMPAIGN, categories=CATEGORIES, model="ensemble",
                      deciles=DECILES, comparison=COMPARISON, notes=["A note."])
    assert out == [
        "Contacting the 400 customers of the list (40% of those who accept marketing) is expected to bring "
        "52 extra conversions per 1,000 contacts and a profit of 1,234; the list breaks even up to 1.83 per "
        "contact.",
        "On held-out customers the top decile by predicted uplift bought 97 more per 1,000 when contacted; "
        "the bottom decile -15 per 1,000 (contact puts them off).",
        "For a target list of this size, ranking by uplift would earn 700, by response propensity 512 and at random -21 "
        "(measured on past campaigns).",
        "The selected campaign's contacted customers converted at 14.3% vs 6.7% in its control group.",
        "Category prospects are sharpest for Books: the top 10% of non-buyers bought it 4.7 times as often "
        "as the average non-buyer in the test window.",  # Home has the higher lift but no AUC
        "A note.",
    ]


def test_findings_propensity_without_control_group():
    no_control = CAMPAIGN.copy()
    no_control["n_control"] = 0
    positive = DECILES.assign(observed_uplift=[0.05, 0.02, 0.001])
    out = tg.findings(SUMMARY, candidates=1000, campaign=no_control, categories=CATEGORIES.iloc[[1]],
                      model="propensity", uplift=False, deciles=positive,
                      comparison=COMPARISON[COMPARISON["strategy"] != "uplift"])
    assert out == ["The selected campaign's contacted customers converted at 14.3% (it had no control group)."]
    kept = tg.findings(SUMMARY.replace({400: 0}), candidates=1000, campaign=CAMPAIGN, categories=CATEGORIES,
                       model="two_model", deciles=positive)
    assert kept[0].endswith("the bottom decile +1 per 1,000.")  # no list sentence without contacts
    assert len(kept) == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"categories": CATEGORIES.drop(columns="auc")}, DataContractError,
     r"targeting.findings\(categories\): missing column\(s\) \['auc'\]"),
    ({"deciles": DECILES.rename(columns={"observed_uplift": "uplift"})}, DataContractError,
     r"targeting.findings\(deciles\): missing column\(s\) \['observed_uplift'\]"),
    ({"candidates": 1000.0}, ParameterError, r"targeting.findings: 'candidates' must be int; got 1000.0"),
])
def test_findings_bad_input(kwargs, error, match):
    args = {"candidates": 1000, "campaign": CAMPAIGN, "categories": CATEGORIES, "model": "ensemble"} | kwargs
    with pytest.raises(error, match=match):
        tg.findings(SUMMARY, **args)
