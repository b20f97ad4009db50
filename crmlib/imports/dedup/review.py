"""What a person looks at: borderline pairs for clerical review, the match-weight plot, scoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..._validation import check_fitted, check_interval

__all__ = ["REVIEW_COLUMNS", "find_duplicates", "plot_match_weights", "review_pairs", "score_against_truth"]

#: First columns of :func:`review_pairs`; the comparisons' weights and (unmasked) values follow.
REVIEW_COLUMNS = ["left_id", "right_id", "score", "match_weight", "decision"]
_SHOWN = ("first_name", "last_name", "birth_date", "street", "city", "postal_code", "email", "phone")


def _weight(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log2(p / (1 - p))


def review_pairs(dedup, customers: pd.DataFrame | None = None, *, band: float = 3.0,
                 limit: int | None = 500) -> pd.DataFrame:
    """Pairs near the threshold for a person to decide, as a frame to write to CSV.

    Parameters
    ----------
    dedup : Deduplicator
        Fitted.
    customers : pandas.DataFrame, optional
        The customers it was fitted on: their values are shown side by side (``first_name_l``,
        ``first_name_r``, ...). Leave out to keep personal data out of the file.
    band : float, default=3.0
        Pairs whose match weight is within ``band`` (log2 odds; 3 is a factor of 8) of the
        threshold's weight.
    limit : int or None, default=500
        At most this many pairs, closest to the threshold first.

    Returns
    -------
    pandas.DataFrame
        :data:`REVIEW_COLUMNS` with ``decision`` empty (to fill in with 'match' or 'non-match'
        and hand back as ``decisions``), each comparison's weight, then the values if given.
        Pairs already decided are left out.
    """
    check_fitted(dedup, "pairs_")
    check_interval(band, 0, None, name="band", where="review_pairs", closed="neither")
    pairs = dedup.pairs_
    centre = _weight(dedup.threshold)
    near = pairs[pairs["decision"].isna() & (pairs["match_weight"] - centre).abs().le(band)].copy()
    near["_distance"] = (near["match_weight"] - centre).abs()
    near = near.sort_values(["_distance", "left_id", "right_id"]).drop(columns="_distance")
    if limit is not None:
        near = near.head(limit)
    near["decision"] = ""
    if customers is not None:
        shown = [c for c in _SHOWN if c in customers]
        values = customers.set_index(dedup.id_column)[shown]
        left = values.reindex(near["left_id"].to_numpy()).add_suffix("_l").reset_index(drop=True)
        right = values.reindex(near["right_id"].to_numpy()).add_suffix("_r").reset_index(drop=True)
        side_by_side = pd.concat([pd.concat([left[f"{c}_l"], right[f"{c}_r"]], axis=1) for c in shown], axis=1)
        near = pd.concat([near.reset_index(drop=True), side_by_side], axis=1)
    return near.reset_index(drop=True)


def plot_match_weights(dedup, *, ax=None, bins: int = 60):
    """Histogram of the candidate pairs' match weights with the threshold marked; returns the Axes.

    Drawn with matplotlib (splink's own charts load their JavaScript from the web).
    """
    import matplotlib.pyplot as plt

    check_fitted(dedup, "pairs_")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    weights = dedup.pairs_.loc[dedup.pairs_["decision"].isna(), "match_weight"]
    weights = weights[np.isfinite(weights)]
    if len(weights):
        ax.hist(weights, bins=bins, color="#4c72b0", log=True)
    centre = _weight(dedup.threshold)
    ax.axvline(centre, color="#c44e52", linestyle="--",
               label=f"threshold: probability {dedup.threshold:g} (weight {centre:.1f})")
    ax.set_xlabel("match weight (log2 odds that the pair is one customer)")
    ax.set_ylabel("candidate pairs (log scale)")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def find_duplicates(customers: pd.DataFrame, **params) -> pd.DataFrame:
    """Scored pairs at or above the threshold (see :class:`Deduplicator`; ``params`` go to it)."""
    from .deduplicator import Deduplicator

    dedup = Deduplicator(**params).fit(customers)
    pairs = dedup.pairs_
    return pairs[pairs["score"] >= dedup.threshold].reset_index(drop=True)


def score_against_truth(id_map: pd.Series, truth: pd.DataFrame) -> dict[str, float]:
    """Pairwise precision and recall of a clustering against true duplicate pairs.

    Parameters
    ----------
    id_map : pandas.Series
        Customer id -> canonical id (:attr:`Deduplicator.id_map_`).
    truth : pandas.DataFrame
        ``customer_id``, ``duplicate_id`` (``truth_duplicates`` of the sample).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``predicted_pairs``, ``true_pairs``.
    """
    clusters = id_map.reset_index()
    clusters.columns = ["id", "canonical"]
    pairs = clusters.merge(clusters, on="canonical")
    pairs = pairs[pairs["id_x"] < pairs["id_y"]]
    predicted = set(zip(pairs["id_x"], pairs["id_y"], strict=True))
    true = {(min(a, b), max(a, b)) for a, b in zip(truth["customer_id"], truth["duplicate_id"], strict=True)}
    # originals with two planted copies make the copies a true pair as well
    by_original = truth.groupby("customer_id")["duplicate_id"].apply(list)
    for copies in by_original:
        true |= {(min(a, b), max(a, b)) for a in copies for b in copies if a != b}
    hit = len(predicted & true)
    return {"precision": hit / len(predicted) if predicted else 1.0,
            "recall": hit / len(true) if true else 1.0,
            "predicted_pairs": len(predicted), "true_pairs": len(true)}
