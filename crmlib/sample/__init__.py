"""A realistic sample CRM database with planted, known truth.

``crmlib sample [--customers N] [--seed S] [--url URL]`` builds it; :func:`build` is the same in
Python. The same seed always gives the same database. Data cover 2023-01-01 to 2025-12-31.

What it looks like
------------------
Faker names and addresses; about 330 products in 10 categories with skewed (Zipf) popularity,
budget / standard / premium variants, list prices and unit costs; one store per region, a web
shop, a mobile app and phone sales; a manager and four reps per region with monthly targets;
seasonality (November and December peak, busy Fridays and Saturdays); invoices with due dates,
on-time, late, split, partial and missing payments; interactions, service tickets, sales
opportunities; acquisition and marketing campaigns with costs, contacts and responses. About
10 orders per customer (20,000 customers give about 200,000 orders).

What is planted (tables prefixed ``truth_``; analyses never read them, tests score against them)
-----------------------------------------------------------------------------------------------
``truth_customers`` (one row per customer)
    ``latent_type``: champion, loyal, new, at_risk, hibernating or bargain_hunter. The type drives
    purchase rate, lines per basket, price level, discount use, channel preference, sign-up date and
    recency (at_risk customers stop buying 150-300 days before the end, hibernating ones 420-720
    days before). ``clv_cohort`` is true for the loyal type, whose purchases follow BG/NBD exactly
    (first purchase at sign-up, no seasonality) and whose order values follow Gamma-Gamma; the
    parameters are in ``truth_clv_params``. ``p_default``: the true probability of defaulting on
    any invoice, from income band, age under 30, occupation (student, unemployed), type
    (bargain_hunter, new) and a latent payment discipline that also drives late payment (see
    ``_billing.DEFAULT_MODEL``); every invoice defaults independently with this probability, so
    the best achievable AUC is that of ``p_default``. ``p_convert_control``, ``p_convert_treated``,
    ``uplift`` and ``uplift_group`` (sure_thing, persuadable, do_not_disturb, lost_cause): the true
    conversion probability of a campaign contact with and without contact, from type, channel
    preference and complaint proneness (complaint-prone customers file more tickets and
    complaints and are put off by contact).
``truth_rules``
    The planted association rules (``_activity.RULES``): Diapers -> Beer (on Fridays
    only), Spaghetti -> Pasta Sauce, Inkjet Printer -> Printer Ink, Smartphone -> Phone Case,
    Tortilla Chips -> Salsa Dip, Coffee Beans -> Coffee Filters, Shampoo -> Conditioner. A
    consequent is added to a basket that holds the antecedent with the planted probability. The
    loyal cohort draws its items like everyone else (so no other pair of items is associated), a
    few more per order, and buys in bulk: quantities fill each order's Gamma-Gamma value.
    ``support``, ``confidence`` and ``lift`` are the values the process implies (from independent
    basket draws on the same orders), per scope: all days, and for Diapers -> Beer also Friday and
    other days.
``truth_sequences``
    A planted next-purchase pattern (``_sequences``): customers outside the BG/NBD cohort who buy
    a Smartphone buy a Screen Protector 1-59 days later with probability 0.3 (added as separate
    one-line orders, appended after every other row). Holds the planted rate and the confidence,
    base rate (customers who never bought a smartphone) and lift the process implies, with the
    definitions of ``crmlib.baskets.next_purchase_rules``.
``truth_clv_params``
    ``model`` (bgnbd, gamma_gamma), ``param``, ``value``: BG/NBD r, alpha, a, b with time in days;
    Gamma-Gamma p, q, v (lifetimes' naming), for the loyal cohort.
``truth_performance_dips``
    Orders thinned to plant known dips: region East in 2025Q2 and two reps (in two other regions)
    in 2025Q3. Rep targets are set from the rep's revenue before thinning, so exactly these fall
    short of target. ``key`` is the region name or the rep_id.
``truth_defaults``
    Per invoice, whether it was drawn to default (before censoring at the end of the data).
``truth_duplicates`` (only with ``duplicates > 0``, opt-in)
    Planted duplicate customers and their originals (``crmlib.sample._duplicates``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import default_url
from . import _activity, _billing, _marketing, _people, _sequences
from ._writer import check_target, write_database

__all__ = ["SampleResult", "build", "generate"]


@dataclass
class SampleResult:
    """What :func:`build` made: table sizes and the time it took."""

    url: str
    rows: dict[str, int]
    seconds: float


def generate(customers: int = 20000, seed: int = 42, progress: bool = False, *,
             duplicates: float = 0.0, duplicate_mode: str = "default") -> dict[str, pd.DataFrame]:
    """Generate every canonical and truth table as DataFrames (no database involved).

    Parameters
    ----------
    customers : int, default=20000
        Number of customers; orders scale with it (about 10 per customer).
    seed : int, default=42
        Random seed; the same seed gives the same tables.
    progress : bool, default=False
        Show a progress bar (tqdm) over the stages.
    duplicates : float, default=0.0
        Share of customers that get a planted duplicate customer row, in [0, 0.5]; the true pairs
        go to ``truth_duplicates`` (see ``crmlib.sample._duplicates``). 0 leaves the sample unchanged.
    duplicate_mode : {'default', 'hard'}, default='default'
        'hard': duplicates with errors in every field, sound-alike spellings, wrong birth-date
        digits and missing e-mail and phone (real lists); the default ones are unchanged by it.

    Returns
    -------
    dict of str to pandas.DataFrame
        Canonical tables keyed by name, and ``truth_*`` tables.
    """
    from faker import Faker
    from tqdm.auto import tqdm

    if not isinstance(customers, int) or isinstance(customers, bool) or customers < 50:
        from ..errors import ParameterError

        raise ParameterError(f"crmlib sample: 'customers' must be an int >= 50; got {customers!r}.",
                             name="customers")
    if not isinstance(duplicates, (int, float)) or isinstance(duplicates, bool) or not 0 <= duplicates <= 0.5:
        from ..errors import ParameterError

        raise ParameterError(f"crmlib sample: 'duplicates' must be a number in [0, 0.5]; got {duplicates!r}.",
                             name="duplicates")
    from ._duplicates import MODES

    if duplicate_mode not in MODES:
        from ..errors import ParameterError

        raise ParameterError(f"crmlib sample: 'duplicate_mode' must be one of {list(MODES)}; got {duplicate_mode!r}.",
                             name="duplicate_mode")
    rng = np.random.default_rng(seed)
    faker = Faker("en_US")
    faker.seed_instance(seed)
    bar = tqdm(total=7, desc="sample", disable=not progress, unit="step")

    def step(name):
        bar.set_postfix_str(name)
        bar.update(1)

    c = _people.draw_customers(rng, customers)
    products = _people.catalogue(rng)
    channels, reps = _people.channels_and_reps(faker)
    step("customers")

    orders = _activity.draw_orders(rng, c)
    kinds = np.array(["store", "online", "phone"])
    type_w = _people.TYPES.loc[c["latent_type"].to_numpy()[orders["row"]], ["store", "online", "phone"]].to_numpy()
    pref = c["channel_pref"].to_numpy()[orders["row"]]
    kind = np.where(rng.random(len(orders)) < 0.8, pref, kinds[_people._choice_rows(rng, type_w)])
    region = c["region"].to_numpy()[orders["row"]]
    store_id = {r: i + 1 for i, r in enumerate(_people.REGIONS)}
    channel_id = np.where(kind == "store", pd.Series(region).map(store_id).to_numpy(),
                          np.where(kind == "phone", 8, np.where(rng.random(len(orders)) < 0.7, 6, 7)))
    orders["channel_id"] = channel_id.astype(int)
    orders["channel_kind"] = kind
    workers = reps[reps["manager_id"].notna()]
    account_rep = np.empty(len(c), int)
    for r in _people.REGIONS:
        members = workers.loc[workers["region"] == r, "rep_id"].to_numpy()
        idx = np.flatnonzero(c["region"].to_numpy() == r)
        account_rep[idx] = rng.choice(members, size=len(idx))
    orders["rep_id"] = account_rep[orders["row"]]
    status = rng.choice(["completed", "cancelled", "returned"], size=len(orders), p=[0.95, 0.03, 0.02])
    orders["status"] = np.where(orders["cohort"], "completed", status)
    step("orders")

    baskets = _activity.draw_baskets(rng, orders, c, products)
    lines = _line_values(rng, baskets, orders, c, products)
    revenue = lines.groupby("order_idx")["revenue"].sum().reindex(range(len(orders)), fill_value=0).to_numpy()
    targets = _targets(rng, orders, revenue)
    orders["_revenue"] = revenue
    orders["_idx"] = np.arange(len(orders))
    orders, dips = _activity.plant_dips(rng, orders, c, reps)
    lines = lines[np.isin(lines["order_idx"], orders["_idx"])]
    remap = np.full(len(revenue), -1)
    remap[orders["_idx"].to_numpy()] = np.arange(len(orders))
    lines = lines.assign(order_idx=remap[lines["order_idx"].to_numpy()])
    orders["order_id"] = np.arange(1, len(orders) + 1)
    lines = lines.sort_values(["order_idx", "product_idx"], kind="stable")
    lines["order_id"] = lines["order_idx"] + 1
    lines["line_no"] = lines.groupby("order_id").cumcount() + 1
    step("baskets")

    truth_rules = _activity.rule_truth(np.random.default_rng([seed, 1]), orders, c, products)
    step("rule truth")

    p_default = _billing.default_probability(c)
    invoices, payments = _billing.draw_billing(rng, orders, orders["_revenue"].to_numpy(), c, p_default)
    step("billing")

    camp = _marketing.campaigns_table(rng, customers)
    acq = _marketing.acquisition(rng, c, camp)
    uplift = _marketing.uplift_truth(c)
    camp, contacts, responses = _marketing.contacts_and_responses(rng, c, camp, uplift)
    interactions, tickets, opportunities = _marketing.service(rng, c)
    step("campaigns")

    people = _people.personal_data(rng, faker, c)
    people["acquisition_channel"] = acq["acquisition_channel"].to_numpy()
    people["acquisition_campaign_id"] = acq["acquisition_campaign_id"].to_numpy()
    people["created_at"] = c["created_at"].to_numpy()
    step("personal data")
    bar.close()

    truth_customers = pd.DataFrame({
        "customer_id": c["customer_id"], "latent_type": c["latent_type"],
        "clv_cohort": c["latent_type"] == "loyal", "p_default": p_default,
        **{k: uplift[k].to_numpy() for k in uplift.columns},
        "complaint_prone": c["complaint_prone"], "channel_pref": c["channel_pref"],
    })
    clv = [("bgnbd", k, v) for k, v in _people.BGNBD.items()] + \
          [("gamma_gamma", k, v) for k, v in _people.GAMMA_GAMMA.items()]
    tables = {
        "campaigns": camp.drop(columns="purpose"),
        "channels": channels,
        "products": products[["product_id", "sku", "name", "category", "subcategory", "unit_price",
                              "unit_cost", "price_band"]],
        "sales_reps": reps,
        "customers": people,
        "rep_targets": targets,
        "campaign_contacts": contacts,
        "campaign_responses": responses,
        "interactions": interactions,
        "opportunities": opportunities,
        "orders": orders[["order_id", "customer_id", "channel_id", "rep_id", "ordered_at", "status"]],
        "service_tickets": tickets,
        "invoices": invoices.drop(columns="_defaulted"),
        "order_lines": lines[["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"]],
        "payments": payments,
        "truth_customers": truth_customers,
        "truth_rules": truth_rules,
        "truth_clv_params": pd.DataFrame(clv, columns=["model", "param", "value"]),
        "truth_performance_dips": dips,
        "truth_defaults": invoices[["invoice_id", "customer_id", "_defaulted"]].rename(
            columns={"_defaulted": "defaulted"}),
    }
    # appended last, from its own stream: every row above stays as it was
    cohort_ids = c.loc[c["latent_type"] == "loyal", "customer_id"].to_numpy()
    tables = _sequences.plant(tables, np.random.default_rng([seed, 3]), cohort_ids,
                              _people.END)
    if duplicates:
        from ._duplicates import plant_duplicates

        tables = plant_duplicates(tables, duplicates, np.random.default_rng([seed, 2]), mode=duplicate_mode)
    return tables


def build(url: str | None = None, customers: int = 20000, seed: int = 42, *, progress: bool = False,
          replace: bool = False, duplicates: float = 0.0, duplicate_mode: str = "default") -> SampleResult:
    """Generate the sample and write it to ``url`` (default: the crmlib default URL).

    Parameters
    ----------
    url : str, optional
        Target SQLAlchemy URL; a SQLite file is created with its folder.
    customers, seed, progress, duplicates, duplicate_mode
        As for :func:`generate`.
    replace : bool, default=False
        Drop and re-create existing canonical and truth tables. Without it, a database that
        already holds canonical tables is refused, so a real CRM is never overwritten.
    """
    start = time.perf_counter()
    url = url or default_url()
    check_target(url, replace=replace)  # refuse before spending time on generation
    tables = generate(customers, seed, progress=progress, duplicates=duplicates, duplicate_mode=duplicate_mode)
    rows = write_database(url, tables, replace=replace, progress=progress)
    return SampleResult(url=url, rows=rows, seconds=time.perf_counter() - start)


def _line_values(rng, baskets, orders, c, products) -> pd.DataFrame:
    """Quantity, list price and discount per line; cohort orders are priced to their Gamma-Gamma value."""
    lines = baskets.copy()
    n = len(lines)
    ltype = c["latent_type"].to_numpy()[orders["row"].to_numpy()[lines["order_idx"]]]
    q = rng.choice([1, 2, 3, 4, 6], size=n, p=[0.72, 0.18, 0.05, 0.03, 0.02])
    cat = products["category"].to_numpy()[lines["product_idx"]]
    q[np.isin(cat, ["Electronics", "Toys", "Home & Garden", "Clothing"])] = 1
    use = _people.TYPES.loc[ltype, "discount_use"].to_numpy()
    disc = np.where(rng.random(n) < use, rng.choice([0.05, 0.1, 0.15, 0.2, 0.25, 0.3], size=n), 0.0)
    price = products["unit_price"].to_numpy()[lines["product_idx"]]
    value = orders["value"].to_numpy()[lines["order_idx"]]
    cohort = ~np.isnan(value)
    # cohort orders: one quantity for all lines, the one whose total comes nearest the planted
    # value; then prices are scaled to hit it exactly (each drawn line is within its share of the
    # value, so the scale mostly stays within 0.75-1.5; a planted consequent can push it lower)
    order = lines["order_idx"].to_numpy()
    per_unit = pd.Series(price * (1 - disc)).groupby(order).transform("sum").to_numpy()
    q = np.where(cohort, np.maximum(1, np.rint(np.nan_to_num(value) / per_unit)), q).astype(int)
    lines["product_id"] = products["product_id"].to_numpy()[lines["product_idx"]]
    lines["quantity"] = q
    lines["discount"] = disc
    factor = np.where(cohort, value / (q * per_unit), 1.0)
    lines["unit_price"] = np.round(price * factor, 2).clip(min=0.01)
    lines["revenue"] = lines["quantity"] * lines["unit_price"] * (1 - lines["discount"])
    return lines


def _targets(rng, orders, revenue) -> pd.DataFrame:
    """Monthly target per rep: revenue before the planted dips, plus 3% growth and small noise."""
    done = (orders["status"] == "completed").to_numpy()
    frame = pd.DataFrame({"rep_id": orders["rep_id"].to_numpy()[done],
                          "month": orders["ordered_at"].dt.to_period("M").dt.to_timestamp().to_numpy()[done],
                          "revenue": revenue[done]})
    t = frame.groupby(["rep_id", "month"], as_index=False)["revenue"].sum()
    t["target_amount"] = np.round(t["revenue"] * 1.03 * rng.lognormal(0, 0.02, len(t)), -1)
    return t[["rep_id", "month", "target_amount"]]
