"""Find and merge duplicate customers: probabilistic record linkage with splink, and survivorship.

A Fellegi-Sunter model (splink) compares candidate pairs on names (exact, one edit, sounds alike,
first and last swapped), birth date (digit errors), address, postcode, e-mail and phone, each only
where the data has it. Its u probabilities come from random pairs of the customers themselves and
its m probabilities from expectation maximisation over blocked pairs: nothing is a fixed weight.
Candidate pairs come from several blocking rules, so one typo (a name's first letter, a birth-date
digit) still leaves a rule that brings the pair together. Pairs whose match probability reaches
``threshold`` are linked; linked customers form clusters and each cluster becomes one customer.
Clerical decisions (a CSV of pairs marked match / non-match) override the model.

Modules: :mod:`.keys` (normalised comparison keys), :mod:`.model` (comparisons, blocking rules,
training plan), :mod:`.backends` (DuckDB or Spark), :mod:`.deduplicator` (the estimator),
:mod:`.survivorship`, :mod:`.review` (borderline pairs, the match-weight plot, scoring).

>>> import pandas as pd
>>> people = pd.DataFrame({"customer_id": [1, 2, 3], "first_name": ["Jane", "Doe", "John"],
...                        "last_name": ["Doe", "Jane", "Smith"]})
>>> Deduplicator().fit(people).comparisons_
['name']
"""

from __future__ import annotations

from .deduplicator import BACKENDS, DECISIONS, PAIR_COLUMNS, Deduplicator, read_decisions
from .keys import prepare
from .review import (
    REVIEW_COLUMNS,
    find_duplicates,
    plot_match_weights,
    review_pairs,
    score_against_truth,
)
from .survivorship import SURVIVORSHIP_RULES, merge_clusters

__all__ = ["BACKENDS", "DECISIONS", "PAIR_COLUMNS", "REVIEW_COLUMNS", "SURVIVORSHIP_RULES", "Deduplicator",
           "find_duplicates", "merge_clusters", "plot_match_weights", "prepare", "read_decisions",
           "review_pairs", "score_against_truth"]
