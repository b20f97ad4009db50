"""Plan a campaign: target list under a budget, expected profit, break-even cost, strategy comparison.

Money is in the database's currency. A contact costs ``cost_per_contact``; a conversion earns
``margin_per_conversion`` (gross margin of a typical order, :func:`margin_per_conversion`).
A customer with uplift ``u`` (the change in conversion probability a contact causes) is expected
to add ``u`` conversions and ``margin * u - cost`` profit; a list breaks even at a cost per contact
of ``margin * mean(u)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval
from ..definitions import line_revenue
from ..errors import EmptyDataError, ParameterError
from .evaluation import check_arrays

__all__ = ["COMPARISON_COLUMNS", "LIST_COLUMNS", "break_even_cost", "compare_strategies",
           "list_summary", "margin_per_conversion", "profit_curve", "summary_from_totals", "target_list"]

#: Columns of :func:`target_list` and :func:`profit_curve`.
LIST_COLUMNS = ["rank", "customer_id", "score", "uplift", "expected_profit", "cumulative_incremental",
                "cumulative_profit"]
#: Columns of :func:`compare_strategies`.
COMPARISON_COLUMNS = ["strategy", "fraction", "contacts", "observed_uplift", "uplift_low", "uplift_high",
                      "expected_incremental", "expected_profit", "break_even_cost"]


def margin_per_conversion(orders: pd.DataFrame, order_lines: pd.DataFrame, products: pd.DataFrame, *,
                          as_of, days: int = 365) -> float:
    """Mean gross margin of an order placed in the ``days`` before ``as_of``.

    Margin is ``quantity * (unit_price * (1 - discount) - unit_cost)`` summed over the order's
    lines, with ``unit_cost`` from ``products``.

    Raises
    ------
    EmptyDataError
        No orders in the window.
    """
    where = "targeting.margin_per_conversion"
    check_columns(orders, ["order_id", "ordered_at"], where=f"{where}(orders)")
    check_columns(order_lines, ["order_id", "product_id", "quantity", "unit_price", "discount"],
                  where=f"{where}(order_lines)")
    check_columns(products, ["product_id", "unit_cost"], where=f"{where}(products)")
    check_interval(days, 1, None, name="days", where=where, integer=True, closed="left")
    end = pd.Timestamp(as_of)
    recent = orders[(orders["ordered_at"] < end) & (orders["ordered_at"] >= end - pd.Timedelta(days=days))]
    lines = order_lines[order_lines["order_id"].isin(recent["order_id"])]
    if lines.empty:
        raise EmptyDataError(f"{where}: no orders in the {days} days before {end:%Y-%m-%d}; pass "
                             "margin_per_conversion explicitly", table="orders")
    cost = lines["product_id"].map(products.set_index("product_id")["unit_cost"]).fillna(0.0)
    margin = line_revenue(lines["quantity"], lines["unit_price"], lines["discount"]) - lines["quantity"] * cost
    return float(margin.groupby(lines["order_id"]).sum().mean())


def _check_money(cost_per_contact, margin, where):
    check_interval(cost_per_contact, 0, None, name="cost_per_contact", where=where, closed="left")
    check_interval(margin, 0, None, name="margin_per_conversion", where=where, closed="neither")


def profit_curve(scores: pd.DataFrame, *, cost_per_contact: float, margin_per_conversion: float,
                 rank_by: str = "uplift", uplift: str = "uplift") -> pd.DataFrame:
    """Expected incremental conversions and profit of the top ``k`` customers, for every ``k``.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per candidate: ``customer_id``, the ranking column and the uplift column.
    cost_per_contact, margin_per_conversion : float
    rank_by : str, default='uplift'
        Column to rank by, highest first (e.g. 'propensity' to rank by response propensity while
        still counting profit with the uplift estimate).
    uplift : str, default='uplift'
        Column with the expected uplift per customer (used for incremental conversions and profit).

    Returns
    -------
    pandas.DataFrame
        :data:`LIST_COLUMNS`, one row per rank: ``rank`` (int64, 1 = first), ``customer_id``,
        ``score`` (the ranking value), ``uplift``, ``expected_profit`` (of that contact),
        ``cumulative_incremental`` and ``cumulative_profit`` (of the list down to that rank).
    """
    where = "targeting.profit_curve"
    check_columns(scores, list(dict.fromkeys(["customer_id", rank_by, uplift])), where=where)
    _check_money(cost_per_contact, margin_per_conversion, where)
    if scores[[rank_by, uplift]].isna().any().any():
        raise ParameterError(f"{where}: columns {rank_by!r} / {uplift!r} have missing values.", name=rank_by)
    ranked = scores.sort_values(rank_by, ascending=False, kind="stable")
    u = ranked[uplift].to_numpy(float)
    each = margin_per_conversion * u - cost_per_contact
    return pd.DataFrame({
        "rank": np.arange(1, len(ranked) + 1, dtype="int64"),
        "customer_id": ranked["customer_id"].to_numpy(),
        "score": ranked[rank_by].to_numpy(float),
        "uplift": u, "expected_profit": each,
        "cumulative_incremental": np.cumsum(u), "cumulative_profit": np.cumsum(each),
    })[LIST_COLUMNS]


def target_list(scores: pd.DataFrame, *, cost_per_contact: float, margin_per_conversion: float,
                budget: float | None = None, list_size: int | None = None, rank_by: str = "uplift",
                uplift: str = "uplift", stop_at_break_even: bool = True) -> pd.DataFrame:
    """The customers to contact: best first, within the budget and the list size.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``customer_id``, the ``rank_by`` and ``uplift`` columns (other columns are kept).
    cost_per_contact, margin_per_conversion : float
    budget : float, optional
        At most ``floor(budget / cost_per_contact)`` contacts.
    list_size : int, optional
        At most this many contacts. With neither limit, every customer is a candidate.
    rank_by, uplift : str
        As in :func:`profit_curve`.
    stop_at_break_even : bool, default=True
        Also stop where the list's expected profit peaks (contacting more customers would lose
        money on average).

    Returns
    -------
    pandas.DataFrame
        The chosen rows of :func:`profit_curve` (:data:`LIST_COLUMNS`), followed by the other
        columns of ``scores``.
    """
    where = "targeting.target_list"
    _check_money(cost_per_contact, margin_per_conversion, where)
    limit = len(scores)
    if budget is not None:
        check_interval(budget, 0, None, name="budget", where=where, closed="left")
        limit = min(limit, int(budget // cost_per_contact) if cost_per_contact > 0 else limit)
    if list_size is not None:
        check_interval(list_size, 0, None, name="list_size", where=where, integer=True, closed="left")
        limit = min(limit, list_size)
    curve = profit_curve(scores, cost_per_contact=cost_per_contact,
                         margin_per_conversion=margin_per_conversion, rank_by=rank_by, uplift=uplift)
    chosen = curve.iloc[:limit]
    if stop_at_break_even and len(chosen):
        best = int(np.argmax(chosen["cumulative_profit"].to_numpy()))
        peak = chosen["cumulative_profit"].iloc[best]
        chosen = chosen.iloc[: best + 1] if peak > 0 else chosen.iloc[:0]
    extra = [c for c in scores.columns if c not in LIST_COLUMNS and c not in (rank_by, uplift)]
    if extra:
        chosen = chosen.merge(scores[["customer_id", *extra]], on="customer_id", how="left")
    return chosen.reset_index(drop=True)


def break_even_cost(uplift, margin_per_conversion: float) -> float:
    """Cost per contact at which a list with these uplifts breaks even: ``margin * mean(uplift)``."""
    check_interval(margin_per_conversion, 0, None, name="margin_per_conversion",
                   where="targeting.break_even_cost", closed="neither")
    u = np.asarray(uplift, dtype=float)
    if len(u) == 0:
        raise EmptyDataError("targeting.break_even_cost: no customers in the list")
    return float(margin_per_conversion * u.mean())


def list_summary(chosen: pd.DataFrame, *, cost_per_contact: float, margin_per_conversion: float) -> pd.Series:
    """Headline numbers of a :func:`target_list`.

    Returns
    -------
    pandas.Series
        ``contacts``, ``cost``, ``expected_incremental_conversions``,
        ``incremental_per_1000_contacts``, ``expected_revenue_margin``, ``expected_profit``,
        ``break_even_cost_per_contact`` (NaN for an empty list).
    """
    n = len(chosen)
    inc = float(chosen["uplift"].sum()) if n else 0.0
    return summary_from_totals(n, inc, cost_per_contact=cost_per_contact,
                               margin_per_conversion=margin_per_conversion)


def summary_from_totals(contacts: int, incremental: float, *, cost_per_contact: float,
                        margin_per_conversion: float) -> pd.Series:
    """:func:`list_summary` from a list's size and its summed uplift (e.g. aggregated on Spark)."""
    n, inc = int(contacts), float(incremental) if contacts else 0.0
    return pd.Series({
        "contacts": n, "cost": n * cost_per_contact, "expected_incremental_conversions": inc,
        "incremental_per_1000_contacts": 1000 * inc / n if n else np.nan,
        "expected_revenue_margin": inc * margin_per_conversion,
        "expected_profit": inc * margin_per_conversion - n * cost_per_contact,
        "break_even_cost_per_contact": margin_per_conversion * inc / n if n else np.nan,
    })


def compare_strategies(y, treatment, scores: dict, *, fraction: float, contacts: int,
                       cost_per_contact: float, margin_per_conversion: float) -> pd.DataFrame:
    """Compare rankings on held-out contacts: observed uplift in each ranking's top ``fraction``.

    Each strategy's list is its top ``fraction`` of the held-out rows; its uplift is the observed
    conversion rate of the contacted minus that of the control rows in that top, projected onto a
    list of ``contacts`` customers. 'random' (all rows) is added.

    Parameters
    ----------
    y, treatment : array-like
        Observed conversion and contact flag of held-out rows (e.g. out-of-fold, see
        :func:`~crmlib.targeting.uplift.cross_fit_predict`).
    scores : dict of str to array-like
        Ranking score per strategy (higher first), e.g. ``{'uplift': ..., 'propensity': ...}``.
    fraction : float in (0, 1]
        Share of the base the list takes.
    contacts : int
        List size to project onto.
    cost_per_contact, margin_per_conversion : float

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS`, one row per strategy and 'random': ``observed_uplift`` with a
        95% interval, ``expected_incremental`` (= uplift * contacts), ``expected_profit`` and
        ``break_even_cost`` (= margin * uplift).
    """
    where = "targeting.compare_strategies"
    check_interval(fraction, 0, 1, name="fraction", where=where, closed="right")
    check_interval(contacts, 0, None, name="contacts", where=where, integer=True, closed="left")
    _check_money(cost_per_contact, margin_per_conversion, where)
    rows = []
    all_scores = {**scores, "random": np.zeros(len(np.asarray(y)))}
    for name, s in all_scores.items():
        yy, t, s = check_arrays(y, treatment, s, where)
        if name == "random":
            top = np.ones(len(yy), bool)
        else:
            k = max(1, int(round(fraction * len(yy))))
            top = np.zeros(len(yy), bool)
            top[np.argsort(-s, kind="stable")[:k]] = True
        yt, yc = yy[top & t], yy[top & ~t]
        if len(yt) == 0 or len(yc) == 0:
            u = lo = hi = np.nan
        else:
            u = yt.mean() - yc.mean()
            se = np.sqrt(yt.var() / len(yt) + yc.var() / len(yc))
            lo, hi = u - 1.96 * se, u + 1.96 * se
        rows.append((name, fraction, contacts, u, lo, hi, u * contacts,
                     u * contacts * margin_per_conversion - contacts * cost_per_contact,
                     u * margin_per_conversion))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
