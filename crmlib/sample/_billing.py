"""Invoices and payments, with a planted true default probability per customer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._people import END

#: Default model: logit p = BASE + income effect + age/occupation/tenure/type effects + 0.75 * discipline.
DEFAULT_MODEL = {
    "base": -3.6,
    "income": {"low": 1.3, "lower-middle": 0.6, "middle": 0.0, "upper-middle": -0.5, "high": -1.0},
    "age_under_30": 0.6,
    "occupation": {"student": 0.5, "unemployed": 0.9},
    "bargain_hunter": 0.4,
    "new_customer": 0.3,
    "discipline": 0.75,
}
#: Lateness of invoices that are paid: logit = -1.2 + 2.2 * discipline + 0.5 (low income).
LATE_MODEL = {"base": -1.2, "discipline": 2.2, "low_income": 0.5}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def default_probability(c: pd.DataFrame) -> np.ndarray:
    """The true probability that a customer defaults on an invoice (constant over time)."""
    m = DEFAULT_MODEL
    x = np.full(len(c), m["base"])
    x += c["income_band"].map(m["income"]).to_numpy(float)
    x += m["age_under_30"] * (c["age"].to_numpy() < 30)
    x += c["occupation"].map(m["occupation"]).fillna(0).to_numpy(float)
    x += m["bargain_hunter"] * (c["latent_type"].to_numpy() == "bargain_hunter")
    x += m["new_customer"] * (c["latent_type"].to_numpy() == "new")
    x -= m["discipline"] * c["discipline"].to_numpy()
    return _sigmoid(x)


def late_probability(c: pd.DataFrame) -> np.ndarray:
    m = LATE_MODEL
    x = m["base"] - m["discipline"] * c["discipline"].to_numpy()
    x += m["low_income"] * (c["income_band"].to_numpy() == "low")
    return _sigmoid(x)


def draw_billing(rng: np.random.Generator, orders: pd.DataFrame, revenue: np.ndarray,
                 c: pd.DataFrame, p_default: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One invoice per completed order; payments on time, late, partial or never (default).

    A defaulted invoice is never paid in full: 30% of them get one partial payment of 10-50%.
    Payments after the end of the data are not recorded, as in a real extract.
    """
    done = (orders["status"] == "completed").to_numpy()
    o = orders[done]
    amount = np.round(revenue[done], 2)
    n = len(o)
    kind = o["channel_kind"].to_numpy()
    issued = o["ordered_at"] + pd.to_timedelta(rng.uniform(0, 2, n) * 86400 // 1, unit="s")
    due = issued.dt.normalize() + pd.to_timedelta(np.where(kind == "store", 14, 30), unit="D")
    inv = pd.DataFrame({
        "invoice_id": np.arange(1, n + 1), "order_id": o["order_id"].to_numpy(),
        "customer_id": o["customer_id"].to_numpy(), "issued_at": issued.to_numpy(),
        "due_at": due.to_numpy(), "amount": amount,
    })
    row = o["row"].to_numpy()
    defaults = rng.random(n) < p_default[row]
    late = ~defaults & (rng.random(n) < late_probability(c)[row])
    days_late = np.ceil(rng.gamma(1.5, 14.0, n))
    pay_time = np.where(
        late,
        due.to_numpy() + pd.to_timedelta(days_late, unit="D").to_numpy(),
        issued.to_numpy() + pd.to_timedelta(rng.uniform(0, 1, n) * (due - issued).dt.total_seconds().to_numpy(),
                                             unit="s").to_numpy(),
    )
    method = rng.choice(["card", "bank_transfer", "paypal", "direct_debit", "cash"], size=n,
                        p=[0.4, 0.25, 0.15, 0.15, 0.05])
    split = ~defaults & (rng.random(n) < 0.1)
    first = np.where(split, np.round(amount * rng.uniform(0.3, 0.7, n), 2), amount)
    parts = [
        pd.DataFrame({"invoice_id": inv["invoice_id"][~defaults], "paid_at": pay_time[~defaults],
                      "amount": first[~defaults], "method": method[~defaults]}),
        pd.DataFrame({"invoice_id": inv["invoice_id"][split],
                      "paid_at": pay_time[split] + pd.to_timedelta(rng.integers(3, 25, split.sum()),
                                                                   unit="D").to_numpy(),
                      "amount": np.round(amount[split] - first[split], 2), "method": method[split]}),
    ]
    partial = defaults & (rng.random(n) < 0.3)
    parts.append(pd.DataFrame({
        "invoice_id": inv["invoice_id"][partial],
        "paid_at": due.to_numpy()[partial] + pd.to_timedelta(rng.integers(5, 60, partial.sum()),
                                                             unit="D").to_numpy(),
        "amount": np.round(amount[partial] * rng.uniform(0.1, 0.5, partial.sum()), 2),
        "method": method[partial],
    }))
    pay = pd.concat(parts, ignore_index=True)
    pay = pay[pay["paid_at"] < END].sort_values(["paid_at", "invoice_id"], kind="stable")
    pay.insert(0, "payment_id", np.arange(1, len(pay) + 1))
    inv["_defaulted"] = defaults
    return inv, pay.reset_index(drop=True)
