"""The customer value list as a file for the CRM: RFM segment, cluster, CLV and P(alive)."""

from __future__ import annotations

import pandas as pd

from .._validation import check_columns

__all__ = ["VALUE_FILE_COLUMNS", "value_file"]

#: Columns of :func:`value_file`.
VALUE_FILE_COLUMNS = ["customer_id", "rfm_segment", "cluster", "cluster_name", "clv", "probability_alive"]


def value_file(rfm: pd.DataFrame, clv: pd.DataFrame, clusters: pd.Series | None = None,
               cluster_names: pd.Series | None = None) -> pd.DataFrame:
    """One row per customer of ``rfm`` with segment, cluster, CLV and probability of being alive.

    Parameters
    ----------
    rfm : pandas.DataFrame
        ``customer_id`` and ``segment`` (an RFM table with scores); not changed.
    clv : pandas.DataFrame
        Indexed by customer_id, with ``clv`` and ``probability_alive``.
    clusters : pandas.Series, optional
        Cluster number per customer (indexed by customer_id).
    cluster_names : pandas.Series, optional
        Name per cluster number.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_FILE_COLUMNS`: ``customer_id`` (int64), ``rfm_segment`` (str),
        ``cluster`` (Int64, missing for customers not clustered), ``cluster_name`` (str),
        ``clv`` (money over the horizon) and ``probability_alive`` (0 to 1; missing for customers
        without a purchase), sorted by CLV, highest first.
    """
    check_columns(rfm, ["customer_id", "segment"], where="segments.value_file")
    check_columns(clv, ["clv", "probability_alive"], where="segments.value_file")
    out = pd.DataFrame({"customer_id": rfm["customer_id"].astype("int64").to_numpy(),
                        "rfm_segment": rfm["segment"].astype(str).to_numpy()})
    ids = out["customer_id"]
    cluster = clusters.reindex(ids.to_numpy()) if clusters is not None else pd.Series(pd.NA, index=ids)
    out["cluster"] = pd.array(cluster.to_numpy(), dtype="Int64")
    names = cluster_names if cluster_names is not None else pd.Series(dtype=object)
    out["cluster_name"] = [names.get(c) if pd.notna(c) else None for c in out["cluster"]]
    out["clv"] = clv["clv"].reindex(ids.to_numpy()).to_numpy()
    out["probability_alive"] = clv["probability_alive"].reindex(ids.to_numpy()).to_numpy()
    return out.sort_values("clv", ascending=False, kind="stable", na_position="last").reset_index(drop=True)
