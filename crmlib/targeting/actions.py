"""The target list as a file for the CRM: one row per customer to contact, with the reason."""

from __future__ import annotations

import pandas as pd

from .._validation import check_columns

__all__ = ["TARGET_FILE_COLUMNS", "target_file"]

#: Columns of :func:`target_file`.
TARGET_FILE_COLUMNS = ["customer_id", "rank", "uplift", "propensity", "expected_profit", "reason"]


def target_file(chosen: pd.DataFrame, *, rank_by: str = "uplift") -> pd.DataFrame:
    """The rows of :func:`~crmlib.targeting.target_list` as the downloadable target list.

    Parameters
    ----------
    chosen : pandas.DataFrame
        A target list with ``rank``, ``customer_id``, ``uplift``, ``propensity`` and
        ``expected_profit``; not changed.
    rank_by : {'uplift', 'propensity'}, default='uplift'
        What the list was ranked by (the reason says so).

    Returns
    -------
    pandas.DataFrame
        :data:`TARGET_FILE_COLUMNS`, in rank order. ``uplift`` and ``propensity`` are
        probabilities (0 to 1), ``expected_profit`` money; ``reason`` says in words why the
        customer is on the list, e.g. "contact raises the chance to buy by 4.1 points (rank 12);
        expected profit 2.35".

    Examples
    --------
    >>> target_file(pd.DataFrame({"rank": [1], "customer_id": [7], "uplift": [0.041],
    ...                           "propensity": [0.2], "expected_profit": [2.35]}))["reason"][0]
    'contact raises the chance to buy by 4.1 points (rank 1); expected profit 2.35'
    """
    check_columns(chosen, TARGET_FILE_COLUMNS[:-1], where="targeting.target_file")
    out = chosen.sort_values("rank", kind="stable")[TARGET_FILE_COLUMNS[:-1]].reset_index(drop=True)
    if rank_by == "uplift":
        head = [f"contact raises the chance to buy by {u * 100:.1f} points" for u in out["uplift"]]
    else:
        head = [f"{p:.0%} likely to respond" for p in out["propensity"]]
    out["reason"] = [f"{h} (rank {int(r)}); expected profit {e:,.2f}"
                     for h, r, e in zip(head, out["rank"], out["expected_profit"], strict=True)]
    return out
