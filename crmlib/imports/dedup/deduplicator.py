"""The Deduplicator estimator: a splink Fellegi-Sunter model trained on the customers themselves."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..._validation import check_columns, check_fitted, check_interval, check_one_of, check_type
from ...errors import DataContractError
from . import backends, model
from .keys import drop_shared_identifiers, prepare, present_keys
from .survivorship import SURVIVORSHIP_RULES, merge_clusters

__all__ = ["BACKENDS", "DECISIONS", "PAIR_COLUMNS", "Deduplicator", "read_decisions"]

BACKENDS = ("duckdb", "spark")
DECISIONS = ("match", "non-match")
#: First columns of :attr:`Deduplicator.pairs_`; one column per comparison of the model follows.
PAIR_COLUMNS = ["left_id", "right_id", "score", "match_weight", "decision"]

log = logging.getLogger(__name__)


def read_decisions(decisions) -> pd.DataFrame:
    """Clerical decisions as a frame: ``left_id``, ``right_id`` (int64, left < right), ``decision``.

    Parameters
    ----------
    decisions : pandas.DataFrame, str or Path
        A frame or CSV file with ``left_id``, ``right_id`` and ``decision`` ('match' or
        'non-match'; rows with an empty decision are ignored, so the review CSV can be handed back
        half done). Other columns are ignored.

    Raises
    ------
    DataContractError
        A column is missing, an id is not a number, or a decision is not one of :data:`DECISIONS`.
    """
    where = "Deduplicator decisions"
    if isinstance(decisions, (str, Path)):
        path = Path(decisions)
        if not path.is_file():
            raise DataContractError(f"{where}: no file {str(path)!r}")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        where = f"{where} {path.name}"
    else:
        check_type(decisions, pd.DataFrame, name="decisions", where="Deduplicator")
        frame = decisions.astype(object).where(decisions.notna(), "").astype(str)
    check_columns(frame, ["left_id", "right_id", "decision"], where=where)
    decision = frame["decision"].fillna("").str.strip().str.lower()
    frame = frame[decision.ne("")].assign(decision=decision[decision.ne("")])
    bad = frame[~frame["decision"].isin(DECISIONS)]
    if len(bad):
        raise DataContractError(f"{where}: 'decision' must be one of {list(DECISIONS)} (or empty); "
                                f"got {sorted(set(bad['decision']))[:5]}")
    ids = frame[["left_id", "right_id"]].apply(pd.to_numeric, errors="coerce")
    if ids.isna().any().any():
        rows = ids.index[ids.isna().any(axis=1)]
        raise DataContractError(f"{where}: {len(rows)} row(s) with an id that is not a number "
                                f"(rows {list(rows[:5])})")
    left, right = ids.min(axis=1).astype("int64"), ids.max(axis=1).astype("int64")
    out = pd.DataFrame({"left_id": left.to_numpy(), "right_id": right.to_numpy(),
                        "decision": frame["decision"].to_numpy()})
    return out.drop_duplicates(["left_id", "right_id"], keep="last").reset_index(drop=True)


class Deduplicator:
    """Link duplicate customers and merge them into one, scikit-learn style, on splink.

    ``fit`` prepares comparison keys (:func:`crmlib.imports.dedup.keys.prepare`), builds a
    Fellegi-Sunter model from the comparisons the data supports (:mod:`.model`), estimates its
    u probabilities from random pairs and its m probabilities by expectation maximisation over
    blocked pairs (no fixed weights), scores every candidate pair of the blocking rules, applies
    clerical ``decisions`` and clusters the pairs at or above ``threshold`` (connected components).
    Each cluster becomes one customer: the smallest id survives (:meth:`merge`).

    Parameters
    ----------
    threshold : float, default=0.8
        Match probability from which a pair is the same customer; in (0, 1].
    survivorship : dict, optional
        Column (or 'default') -> rule deciding which record's value the merged customer keeps:
        'most_complete', 'most_recent' (latest ``recency_column``), 'oldest' or 'first' (smallest
        id). A rule skips missing values. Default ``{'default': 'most_complete'}``; ``created_at``
        keeps the earliest value (customer since).
    recency_column : str, default='created_at'
    id_column : str, default='customer_id'
    max_block_size : int, default=50
        An e-mail or phone held by more customers than this is a placeholder or a switchboard: it
        counts as missing.
    decisions : pandas.DataFrame, str or Path, optional
        Clerical decisions (:func:`read_decisions`): 'match' links the pair, 'non-match' unlinks
        it, whatever the model says. Customers linked to both through third customers can still
        end up in one cluster.
    backend : {'duckdb', 'spark'}, default='duckdb'
    spark : pyspark.sql.SparkSession, optional
        The session for ``backend='spark'``; default :func:`crmlib.spark.get_session`.
    u_pairs : float, default=1e6
        Random pairs the u probabilities are estimated from: every pair of a random sample of about
        ``sqrt(2 * u_pairs)`` customers, drawn by crmlib (not the engine), so DuckDB and Spark
        count the same pairs.
    max_iterations : int, default=100
        EM iterations per training session at most.
    em_convergence : float, default=1e-4
        EM stops when no probability moved more than this in an iteration.
    seed : int, default=42
        Seed of the random pairs (the u estimates); the same data and seed give the same model.
    blocking : bool, default=True
        False scores every pair (n^2 / 2 of them): for small lists, or to measure what blocking
        costs in recall.

    Attributes
    ----------
    pairs_ : pandas.DataFrame
        Every scored candidate pair, and decided pairs: :data:`PAIR_COLUMNS` (``score`` is the
        match probability in [0, 1], ``match_weight`` its log2 odds, ``decision`` the clerical
        decision or missing) and per comparison its match weight (log2 Bayes factor, 0 where a
        side is missing).
    id_map_ : pandas.Series
        Customer id -> surviving (canonical) id, for every customer; int64, named 'canonical_id'.
    n_merged_ : int
        Customers merged into another one.
    comparisons_ : list of str
        The comparisons of the model: those whose columns hold values and whose m probabilities
        EM could train (splink leaves the others out).
    blocking_rules_ : list of str
        SQL of the blocking rules that made the candidate pairs.
    parameters_ : pandas.DataFrame
        ``comparison``, ``level``, ``m_probability``, ``u_probability``, ``match_weight`` per level.
    probability_two_random_records_match_ : float
        The prior, estimated from the EM sessions.
    training_ : pandas.DataFrame
        One row per EM session: ``blocked_on``, ``iterations``, ``last_change``, ``converged``.
    converged_ : bool
        Every EM session converged within ``max_iterations``.
    settings_ : dict
        The trained splink model (``Linker(df, settings_)`` reloads it).
    """

    def __init__(self, *, threshold: float = 0.8, survivorship: dict | None = None,
                 recency_column: str = "created_at", id_column: str = "customer_id",
                 max_block_size: int = 50, decisions=None, backend: str = "duckdb", spark=None,
                 u_pairs: float = 1e6, max_iterations: int = 100, em_convergence: float = 1e-4,
                 seed: int = 42, blocking: bool = True):
        self.threshold = threshold
        self.survivorship = survivorship
        self.recency_column = recency_column
        self.id_column = id_column
        self.max_block_size = max_block_size
        self.decisions = decisions
        self.backend = backend
        self.spark = spark
        self.u_pairs = u_pairs
        self.max_iterations = max_iterations
        self.em_convergence = em_convergence
        self.seed = seed
        self.blocking = blocking

    def _check_params(self) -> None:
        where = "Deduplicator"
        check_interval(self.threshold, 0, 1, name="threshold", where=where, closed="right")
        check_interval(self.max_block_size, 2, None, name="max_block_size", where=where, integer=True)
        check_type(self.survivorship or {}, dict, name="survivorship", where=where)
        for rule in (self.survivorship or {}).values():
            check_one_of(rule, SURVIVORSHIP_RULES, name="survivorship", where=where)
        check_one_of(self.backend, BACKENDS, name="backend", where=where)
        check_interval(self.u_pairs, 1e3, None, name="u_pairs", where=where)
        check_interval(self.max_iterations, 1, None, name="max_iterations", where=where, integer=True)
        check_interval(self.em_convergence, 0, 1, name="em_convergence", where=where, closed="neither")
        check_interval(self.seed, 0, None, name="seed", where=where, integer=True)
        check_type(self.blocking, bool, name="blocking", where=where)

    # ------------------------------------------------------------------ fit
    def fit(self, customers: pd.DataFrame) -> Deduplicator:
        """Train the model on ``customers``, score the candidate pairs and cluster; return self."""
        self._check_params()
        check_columns(customers, [self.id_column], where="Deduplicator.fit")
        decisions = read_decisions(self.decisions) if self.decisions is not None else None
        ids = pd.to_numeric(customers[self.id_column], errors="coerce")
        if ids.isna().any() or not ids.is_unique:
            bad = customers.loc[ids.isna() | ids.duplicated(keep=False), self.id_column]
            raise DataContractError(f"Deduplicator.fit: '{self.id_column}' must be unique numbers; "
                                    f"{len(bad)} row(s) are not (e.g. {list(bad.astype(str).unique()[:5])})",
                                    column=self.id_column)
        keys = drop_shared_identifiers(prepare(customers, id_column=self.id_column),
                                       max_shared=self.max_block_size)
        present = present_keys(keys)
        settings = model.settings(present, max_iterations=self.max_iterations,
                                  em_convergence=self.em_convergence)
        self.comparisons_ = [c["output_column_name"] for c in settings["comparisons"]]
        self.blocking_rules_ = list(settings["blocking_rules_to_generate_predictions"])
        if not self.blocking:
            settings["blocking_rules_to_generate_predictions"] = ["1 = 1"]
        if len(keys) < 2 or not self.comparisons_ or not self.blocking_rules_:
            self._fit_empty(keys)
        else:
            self._fit_model(keys, settings, present)
        self._cluster(keys["unique_id"].to_numpy(), decisions)
        return self

    def _fit_empty(self, keys: pd.DataFrame) -> None:
        """Too little to compare (one customer, or no usable column): every customer alone."""
        self.pairs_ = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            PAIR_COLUMNS, ["int64", "int64", "float64", "float64", "object"], strict=True)})
        self.parameters_ = pd.DataFrame(columns=["comparison", "level", "m_probability", "u_probability",
                                                 "match_weight"])
        self.training_ = pd.DataFrame(columns=["blocked_on", "iterations", "last_change", "converged"])
        self.converged_ = True
        self.probability_two_random_records_match_ = float("nan")
        self.settings_ = {}

    def _fit_model(self, keys: pd.DataFrame, settings: dict, present: set[str]) -> None:
        from splink import Linker

        with backends.quiet_splink():
            self._train_and_predict(Linker, keys, settings, present)

    def _train_and_predict(self, Linker, keys, settings, present) -> None:  # noqa: N803 - the class
        db_api = backends.database_api(self.backend, self.spark)
        frame = backends.register(db_api, keys)
        linker = Linker(frame, settings, log_level=None)
        # the prior, before EM: one pair in n_customers is a match (a neutral start, EM moves it)
        linker._settings_obj._probability_two_random_records_match = min(0.5, 1.0 / len(keys))
        _estimate_u(Linker, db_api, keys, settings, linker, u_pairs=self.u_pairs, seed=self.seed)
        sessions = []
        for rule in model.training_rules(present):
            try:
                session = linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True)
            except Exception as err:  # a rule with no pairs (tiny data): train on the others
                if type(err).__name__ != "EMTrainingException":
                    raise
                log.info("dedup: EM session blocked on %s skipped: no pairs", rule)
                continue
            sessions.append((rule, session))
        if not sessions:
            raise DataContractError(
                f"Deduplicator.fit: {len(keys):,} customers are too few to train the model: no pair agrees on "
                f"any of {model.training_rules(present)} (the EM training rules)")
        linker._populate_probability_two_random_records_match_from_trained_values()
        n_pairs = len(keys) * (len(keys) - 1) / 2
        prior = linker._settings_obj._probability_two_random_records_match
        _smooth(linker._settings_obj.comparisons, n_m=prior * n_pairs, n_u=min(self.u_pairs, n_pairs))
        self.training_ = _training_table(sessions, self.max_iterations, self.em_convergence)
        self.converged_ = bool(self.training_["converged"].all()) if len(self.training_) else False
        self.settings_ = linker.misc.save_model_to_json()
        self.probability_two_random_records_match_ = float(
            self.settings_["probability_two_random_records_match"])
        self.parameters_ = _parameters(linker._settings_obj.comparisons)
        predictions = backends.to_pandas(linker.inference.predict())
        # splink leaves out a comparison whose m probabilities no session could train
        self.comparisons_ = [c for c in self.comparisons_ if f"mw_{c}" in predictions]
        self.pairs_ = _pairs(predictions, self.comparisons_)
        backends.release(db_api)

    def _cluster(self, ids: np.ndarray, decisions: pd.DataFrame | None) -> None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        pairs = self.pairs_
        if decisions is not None and len(decisions):
            known = set(ids.tolist())
            decisions = decisions[decisions["left_id"].isin(known) & decisions["right_id"].isin(known)]
            pairs = pairs.drop(columns="decision").merge(decisions, on=["left_id", "right_id"], how="outer")
            pairs["score"] = np.where(pairs["decision"].eq("match"), 1.0,
                                      np.where(pairs["decision"].eq("non-match"), 0.0, pairs["score"]))
            pairs["match_weight"] = pairs["match_weight"].where(
                pairs["decision"].isna(), np.where(pairs["decision"].eq("match"), np.inf, -np.inf))
            pairs = pairs[self.pairs_.columns].sort_values(["left_id", "right_id"]).reset_index(drop=True)
            pairs["decision"] = pairs["decision"].astype(object).where(pairs["decision"].notna(), None)
            self.pairs_ = pairs
        position = pd.Series(np.arange(len(ids)), index=ids)
        match = pairs[pairs["score"] >= self.threshold]
        n = len(ids)
        graph = coo_matrix((np.ones(len(match)), (position[match["left_id"]].to_numpy(),
                                                  position[match["right_id"]].to_numpy())), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        canonical = pd.Series(ids).groupby(label).transform("min").to_numpy()
        self.id_map_ = pd.Series(canonical, index=pd.Index(ids, name=self.id_column), name="canonical_id")
        self.n_merged_ = int((ids != canonical).sum())

    # ------------------------------------------------------------------ merge
    def merge(self, customers: pd.DataFrame) -> pd.DataFrame:
        """One row per canonical customer, values chosen by the survivorship rules.

        Returns
        -------
        pandas.DataFrame
            The columns of ``customers``; ``id_column`` holds the canonical id.
        """
        check_fitted(self, "id_map_")
        return merge_clusters(customers, self.id_map_, rules=self.survivorship,
                              recency_column=self.recency_column, id_column=self.id_column)


def _estimate_u(Linker, db_api, keys: pd.DataFrame, settings: dict, linker, *, u_pairs: float,  # noqa: N803
                seed: int) -> None:
    """u probabilities from every pair of a random sample of customers drawn here, not by the engine.

    splink's own sampling hashes the ids with the engine's hash function and stops counting early
    once each level has 100 pairs, so DuckDB and Spark would count different random pairs. The
    sample is drawn with numpy from ``seed`` instead (``k`` customers, ``k (k - 1) / 2`` about
    ``u_pairs``), and all its pairs are counted: the same pairs, hence the same u, on both engines.
    """
    k = min(len(keys), int(0.5 * (math.sqrt(8 * u_pairs + 1) + 1)))
    rng = np.random.default_rng(seed)
    sample = keys.iloc[np.sort(rng.choice(len(keys), size=k, replace=False))].reset_index(drop=True)
    u_linker = Linker(backends.register(db_api, sample), settings, log_level=None)
    # max_pairs above k^2: splink keeps the whole sample; one chunk, no early stop: every pair counts
    u_linker.training.estimate_u_using_random_sampling(max_pairs=float(k) * k + 1, min_count_per_level=None,
                                                       num_chunks=1)
    for cc, u_cc in zip(linker._settings_obj.comparisons, u_linker._settings_obj.comparisons, strict=True):
        for cl, u_cl in zip(cc._comparison_levels_excluding_null, u_cc._comparison_levels_excluding_null,
                            strict=True):
            for record in u_cl._trained_u_probabilities:
                cl._add_trained_u_probability(record["probability"], record["description"])
    linker._populate_m_u_from_trained_values()


def _pairs(predictions: pd.DataFrame, comparisons: list[str]) -> pd.DataFrame:
    left = predictions["unique_id_l"].to_numpy(dtype="int64")
    right = predictions["unique_id_r"].to_numpy(dtype="int64")
    out = pd.DataFrame({
        "left_id": np.minimum(left, right), "right_id": np.maximum(left, right),
        "score": predictions["match_probability"].to_numpy(dtype="float64"),
        "match_weight": predictions["match_weight"].to_numpy(dtype="float64"),
        "decision": pd.Series([None] * len(predictions), dtype=object),
    })
    for name in comparisons:
        weight = predictions[f"mw_{name}"].to_numpy(dtype="float64")
        if f"mw_tf_adj_{name}" in predictions:  # how common the agreeing value is
            weight = weight + predictions[f"mw_tf_adj_{name}"].fillna(0).to_numpy(dtype="float64")
        out[name] = weight
    return out.sort_values(["left_id", "right_id"]).reset_index(drop=True)


def _smooth(comparisons, *, n_m: float, n_u: float) -> None:
    """Add a pseudo-count of one pair per comparison, spread over its levels (a Perks prior).

    EM drives the m probability of a level that no match shows in the training pairs to exactly 0,
    a weight of minus infinity: one such level would then veto a pair whatever else agrees. With
    ``n`` the expected number of matches (u: random pairs) behind the estimate,
    ``p' = (p * n + 1 / K) / (n + 1)`` for the K levels, which leaves well-observed levels as
    they are.
    """
    for cc in comparisons:
        levels = cc._comparison_levels_excluding_null
        k = len(levels)
        for attr, n in (("m_probability", n_m), ("u_probability", n_u)):
            values = [getattr(cl, attr) for cl in levels]
            if any(v is None for v in values) or n <= 0:
                continue
            for cl, v in zip(levels, values, strict=True):
                setattr(cl, attr, (float(v) * n + 1 / k) / (n + 1))


def _parameters(comparisons) -> pd.DataFrame:
    rows = []
    for cc in comparisons:
        for cl in cc._comparison_levels_excluding_null:
            m, u = cl.m_probability, cl.u_probability
            weight = math.log2(m / u) if m and u else float("nan")
            rows.append({"comparison": cc.output_column_name, "level": cl.label_for_charts,
                         "m_probability": m, "u_probability": u, "match_weight": weight})
    return pd.DataFrame(rows, columns=["comparison", "level", "m_probability", "u_probability", "match_weight"])


def _training_table(sessions, max_iterations: int, em_convergence: float) -> pd.DataFrame:
    """Per EM session: iterations run, the largest parameter change of the last one, converged."""
    rows = []
    for rule, session in sessions:
        history = session._core_model_settings_history  # splink keeps one entry per iteration
        iterations = len(history) - 1
        change = _largest_change(history[-2], history[-1]) if iterations else 0.0
        rows.append({"blocked_on": rule, "iterations": iterations, "last_change": change,
                     "converged": bool(change < em_convergence)})
    return pd.DataFrame(rows, columns=["blocked_on", "iterations", "last_change", "converged"])


def _largest_change(before, after) -> float:
    change = abs(after.probability_two_random_records_match - before.probability_two_random_records_match)
    for a, b in zip(before.comparisons, after.comparisons, strict=True):
        for la, lb in zip(a._comparison_levels_excluding_null, b._comparison_levels_excluding_null, strict=True):
            for attr in ("m_probability", "u_probability"):
                x, y = getattr(la, attr), getattr(lb, attr)
                if isinstance(x, float) and isinstance(y, float):
                    change = max(change, abs(x - y))
    return float(change)

