"""crmlib.credit.profile: Wilson intervals, rates by attribute, WoE / IV and the planted drivers."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from credit_data import tables

from crmlib.credit import features as F
from crmlib.credit import profile as P
from crmlib.credit.target import data_period
from crmlib.errors import DataContractError, EmptyDataError, ParameterError


def test_wilson_interval_known_values():
    low, high = P.wilson_interval([5, 0, 10], [100, 20, 10])
    # Wilson (1927) / Newcombe (1998) method 3: 5/100 -> [0.0215, 0.1118]; 0/20 -> [0, 0.1611]
    assert low.round(4).tolist() == [0.0215, 0.0, 0.7225]
    assert high.round(4).tolist() == [0.1118, 0.1611, 1.0]
    low, high = P.wilson_interval([1], [0])
    assert np.isnan(low[0]) and np.isnan(high[0])


def test_wilson_confidence_checked():
    with pytest.raises(ParameterError, match=r"wilson_interval: 'confidence' must be a number in \(0, 1\); got 1.5"):
        P.wilson_interval([1], [2], confidence=1.5)


@pytest.fixture
def tiny_profile():
    return pd.DataFrame({
        "income_band": pd.Categorical(["low", "low", "low", "high", "high", None],
                                      categories=["low", "high"], ordered=True),
        "defaults": [0, 2, 3, 1, 0, 0],
        "matured_invoices": [1, 5, 5, 5, 2, 4],
    })


def test_rate_table_by_hand(tiny_profile):
    t = P.rate_table(tiny_profile, "income_band").set_index("value")
    assert list(t.index) == ["low", "high", "unknown"]
    assert t["customers"].tolist() == [3, 2, 1]
    assert t["defaulters"].tolist() == [2, 1, 0]
    assert t["repeat_defaulters"].tolist() == [2, 0, 0]
    assert t.loc["low", "repeat_rate"] == pytest.approx(2 / 3)
    assert t.loc["low", "repeat_lift"] == pytest.approx((2 / 3) / (2 / 6))
    assert (t["default_low"] <= t["default_rate"]).all() and (t["default_rate"] <= t["default_high"]).all()
    assert list(P.rate_table(tiny_profile, "income_band").columns) == list(P.PROFILE_COLUMNS)


def test_population(tiny_profile):
    assert P.population(tiny_profile)["defaults"].tolist() == [2, 3, 1, 0, 0]


def test_default_profile_stacks(tiny_profile):
    out = P.default_profile(tiny_profile.assign(region=["a", "b", "a", "b", "a", "b"]),
                            ["income_band", "region"])
    assert out["attribute"].tolist() == ["income_band"] * 3 + ["region"] * 2


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda f: P.rate_table(f, "nope"), DataContractError, r"credit.rate_table: missing column\(s\) \['nope'\]"),
    (lambda f: P.iv_table(f, ["income_band"], target="late"), ParameterError,
     r"credit.iv_table: 'target' must be one of \['repeat_defaulter', 'defaulter'\]; got 'late'"),
    (lambda f: P.iv_table(f.assign(defaults=0), ["income_band"]), ParameterError,
     r"credit.iv_table: need both repeat_defaulters and other customers; got 0 of 6 customers"),
    (lambda f: P.iv_table(f, ["income_band"], max_n_bins=1), ParameterError,
     r"'max_n_bins' must be an int in \[2, 20\]; got 1"),
    (lambda f: P.rate_table(f.iloc[:0], "income_band"), EmptyDataError, r"credit.rate_table: no rows to profile"),
    (lambda f: P.default_profile(f[["defaults"]]), ParameterError,
     r"credit.default_profile: 'attributes' must name at least one column"),
    (lambda f: P.population(f, min_matured=0), ParameterError, r"'min_matured' must be an int in \[1, 100\]; got 0"),
])
def test_profile_errors(tiny_profile, call, exc, match):
    with pytest.raises(exc, match=match):
        call(tiny_profile)


# --- any labelled table (issue 21) ---------------------------------------------------------------

@pytest.fixture
def loans():
    """40 loans: purpose 'car' has 10 bad of 20, 'home' 2 bad of 20 (12 bad, 28 good in all)."""
    return pd.DataFrame({"purpose": ["car"] * 20 + ["home"] * 20,
                         "bad": [1] * 10 + [0] * 10 + [1] * 2 + [0] * 18})


def test_iv_table_on_a_label_column_by_hand(loans):
    t = P.iv_table(loans, ["purpose"], y="bad")
    assert list(t.columns) == ["rank", "attribute", "iv", "strength", "gini", "auc", "n_bins"]
    row = t.iloc[0]
    # WoE = ln(good share / bad share): car ln((10/28)/(10/12)), home ln((18/28)/(2/12))
    iv = (10 / 12 - 10 / 28) * np.log((10 / 12) / (10 / 28)) + (2 / 12 - 18 / 28) * np.log((2 / 12) / (18 / 28))
    assert row["iv"] == pytest.approx(iv)
    # AUC over the 12 x 28 (bad, good) pairs: bad car beats good home (10 * 18), ties count half
    assert row["auc"] == pytest.approx((10 * 18 + (10 * 10 + 2 * 18) / 2) / (12 * 28))
    assert row["gini"] == pytest.approx(2 * row["auc"] - 1)
    assert row["n_bins"] == 2


@pytest.mark.parametrize("x", [np.arange(20.0), np.arange(20.0)[::-1],
                               np.repeat(["a", "b", "c", "d"], 5)])
def test_perfect_separation_has_infinite_iv_and_auc_1(x):
    frame = pd.DataFrame({"x": x, "label": [0] * 10 + [1] * 10})
    row = P.iv_table(frame, ["x"], y="label").iloc[0]
    assert row["iv"] == np.inf and row["strength"] == "strong"
    assert (row["gini"], row["auc"], row["n_bins"]) == (1.0, 1.0, 2)
    # one row the other way round: no longer perfect, back to optbinning
    frame.loc[0, "label"] = 1
    assert np.isfinite(P.iv_table(frame, ["x"], y="label")["iv"].iloc[0])


def test_label_as_array_or_bool_gives_the_same(loans):
    by_name = P.iv_table(loans, ["purpose"], y="bad")
    by_array = P.iv_table(loans[["purpose"]], ["purpose"], y=loans["bad"].to_numpy().astype(bool))
    pd.testing.assert_frame_equal(by_name, by_array)
    pd.testing.assert_frame_equal(P.woe_table(loans, "purpose", y="bad"),
                                  P.woe_table(loans, "purpose", y=list(loans["bad"])))


def test_auc_matches_sklearn_on_the_binned_attribute(loans):
    from sklearn.metrics import roc_auc_score

    rate = loans.groupby("purpose")["bad"].transform("mean")
    assert P.iv_table(loans, ["purpose"], y="bad")["auc"].iloc[0] == pytest.approx(
        roc_auc_score(loans["bad"], rate))


def test_woe_table_on_a_label_column_reads_bins(loans):
    frame = pd.DataFrame({"x": np.r_[np.repeat([0.25, 1.0, 3.0], 20), [np.nan] * 4],
                          "label": [0] * 18 + [1] * 2 + [0] * 10 + [1] * 10 + [0] * 2 + [1] * 18 + [0, 1, 0, 1]})
    w = P.woe_table(frame, "x", y="label")
    assert w["bin"].tolist() == ["(-inf, 0.625)", "[0.625, 2.0)", "[2.0, inf)", "missing"]
    assert w["customers"].tolist() == [20, 20, 20, 4]
    assert w["events"].tolist() == [2, 10, 18, 2]
    # 32 events and 32 non-events in all: WoE of the first bin = ln((18/32) / (2/32)) = ln 9
    assert w["woe"].iloc[0] == pytest.approx(np.log(9))
    cats = P.woe_table(loans.assign(purpose=loans["purpose"].replace({"home": "flat"})), "purpose", y="bad")
    assert sorted(cats["bin"]) == ["car", "flat"]


def test_rate_table_on_a_label_by_hand(loans):
    t = P.rate_table(loans, "purpose", y="bad").set_index("value")
    assert list(P.rate_table(loans, "purpose", y="bad").columns) == list(P.RATE_COLUMNS)
    assert t["trials"].tolist() == [20, 20]
    assert t["events"].tolist() == [10, 2]
    assert t["event_rate"].tolist() == [0.5, 0.1]
    assert t.loc["car", "event_lift"] == pytest.approx(0.5 / (12 / 40))
    low, high = P.wilson_interval([10, 2], [20, 20])
    assert t["event_low"].tolist() == pytest.approx(low.tolist())
    assert t["event_high"].tolist() == pytest.approx(high.tolist())
    stacked = P.default_profile(loans.assign(region=["n", "s"] * 20), ["purpose", "region"], y="bad")
    assert stacked["attribute"].tolist() == ["purpose", "purpose", "region", "region"]
    assert stacked["events"].sum() == 24


def test_crm_default_target_is_unchanged(tiny_profile):
    """Without y, the CRM target from 'defaults' is the label: same as passing it as y."""
    crm = P.woe_table(tiny_profile.assign(x=[1, 2, 3, 4, 5, 6]), "x", min_bin_size=0.1)
    label = (tiny_profile["defaults"] >= 2).astype(int)
    explicit = P.woe_table(tiny_profile.assign(x=[1, 2, 3, 4, 5, 6]), "x", y=label, min_bin_size=0.1)
    pd.testing.assert_frame_equal(crm, explicit)


@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda f: P.iv_table(f.drop(columns="bad"), ["purpose"]), DataContractError,
     r"credit.iv_table: no 'y' given, and the CRM default \(a 'defaults' count per customer\) is not "
     r"in the frame; pass y= a column name or an array of 0/1 labels"),
    (lambda f: P.rate_table(f, "purpose"), DataContractError, r"credit.rate_table: no 'y' given"),
    (lambda f: P.iv_table(f, y="bad"), ParameterError,
     r"credit.iv_table: 'attributes' must name at least one column; the default \(the CRM attributes"
     r" .*\) found none in \['purpose', 'bad'\]; pass attributes=\[...\]"),
    (lambda f: P.iv_table(f, ["purpose"], y="nope"), DataContractError,
     r"credit.iv_table: missing column\(s\) \['nope'\]"),
    (lambda f: P.iv_table(f, ["purpose"], y=[0, 1]), ParameterError,
     r"credit.iv_table: 'y' must be a column name or an array with one 0/1 label per row \(40\); got shape \(2,\)"),
    (lambda f: P.woe_table(f.assign(bad=f["bad"] * 2), "purpose", y="bad"), ParameterError,
     r"credit.woe_table: column 'bad' must hold 0/1 or bool labels; got 2"),
    (lambda f: P.rate_table(f.assign(bad=f["bad"].where(f.index > 2)), "purpose", y="bad"), ParameterError,
     r"credit.rate_table: column 'bad' must hold a 0/1 label on every row; 3 rows have none \(e.g. rows 0, 1, 2\)"),
    (lambda f: P.iv_table(f, ["purpose"], y=np.zeros(40)), ParameterError,
     r"credit.iv_table: need both events \(label 1\) and other rows; got 0 of 40 rows\."),
    (lambda f: P.iv_table(f, ["purpose"], y="bad", target="defaulter"), ParameterError,
     r"credit.iv_table: pass either 'y' \(any label\) or 'target' \(a CRM target from 'defaults'\), not both"),
])
def test_label_errors(loans, call, exc, match):
    with pytest.raises(exc, match=match):
        call(loans)


@functools.cache
def _population(url):
    t = tables(url)
    _, end = data_period(t["invoices"], t["payments"])
    feats = F.customer_features(t["invoices"], t["payments"], t["customers"], cutoff=end,
                                orders=t["orders"], channels=t["channels"])
    return P.population(feats)


def test_planted_drivers_lead_the_iv_ranking(small_url):
    """The sample plants income band, age under 30 and occupation (student, unemployed) as drivers
    of default; the repeat-defaulter profile must rank exactly these three on top."""
    iv = P.iv_table(_population(small_url))
    top = set(iv["attribute"].head(3))
    assert top == {"income_band", "age_band", "occupation"}, iv.to_string()
    assert iv.loc[iv["attribute"] == "income_band", "strength"].item() in ("medium", "strong")
    # The planted noise must not look like a driver. A fixed IV cut-off is luck on 1,600 customers
    # (noise alone gives region IV ~0.04 on some seeds), so test it: IV is about the chi-square
    # statistic of independence times n / (n1 n0), with n_bins - 1 degrees of freedom.
    from scipy.stats import chi2

    pop = _population(small_url)
    n, n1 = len(pop), int((pop["defaults"] >= 2).sum())
    noise = iv.set_index("attribute").loc[["gender", "marital_status", "region"]]
    p_value = chi2.sf(noise["iv"] * n1 * (n - n1) / n, noise["n_bins"] - 1)
    assert (p_value > 0.01).all(), (iv.to_string(), p_value)


def test_rates_follow_the_planted_income_effect(small_url):
    t = P.rate_table(_population(small_url), "income_band").set_index("value")
    rates = t.loc[["low", "lower-middle", "middle", "upper-middle", "high"], "repeat_rate"]
    # rates fall with income; adjacent upper bands may swap by sampling noise on 2,000 customers
    assert rates.reset_index(drop=True).corr(pd.Series(range(5)), method="spearman") <= -0.89
    assert t.loc["low", "repeat_low"] > t.loc["high", "repeat_high"]  # intervals do not overlap


def test_woe_table(small_url):
    w = P.woe_table(_population(small_url), "age_band")
    assert list(w.columns) == ["attribute", "bin", "customers", "share", "events", "event_rate", "woe", "iv"]
    young = w[w["bin"].str.contains("18-24")]
    assert (young["woe"] < 0).all()  # riskier than average
    assert w["customers"].sum() == len(_population(small_url))
