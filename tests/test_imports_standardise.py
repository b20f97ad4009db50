"""Standardisers: raw values in, (values, problems) out; problems name the bad value."""

import pandas as pd
import pytest

from crmlib.imports import standardise as st


def test_phone_to_e164_in_every_format():
    raw = pd.Series(["+1 (201) 555-0123", "201.555.0123", "(201) 555-0123", "1-201-555-0123", None])
    values, problems = st.phone(raw)
    assert values.iloc[:4].tolist() == ["+12015550123"] * 4
    assert pd.isna(values.iloc[4]) and problems.isna().all()


def test_phone_with_another_region():
    values, _ = st.phone(pd.Series(["020 7946 0958"]), region="GB")
    assert values.tolist() == ["+442079460958"]


@pytest.mark.parametrize("raw, reason", [("12", "impossible length"), ("call me", "not a phone number")])
def test_phone_problems(raw, reason):
    values, problems = st.phone(pd.Series([raw]))
    assert pd.isna(values.iloc[0])
    assert reason in problems.iloc[0] and repr(raw) in problems.iloc[0]


def test_email_normalised_and_checked():
    values, problems = st.email(pd.Series([" Jane.Doe@Example.COM ", "jane@", "a b@example.com"]))
    assert values.iloc[0] == "jane.doe@example.com"
    assert "email 'jane@' is not a valid address" in problems.iloc[1]
    assert pd.notna(problems.iloc[2])


def test_gender_codes():
    values, problems = st.gender(pd.Series(["M", "male", "F", "w", "Frau", "D", "x", "unknown", ""]))
    assert values.tolist()[:7] == ["male", "male", "female", "female", "female", "other", "other"]
    assert values.iloc[7:].isna().all() and problems.isna().all()


@pytest.mark.parametrize("unknown, value, problem", [("problem", None, "unknown gender code 'q'"),
                                                     ("missing", None, None), ("keep", "q", None)])
def test_unknown_code_handling(unknown, value, problem):
    values, problems = st.gender(pd.Series(["q"]), unknown=unknown)
    assert (pd.isna(values.iloc[0]) if value is None else values.iloc[0] == value)
    if problem is None:
        assert problems.isna().all()
    else:
        assert problems.iloc[0].startswith(problem)


def test_salutations():
    values, _ = st.salutation(pd.Series(["MR.", "mrs", "Ms.", "Herr", "dr", "Prof."]))
    assert values.tolist() == ["Mr", "Mrs", "Ms", "Mr", "Dr", "Prof"]


def test_countries():
    values, problems = st.country(pd.Series(["United Kingdom", "EIRE", "deu", "USA", "Unspecified", "Narnia"]))
    assert values.iloc[:4].tolist() == ["GB", "IE", "DE", "US"]
    assert pd.isna(values.iloc[4]) and pd.isna(problems.iloc[4])
    assert problems.iloc[5] == "unknown country 'Narnia' (not an ISO 3166 name or code)"


def test_split_free_form_names():
    parts = st.split_name(pd.Series(["Dr. Jane Doe", "DOE, Jane", "jane  doe", "Jane Mary Doe", "Smith",
                                     "o'neil, SEAN"]))
    assert parts["first_name"].tolist()[:4] == ["Jane", "Jane", "Jane", "Jane Mary"]
    assert parts["last_name"].tolist() == ["Doe", "Doe", "Doe", "Doe", "Smith", "O'Neil"]
    assert parts["salutation"].iloc[0] == "Dr" and pd.isna(parts["first_name"].iloc[4])


def test_name_case_and_whitespace():
    values, _ = st.name(pd.Series(["  JOHN   SMITH ", "mcdonald", "van der Berg"]))
    assert values.tolist() == ["John Smith", "McDonald", "van der Berg"]


def test_dates_try_each_format_and_name_them():
    values, problems = st.dates(pd.Series(["12/1/2010 8:26", "2010-12-01", "31/31/2011"]),
                                formats=["%m/%d/%Y %H:%M", "%Y-%m-%d"])
    assert values.iloc[0] == pd.Timestamp("2010-12-01 08:26") and values.iloc[1] == pd.Timestamp("2010-12-01")
    assert problems.iloc[2] == "date '31/31/2011' does not match %m/%d/%Y %H:%M or %Y-%m-%d"


def test_numbers_and_booleans():
    values, problems = st.number(pd.Series(["1,5", "x"]), decimal=",")
    assert values.iloc[0] == 1.5 and problems.iloc[1] == "'x' is not a number"
    flags, _ = st.boolean(pd.Series(["yes", "N", "1", "false"]))
    assert flags.tolist() == [True, False, True, False]
