"""Survivorship: which record's value a merged customer keeps, column by column."""

from __future__ import annotations

import pandas as pd

__all__ = ["SURVIVORSHIP_RULES", "merge_clusters"]

SURVIVORSHIP_RULES = ("most_complete", "most_recent", "oldest", "first")


def merge_clusters(customers: pd.DataFrame, id_map: pd.Series, *, rules: dict | None = None,
                   recency_column: str = "created_at", id_column: str = "customer_id") -> pd.DataFrame:
    """One row per canonical customer, values chosen by the survivorship rules.

    Parameters
    ----------
    customers : pandas.DataFrame
    id_map : pandas.Series
        Customer id -> canonical id.
    rules : dict, optional
        Column (or 'default') -> one of :data:`SURVIVORSHIP_RULES`; default 'most_complete'.
        ``recency_column`` keeps its earliest value (customer since) unless named.
    recency_column, id_column : str

    Returns
    -------
    pandas.DataFrame
        The columns of ``customers``; ``id_column`` holds the canonical id.
    """
    rules = {"default": "most_complete", **(rules or {})}
    frame = customers.copy()
    key = id_column
    frame["_canonical"] = frame[key].map(id_map).to_numpy()
    frame["_filled"] = customers.notna().sum(axis=1).to_numpy()
    recency = (pd.to_datetime(frame[recency_column], errors="coerce")
               if recency_column in frame else pd.Series(pd.NaT, index=frame.index))
    frame["_recency"] = recency
    orders = {
        "most_complete": (["_filled", key], [False, True]),
        "most_recent": (["_recency", key], [False, True]),
        "oldest": (["_recency", key], [True, True]),
        "first": ([key], [True]),
    }
    columns = [c for c in customers.columns if c != key]
    by_rule: dict[str, list[str]] = {}
    for col in columns:
        rule = "oldest" if col == recency_column and col not in rules else rules.get(col, rules["default"])
        by_rule.setdefault(rule, []).append(col)
    parts = []
    for rule, cols in by_rule.items():
        by, ascending = orders[rule]
        ordered = frame.sort_values(by, ascending=ascending, na_position="last", kind="stable")
        parts.append(ordered.groupby("_canonical", sort=True)[cols].first())
    merged = pd.concat(parts, axis=1)[columns] if parts else pd.DataFrame(index=sorted(set(frame["_canonical"])))
    merged.index.name = key
    merged = merged.reset_index()
    for col in columns:  # groupby.first keeps dtypes mostly; restore the rest
        if merged[col].dtype != customers[col].dtype:
            try:
                merged[col] = merged[col].astype(customers[col].dtype)
            except (TypeError, ValueError):
                pass
    return merged[list(customers.columns)]
