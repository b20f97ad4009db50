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
    (lambda f: P.rate_table(f.iloc[:0], "income_band"), EmptyDataError, r"credit.rate_table: no customers to profile"),
    (lambda f: P.default_profile(f[["defaults"]]), ParameterError,
     r"credit.default_profile: 'attributes' must name at least one column"),
    (lambda f: P.population(f, min_matured=0), ParameterError, r"'min_matured' must be an int in \[1, 100\]; got 0"),
])
def test_profile_errors(tiny_profile, call, exc, match):
    with pytest.raises(exc, match=match):
        call(tiny_profile)


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
