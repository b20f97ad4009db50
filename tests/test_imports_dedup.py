"""De-duplication on splink: planted duplicates are found in both modes and merged; the model is
trained on the data, reports its convergence, honours clerical decisions and refuses bad settings."""

import numpy as np
import pandas as pd
import pytest

from crmlib.errors import DataContractError, NotFittedError, ParameterError
from crmlib.imports.dedup import (
    PAIR_COLUMNS,
    REVIEW_COLUMNS,
    Deduplicator,
    find_duplicates,
    merge_clusters,
    prepare,
    read_decisions,
    review_pairs,
    score_against_truth,
)
from crmlib.imports.dedup import model as dedup_model
from crmlib.sample import generate


@pytest.fixture(scope="module")
def planted():
    return generate(1000, 11, duplicates=0.08)


@pytest.fixture(scope="module")
def hard():
    return generate(1500, 13, duplicates=0.08, duplicate_mode="hard")


@pytest.fixture(scope="module")
def fitted(planted):
    return Deduplicator().fit(planted["customers"])


@pytest.fixture(scope="module")
def fitted_hard(hard):
    return Deduplicator().fit(hard["customers"])


PEOPLE_IDS = [90001, 90002, 90003, 90004]


@pytest.fixture(scope="module")
def people():
    return pd.DataFrame({
        "customer_id": PEOPLE_IDS,
        "first_name": ["Jane", "DOE", "John", "Jane"], "last_name": ["Doe", "jane", "Smith", "Doe"],
        "email": ["jane.doe@example.com", None, "js@example.org", "jd@example.net"],
        "phone": ["+1 201 555 0123", "(201) 555-0123", "202-555-0199", "303-555-0100"],
        "birth_date": pd.to_datetime(["1980-02-01", "1980-02-01", "1975-05-05", "1990-07-07"]),
        "street": ["1 Main St", "1 Main Street", "9 Elm Rd", "5 Oak Ave"],
        "postal_code": ["10001", "10001", "20002", "30003"],
        "created_at": pd.to_datetime(["2023-01-01", "2024-06-01", "2023-03-03", "2023-04-04"]),
    })


@pytest.fixture(scope="module")
def crowd(planted, people):
    """The four people among the planted sample's customers: a model needs data to learn from."""
    return pd.concat([planted["customers"], people], ignore_index=True)


@pytest.fixture(scope="module")
def fitted_crowd(crowd):
    return Deduplicator().fit(crowd)


# ------------------------------------------------------------------ recovery of the planted truth
def test_planted_duplicates_are_recovered(planted, fitted):
    score = score_against_truth(fitted.id_map_, planted["truth_duplicates"])
    assert score["precision"] >= 0.95 and score["recall"] >= 0.95, score


def test_hard_duplicates_are_recovered(hard, fitted_hard):
    """Typos everywhere, sound-alike names, wrong birth-date digits, missing e-mail and phone."""
    score = score_against_truth(fitted_hard.id_map_, hard["truth_duplicates"])
    assert score["precision"] >= 0.95 and score["recall"] >= 0.95, score


def test_households_are_not_merged(planted, fitted):
    """Same address, last name and phone, another person: the hard non-duplicates."""
    truth = planted["truth_duplicates"]
    merged = fitted.id_map_[fitted.id_map_.index != fitted.id_map_.to_numpy()]
    assert set(merged.index) <= set(truth["duplicate_id"]) | set(truth["customer_id"])


def test_blocking_keeps_the_true_pairs_and_few_others(hard, fitted_hard):
    pairs = set(zip(fitted_hard.pairs_["left_id"], fitted_hard.pairs_["right_id"], strict=True))
    truth = hard["truth_duplicates"]
    true = {(min(a, b), max(a, b)) for a, b in zip(truth["customer_id"], truth["duplicate_id"], strict=True)}
    n = len(hard["customers"])
    assert len(true & pairs) / len(true) >= 0.98
    assert len(pairs) < 0.002 * n * (n - 1) / 2


def test_first_letter_and_birth_date_typos_are_still_blocked():
    """'Catherine Smith' / 'Katherine Smyth' with a wrong birth-date digit and no e-mail or phone."""
    people = pd.DataFrame({"customer_id": [1, 2], "first_name": ["Catherine", "Katherine"],
                           "last_name": ["Smith", "Smyth"], "birth_date": ["1980-02-01", "1980-02-07"]})
    keys = prepare(people)
    assert keys.loc[0, "dob_key"] != keys.loc[1, "dob_key"]
    assert (keys.loc[0, ["first_ph", "last_ph"]] == keys.loc[1, ["first_ph", "last_ph"]]).all()
    rules = dedup_model.blocking_rules({c for c in keys.columns if keys[c].notna().all()})
    assert "l.first_ph = r.first_ph AND l.last_ph = r.last_ph" in rules


def test_too_few_to_train():
    people = pd.DataFrame({"customer_id": [1, 2], "first_name": ["Ann", "Bob"], "last_name": ["Lee", "Fox"]})
    with pytest.raises(DataContractError, match="2 customers are too few to train the model"):
        Deduplicator().fit(people)


# ------------------------------------------------------------------ interface and survivorship
def test_swapped_names_and_formats_match(fitted_crowd):
    """'Jane Doe' and 'DOE jane': names swapped, phone and street written otherwise."""
    pairs = fitted_crowd.pairs_
    ours = pairs[pairs["left_id"].isin(PEOPLE_IDS) & pairs["right_id"].isin(PEOPLE_IDS)]
    linked = ours[ours["score"] >= fitted_crowd.threshold]
    assert linked[["left_id", "right_id"]].values.tolist() == [[90001, 90002]]


def test_same_name_other_person_does_not_match(fitted_crowd):
    assert fitted_crowd.id_map_[90004] == 90004 and fitted_crowd.id_map_[90002] == 90001


def test_find_duplicates(crowd, fitted_crowd):
    found = find_duplicates(crowd)
    assert list(found.columns[:len(PAIR_COLUMNS)]) == PAIR_COLUMNS and (found["score"] >= 0.8).all()
    assert len(found) == int((fitted_crowd.pairs_["score"] >= 0.8).sum())


def test_pairs_and_id_map(fitted, planted):
    pairs = fitted.pairs_
    assert list(pairs.columns) == PAIR_COLUMNS + fitted.comparisons_
    assert pairs["score"].between(0, 1).all() and (pairs["left_id"] < pairs["right_id"]).all()
    assert not pairs.duplicated(["left_id", "right_id"]).any()
    assert fitted.id_map_.name == "canonical_id" and fitted.id_map_.dtype == "int64"
    assert fitted.id_map_.index.equals(pd.Index(planted["customers"]["customer_id"], name="customer_id"))
    assert (fitted.id_map_.to_numpy() <= fitted.id_map_.index.to_numpy()).all()
    # match weight and probability say the same thing
    finite = pairs[np.isfinite(pairs["match_weight"])]
    odds = 2.0 ** finite["match_weight"]
    assert np.allclose(finite["score"], odds / (1 + odds), atol=1e-9)


def test_comparisons_follow_the_columns(planted):
    """Absent or empty columns leave their comparison out: no e-mail and no phone, no such weights."""
    customers = planted["customers"].assign(email=None).drop(columns="phone")
    model = Deduplicator().fit(customers)
    assert model.comparisons_ == ["name", "birth_date", "address"]
    assert not any("email" in r or "phone" in r for r in model.blocking_rules_)
    assert score_against_truth(model.id_map_, planted["truth_duplicates"])["precision"] >= 0.95


@pytest.mark.parametrize("rules, email, street", [
    (None, "jane.doe@example.com", "1 Main St"),                    # most complete record wins
    ({"email": "most_recent"}, "jane.doe@example.com", "1 Main St"),  # the recent one has no e-mail
    ({"street": "most_recent"}, "jane.doe@example.com", "1 Main Street"),
    ({"default": "first"}, "jane.doe@example.com", "1 Main St"),
])
def test_survivorship(people, rules, email, street):
    id_map = pd.Series(dict(zip(PEOPLE_IDS, [90001, 90001, 90003, 90004], strict=True)))
    merged = merge_clusters(people, id_map, rules=rules).set_index("customer_id")
    assert len(merged) == 3 and merged.loc[90001, "email"] == email and merged.loc[90001, "street"] == street
    assert merged.loc[90001, "created_at"] == pd.Timestamp("2023-01-01")  # customer since: the earliest
    assert list(merged.reset_index().columns) == list(people.columns)


def test_merge_follows_the_fit(crowd, fitted_crowd):
    merged = fitted_crowd.merge(crowd)
    assert len(merged) == len(crowd) - fitted_crowd.n_merged_
    assert set(merged["customer_id"]) == set(fitted_crowd.id_map_)


def test_same_data_same_result(planted, fitted):
    again = Deduplicator().fit(planted["customers"])
    pd.testing.assert_series_equal(again.id_map_, fitted.id_map_)


# ------------------------------------------------------------------ the model
def test_em_trains_m_and_reports_convergence(fitted):
    assert list(fitted.training_.columns) == ["blocked_on", "iterations", "last_change", "converged"]
    assert len(fitted.training_) == 2 and fitted.converged_
    assert (fitted.training_["last_change"] < fitted.em_convergence).all()
    params = fitted.parameters_.set_index(["comparison", "level"])
    # learned from the data, not fixed: an exact birth date is strong evidence, a different one against
    assert params.loc[("birth_date", "exact"), "match_weight"] > 5
    assert params.loc[("birth_date", "else"), "match_weight"] < -2
    assert 0 < fitted.probability_two_random_records_match_ < 0.01


def test_em_that_stops_early_says_so(planted):
    model = Deduplicator(max_iterations=1, em_convergence=1e-12).fit(planted["customers"])
    assert not model.converged_ and not model.training_["converged"].any()
    assert (model.training_["iterations"] == 1).all()


# ------------------------------------------------------------------ clerical review
def test_review_pairs_are_near_the_threshold(fitted, planted):
    review = review_pairs(fitted, planted["customers"], band=6)
    assert list(review.columns[:len(REVIEW_COLUMNS)]) == REVIEW_COLUMNS
    centre = np.log2(fitted.threshold / (1 - fitted.threshold))
    assert (review["match_weight"] - centre).abs().le(6).all()
    assert {"first_name_l", "first_name_r"} <= set(review.columns) and (review["decision"] == "").all()
    assert "first_name_l" not in review_pairs(fitted).columns  # no personal data unless given


def test_decisions_override_the_model(crowd, tmp_path):
    path = tmp_path / "decisions.csv"
    pd.DataFrame({"left_id": [90002, 90003], "right_id": [90001, 90004], "decision": ["non-match", "match"],
                  "note": ["", "same person, checked"]}).to_csv(path, index=False)
    model = Deduplicator(decisions=path).fit(crowd)
    assert model.id_map_[PEOPLE_IDS].tolist() == [90001, 90002, 90003, 90003]
    decided = model.pairs_.dropna(subset=["decision"]).set_index(["left_id", "right_id"])
    assert decided.loc[(90001, 90002), "score"] == 0.0 and decided.loc[(90003, 90004), "score"] == 1.0


def test_half_done_review_is_accepted():
    frame = pd.DataFrame({"left_id": [1, 3], "right_id": [2, 4], "decision": ["", None]})
    assert read_decisions(frame).empty


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"left_id": [1], "right_id": [2], "decision": ["maybe"]}),
     r"'decision' must be one of \['match', 'non-match'\] \(or empty\); got \['maybe'\]"),
    (pd.DataFrame({"left_id": ["x"], "right_id": [2], "decision": ["match"]}), r"1 row\(s\) with an id that is not a number"),
    (pd.DataFrame({"left_id": [1], "decision": ["match"]}), r"missing column\(s\) \['right_id'\]"),
])
def test_bad_decisions(people, frame, message):
    with pytest.raises(DataContractError, match=message):
        Deduplicator(decisions=frame).fit(people)


def test_missing_decisions_file(people, tmp_path):
    with pytest.raises(DataContractError, match="no file"):
        Deduplicator(decisions=tmp_path / "nope.csv").fit(people)


# ------------------------------------------------------------------ bad settings and input
@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0}, r"Deduplicator: 'threshold' must be a number in \(0, 1\]; got 0"),
    ({"threshold": 1.5}, r"Deduplicator: 'threshold' must be a number in \(0, 1\]; got 1.5"),
    ({"survivorship": {"email": "newest"}}, r"'survivorship' must be one of \['most_complete'.*got 'newest'"),
    ({"max_block_size": 1}, r"'max_block_size' must be an int in \[2, inf\]; got 1"),
    ({"backend": "sqlite"}, r"'backend' must be one of \['duckdb', 'spark'\]; got 'sqlite'"),
    ({"max_iterations": 0}, r"'max_iterations' must be an int in \[1, inf\]; got 0"),
    ({"em_convergence": 0}, r"'em_convergence' must be a number in \(0, 1\); got 0"),
    ({"u_pairs": 10}, r"'u_pairs' must be a number in \[1000.*got 10"),
])
def test_bad_parameters(people, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        Deduplicator(**kwargs).fit(people)


def test_merge_needs_fit(people):
    with pytest.raises(NotFittedError, match="This Deduplicator instance is not fitted yet"):
        Deduplicator().merge(people)


def test_missing_id_column(people):
    with pytest.raises(DataContractError, match=r"Deduplicator.fit: missing column\(s\) \['customer_id'\]; found"):
        Deduplicator().fit(people.drop(columns="customer_id"))


def test_duplicate_ids(people):
    with pytest.raises(DataContractError, match=r"'customer_id' must be unique numbers; 2 row\(s\) are not"):
        Deduplicator().fit(people.assign(customer_id=[1, 1, 2, 3]))


def test_nothing_to_compare():
    alone = Deduplicator().fit(pd.DataFrame({"customer_id": [1, 2], "gender": ["f", "m"]}))
    assert alone.n_merged_ == 0 and alone.pairs_.empty and alone.comparisons_ == []


# ------------------------------------------------------------------ keys
def test_keys_normalise():
    keys = prepare(pd.DataFrame({
        "customer_id": [1], "first_name": [" Zoë "], "last_name": ["O'Neil"], "birth_date": ["19780231"],
        "email": [" Anna.Smith+shop@Example.com "], "phone": ["+1 (201) 555-0123"], "street": ["1 Main St."],
        "postal_code": ["ab1 2cd"]})).iloc[0]
    assert (keys["first_key"], keys["last_key"], keys["dob_key"]) == ("zoe", "oneil", "19780231")
    assert keys["email_key"] == "annasmith@example.com" and keys["phone_key"] == "2015550123"
    assert keys["street_key"] == "1 main street" and keys["postcode_key"] == "AB12CD"
