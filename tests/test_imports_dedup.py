"""De-duplication: planted duplicates are found (precision >= 0.95, recall >= 0.9) and merged."""

import pandas as pd
import pytest

from crmlib.errors import DataContractError, NotFittedError, ParameterError
from crmlib.imports.dedup import (
    PAIR_COLUMNS,
    Deduplicator,
    candidate_pairs,
    find_duplicates,
    prepare,
    score_against_truth,
    score_pairs,
)
from crmlib.sample import generate


@pytest.fixture(scope="module")
def planted():
    return generate(1000, 11, duplicates=0.08)


@pytest.fixture
def people():
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "first_name": ["Jane", "DOE", "John", "Jane"], "last_name": ["Doe", "jane", "Smith", "Doe"],
        "email": ["jane.doe@example.com", None, "js@example.org", "jd@example.net"],
        "phone": ["+1 201 555 0123", "(201) 555-0123", "202-555-0199", "303-555-0100"],
        "birth_date": pd.to_datetime(["1980-02-01", "1980-02-01", "1975-05-05", "1990-07-07"]),
        "street": ["1 Main St", "1 Main Street", "9 Elm Rd", "5 Oak Ave"],
        "postal_code": ["10001", "10001", "20002", "30003"],
        "created_at": pd.to_datetime(["2023-01-01", "2024-06-01", "2023-03-03", "2023-04-04"]),
    })


def test_planted_duplicates_are_recovered(planted):
    model = Deduplicator().fit(planted["customers"])
    score = score_against_truth(model.id_map_, planted["truth_duplicates"])
    assert score["precision"] >= 0.95 and score["recall"] >= 0.9, score


def test_households_are_not_merged(planted):
    """Same address, last name and phone, another person: the hard non-duplicates."""
    model = Deduplicator().fit(planted["customers"])
    truth = planted["truth_duplicates"]
    merged = model.id_map_[model.id_map_.index != model.id_map_.to_numpy()]
    assert set(merged.index) <= set(truth["duplicate_id"]) | set(truth["customer_id"])


def test_blocking_keeps_the_true_pairs_and_few_others(planted):
    customers = planted["customers"]
    prepared = prepare(customers)
    pairs = candidate_pairs(prepared)
    ids = prepared["id"].to_numpy()
    found = set(zip(ids[pairs["left"]], ids[pairs["right"]], strict=True))
    truth = set(zip(planted["truth_duplicates"]["customer_id"], planted["truth_duplicates"]["duplicate_id"], strict=True))
    assert len(truth & found) / len(truth) >= 0.97
    assert len(pairs) < 0.001 * len(customers) ** 2 / 2


def test_swapped_names_and_formats_match(people):
    pairs = find_duplicates(people)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs[["left_id", "right_id"]].values.tolist() == [[1, 2]]


def test_same_name_other_person_does_not_match(people):
    model = Deduplicator().fit(people)
    assert model.id_map_[4] == 4 and model.n_merged_ == 1


@pytest.mark.parametrize("rules, email, created", [
    (None, "jane.doe@example.com", "2023-01-01"),                  # most complete record wins
    ({"email": "most_recent"}, "jane.doe@example.com", "2023-01-01"),  # the recent one has no e-mail
    ({"street": "most_recent"}, "jane.doe@example.com", "2023-01-01"),
])
def test_survivorship(people, rules, email, created):
    model = Deduplicator(survivorship=rules).fit(people)
    merged = model.merge(people).set_index("customer_id")
    assert len(merged) == 3 and merged.loc[1, "email"] == email
    assert merged.loc[1, "created_at"] == pd.Timestamp(created)  # customer since: the earliest


def test_most_recent_street(people):
    merged = Deduplicator(survivorship={"street": "most_recent"}).fit(people).merge(people)
    assert merged.set_index("customer_id").loc[1, "street"] == "1 Main Street"


def test_score_columns_and_range(people):
    prepared = prepare(people)
    scored = score_pairs(prepared, candidate_pairs(prepared))
    assert list(scored.columns) == PAIR_COLUMNS and scored["score"].between(0, 1).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0}, r"Deduplicator: 'threshold' must be a number in \(0, 1\]; got 0"),
    ({"threshold": 1.5}, r"Deduplicator: 'threshold' must be a number in \(0, 1\]; got 1.5"),
    ({"survivorship": {"email": "newest"}}, r"'survivorship' must be one of \['most_complete'.*got 'newest'"),
    ({"max_block_size": 1}, r"'max_block_size' must be an int in \[2, inf\]; got 1"),
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
