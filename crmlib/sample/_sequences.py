"""A planted next-purchase pattern: smartphone buyers buy a screen protector within 60 days.

Appended after everything else, from its own random stream (``default_rng([seed, 3])``), so every
row the rest of the generator makes stays as it was: the plant only adds orders (ids after the
last one) and their lines. For each customer's first smartphone order with 60 days of data after
it, a customer outside the BG/NBD cohort (whose purchases must stay exactly BG/NBD) places, with
probability ``RATE``, a one-line order for a screen protector ``1 + Gamma(2, 10)`` days later
(at most 59), on the anchor order's channel and rep. No planted basket rule involves a screen
protector, so the basket truth is untouched.

``truth_sequences`` holds the pattern and the measures the process implies, with the definitions
of ``crmlib.baskets.next_purchase_rules`` computed here independently (pandas merges): the
confidence is the natural rate ``c0`` among anchored customers plus the planted ones
(``E = mean(hit0 or (eligible and U < RATE))``); the base rate is that of customers who never
bought a smartphone, which the plant does not touch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ANTECEDENT, CONSEQUENT = "Smartphone", "Screen Protector"
WINDOW_DAYS = 60
RATE = 0.3
LAG_SHAPE, LAG_SCALE = 2.0, 10.0


def _events(orders: pd.DataFrame, lines: pd.DataFrame, product_id: int) -> pd.DataFrame:
    hit = lines.loc[lines["product_id"] == product_id, ["order_id"]].drop_duplicates()
    return hit.merge(orders[["order_id", "customer_id", "ordered_at"]], on="order_id")


def _window_hit(anchors: pd.DataFrame, later: pd.DataFrame) -> pd.Series:
    """Per anchor (customer_id, t): a later event in (t, t + window] (pandas self-merge)."""
    m = anchors.merge(later[["customer_id", "ordered_at"]], on="customer_id", how="left",
                      suffixes=("", "_y"))
    lag = m["ordered_at_y"] - m["ordered_at"]
    m["hit"] = (lag > pd.Timedelta(0)) & (lag <= pd.Timedelta(days=WINDOW_DAYS))
    return m.groupby("customer_id")["hit"].any().reindex(anchors["customer_id"]).to_numpy()


def plant(tables: dict, rng: np.random.Generator, cohort_ids: np.ndarray,
          end: pd.Timestamp) -> dict:
    """Append the planted orders and lines; add ``truth_sequences``."""
    orders, lines, products = tables["orders"], tables["order_lines"], tables["products"]
    pid = dict(zip(products["name"], products["product_id"], strict=False))
    x_id, y_id = int(pid[ANTECEDENT]), int(pid[CONSEQUENT])
    x_ev = _events(orders, lines, x_id)
    y_ev = _events(orders, lines, y_id)
    anchors = (x_ev.sort_values(["customer_id", "ordered_at", "order_id"])
               .drop_duplicates("customer_id").reset_index(drop=True))
    anchors = anchors[anchors["ordered_at"] + pd.Timedelta(days=WINDOW_DAYS) <= end]
    anchors = anchors.reset_index(drop=True)
    hit0 = _window_hit(anchors, y_ev).astype(bool)
    eligible = ~np.isin(anchors["customer_id"].to_numpy(), cohort_ids)

    # the plant (drawn for every anchor, in anchor order, so the draw does not depend on hit0)
    u = rng.random(len(anchors))
    lag = np.minimum(1 + rng.gamma(LAG_SHAPE, LAG_SCALE, len(anchors)), WINDOW_DAYS - 1)
    seconds = rng.integers(0, 8 * 3600, len(anchors))
    planted = eligible & (u < RATE)
    src = anchors[planted]
    base = orders.set_index("order_id").loc[src["order_id"]]
    start = int(orders["order_id"].max()) + 1
    new_orders = pd.DataFrame({
        "order_id": np.arange(start, start + len(src)),
        "customer_id": src["customer_id"].to_numpy(),
        "channel_id": base["channel_id"].to_numpy(),
        "rep_id": base["rep_id"].to_numpy(),
        "ordered_at": (src["ordered_at"].dt.normalize()
                       + pd.to_timedelta(np.floor(lag[planted]), unit="D")
                       + pd.Timedelta(hours=9) + pd.to_timedelta(seconds[planted], unit="s"))
                      .to_numpy(),
        "status": "completed",
    })
    price = float(products.loc[products["product_id"] == y_id, "unit_price"].iloc[0])
    new_lines = pd.DataFrame({"order_id": new_orders["order_id"].to_numpy(), "line_no": 1,
                              "product_id": y_id, "quantity": 1, "unit_price": price,
                              "discount": 0.0})
    tables["orders"] = pd.concat([orders, new_orders.astype(orders.dtypes.to_dict())],
                                 ignore_index=True)
    tables["order_lines"] = pd.concat([lines, new_lines.astype(lines.dtypes.to_dict())],
                                      ignore_index=True)

    # implied measures (definitions of crmlib.baskets.next_purchase_rules)
    confidence = float(np.mean(hit0 | (eligible & (u < RATE))))
    expected_conf = float(np.mean(hit0 + (~hit0) * eligible * RATE))
    firsts = (orders.sort_values(["customer_id", "ordered_at", "order_id"])
              .drop_duplicates("customer_id"))
    firsts = firsts[firsts["ordered_at"] + pd.Timedelta(days=WINDOW_DAYS) <= end]
    firsts = firsts[~firsts["customer_id"].isin(x_ev["customer_id"])].reset_index(drop=True)
    base_rate = float(np.mean(_window_hit(firsts[["customer_id", "ordered_at"]], y_ev)))
    tables["truth_sequences"] = pd.DataFrame([{
        "antecedent": ANTECEDENT, "consequent": CONSEQUENT, "within_days": WINDOW_DAYS,
        "planted_rate": RATE, "anchored": len(anchors), "planted_orders": int(planted.sum()),
        "natural_confidence": float(hit0.mean()) if len(hit0) else 0.0,
        "confidence": expected_conf, "realised_confidence": confidence,
        "base_rate": base_rate, "lift": expected_conf / base_rate if base_rate else np.inf,
        "median_planted_lag_days": float(np.median(np.floor(lag[planted])))
        if planted.any() else np.nan,
    }])
    return tables
