"""Opt-in planted duplicates in the sample; the default sample is unchanged."""

import pandas as pd
import pytest

import crmlib
from crmlib.cli import main
from crmlib.errors import ParameterError
from crmlib.sample import generate
from crmlib.sample._duplicates import CHANGES, HARD_CHANGES


@pytest.fixture(scope="module")
def plain_and_planted():
    return generate(200, 9), generate(200, 9, duplicates=0.1)


def test_default_has_no_duplicates(plain_and_planted):
    plain, planted = plain_and_planted
    assert "truth_duplicates" not in plain
    for name in ("orders", "order_lines", "invoices"):
        pd.testing.assert_frame_equal(plain[name], planted[name])


def test_duplicates_are_planted_with_truth(plain_and_planted):
    plain, planted = plain_and_planted
    truth = planted["truth_duplicates"]
    assert len(truth) == 20 and truth["duplicate_id"].isin(planted["customers"]["customer_id"]).all()
    assert len(planted["customers"]) == 200 + 20 + 20  # duplicates and as many household members
    assert planted["customers"]["customer_id"].is_unique
    assert len(planted["truth_customers"]) == len(planted["customers"])
    assert set(",".join(truth["changes"]).split(",")) <= set(CHANGES)
    pd.testing.assert_frame_equal(planted["customers"].iloc[:200], plain["customers"])


def test_duplicates_differ_from_their_original(plain_and_planted):
    _, planted = plain_and_planted
    c = planted["customers"].set_index("customer_id")
    truth = planted["truth_duplicates"]
    cols = ["first_name", "last_name", "email", "phone", "street", "salutation", "birth_date"]
    original = c.loc[truth["customer_id"], cols].reset_index(drop=True)
    copy = c.loc[truth["duplicate_id"], cols].reset_index(drop=True)
    assert (original.astype(str) != copy.astype(str)).any(axis=1).all()


@pytest.mark.parametrize("value", [-0.1, 0.9, "x"])
def test_bad_fraction(value):
    with pytest.raises(ParameterError, match=r"'duplicates' must be a number in \[0, 0.5\]"):
        generate(100, 1, duplicates=value)


def test_cli_flag(tmp_path):
    url = f"sqlite:///{tmp_path}/d.sqlite"
    assert main(["sample", "--customers", "60", "--url", url, "--quiet", "--duplicates", "0.1"]) == 0
    assert len(crmlib.connect(url).truth("duplicates")) == 6


# ------------------------------------------------------------------ hard mode
@pytest.fixture(scope="module")
def hard():
    return generate(200, 9, duplicates=0.1, duplicate_mode="hard")


def test_default_mode_is_the_default(plain_and_planted):
    _, planted = plain_and_planted
    again = generate(200, 9, duplicates=0.1, duplicate_mode="default")
    for name in ("customers", "truth_duplicates", "orders"):
        pd.testing.assert_frame_equal(planted[name], again[name])


def test_hard_mode_records_true_pairs(plain_and_planted, hard):
    plain, _ = plain_and_planted
    truth = hard["truth_duplicates"]
    ids = hard["customers"]["customer_id"]
    assert len(truth) == 20 and ids.is_unique
    assert truth["customer_id"].isin(plain["customers"]["customer_id"]).all()
    assert truth["duplicate_id"].isin(ids).all() and not truth["duplicate_id"].isin(plain["customers"]["customer_id"]).any()
    picked = [c.split(",") for c in truth["changes"]]
    assert all(4 <= len(p) <= 6 for p in picked) and set(sum(picked, [])) <= set(HARD_CHANGES)
    # the originals and the other tables stay as in the plain sample
    pd.testing.assert_frame_equal(hard["customers"].iloc[:200], plain["customers"])
    for name in ("orders", "order_lines", "invoices"):
        pd.testing.assert_frame_equal(plain[name], hard[name])


def test_hard_duplicates_differ_more(hard):
    c = hard["customers"].set_index("customer_id")
    truth = hard["truth_duplicates"]
    cols = ["first_name", "last_name", "email", "phone", "street", "postal_code", "birth_date"]
    original = c.loc[truth["customer_id"], cols].reset_index(drop=True).astype(str)
    copy = c.loc[truth["duplicate_id"], cols].reset_index(drop=True).astype(str)
    assert (original != copy).sum(axis=1).ge(2).mean() > 0.5


def test_bad_mode():
    with pytest.raises(ParameterError, match="'duplicate_mode' must be one of"):
        generate(100, 1, duplicates=0.1, duplicate_mode="nasty")


def test_cli_hard_flag(tmp_path):
    url = f"sqlite:///{tmp_path}/h.sqlite"
    assert main(["sample", "--customers", "60", "--url", url, "--quiet", "--duplicates", "0.1",
                 "--duplicate-mode", "hard"]) == 0
    truth = crmlib.connect(url).truth("duplicates")
    assert len(truth) == 6 and set(",".join(truth["changes"]).split(",")) <= set(HARD_CHANGES)
