"""The risk watch list as a file for the CRM: who is most likely to default, and why."""

from __future__ import annotations

import math

import pandas as pd

from .._validation import check_columns, check_interval

__all__ = ["WATCH_COLUMNS", "watch_list"]

#: Columns of :func:`watch_list` (``top_reasons`` is added by the caller from the model).
WATCH_COLUMNS = ["customer_id", "probability", "score", "outstanding", "expected_loss", "in_default"]


def watch_list(scored: pd.DataFrame, losses: pd.DataFrame, *, share: float = 0.1,
               min_rows: int = 20) -> pd.DataFrame:
    """The customers most likely to default: the top ``share`` by probability (at least ``min_rows``).

    Parameters
    ----------
    scored : pandas.DataFrame
        ``customer_id``, ``probability`` (of default) and ``score`` (scorecard points); not changed.
    losses : pandas.DataFrame
        :func:`crmlib.credit.risk.expected_loss`: ``customer_id``, ``outstanding``,
        ``expected_loss``, ``in_default``.
    share : float, default=0.1
        Share of the scored customers on the list, in (0, 1].
    min_rows : int, default=20

    Returns
    -------
    pandas.DataFrame
        :data:`WATCH_COLUMNS`, highest probability first; balances missing for a customer
        without any are 0.
    """
    where = "credit.watch_list"
    check_columns(scored, ["customer_id", "probability", "score"], where=where)
    check_columns(losses, ["customer_id", "outstanding", "expected_loss", "in_default"], where=where)
    check_interval(share, 0, 1, name="share", where=where, closed="right")
    check_interval(min_rows, 0, None, name="min_rows", where=where, integer=True)
    n = min(len(scored), max(min_rows, math.ceil(share * len(scored))))
    top = scored.sort_values(["probability", "customer_id"], ascending=[False, True], kind="stable").head(n)
    out = top[["customer_id", "probability", "score"]].merge(
        losses[["customer_id", "outstanding", "expected_loss", "in_default"]], on="customer_id", how="left")
    for col in ("outstanding", "expected_loss", "in_default"):
        out[col] = out[col].fillna(0.0)
    return out[WATCH_COLUMNS].reset_index(drop=True)
