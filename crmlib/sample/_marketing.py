"""Campaigns with randomised control groups and planted uplift; service and sales interactions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._people import END, HORIZON_DAYS, START

#: Conversion without contact (p0) and the change contact makes (uplift), per latent type.
RESPONSE = pd.DataFrame(
    [("champion", 0.25, 0.01), ("loyal", 0.08, 0.07), ("new", 0.06, 0.05),
     ("at_risk", 0.04, 0.10), ("hibernating", 0.02, 0.015), ("bargain_hunter", 0.10, 0.08)],
    columns=["latent_type", "p0", "uplift"],
).set_index("latent_type")
#: Complaint-prone customers are put off by contact ("do not disturb").
DO_NOT_DISTURB_UPLIFT = -0.07
ONLINE_EXTRA_UPLIFT = 0.03  # digital campaigns reach online shoppers better
SELECTED = 0.35  # share of eligible customers selected for each marketing campaign

MARKETING = [  # name, channel, start (months after START), cost per contact
    ("Spring Newsletter 2023", "email", 3, 0.05), ("Summer Sale SMS 2023", "sms", 6, 0.12),
    ("Autumn Catalogue 2023", "direct_mail", 9, 1.10), ("Holiday Email 2023", "email", 11, 0.05),
    ("Winter Call Campaign 2024", "phone", 13, 3.50), ("Spring Newsletter 2024", "email", 15, 0.05),
    ("Summer Sale SMS 2024", "sms", 18, 0.12), ("Autumn Catalogue 2024", "direct_mail", 21, 1.10),
    ("Holiday Email 2024", "email", 23, 0.05), ("Spring Newsletter 2025", "email", 27, 0.05),
    ("Summer Sale SMS 2025", "sms", 30, 0.12), ("Autumn Catalogue 2025", "direct_mail", 33, 1.10),
]
ACQUISITION = [  # name, channel, start month, fixed cost
    ("Launch Search Ads 2023", "paid_search", 0, 45000.0), ("Social Push 2023", "social", 8, 30000.0),
    ("Search Ads 2024", "paid_search", 14, 52000.0), ("Referral Bonus 2025", "referral", 26, 18000.0),
]


def uplift_truth(c: pd.DataFrame) -> pd.DataFrame:
    """True conversion probability with and without contact, per customer."""
    r = RESPONSE.loc[c["latent_type"].to_numpy()]
    p0 = r["p0"].to_numpy().copy()
    uplift = r["uplift"].to_numpy() + ONLINE_EXTRA_UPLIFT * (c["channel_pref"].to_numpy() == "online")
    dnd = c["complaint_prone"].to_numpy()
    p0[dnd] = np.maximum(p0[dnd], 0.08)
    uplift[dnd] = DO_NOT_DISTURB_UPLIFT
    p1 = np.clip(p0 + uplift, 0.002, 0.95)
    group = np.select(
        [dnd, uplift >= 0.05, p0 >= 0.2],
        ["do_not_disturb", "persuadable", "sure_thing"], "lost_cause",
    )
    return pd.DataFrame({"p_convert_control": p0, "p_convert_treated": p1, "uplift": p1 - p0,
                         "uplift_group": group})


def campaigns_table(rng: np.random.Generator, n_customers: int) -> pd.DataFrame:
    rows = []
    scale = n_customers / 20000
    for name, channel, month, cost in ACQUISITION:
        start = START + pd.DateOffset(months=month)
        rows.append((name, channel, start, start + pd.Timedelta(days=60), round(cost * scale, 2), "acquisition"))
    for name, channel, month, per_contact in MARKETING:
        start = START + pd.DateOffset(months=month) + pd.Timedelta(days=int(rng.integers(0, 10)))
        rows.append((name, channel, start, start + pd.Timedelta(days=30), per_contact, "marketing"))
    camp = pd.DataFrame(rows, columns=["name", "channel", "started_at", "ended_at", "cost", "purpose"])
    camp.insert(0, "campaign_id", np.arange(1, len(camp) + 1))
    return camp


def acquisition(rng: np.random.Generator, c: pd.DataFrame, camp: pd.DataFrame) -> pd.DataFrame:
    """Acquisition channel and campaign per customer (created within 60 days of a campaign start)."""
    n = len(c)
    channel = rng.choice(["organic", "referral", "paid_search", "social", "store_walk_in"], size=n,
                         p=[0.3, 0.15, 0.2, 0.1, 0.25])
    campaign = np.full(n, -1)
    created = c["created_at"].to_numpy()
    for row in camp[camp["purpose"] == "acquisition"].itertuples():
        window = (created >= np.datetime64(row.started_at)) & (created < np.datetime64(row.ended_at))
        hit = window & (rng.random(n) < 0.45)
        campaign[hit] = row.campaign_id
        channel[hit] = "campaign"
    return pd.DataFrame({"acquisition_channel": channel,
                         "acquisition_campaign_id": pd.array(np.where(campaign > 0, campaign, None),
                                                             dtype="Int64")})


def contacts_and_responses(rng: np.random.Generator, c: pd.DataFrame, camp: pd.DataFrame,
                           truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """35% of eligible customers selected per campaign; 80% contacted, 20% held out at random.

    Also returns the campaign cost for marketing campaigns (cost per contact x contacts).
    """
    contacts, responses = [], []
    created = c["created_at"].to_numpy()
    camp = camp.copy()
    for row in camp[camp["purpose"] == "marketing"].itertuples():
        eligible = np.flatnonzero(created < np.datetime64(row.started_at))
        chosen = eligible[rng.random(len(eligible)) < SELECTED]
        treat = rng.random(len(chosen)) < 0.8
        contacted_at = row.started_at + pd.to_timedelta(rng.uniform(0, 3, len(chosen)) * 86400 // 1, unit="s")
        p0 = truth["p_convert_control"].to_numpy()[chosen]
        p1 = truth["p_convert_treated"].to_numpy()[chosen]
        converted = rng.random(len(chosen)) < np.where(treat, p1, p0)
        clicked = ~converted & treat & (rng.random(len(chosen)) < 0.04)
        respond = converted | clicked
        responded_at = contacted_at[respond] + pd.to_timedelta(rng.uniform(0.1, 28, respond.sum()) * 86400 // 1,
                                                                unit="s")
        contacts.append(pd.DataFrame({"campaign_id": row.campaign_id, "customer_id": c["customer_id"].to_numpy()[chosen],
                                      "contacted_at": contacted_at, "treatment": treat}))
        responses.append(pd.DataFrame({
            "campaign_id": row.campaign_id, "customer_id": c["customer_id"].to_numpy()[chosen][respond],
            "responded_at": responded_at, "converted": converted[respond],
            "coupon_used": converted[respond] & treat[respond] & (rng.random(respond.sum()) < 0.7),
        }))
        camp.loc[camp["campaign_id"] == row.campaign_id, "cost"] = round(row.cost * treat.sum(), 2)
    contacts = pd.concat(contacts, ignore_index=True)
    responses = pd.concat(responses, ignore_index=True)
    responses = responses[responses["responded_at"] < END]
    return camp, contacts, responses.reset_index(drop=True)


def service(rng: np.random.Generator, c: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Interactions, service tickets and sales opportunities over each customer's active time."""
    n = len(c)
    lo = c["active_from"].to_numpy()
    hi = np.minimum(c["active_to"].to_numpy() + 30, HORIZON_DAYS - 0.01)
    years = np.maximum(hi - lo, 1) / 365.0
    prone = c["complaint_prone"].to_numpy()

    def times(rate):
        k = rng.poisson(rate * years)
        who = np.repeat(np.arange(n), k)
        t = rng.uniform(lo[who], hi[who])
        return who, START + pd.to_timedelta(np.round(t * 86400), unit="s")

    who, at = times(np.where(prone, 3.5, 1.2))
    kinds = np.where(prone[who] & (rng.random(len(who)) < 0.6), "complaint",
                     rng.choice(["inquiry", "complaint", "suggestion", "compliment", "order_follow_up"],
                                size=len(who), p=[0.45, 0.12, 0.1, 0.08, 0.25]))
    inter = pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy()[who], "occurred_at": at,
        "channel": rng.choice(["email", "phone", "chat", "store"], size=len(who), p=[0.35, 0.3, 0.2, 0.15]),
        "kind": kinds,
        "outcome": rng.choice(["resolved", "escalated", "pending", "no_action"], size=len(who),
                              p=[0.7, 0.1, 0.08, 0.12]),
    }).sort_values("occurred_at", kind="stable")
    inter.insert(0, "interaction_id", np.arange(1, len(inter) + 1))

    who, at = times(np.where(prone, 2.0, 0.4))
    dur = rng.gamma(1.2, 2.5, len(who))
    closed = at + pd.to_timedelta(np.round(dur * 86400), unit="s")
    sat = np.clip(np.round(rng.normal(np.where(prone[who], 2.2, 4.0), 0.9)), 1, 5).astype(int)
    tick = pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy()[who], "opened_at": at,
        "closed_at": closed.where(closed < END),
        "category": rng.choice(["delivery", "billing", "product_defect", "returns", "account"], size=len(who)),
        "priority": rng.choice(["low", "medium", "high"], size=len(who), p=[0.5, 0.35, 0.15]),
        "satisfaction": pd.array(np.where(closed < END, sat, -1), dtype="Int64"),
    }).sort_values("opened_at", kind="stable")
    tick.loc[tick["satisfaction"] < 0, "satisfaction"] = pd.NA
    tick.insert(0, "ticket_id", np.arange(1, len(tick) + 1))

    big = np.flatnonzero((c["latent_type"].to_numpy() == "champion") | (rng.random(n) < 0.04))
    k = rng.integers(1, 4, len(big))
    who = np.repeat(big, k)
    t = rng.uniform(lo[who], HORIZON_DAYS - 1)
    created = START + pd.to_timedelta(np.round(t * 86400), unit="s")
    stage = rng.choice(["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"],
                       size=len(who), p=[0.1, 0.1, 0.1, 0.1, 0.35, 0.25])
    is_closed = np.isin(stage, ["closed_won", "closed_lost"])
    closed_at = created + pd.to_timedelta(rng.integers(5, 120, len(who)), unit="D")
    opp = pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy()[who], "stage": stage,
        "amount": np.round(rng.lognormal(7.5, 0.8, len(who)), 2), "created_at": created,
        "closed_at": closed_at.where(is_closed & (closed_at < END)),
        "won": pd.array(np.where(is_closed, stage == "closed_won", None), dtype="boolean"),
    }).sort_values("created_at", kind="stable")
    opp.insert(0, "opportunity_id", np.arange(1, len(opp) + 1))
    return inter.reset_index(drop=True), tick.reset_index(drop=True), opp.reset_index(drop=True)
