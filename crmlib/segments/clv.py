"""Customer lifetime value: BG/NBD and Gamma-Gamma maximum-likelihood fitters on scipy.

Why not a library: ``lifetimes`` (last release 2020) is archived and imports setuptools'
``pkg_resources``; ``pymc-marketing``'s CLV models are Bayesian and heavy. The two models here are
the published maximum-likelihood fits, in the shape of the lifetimes fitters (one model per class,
``params_`` as a named Series, ``summary()`` with standard errors):

* BG/NBD: Fader, Hardie and Lee (2005), "Counting your customers the easy way: an alternative to
  the Pareto/NBD model", Marketing Science 24(2), equations (6), (10) and (11) and the
  expression for P(alive) in their technical note.
* Gamma-Gamma: Fader and Hardie (2013), "The Gamma-Gamma model of monetary value", note at
  brucehardie.com, equations (1) to (5).

Both reproduce the published CDNOW fits (tests/test_segments_clv.py, on the CDNOW summary that the
``lifetimes`` distribution ships): r=0.243, alpha=4.414, a=0.793, b=2.426 and p=6.25, q=3.74,
gamma=15.44.

Data shape (one row per customer, as :func:`clv_summary` returns): ``frequency`` = number of repeat
purchase days, ``recency`` = time from the first to the last purchase, ``T`` = time from the
first purchase to the end of observation (both in the time unit of the summary), and
``monetary_value`` = mean amount of the repeat purchases.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special

from .._validation import (
    check_fitted,
    check_frame,
    check_interval,
    check_one_of,
    check_type,
    examples,
)
from ..definitions import as_day, wall_clock
from ..errors import DataContractError, EmptyDataError, ParameterError

__all__ = [
    "TIME_UNITS",
    "BetaGeoFitter",
    "GammaGammaFitter",
    "clv_figures",
    "clv_summary",
    "customer_lifetime_value",
    "dropped_text",
    "fit_clv_models",
    "tuple_counts",
]

#: Time units of :func:`clv_summary` and their length in days (a month is 365.25 / 12 days).
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
#: Decimals money sums are rounded to before a mean (so both engines give the same bits).
MONEY_DECIMALS = 6
#: lifetimes' ``freq`` codes for the same units.
_FREQ = {"D": "day", "W": "week", "M": "month"}


def clv_summary(transactions, *, as_of=None, time_unit=None, freq=None,
                zero_is_purchase=False) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer from transactions (lifetimes' shape).

    Purchases are collapsed to days (several orders on one day are one purchase). Only orders
    with a positive amount are purchases; refunds (negative amounts) are always ignored here, and
    zero-amount orders unless ``zero_is_purchase``. Customers left without a purchase are
    dropped, and counted in ``attrs`` (see Returns).

    Parameters
    ----------
    transactions : pandas.DataFrame
        ``customer_id, ordered_at, amount`` (the output of :func:`~crmlib.segments.order_values`).
    as_of : date-like, optional
        End of the observation period (inclusive day). Default: the day of the last order.
    time_unit : {'day', 'week', 'month'}, optional
        Unit of ``recency`` and ``T`` (fractional weeks of 7 days, months of 365.25 / 12 days).
        Published BG/NBD fits (CDNOW) are weekly: fit on weeks to compare ``alpha``. Default
        'day' (or what ``freq`` says).
    freq : {'D', 'W', 'M'}, optional
        lifetimes' spelling of ``time_unit``; give one or the other.
    zero_is_purchase : bool, default=False
        Count orders of amount 0 as purchases (the CDNOW convention: some first purchases are $0).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``: ``frequency`` (int, repeat purchase days), ``recency`` and
        ``T`` (float, in ``time_unit``), ``monetary_value`` (float, mean amount of the repeat
        purchase days; 0.0 when ``frequency`` is 0), ``first_purchase`` (datetime64). Customers
        without a purchase on or before ``as_of`` are absent (BG/NBD starts at the first purchase).
        ``attrs``: ``time_unit``, ``unit_days``, ``as_of``, ``zero_is_purchase``;
        ``customers_in`` (customers with an order on or before ``as_of``), ``dropped_customers``
        (of those, the ones left out: no order with a positive amount, or with ``zero_is_purchase``
        none >= 0), ``first_purchase_moved`` (customers kept whose first order did not count, a
        $0 order or a refund, so their ``T`` starts at a later order), ``ignored_orders``
        (orders up to ``as_of`` that are not purchases) and ``orders_after_as_of``. Fitters
        copy ``time_unit`` and :func:`dropped_text` says it in a sentence.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-11", "2025-01-03"]),
    ...     "amount": [10.0, 20.0, 40.0, 5.0]})
    >>> s = clv_summary(tx, as_of="2025-01-21")
    >>> s[["frequency", "recency", "T", "monetary_value"]]  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary_value
    customer_id
    1                    2     10.0  20.0            30.0
    2                    0      0.0  18.0             0.0
    """
    where = "segments.clv_summary"
    check_frame(transactions, ("customer_id", "ordered_at", "amount"), where=where,
                name="transactions")
    if freq is not None:
        if time_unit is not None:
            raise ParameterError(f"{where}: give 'time_unit' or its lifetimes spelling 'freq', not "
                                 f"both; got time_unit={time_unit!r}, freq={freq!r}.", name="freq")
        check_one_of(freq, _FREQ, name="freq", where=where)
        time_unit = _FREQ[freq]
    time_unit = "day" if time_unit is None else time_unit
    check_one_of(time_unit, TIME_UNITS, name="time_unit", where=where)
    check_type(zero_is_purchase, bool, name="zero_is_purchase", where=where)
    tx = transactions[["customer_id", "ordered_at", "amount"]].copy()
    tx["day"] = wall_clock(tx["ordered_at"]).dt.normalize()
    day = as_day(as_of, where=where, default=tx["day"].max() if len(tx) else None)
    amount = tx["amount"].astype(float)
    observed = (tx["day"] <= day).to_numpy()
    purchase = observed & ((amount >= 0) if zero_is_purchase else (amount > 0)).to_numpy()
    first_order = tx[observed].groupby("customer_id")["day"].min()
    attrs = {"time_unit": time_unit, "unit_days": TIME_UNITS[time_unit], "as_of": day,
             "zero_is_purchase": zero_is_purchase, "customers_in": int(len(first_order)),
             "ignored_orders": int((observed & ~purchase).sum()),
             "orders_after_as_of": int((~observed).sum())}
    tx = tx[purchase]
    if len(tx) == 0:
        empty = pd.DataFrame({"frequency": pd.Series(dtype=int), "recency": pd.Series(dtype=float),
                              "T": pd.Series(dtype=float), "monetary_value": pd.Series(dtype=float),
                              "first_purchase": pd.Series(dtype="datetime64[ns]")})
        empty = empty.rename_axis("customer_id")
        empty.attrs.update(attrs, dropped_customers=attrs["customers_in"], first_purchase_moved=0)
        return empty
    daily = tx.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    # sums rounded to 1e-6 (money is in cents): the Spark twin adds in another order, and the
    # flat Gamma-Gamma likelihood turns last-bit differences into 1e-7 in its parameters
    daily["amount"] = daily["amount"].round(MONEY_DECIMALS)
    daily = daily.sort_values(["customer_id", "day"], kind="stable")
    g = daily.groupby("customer_id")
    first = g["day"].min()
    last = g["day"].max()
    unit = TIME_UNITS[time_unit]
    out = pd.DataFrame({"frequency": (g.size() - 1).astype(int)})
    out["recency"] = (last - first).dt.days.astype(float) / unit
    out["T"] = (day - first).dt.days.astype(float) / unit
    is_first = daily["day"].eq(daily["customer_id"].map(first))
    by = daily[~is_first].groupby("customer_id")["amount"]
    repeat = by.sum().round(MONEY_DECIMALS) / by.count()
    out["monetary_value"] = repeat.reindex(out.index).fillna(0.0).astype(float)
    out["first_purchase"] = first
    out.index = out.index.rename("customer_id")
    out.attrs.update(attrs, dropped_customers=int(len(first_order) - len(out)),
                     first_purchase_moved=int((first_order.reindex(out.index) < first).sum()))
    return out


def dropped_text(summary: pd.DataFrame) -> str:
    """One sentence on who :func:`clv_summary` left out or started late, from its ``attrs``.

    Parameters
    ----------
    summary : pandas.DataFrame
        The result of :func:`clv_summary`.

    Returns
    -------
    str
        E.g. '2 customers with orders up to 2025-01-05: 1 left out (no order with a positive
        amount); 1 starts at a later order because the first did not count as a purchase (set
        zero_is_purchase=True to count $0 orders); 2 orders ignored (refunds or $0).'

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [0.0, 5.0, 0.0],
    ...                    "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-02"])})
    >>> dropped_text(clv_summary(tx))  # doctest: +ELLIPSIS
    '2 customers with orders up to 2025-01-05: 1 left out (no order with a positive amount); 1 ...'
    """
    a = summary.attrs
    missing = [k for k in ("customers_in", "dropped_customers", "first_purchase_moved",
                           "ignored_orders", "as_of", "zero_is_purchase") if k not in a]
    if missing:
        raise DataContractError(f"segments.dropped_text: 'summary' lacks attrs {missing}; pass the "
                                "result of clv_summary.")
    rule = "an amount >= 0" if a["zero_is_purchase"] else "a positive amount"
    text = (f"{a['customers_in']:,} customers with orders up to {a['as_of']:%Y-%m-%d}: "
            f"{a['dropped_customers']:,} left out (no order with {rule})")
    if a["first_purchase_moved"]:
        hint = "" if a["zero_is_purchase"] else " (set zero_is_purchase=True to count $0 orders)"
        text += (f"; {a['first_purchase_moved']:,} starts at a later order because the first did not "
                 f"count as a purchase{hint}" if a["first_purchase_moved"] == 1 else
                 f"; {a['first_purchase_moved']:,} start at a later order because the first did not "
                 f"count as a purchase{hint}")
    what = "refunds" if a["zero_is_purchase"] else "refunds or $0"
    return text + f"; {a['ignored_orders']:,} orders ignored ({what})."


def _check_summary(data, required, *, where: str) -> pd.DataFrame:
    check_frame(data, required, where=where, name="data")
    if len(data) == 0:
        raise EmptyDataError(f"{where}: 'data' has no customers.")
    d = data[list(required)].astype(float)
    bad = d.isna().any(axis=1)
    if bad.any():
        raise DataContractError(f"{where}: {int(bad.sum())} customers have missing values in "
                                f"{list(required)} (e.g. {examples(d.index[bad])}).")
    f = d["frequency"]
    bad = (f < 0) | (f != np.floor(f))
    if bad.any():
        raise DataContractError(f"{where}: {int(bad.sum())} customers have a frequency that is not "
                                f"a whole number >= 0 (e.g. {examples(d.index[bad])}).",
                                column="frequency")
    if "recency" in d and "T" in d:
        checks = (
            (d["recency"] > d["T"], "recency > T"),
            (d["recency"] < 0, "recency < 0"),
            ((f == 0) & (d["recency"] != 0), "frequency 0 but recency != 0"),
            (d["T"] < 0, "T < 0"),
        )
        for mask, text in checks:
            if mask.any():
                raise DataContractError(f"{where}: {int(mask.sum())} customers have {text} "
                                        f"(e.g. {examples(d.index[mask])}).")
    return d


def _weights(sample_weight, n: int, *, where: str) -> np.ndarray:
    """Checked sample weights (ones when None): one finite value >= 0 per row, not all 0."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float).ravel()
    if len(w) != n:
        raise ParameterError(f"{where}: 'sample_weight' has {len(w)} values for {n} rows.",
                             name="sample_weight")
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ParameterError(f"{where}: 'sample_weight' must be finite, >= 0 and not all 0.",
                             name="sample_weight")
    return w


def tuple_counts(summary, columns) -> pd.DataFrame:
    """The distinct rows of ``summary[columns]`` with the number of customers of each (``customers``).

    The BG/NBD likelihood depends on a customer only through (frequency, recency, T) and the
    Gamma-Gamma one through (frequency, monetary_value), so a fit on these rows weighted by
    ``customers`` is the fit on every customer (see :func:`fit_clv_models`).

    Returns
    -------
    pandas.DataFrame
        ``columns`` and ``customers`` (int64), sorted by ``columns``.
    """
    check_frame(summary, columns, where="segments.tuple_counts", name="summary")
    out = summary.groupby(list(columns), sort=True).size().rename("customers").reset_index()
    out["customers"] = out["customers"].astype("int64")
    return out


def fit_clv_models(bgnbd_tuples, gamma_gamma_tuples, *, time_unit=None):
    """BG/NBD and Gamma-Gamma fitted on :func:`tuple_counts` rows, weighted by ``customers``.

    Parameters
    ----------
    bgnbd_tuples : pandas.DataFrame
        ``frequency, recency, T, customers``.
    gamma_gamma_tuples : pandas.DataFrame
        ``frequency, monetary_value, customers``.
    time_unit : str, optional
        The unit of ``recency`` and ``T`` (recorded on the BG/NBD fit).

    Returns
    -------
    (BetaGeoFitter, GammaGammaFitter)
    """
    data = bgnbd_tuples[["frequency", "recency", "T"]].copy()
    data.attrs["time_unit"] = time_unit
    bgnbd = BetaGeoFitter().fit(data, sample_weight=bgnbd_tuples["customers"].to_numpy())
    gamma_gamma = GammaGammaFitter().fit(gamma_gamma_tuples[["frequency", "monetary_value"]],
                                         sample_weight=gamma_gamma_tuples["customers"].to_numpy())
    return bgnbd, gamma_gamma


def clv_figures(clv) -> dict:
    """Headline figures of :func:`customer_lifetime_value`'s frame (for findings and metrics).

    Returns
    -------
    dict
        ``customers`` (rows), ``clv_total``, ``clv_median`` (float; NaN when empty) and
        ``share_probably_lost`` (share with ``probability_alive < 0.5``).
    """
    check_frame(clv, ("clv", "probability_alive"), where="segments.clv_figures", name="clv")
    n = int(len(clv))
    return {"customers": n, "clv_total": float(clv["clv"].sum()), "clv_median": float(clv["clv"].median()),
            "share_probably_lost": float((clv["probability_alive"] < 0.5).sum() / n) if n else float("nan")}


def _numeric_hessian(fun, x, step=1e-4):
    """Central-difference Hessian of ``fun`` at ``x``."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = np.full(n, step)
    hess = np.empty((n, n))
    f0 = fun(x)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                e = np.zeros(n)
                e[i] = h[i]
                val = (fun(x + e) - 2 * f0 + fun(x - e)) / h[i] ** 2
            else:
                ei = np.zeros(n)
                ej = np.zeros(n)
                ei[i] = h[i]
                ej[j] = h[j]
                val = (fun(x + ei + ej) - fun(x + ei - ej) - fun(x - ei + ej)
                       + fun(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    return hess


class _BaseFitter:
    """Shared machinery: optimiser on log parameters, Hessian standard errors, summary."""

    _param_names: tuple[str, ...] = ()
    _initial: tuple[float, ...] = ()

    def __init__(self, *, penalizer_coef=0.0, tol=1e-10, max_iter=2000):
        self.penalizer_coef = penalizer_coef
        self.tol = tol
        self.max_iter = max_iter

    def get_params(self, deep=True):
        """Constructor parameters (scikit-learn convention)."""
        return {"penalizer_coef": self.penalizer_coef, "tol": self.tol, "max_iter": self.max_iter}

    def set_params(self, **params):
        """Set constructor parameters (scikit-learn convention)."""
        for key, value in params.items():
            check_one_of(key, self.get_params(), name="parameter", where=type(self).__name__)
            setattr(self, key, value)
        return self

    def _check_params(self):
        where = f"{type(self).__name__}.fit"
        check_interval(self.penalizer_coef, 0, None, name="penalizer_coef", where=where,
                       closed="left")
        check_interval(self.tol, 0, None, name="tol", where=where, closed="neither")
        check_interval(self.max_iter, 1, None, name="max_iter", where=where, integer=True,
                       closed="left")

    def _fit(self, arrays, weights):
        def objective(log_params):
            params = np.exp(log_params)
            ll = self._log_likelihood(params, *arrays)
            total = -np.sum(weights * ll) / weights.sum()
            return total + self.penalizer_coef * np.sum(params ** 2)

        x0 = np.log(np.asarray(self._initial, dtype=float))
        with np.errstate(all="ignore"):
            start = optimize.minimize(objective, x0, method="Nelder-Mead",
                                      options={"maxiter": self.max_iter, "xatol": 1e-8,
                                               "fatol": 1e-12})
            res = optimize.minimize(objective, start.x, method="BFGS",
                                    options={"gtol": self.tol, "maxiter": self.max_iter})
        best = res if np.isfinite(res.fun) and res.fun <= start.fun else start
        self.optimizer_result_ = best
        self.converged_ = bool(np.all(np.isfinite(best.x)) and np.isfinite(best.fun)
                               and (best.success or res.fun <= start.fun + 1e-9))
        if not self.converged_:
            warnings.warn(f"{type(self).__name__}: the optimiser did not converge "
                          f"({best.message}); see optimizer_result_.", RuntimeWarning, stacklevel=3)
        params = np.exp(best.x)
        self.params_ = pd.Series(params, index=list(self._param_names), name="coef")
        self.log_likelihood_ = float(np.sum(weights * self._log_likelihood(params, *arrays)))
        self.n_obs_ = int(round(weights.sum()))

        def total_nll(log_params):
            return -np.sum(weights * self._log_likelihood(np.exp(log_params), *arrays))

        with np.errstate(all="ignore"):
            hess = _numeric_hessian(total_nll, best.x)
        try:
            cov_log = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov_log = np.full_like(hess, np.nan)
        jac = np.diag(params)
        cov = jac @ cov_log @ jac
        self.variance_matrix_ = pd.DataFrame(cov, index=self.params_.index,
                                             columns=self.params_.index)
        return self

    def summary(self) -> pd.DataFrame:
        """Fitted parameters with standard errors and 95% Wald bounds.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name: ``coef``, ``se(coef)``, ``lower 95% bound``,
            ``upper 95% bound`` (float), ``unit`` (str: 'none' for a shape parameter; for a
            scale parameter the unit it is measured in, e.g. BG/NBD's ``alpha`` in 'week' when
            fitted on a weekly :func:`clv_summary`).
        """
        check_fitted(self, "params_")
        se = np.sqrt(np.clip(np.diag(self.variance_matrix_.to_numpy()), 0, None))
        out = pd.DataFrame({"coef": self.params_, "se(coef)": se}, index=self.params_.index)
        out["lower 95% bound"] = out["coef"] - 1.959964 * out["se(coef)"]
        out["upper 95% bound"] = out["coef"] + 1.959964 * out["se(coef)"]
        out["unit"] = [self._unit(name) for name in out.index]
        return out

    def _unit(self, name: str) -> str:
        return "none"

    def __repr__(self):
        if hasattr(self, "params_"):
            text = ", ".join(f"{k}={v:.3f}" for k, v in self.params_.items())
            return f"<{type(self).__name__}: fitted with {self.n_obs_} customers, {text}>"
        return f"<{type(self).__name__}: not fitted>"


class BetaGeoFitter(_BaseFitter):
    """BG/NBD model of repeat purchases (Fader, Hardie and Lee 2005), maximum likelihood.

    While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each purchase
    they drop out with probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer_coef : float, default=0.0
        L2 penalty on the parameters added to the mean negative log-likelihood (0 = plain MLE).
    tol : float, default=1e-10
        Gradient tolerance of the BFGS polish step.
    max_iter : int, default=2000
        Iteration limit of each optimiser step.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha, a, b``.
    log_likelihood_ : float
        Log-likelihood at the fit (weighted sum).
    variance_matrix_ : pandas.DataFrame
        Inverse observed information (numerical Hessian), parameter scale.
    n_obs_ : int
        Customers fitted (sum of weights).
    converged_ : bool
        Whether the optimiser reports success.
    optimizer_result_ : scipy.optimize.OptimizeResult
        The optimiser's own result.
    time_unit_ : str or None
        The time unit of ``recency`` and ``T`` (``data.attrs['time_unit']``, set by
        :func:`clv_summary`), in which ``alpha`` is measured: alpha in days is 7 times alpha in
        weeks, r, a and b do not change.

    Examples
    --------
    >>> data = pd.DataFrame({"frequency": [0, 2, 5, 1, 0, 3], "recency": [0, 20, 35, 5, 0, 30],
    ...                      "T": [40, 40, 40, 38, 30, 36]})
    >>> model = BetaGeoFitter().fit(data)
    >>> list(model.params_.index)
    ['r', 'alpha', 'a', 'b']
    """

    _param_names = ("r", "alpha", "a", "b")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _required = ("frequency", "recency", "T")

    def fit(self, data, *, sample_weight=None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        data : pandas.DataFrame
            ``frequency, recency, T`` per customer (see :func:`clv_summary`).
        sample_weight : array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self : BetaGeoFitter
        """
        self._check_params()
        d = _check_summary(data, self._required, where="BetaGeoFitter.fit")
        w = _weights(sample_weight, len(d), where="BetaGeoFitter.fit")
        # the start is the same as the fit on the rows the weights stand for (the weighted mean)
        mean_t = float(d["T"].mean()) if sample_weight is None else float(np.average(d["T"], weights=w))
        self._initial = (1.0, max(mean_t / 10.0, 1e-3), 1.0, 1.0)
        self.time_unit_ = data.attrs.get("time_unit")
        return self._fit((d["frequency"].to_numpy(), d["recency"].to_numpy(), d["T"].to_numpy()), w)

    def _unit(self, name: str) -> str:
        if name != "alpha":
            return "none"
        return getattr(self, "time_unit_", None) or "time unit of the data"

    @staticmethod
    def _log_likelihood(params, x, t_x, T):
        r, alpha, a, b = params
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
              - special.gammaln(a + b + x))
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x)
        return a1 + a2 + np.where(x > 0, np.logaddexp(a3, np.where(x > 0, a4, -np.inf)), a3)

    def _arrays(self, data, where):
        check_fitted(self, "params_")
        d = _check_summary(data, self._required, where=where)
        return d["frequency"].to_numpy(), d["recency"].to_numpy(), d["T"].to_numpy(), d.index

    def probability_alive(self, data) -> pd.Series:
        """P(customer still active at T | frequency, recency, T).

        Returns
        -------
        pandas.Series of float
            Indexed like ``data``, named ``probability_alive``; 1.0 for customers with no repeat
            purchase (the BG/NBD cannot drop out before a repeat purchase).
        """
        x, t_x, T, index = self._arrays(data, "BetaGeoFitter.probability_alive")
        r, alpha, a, b = self.params_.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (np.log(a) - np.log(b + x - 1)
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        p = np.where(x > 0, special.expit(-log_odds), 1.0)
        return pd.Series(p, index=index, name="probability_alive")

    def expected_purchases(self, data, t) -> pd.Series:
        """Expected number of purchases in the next ``t`` time units, given each customer's history.

        Equation (10) of Fader, Hardie and Lee (2005).

        Parameters
        ----------
        data : pandas.DataFrame
            ``frequency, recency, T``.
        t : float
            Horizon, in the time unit of ``data``.

        Returns
        -------
        pandas.Series of float
            Indexed like ``data``, named ``expected_purchases``.
        """
        check_interval(t, 0, None, name="t", where="BetaGeoFitter.expected_purchases",
                       closed="left")
        x, t_x, T, index = self._arrays(data, "BetaGeoFitter.expected_purchases")
        r, alpha, a, b = self.params_.to_numpy()
        if t == 0:
            return pd.Series(0.0, index=index, name="expected_purchases")
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (np.log(a) - np.log(b + x - 1)
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        alive = np.where(x > 0, special.expit(-log_odds), 1.0)
        return pd.Series(first * second * alive, index=index, name="expected_purchases")

    def expected_purchases_new(self, t) -> float:
        """Expected purchases of a new customer in a period of length ``t``: E[X(t)], equation (7)."""
        check_fitted(self, "params_")
        check_interval(t, 0, None, name="t", where="BetaGeoFitter.expected_purchases_new",
                       closed="left")
        r, alpha, a, b = self.params_.to_numpy()
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp))


class GammaGammaFitter(_BaseFitter):
    """Gamma-Gamma model of the average transaction value (Fader and Hardie 2013), max likelihood.

    Transaction values of a customer are Gamma(p, nu) with nu ~ Gamma(q, gamma); fitted on the
    customers with at least one repeat purchase and a positive ``monetary_value``. Assumes spend and
    purchase frequency are independent (check ``data[['frequency', 'monetary_value']].corr()``).

    Parameters
    ----------
    penalizer_coef, tol, max_iter
        As for :class:`BetaGeoFitter`.

    Attributes
    ----------
    params_ : pandas.Series
        ``p, q, gamma``.
    log_likelihood_, variance_matrix_, n_obs_, converged_, optimizer_result_
        As for :class:`BetaGeoFitter`.

    Examples
    --------
    >>> data = pd.DataFrame({"frequency": [1, 2, 5, 3, 4, 2],
    ...                      "monetary_value": [20.0, 35.0, 30.0, 50.0, 25.0, 15.0]})
    >>> GammaGammaFitter().fit(data).params_.index.tolist()
    ['p', 'q', 'gamma']
    """

    _param_names = ("p", "q", "gamma")
    _initial = (1.0, 1.0, 1.0)
    _required = ("frequency", "monetary_value")

    def _unit(self, name: str) -> str:
        return "amount" if name == "gamma" else "none"

    def fit(self, data, *, sample_weight=None):
        """Fit on the rows with ``frequency > 0``.

        Parameters
        ----------
        data : pandas.DataFrame
            ``frequency, monetary_value`` per customer (see :func:`clv_summary`).
        sample_weight : array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self : GammaGammaFitter

        Raises
        ------
        DataContractError
            A customer with repeat purchases has ``monetary_value <= 0``.
        EmptyDataError
            No customer has a repeat purchase.
        """
        where = "GammaGammaFitter.fit"
        self._check_params()
        d = _check_summary(data, self._required, where=where)
        w = _weights(sample_weight, len(d), where=where)
        keep = (d["frequency"] > 0).to_numpy()
        d, w = d[keep], w[keep]
        if len(d) == 0:
            raise EmptyDataError(f"{where}: no customer has a repeat purchase (frequency > 0).")
        bad = d["monetary_value"] <= 0
        if bad.any():
            raise DataContractError(
                f"{where}: {int(bad.sum())} customers with repeat purchases have monetary_value <= 0 "
                f"(e.g. {examples(d.index[bad])}).", column="monetary_value")
        m = (float(d["monetary_value"].mean()) if sample_weight is None
             else float(np.average(d["monetary_value"], weights=w)))
        self._initial = (1.0, 2.0, max(m, 1e-3))
        return self._fit((d["frequency"].to_numpy(), d["monetary_value"].to_numpy()), w)

    @staticmethod
    def _log_likelihood(params, x, m):
        p, q, gamma = params
        px = p * x
        return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
                + q * np.log(gamma) + (px - 1) * np.log(m) + px * np.log(x)
                - (px + q) * np.log(gamma + m * x))

    def expected_spend(self, data) -> pd.Series:
        """Expected average transaction value given each customer's repeat purchases, equation (5).

        Customers with ``frequency == 0`` get the population mean ``p * gamma / (q - 1)``.

        Returns
        -------
        pandas.Series of float
            Indexed like ``data``, named ``expected_spend``; NaN everywhere if ``q <= 1``
            (the mean does not exist).
        """
        check_fitted(self, "params_")
        d = _check_summary(data, self._required, where="GammaGammaFitter.expected_spend")
        p, q, gamma = self.params_.to_numpy()
        x = d["frequency"].to_numpy()
        m = np.where(x > 0, d["monetary_value"].to_numpy(), 0.0)
        value = p * (gamma + x * m) / (p * x + q - 1) if q > 1 else np.full(len(d), np.nan)
        return pd.Series(value, index=d.index, name="expected_spend")


def customer_lifetime_value(transaction_model, spend_model, data, *, horizon=12, period=30.0,
                            discount_rate=0.01, margin=1.0) -> pd.DataFrame:
    """Discounted expected value of each customer over the next ``horizon`` periods.

    ``CLV = margin * E[spend] * sum_{i=1..horizon} (E[Y(i * period)] - E[Y((i - 1) * period)])
    / (1 + discount_rate) ** i`` with E[Y] from the BG/NBD and E[spend] from the Gamma-Gamma model
    (the lifetimes formulation).

    Parameters
    ----------
    transaction_model : BetaGeoFitter
        Fitted.
    spend_model : GammaGammaFitter
        Fitted.
    data : pandas.DataFrame
        ``frequency, recency, T, monetary_value`` per customer.
    horizon : int, default=12
        Number of periods.
    period : float, default=30.0
        Length of one period in the time unit of ``data`` (30 days; use 4.345 for months when the
        unit is weeks).
    discount_rate : float, default=0.01
        Discount rate per period (0.01 a month is about 12.7% a year).
    margin : float, default=1.0
        Share of spend that is profit (1.0 gives revenue value).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``data``: ``probability_alive``, ``expected_purchases`` (over the whole
        horizon), ``expected_spend``, ``clv`` (float).

    Examples
    --------
    >>> bg = BetaGeoFitter()
    >>> bg.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> gg = GammaGammaFitter()
    >>> gg.params_ = pd.Series({"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> data = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86],
    ...                      "monetary_value": [40.0]})
    >>> customer_lifetime_value(bg, gg, data, horizon=1, period=39, discount_rate=0.0).round(3)
       probability_alive  expected_purchases  expected_spend     clv
    0              0.727               1.226           39.14  47.987
    """
    where = "segments.customer_lifetime_value"
    check_type(transaction_model, BetaGeoFitter, name="transaction_model", where=where)
    check_type(spend_model, GammaGammaFitter, name="spend_model", where=where)
    check_interval(horizon, 1, None, name="horizon", where=where, integer=True, closed="left")
    check_interval(period, 0, None, name="period", where=where, closed="neither")
    check_interval(discount_rate, 0, None, name="discount_rate", where=where, closed="left")
    check_interval(margin, None, None, name="margin", where=where, closed="neither")
    spend = spend_model.expected_spend(data)
    previous = transaction_model.expected_purchases(data, 0)
    value = pd.Series(0.0, index=spend.index)
    for i in range(1, horizon + 1):
        current = transaction_model.expected_purchases(data, i * period)
        value = value + (current - previous) / (1 + discount_rate) ** i
        previous = current
    return pd.DataFrame({
        "probability_alive": transaction_model.probability_alive(data),
        "expected_purchases": previous,
        "expected_spend": spend,
        "clv": margin * spend * value,
    })
