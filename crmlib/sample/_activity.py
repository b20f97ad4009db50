"""Orders and baskets: purchase timing per latent type, planted association rules, planted dips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._people import BGNBD, END, GAMMA_GAMMA, HORIZON_DAYS, START, TYPES

MONTH_FACTOR = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.25, 1.5])
WEEKDAY_FACTOR = np.array([0.9, 0.9, 0.95, 1.0, 1.3, 1.3, 0.65])  # Monday .. Sunday
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

#: Planted rules: antecedent, consequent, probability that the consequent is added to a basket
#: holding the antecedent, and the weekday the rule is limited to (None: every day).
RULES = [
    ("Diapers", "Beer", 0.55, "Friday"),
    ("Spaghetti", "Pasta Sauce", 0.5, None),
    ("Inkjet Printer", "Printer Ink", 0.6, None),
    ("Smartphone", "Phone Case", 0.5, None),
    ("Tortilla Chips", "Salsa Dip", 0.45, None),
    ("Coffee Beans", "Coffee Filters", 0.4, None),
    ("Shampoo", "Conditioner", 0.45, None),
]

#: Planted performance dips: orders of non-cohort customers are thinned with this probability.
DIPS = [
    ("region", "East", "2025Q2", 0.40),
    ("rep", None, "2025Q3", 0.45),  # two reps, chosen by seed in two different regions
]


#: Most units of one item in a cohort order line (a household's shop, not a wholesale one).
COHORT_UNITS = 20


def day_weights() -> np.ndarray:
    """Relative order intensity per day of the horizon (seasonality x weekday), mean 1."""
    days = pd.date_range(START, END, inclusive="left")
    w = MONTH_FACTOR[days.month - 1] * WEEKDAY_FACTOR[days.day_of_week]
    return w / w.mean()


def draw_orders(rng: np.random.Generator, c: pd.DataFrame) -> pd.DataFrame:
    """Purchase times per customer.

    Non-cohort types: a seasonal Poisson process between ``active_from`` and ``active_to`` with a
    gamma-distributed personal rate, plus the first purchase at sign-up. The loyal cohort: the
    BG/NBD process in calendar days from the first purchase (no seasonality, so the planted
    parameters are exactly the generating ones) with order values from Gamma-Gamma.
    """
    w = day_weights()
    cum = np.concatenate([[0.0], np.cumsum(w)])
    grid = np.arange(HORIZON_DAYS + 1, dtype=float)
    is_cohort = (c["latent_type"] == "loyal").to_numpy()
    never = (~is_cohort) & (rng.random(len(c)) < 0.03)  # registered, never bought

    # --- seasonal Poisson customers
    idx = np.flatnonzero(~is_cohort & ~never)
    rate = TYPES.loc[c["latent_type"].to_numpy()[idx], "rate"].to_numpy() * rng.gamma(6.0, 1 / 6.0, len(idx))
    lo, hi = c["active_from"].to_numpy()[idx], c["active_to"].to_numpy()[idx]
    mass = np.interp(hi, grid, cum) - np.interp(lo, grid, cum)
    n_rep = rng.poisson(rate / 365.0 * np.maximum(mass, 0))
    owner = np.repeat(idx, n_rep)
    u = rng.uniform(np.interp(np.repeat(lo, n_rep), grid, cum), np.interp(np.repeat(hi, n_rep), grid, cum))
    t_rep = np.interp(u, cum, grid)
    poisson = pd.DataFrame({"row": np.concatenate([idx, owner]),
                            "t": np.concatenate([c["active_from"].to_numpy()[idx], t_rep])})
    poisson["value"] = np.nan

    # --- BG/NBD + Gamma-Gamma cohort
    kdx = np.flatnonzero(is_cohort)
    lam = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], len(kdx))
    p = rng.beta(BGNBD["a"], BGNBD["b"], len(kdx))
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["v"], len(kdx))
    horizon = HORIZON_DAYS - c["active_from"].to_numpy()[kdx]
    t = np.zeros(len(kdx))
    alive = np.ones(len(kdx), bool)
    rows, times = [kdx], [c["active_from"].to_numpy()[kdx]]
    while alive.any():
        t = t + rng.exponential(1 / lam)
        alive &= t < horizon
        rows.append(kdx[alive])
        times.append(c["active_from"].to_numpy()[kdx[alive]] + t[alive])
        alive &= rng.random(len(kdx)) >= p           # may drop out after each repeat purchase
    cohort = pd.DataFrame({"row": np.concatenate(rows), "t": np.concatenate(times)})
    pos = np.searchsorted(kdx, cohort["row"].to_numpy())
    cohort["value"] = rng.gamma(GAMMA_GAMMA["p"], 1 / nu[pos])

    o = pd.concat([poisson, cohort], ignore_index=True)
    o["t"] = np.minimum(o["t"], HORIZON_DAYS - 1e-6)
    # time of day within opening hours; the cohort keeps its day, so BG/NBD holds to the day
    seasonal = o["value"].isna().to_numpy()
    hour = np.clip(rng.normal(14.5, 3.2, len(o)), 7, 22) / 24
    o["t"] = np.floor(o["t"].to_numpy()) + hour
    o["ordered_at"] = START + pd.to_timedelta(np.round(o["t"].to_numpy() * 86400), unit="s")
    o["customer_id"] = c["customer_id"].to_numpy()[o["row"]]
    o["cohort"] = ~seasonal
    return o.sort_values(["ordered_at", "customer_id"], kind="stable").reset_index(drop=True)


def draw_baskets(rng: np.random.Generator, orders: pd.DataFrame, c: pd.DataFrame,
                 products: pd.DataFrame) -> pd.DataFrame:
    """Product lines per order: popularity-weighted items, a favourite-category bias, planted rules.

    Returns one row per (order_idx, product_idx), deduplicated.
    """
    n = len(orders)
    ltype = c["latent_type"].to_numpy()[orders["row"]]
    mean_lines = TYPES.loc[ltype, "lines"].to_numpy()
    k = 1 + rng.poisson(mean_lines - 1)
    order_idx = np.repeat(np.arange(n), k)
    pop = products["popularity"].to_numpy()
    item = rng.choice(len(products), size=len(order_idx), p=pop)
    # 30% of lines come from the customer's favourite category
    fav = c["favourite_category"].to_numpy()[orders["row"].to_numpy()[order_idx]]
    from_fav = rng.random(len(order_idx)) < 0.3
    cat = products["category_code"].to_numpy()
    for code in np.unique(cat):
        members = np.flatnonzero(cat == code)
        sel = from_fav & (fav == code)
        if sel.any():
            item[sel] = rng.choice(members, size=sel.sum(), p=pop[members] / pop[members].sum())
    # The BG/NBD cohort's orders have a planted Gamma-Gamma value. Their items are drawn the same
    # way as everyone's, a few more per order (TYPES "lines"), and _line_values fills the value with
    # quantities: bulk buying is the cohort's trait. Filling it with many lines instead lifted every
    # pair of items over all baskets (a mixing effect that buried the Friday rule). Only a line
    # priced outside its share of the value (at most COHORT_UNITS units of it) is redrawn.
    share = orders["value"].to_numpy()[order_idx] / k[order_idx]
    item = _priced_within(rng, item, share / COHORT_UNITS, share, products)
    weekday = orders["ordered_at"].dt.day_of_week.to_numpy()
    lines = [pd.DataFrame({"order_idx": order_idx, "product_idx": item})]
    names = products["name"].to_numpy()
    base = pd.DataFrame({"order_idx": order_idx, "product_idx": item})
    for ante, cons, prob, day in RULES:
        a = np.flatnonzero(names == ante)[0]
        b = np.flatnonzero(names == cons)[0]
        has_a = np.unique(base.loc[base["product_idx"] == a, "order_idx"].to_numpy())
        if day is not None:
            has_a = has_a[weekday[has_a] == WEEKDAYS.index(day)]
        add = has_a[rng.random(len(has_a)) < prob]
        lines.append(pd.DataFrame({"order_idx": add, "product_idx": b}))
    out = pd.concat(lines, ignore_index=True).drop_duplicates(["order_idx", "product_idx"])
    return out.sort_values(["order_idx"], kind="stable").reset_index(drop=True)


def _priced_within(rng, item: np.ndarray, low: np.ndarray, high: np.ndarray,
                   products: pd.DataFrame) -> np.ndarray:
    """Redraw, by popularity, each item whose list price is outside ``[low, high]`` (NaN bounds:
    no redraw) among the items within it, or the nearest-priced item where none is."""
    price = products["unit_price"].to_numpy()
    off = np.flatnonzero((price[item] < low) | (price[item] > high))  # NaN bounds compare False
    if not len(off):
        return item
    by_price = np.argsort(price, kind="stable")
    sorted_price = price[by_price]
    last = len(price) - 1
    lo = np.minimum(np.searchsorted(sorted_price, low[off], side="left"), last)
    hi = np.maximum(np.searchsorted(sorted_price, high[off], side="right") - 1, lo)
    cum = np.concatenate([[0.0], np.cumsum(products["popularity"].to_numpy()[by_price])])
    u = cum[lo] + rng.random(len(off)) * (cum[hi + 1] - cum[lo])
    pick = np.clip(np.searchsorted(cum, u, side="right") - 1, lo, hi)
    out = item.copy()
    out[off] = by_price[pick]
    return out


def rule_truth(rng: np.random.Generator, orders: pd.DataFrame, c: pd.DataFrame,
               products: pd.DataFrame, draws: int = 3) -> pd.DataFrame:
    """The planted rules' expected support, confidence and lift.

    Computed from fresh basket draws on the same orders with an independent random stream: the
    value the generating process implies, not the one the stored sample happens to show.
    """
    weekday = orders["ordered_at"].dt.day_of_week.to_numpy()
    names = products["name"].to_numpy()
    acc = {}
    for _ in range(draws):
        b = draw_baskets(rng, orders, c, products)
        for ante, cons, _prob, _day in RULES:
            a = np.flatnonzero(names == ante)[0]
            z = np.flatnonzero(names == cons)[0]
            has_a = np.zeros(len(orders), bool)
            has_b = np.zeros(len(orders), bool)
            has_a[b.loc[b["product_idx"] == a, "order_idx"]] = True
            has_b[b.loc[b["product_idx"] == z, "order_idx"]] = True
            for scope, mask in [("all days", np.ones(len(orders), bool)),
                                ("Friday", weekday == 4), ("other days", weekday != 4)]:
                key = (ante, cons, scope)
                sums = np.array([mask.sum(), (has_a & mask).sum(), (has_b & mask).sum(),
                                 (has_a & has_b & mask).sum()], float)
                acc[key] = acc.get(key, 0) + sums
    rows = []
    planted = {}
    for ante, cons, prob, day in RULES:
        planted.setdefault((ante, cons), []).append(f"{prob:g} on {day}" if day else f"{prob:g} every day")
    for (ante, cons, scope), (n, na, nb, nab) in acc.items():
        weekday_rule = any(day for a, b, _p, day in RULES if (a, b) == (ante, cons))
        if scope != "all days" and not weekday_rule:
            continue
        rows.append({
            "antecedent": ante, "consequent": cons, "scope": scope,
            "planted": "; ".join(planted[(ante, cons)]),
            "support": nab / n, "confidence": nab / na, "lift": (nab / na) / (nb / n),
        })
    return pd.DataFrame(rows)


def plant_dips(rng: np.random.Generator, orders: pd.DataFrame, c: pd.DataFrame,
               reps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Thin the orders of one region and two reps in known quarters; return kept orders and truth."""
    quarter = orders["ordered_at"].dt.to_period("Q").astype(str).to_numpy()
    region = c["region"].to_numpy()[orders["row"]]
    keep = np.ones(len(orders), bool)
    truth = []
    workers = reps[reps["manager_id"].notna()]
    regions = workers["region"].drop_duplicates().to_numpy()
    chosen_regions = rng.choice([r for r in regions if r != "East"], size=2, replace=False)
    chosen_reps = [int(rng.choice(workers.loc[workers["region"] == r, "rep_id"])) for r in chosen_regions]
    for level, key, q, prob in DIPS:
        keys = [key] if level == "region" else chosen_reps
        for k in keys:
            hit = (quarter == q) & ~orders["cohort"].to_numpy()
            hit &= (region == k) if level == "region" else (orders["rep_id"].to_numpy() == k)
            drop = hit & (rng.random(len(orders)) < prob)
            keep &= ~drop
            truth.append({"level": level, "key": str(k), "quarter": q, "thinning": prob,
                          "orders_removed": int(drop.sum())})
    return orders[keep].reset_index(drop=True), pd.DataFrame(truth)
