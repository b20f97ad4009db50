"""BG/NBD and Gamma-Gamma fitters: published CDNOW fits, predictions, recovery, edge cases.

The CDNOW data (Fader, Hardie and Lee 2005; 2,357 customers of the first quarter of 1997, 39 weeks
of calibration) ships inside the ``lifetimes`` distribution (a test-only dependency). Its files
are read from the installed package folder without importing the package (which needs
setuptools' pkg_resources).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import segments_frames as F

from crmlib import segments as seg
from crmlib.errors import DataContractError, EmptyDataError, NotFittedError, ParameterError
from crmlib.segments import (
    BetaGeoFitter,
    GammaGammaFitter,
    clv_summary,
    customer_lifetime_value,
)

# Fader, Hardie and Lee (2005), section 5; Fader and Hardie (2013), Gamma-Gamma note.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _cdnow_dir() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the lifetimes distribution (which ships the CDNOW data) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets"


@pytest.fixture(scope="module")
def cdnow_summary():
    return pd.read_csv(_cdnow_dir() / "cdnow_customers_summary.csv", index_col="ID")


@pytest.fixture(scope="module")
def cdnow_monetary():
    d = pd.read_csv(_cdnow_dir() / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    return d.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_transactions():
    """The raw CDNOW sample transaction log, calibration period (1997-01-01 .. 1997-09-30)."""
    tx = pd.read_csv(_cdnow_dir() / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "quantity", "amount"],
                     dtype={"date": str})
    tx["ordered_at"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx[tx["ordered_at"] <= "1997-09-30"]


def _published_digits(value: float, published: float) -> bool:
    """``value`` rounds to ``published`` at the number of decimals it was published with."""
    decimals = len(repr(published).split(".")[1])
    return round(value, decimals) == published


def test_bgnbd_reproduces_published_cdnow_fit(cdnow_summary):
    model = BetaGeoFitter().fit(cdnow_summary)
    assert model.converged_
    for name, value in PUBLISHED_BGNBD.items():
        assert _published_digits(model.params_[name], value), (name, model.params_[name])
    assert round(model.log_likelihood_, 1) == PUBLISHED_BGNBD_LL
    assert model.n_obs_ == 2357


def test_summary_from_raw_cdnow_log_matches_shipped_summary(cdnow_transactions, cdnow_monetary):
    # 8 customers' first purchase is $0, which CDNOW counts as a purchase
    ours = clv_summary(cdnow_transactions, as_of="1997-09-30", freq="W", zero_is_purchase=True)
    assert len(ours) == 2357
    ref = cdnow_monetary.loc[ours.index]
    assert (ours["frequency"] == ref["frequency"]).all()
    # the shipped file rounds to 2 decimals
    assert np.abs(ours["recency"] - ref["recency"]).max() <= 0.005
    assert np.abs(ours["T"] - ref["T"]).max() <= 0.005
    assert np.abs(ours["monetary_value"] - ref["monetary_value"]).max() <= 0.005 + 1e-9


def test_gamma_gamma_and_bgnbd_reproduce_published_fits_from_raw_log(cdnow_transactions):
    data = clv_summary(cdnow_transactions, as_of="1997-09-30", freq="W", zero_is_purchase=True)
    gg = GammaGammaFitter().fit(data)
    assert gg.n_obs_ == 946  # customers with a repeat purchase
    for name, value in PUBLISHED_GG.items():
        assert _published_digits(gg.params_[name], value), (name, gg.params_[name])
    bg = BetaGeoFitter().fit(data)
    for name, value in PUBLISHED_BGNBD.items():
        assert _published_digits(bg.params_[name], value), (name, bg.params_[name])


def test_gamma_gamma_on_shipped_rounded_summary(cdnow_monetary):
    # The shipped summary rounds mean spend to cents; p and q keep their published digits, gamma
    # (standard error ~4.2) moves from 15.44 to 15.448.
    gg = GammaGammaFitter().fit(cdnow_monetary)
    assert round(gg.params_["p"], 2) == 6.25
    assert round(gg.params_["q"], 2) == 3.74
    assert abs(gg.params_["gamma"] - 15.44) < 0.01


def test_published_conditional_expectation():
    # FHL 2005: a customer with x=2, t_x=30.43, T=38.86 is expected to buy 1.226 times in 39 weeks
    model = BetaGeoFitter()
    model.params_ = pd.Series(PUBLISHED_BGNBD)
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert round(model.expected_purchases(one, 39).iloc[0], 3) == 1.226


def test_summary_table_and_standard_errors(cdnow_summary):
    model = BetaGeoFitter().fit(cdnow_summary)
    table = model.summary()
    assert list(table.columns) == ["coef", "se(coef)", "lower 95% bound", "upper 95% bound", "unit"]
    # the shipped summary carries no time unit: alpha says so
    assert table["unit"].tolist() == ["none", "time unit of the data", "none", "none"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    # lifetimes reports se 0.0126, 0.378, 0.186, 0.705 for this fit
    np.testing.assert_allclose(table["se(coef)"], [0.0126, 0.378, 0.186, 0.705], rtol=0.02)
    assert (table["lower 95% bound"] < table["coef"]).all()
    assert "r=0.243" in repr(model)


def test_probability_alive_properties(cdnow_summary):
    model = BetaGeoFitter().fit(cdnow_summary)
    p = model.probability_alive(cdnow_summary)
    assert ((p > 0) & (p <= 1)).all()
    assert (p[cdnow_summary["frequency"] == 0] == 1).all()
    # same history, longer silence: less likely alive
    two = pd.DataFrame({"frequency": [3, 3], "recency": [10.0, 10.0], "T": [20.0, 38.0]})
    alive = model.probability_alive(two)
    assert alive.iloc[0] > alive.iloc[1]


def test_expected_purchases_grow_with_horizon(cdnow_summary):
    model = BetaGeoFitter().fit(cdnow_summary)
    e10 = model.expected_purchases(cdnow_summary, 10)
    e20 = model.expected_purchases(cdnow_summary, 20)
    assert (e20 >= e10).all() and (e10 >= 0).all()
    assert (model.expected_purchases(cdnow_summary, 0) == 0).all()
    assert model.expected_purchases_new(39) > 0


def _simulate_bgnbd(n, r, alpha, a, b, T, rng):
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    rows = []
    for i in range(n):
        t, x, t_x = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x, t_x = x + 1, t
            if rng.random() < p[i]:
                break
        rows.append((x, t_x, T[i]))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"])


def test_bgnbd_recovers_simulated_parameters():
    rng = np.random.default_rng(7)
    truth = {"r": 0.8, "alpha": 20.0, "a": 0.6, "b": 3.0}
    data = _simulate_bgnbd(4000, *truth.values(), T=rng.uniform(150, 365, 4000), rng=rng)
    model = BetaGeoFitter().fit(data)
    for name, value in truth.items():
        assert abs(model.params_[name] / value - 1) < 0.15, (name, model.params_[name])


def test_gamma_gamma_recovers_simulated_parameters():
    rng = np.random.default_rng(3)
    truth = {"p": 5.0, "q": 4.0, "gamma": 60.0}
    n = 4000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(truth["q"], 1 / truth["gamma"], n)
    mean_spend = np.array([rng.gamma(truth["p"], 1 / nu[i], x[i]).mean() for i in range(n)])
    model = GammaGammaFitter().fit(pd.DataFrame({"frequency": x, "monetary_value": mean_spend}))
    for name, value in truth.items():
        assert abs(model.params_[name] / value - 1) < 0.15, (name, model.params_[name])


def test_clv_summary_by_hand():
    s = clv_summary(F.transactions(), as_of=F.AS_OF)
    assert list(s.index) == [1, 2, 4]  # customer 5 only has a zero-amount order
    assert s.loc[1, ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 74.0, 85.0, 50.0]
    assert s.loc[2, ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0.0, 58.0, 0.0]
    # the refund does not count as a repeat purchase
    assert s.loc[4, "frequency"] == 0
    weeks = clv_summary(F.transactions(), as_of=F.AS_OF, freq="W")
    assert weeks.loc[1, "T"] == pytest.approx(85 / 7)
    with_zero = clv_summary(F.transactions(), as_of=F.AS_OF, zero_is_purchase=True)
    assert with_zero.loc[5, "T"] == 30.0


def test_clv_summary_time_units_by_hand():
    """Customer 1: first purchase 2025-01-05, last 2025-03-20 (74 days), as of 2025-03-31 (85 days)."""
    for unit, days in (("day", 1), ("week", 7), ("month", 365.25 / 12)):
        s = clv_summary(F.transactions(), as_of=F.AS_OF, time_unit=unit)
        assert s.loc[1, "recency"] == pytest.approx(74 / days)
        assert s.loc[1, "T"] == pytest.approx(85 / days)
        assert s.attrs["time_unit"] == unit and s.attrs["unit_days"] == pytest.approx(days)
    pd.testing.assert_frame_equal(clv_summary(F.transactions(), as_of=F.AS_OF, freq="W"),
                                  clv_summary(F.transactions(), as_of=F.AS_OF, time_unit="week"))
    with pytest.raises(ParameterError, match=r"clv_summary: 'time_unit' must be one of \['day', 'week', 'month'\]; got 'D'"):
        clv_summary(F.transactions(), time_unit="D")
    with pytest.raises(ParameterError, match=r"clv_summary: give 'time_unit' or its lifetimes spelling 'freq', not both"):
        clv_summary(F.transactions(), time_unit="week", freq="W")


def test_clv_summary_counts_who_it_leaves_out():
    """Hand count on the frame: customers 1, 2, 4, 5 ordered by AS_OF; 5 has only a $0 order, 4 a
    refund after its purchase; with zero_is_purchase 5 is kept."""
    s = clv_summary(F.transactions(), as_of=F.AS_OF)
    assert {k: s.attrs[k] for k in ("customers_in", "dropped_customers", "first_purchase_moved",
                                    "ignored_orders", "orders_after_as_of")} == {
        "customers_in": 4, "dropped_customers": 1, "first_purchase_moved": 0, "ignored_orders": 2,
        "orders_after_as_of": 0}
    assert s.attrs["customers_in"] - s.attrs["dropped_customers"] == len(s)
    kept = clv_summary(F.transactions(), as_of=F.AS_OF, zero_is_purchase=True)
    assert (kept.attrs["dropped_customers"], kept.attrs["ignored_orders"]) == (0, 1)
    early = clv_summary(F.transactions(), as_of="2025-01-31")
    assert (early.attrs["customers_in"], early.attrs["orders_after_as_of"]) == (2, 4)
    # a $0 first order moves the first purchase to the next order
    tx = pd.DataFrame({"customer_id": [7, 7, 7], "amount": [0.0, 20.0, 30.0],
                       "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-08", "2025-01-15"])})
    moved = clv_summary(tx, as_of="2025-01-29")
    assert moved.attrs["first_purchase_moved"] == 1 and moved.loc[7, "T"] == 21.0
    assert clv_summary(tx, as_of="2025-01-29", zero_is_purchase=True).loc[7, "T"] == 28.0
    assert seg.dropped_text(moved) == (
        "1 customers with orders up to 2025-01-29: 0 left out (no order with a positive amount); 1 "
        "starts at a later order because the first did not count as a purchase (set "
        "zero_is_purchase=True to count $0 orders); 1 orders ignored (refunds or $0).")
    empty = clv_summary(F.transactions(), as_of="2024-12-31")
    assert empty.attrs["customers_in"] == 0 and empty.attrs["dropped_customers"] == 0
    with pytest.raises(DataContractError, match=r"segments.dropped_text: 'summary' lacks attrs"):
        seg.dropped_text(pd.DataFrame())


def test_weekly_cdnow_alpha_compares_with_the_published_weekly_fit(cdnow_transactions):
    """Fitted on days, alpha is 7 times the published weekly alpha; on weeks it is the published
    value (4.414); r, a and b do not depend on the unit. The CDNOW convention keeps $0 first
    purchases: without it, customers are counted as left out or starting later."""
    weeks = clv_summary(cdnow_transactions, as_of="1997-09-30", time_unit="week", zero_is_purchase=True)
    days = clv_summary(cdnow_transactions, as_of="1997-09-30", time_unit="day", zero_is_purchase=True)
    bw, bd = BetaGeoFitter().fit(weeks), BetaGeoFitter().fit(days)
    assert _published_digits(bw.params_["alpha"], PUBLISHED_BGNBD["alpha"])
    assert bw.summary().loc["alpha", "unit"] == "week" and bd.summary().loc["alpha", "unit"] == "day"
    assert bd.params_["alpha"] / 7 == pytest.approx(bw.params_["alpha"], rel=1e-4)
    for name in ("r", "a", "b"):
        assert bd.params_[name] == pytest.approx(bw.params_[name], rel=1e-4)
    assert weeks.attrs["customers_in"] == len(weeks) == 2357 and weeks.attrs["dropped_customers"] == 0
    strict = clv_summary(cdnow_transactions, as_of="1997-09-30", time_unit="week")
    log = cdnow_transactions[cdnow_transactions["ordered_at"] <= "1997-09-30"]
    per = log.assign(pos=log["amount"] > 0).groupby("customer_id")
    only_zero = int((~per["pos"].any()).sum())
    first_day = log.groupby("customer_id")["ordered_at"].min()
    first_pos = log[log["amount"] > 0].groupby("customer_id")["ordered_at"].min()
    moved = int((first_pos > first_day.reindex(first_pos.index)).sum())
    assert strict.attrs["dropped_customers"] == only_zero and len(strict) == 2357 - only_zero
    assert strict.attrs["first_purchase_moved"] == moved
    assert only_zero + moved == 8  # the 8 customers whose first purchase is $0


def test_clv_summary_same_day_orders_are_one_purchase():
    tx = pd.DataFrame({"customer_id": [1, 1, 1],
                       "ordered_at": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 17:00",
                                                     "2025-01-03 08:00"]),
                       "amount": [10.0, 5.0, 7.0]})
    s = clv_summary(tx, as_of="2025-01-10")
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "monetary_value"] == 7.0


def test_clv_summary_as_of_before_any_order_is_empty():
    s = clv_summary(F.transactions(), as_of="2024-12-31")
    assert len(s) == 0 and {"frequency", "recency", "T", "monetary_value"} <= set(s.columns)


def test_customer_lifetime_value_consistency(cdnow_monetary):
    bg = BetaGeoFitter().fit(cdnow_monetary)
    gg = GammaGammaFitter().fit(cdnow_monetary)
    one = customer_lifetime_value(bg, gg, cdnow_monetary, horizon=1, period=39.0, discount_rate=0.0)
    expected = bg.expected_purchases(cdnow_monetary, 39.0) * gg.expected_spend(cdnow_monetary)
    np.testing.assert_allclose(one["clv"], expected)
    monthly = customer_lifetime_value(bg, gg, cdnow_monetary, horizon=12, period=4.345,
                                      discount_rate=0.0)
    discounted = customer_lifetime_value(bg, gg, cdnow_monetary, horizon=12, period=4.345,
                                         discount_rate=0.01)
    assert (discounted["clv"] < monthly["clv"]).all()
    longer = customer_lifetime_value(bg, gg, cdnow_monetary, horizon=24, period=4.345)
    assert (longer["clv"] > discounted["clv"]).all()
    assert list(one.columns) == ["probability_alive", "expected_purchases", "expected_spend", "clv"]
    half = customer_lifetime_value(bg, gg, cdnow_monetary, horizon=12, period=4.345, margin=0.5)
    np.testing.assert_allclose(half["clv"], discounted["clv"] / 2)


def test_expected_spend_shrinks_towards_population_mean(cdnow_monetary):
    gg = GammaGammaFitter().fit(cdnow_monetary)
    spend = gg.expected_spend(cdnow_monetary)
    p, q, g = gg.params_
    assert spend[cdnow_monetary["frequency"] == 0].round(6).unique().tolist() == [
        round(p * g / (q - 1), 6)]
    heavy = cdnow_monetary[cdnow_monetary["frequency"] > 0]
    pop = p * g / (q - 1)
    # the estimate lies between the customer's own mean and the population mean
    lo = np.minimum(heavy["monetary_value"], pop) - 1e-9
    hi = np.maximum(heavy["monetary_value"], pop) + 1e-9
    assert ((spend[heavy.index] >= lo) & (spend[heavy.index] <= hi)).all()


@pytest.mark.parametrize(
    ("data", "match"),
    [(pd.DataFrame({"frequency": [1, 2], "recency": [5.0, 30.0], "T": [10.0, 20.0]}),
      r"BetaGeoFitter.fit: 1 customers have recency > T \(e.g. 1\)"),
     (pd.DataFrame({"frequency": [-1, 2], "recency": [0.0, 3.0], "T": [10.0, 20.0]}),
      r"1 customers have a frequency that is not a whole number >= 0 \(e.g. 0\)"),
     (pd.DataFrame({"frequency": [0, 2], "recency": [4.0, 3.0], "T": [10.0, 20.0]}),
      r"1 customers have frequency 0 but recency != 0 \(e.g. 0\)"),
     (pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 3.0], "T": [np.nan, 20.0]}),
      r"1 customers have missing values in \['frequency', 'recency', 'T'\]"),
     (pd.DataFrame({"frequency": [1], "T": [10.0]}),
      r"BetaGeoFitter.fit: missing column\(s\) \['recency'\]")],
)
def test_bgnbd_bad_data(data, match):
    with pytest.raises(DataContractError, match=match):
        BetaGeoFitter().fit(data)


def test_bgnbd_empty_data():
    with pytest.raises(EmptyDataError, match="BetaGeoFitter.fit: 'data' has no customers"):
        BetaGeoFitter().fit(pd.DataFrame({"frequency": [], "recency": [], "T": []}))


def test_gamma_gamma_needs_repeat_buyers():
    with pytest.raises(EmptyDataError, match=r"no customer has a repeat purchase \(frequency > 0\)"):
        GammaGammaFitter().fit(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))


def test_gamma_gamma_rejects_non_positive_spend():
    data = pd.DataFrame({"frequency": [1, 2, 0], "monetary_value": [-5.0, 10.0, 0.0]},
                        index=pd.Index([11, 12, 13], name="customer_id"))
    with pytest.raises(DataContractError,
                       match=r"1 customers with repeat purchases have monetary_value <= 0 \(e.g. 11\)"):
        GammaGammaFitter().fit(data)


@pytest.mark.parametrize(
    ("method", "args"),
    [("probability_alive", ()), ("expected_purchases", (10,)), ("summary", ())],
)
def test_bgnbd_not_fitted(method, args):
    data = pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]})
    call_args = args if method == "summary" else (data, *args)
    with pytest.raises(NotFittedError, match="This BetaGeoFitter instance is not fitted yet"):
        getattr(BetaGeoFitter(), method)(*call_args)


def test_gamma_gamma_not_fitted():
    with pytest.raises(NotFittedError, match="This GammaGammaFitter instance is not fitted yet"):
        GammaGammaFitter().expected_spend(pd.DataFrame({"frequency": [1], "monetary_value": [1.0]}))


@pytest.mark.parametrize(
    ("params", "match"),
    [({"penalizer_coef": -1}, r"BetaGeoFitter.fit: 'penalizer_coef' must be a number in \[0, inf\); got -1"),
     ({"max_iter": 0}, r"'max_iter' must be an int in \[1, inf\); got 0"),
     ({"tol": 0}, r"'tol' must be a number in \(0, inf\); got 0")],
)
def test_bgnbd_bad_parameters(params, match):
    with pytest.raises(ParameterError, match=match):
        BetaGeoFitter(**params).fit(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"horizon": 0}, r"'horizon' must be an int in \[1, inf\); got 0"),
     ({"period": 0.0}, r"'period' must be a number in \(0, inf\); got 0.0"),
     ({"discount_rate": -0.1}, r"'discount_rate' must be a number in \[0, inf\); got -0.1")],
)
def test_clv_bad_parameters(kwargs, match):
    bg = BetaGeoFitter()
    bg.params_ = pd.Series(PUBLISHED_BGNBD)
    gg = GammaGammaFitter()
    gg.params_ = pd.Series(PUBLISHED_GG)
    data = pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0], "monetary_value": [3.0]})
    with pytest.raises(ParameterError, match=match):
        customer_lifetime_value(bg, gg, data, **kwargs)


def test_clv_wrong_model_type():
    with pytest.raises(ParameterError, match=r"'transaction_model' must be BetaGeoFitter; got"):
        customer_lifetime_value(GammaGammaFitter(), GammaGammaFitter(), pd.DataFrame())


def test_clv_summary_bad_freq():
    with pytest.raises(ParameterError, match=r"clv_summary: 'freq' must be one of \['D', 'W', 'M'\]; got 'Q'"):
        clv_summary(F.transactions(), freq="Q")


def test_one_purchase_customers_only():
    data = pd.DataFrame({"frequency": [0] * 5 + [1], "recency": [0.0] * 5 + [3.0],
                         "T": [10.0, 12.0, 14.0, 16.0, 18.0, 20.0]})
    model = BetaGeoFitter().fit(data)  # fits without crashing
    assert np.isfinite(model.params_).all()
    assert (model.probability_alive(data).iloc[:5] == 1.0).all()


def test_first_purchase_on_as_of_day_has_t_zero(cdnow_summary):
    tx = pd.DataFrame({"customer_id": [1, 2, 2], "amount": [5.0, 10.0, 12.0],
                       "ordered_at": pd.to_datetime(["2025-01-10", "2025-01-01", "2025-01-05"])})
    s = clv_summary(tx, as_of="2025-01-10")
    assert s.loc[1, ["frequency", "recency", "T"]].tolist() == [0, 0.0, 0.0]
    # T = 0 is a valid observation with likelihood 1: it leaves the fit unchanged
    today = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0]}, index=[99999])
    with_today = BetaGeoFitter().fit(pd.concat([cdnow_summary, today]))
    without = BetaGeoFitter().fit(cdnow_summary)
    np.testing.assert_allclose(with_today.params_, without.params_, rtol=1e-3)
    assert with_today.probability_alive(today).iloc[0] == 1.0
