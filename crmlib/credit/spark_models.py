"""The payment-default backtest, scores, evaluation and money at risk on Spark.

The pandas report (:mod:`crmlib.credit.target`, :mod:`~crmlib.credit.models`,
:mod:`~crmlib.credit.evaluation`, :mod:`~crmlib.credit.risk`, :mod:`~crmlib.credit.drift`)
keeps every customer in memory. Here the per-customer frames stay Spark DataFrames and only
bounded results reach the driver:

- :func:`backtest`: the training snapshots and the holdout (features as of each cutoff with the
  defaults of the window after it) as Spark DataFrames; :func:`training_sample` brings the
  training rows to pandas with :func:`crmlib.engines.bounded_sample` (every row when they fit, so
  the models are the pandas run's; else a sample stratified by whether the customer defaulted).
- :func:`scorecard_columns`: a fitted :class:`~crmlib.credit.models.ScorecardModel` as Spark SQL,
  each variable's bins as ``when`` expressions giving its points, WoE and bin label; the score is
  the sum of the points plus the intercept, the probability the logistic function of the WoE.
  :func:`predict` scores any other model (gradient boosting has no Spark equivalent: its trees
  are evaluated by scikit-learn in ``mapInPandas`` with the model broadcast to the executors).
- :func:`score_counts`, :func:`compare_models`, :func:`roc_table`, :func:`gains_table`,
  :func:`calibration_table`: the evaluation from grouped counts of the score values (customers,
  invoices and defaults per distinct score). AUC, KS, Brier and the ROC curve are exact from
  those counts; gains and calibration place tied scores by ``customer_id`` (a window partitioned
  by the score) exactly as the pandas path's stable sort does. When a score has more distinct
  values than ``max_values`` they are rounded to 5 decimals first (the result is then
  approximate; ``attrs['rounded']`` says so).
- :func:`exposure`, :func:`expected_loss`, :func:`loss_summary`, :func:`top_k`: open balances
  and expected loss per customer on Spark, their totals, and the top customers by a column
  without a global sort (the k-th value is found from approximate quantiles and grouped counts,
  ties broken by ``customer_id`` in a window partitioned by the value).
- :func:`psi_table`, :func:`score_psi`: population stability from counts per bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns, check_fitted, check_interval
from ..errors import EmptyDataError, ParameterError
from . import drift, evaluation
from . import spark as credit_spark
from ._common import check_default_days, check_window
from .target import backtest_cutoffs

__all__ = ["SparkBacktest", "backtest", "calibration_table", "compare_models", "data_period", "holdout_scores",
           "holdout_tables", "psi_frames", "reasons", "sums_by", "top_customers", "watch_list",
           "expected_loss", "exposure", "gains_table", "loss_summary", "maturity_days", "predict",
           "psi_table", "quantiles_from_counts", "roc_table", "score_counts", "score_psi", "scorecard_columns", "top_k",
           "training_sample"]

_MICROS_PER_DAY = 86_400_000_000.0
#: Decimals a score is rounded to when it has more distinct values than ``max_values``.
ROUND_DECIMALS = 5


# ---------------------------------------------------------------------- backtest
def data_period(invoices, payments) -> tuple[pd.Timestamp, pd.Timestamp]:
    """:func:`crmlib.credit.target.data_period` on Spark: first issue date, midnight after the last
    issue or payment (one aggregation job each)."""
    from pyspark.sql import functions as F

    row = invoices.agg(F.min("issued_at"), F.max("issued_at")).first()
    if row[0] is None:
        raise EmptyDataError("credit.spark_models.data_period: there are no invoices", table="invoices")
    paid = payments.agg(F.max("paid_at")).first()[0]
    start = pd.Timestamp(row[0])
    last = max(pd.Timestamp(row[1]), pd.Timestamp(paid) if paid is not None else start)
    return start, last.normalize() + pd.Timedelta(days=1)


def maturity_days(invoices, default_days: int = 90) -> int:
    """:func:`crmlib.credit.target.maturity_days` on Spark: longest payment term + ``default_days``."""
    from pyspark.sql import functions as F

    term = invoices.agg(F.max(F.timestamp_diff("MICROSECOND", F.col("issued_at"), F.col("due_at")))).first()[0]
    term = (term or 0) / _MICROS_PER_DAY
    return int(np.ceil(max(term, 0.0))) + int(default_days)


@dataclass
class SparkBacktest:
    """:class:`crmlib.credit.target.Backtest` with ``train`` and ``holdout`` as (cached) Spark
    DataFrames: ``customer_id``, ``snapshot``, the feature columns, ``invoices_next`` and
    ``defaults_next``."""

    train: object
    holdout: object
    cutoff: pd.Timestamp
    train_cutoffs: list
    window_months: int
    default_days: int
    data_start: pd.Timestamp
    data_end: pd.Timestamp

    def summary(self) -> pd.DataFrame:
        """Rows, invoices and defaults per sample and snapshot (one Spark aggregation)."""
        from pyspark.sql import functions as F

        both = (self.train.select(F.lit("train").alias("sample"), "snapshot", "invoices_next", "defaults_next")
                .unionByName(self.holdout.select(F.lit("holdout").alias("sample"), "snapshot",
                                                 "invoices_next", "defaults_next")))
        out = both.groupBy("sample", "snapshot").agg(
            F.count("*").alias("customers"), F.sum("invoices_next").alias("invoices"),
            F.sum("defaults_next").alias("defaults")).toPandas()
        out["snapshot"] = pd.to_datetime(out["snapshot"])
        order = {("train", pd.Timestamp(c)): i for i, c in enumerate(self.train_cutoffs)}
        order[("holdout", pd.Timestamp(self.cutoff))] = len(order)
        out = out.iloc[np.argsort([order[(s, t)] for s, t in zip(out["sample"], out["snapshot"], strict=True)])]
        out = out.astype({"customers": "int64", "invoices": "int64", "defaults": "int64"})
        out["default_rate"] = out["defaults"] / out["invoices"]
        return out.reset_index(drop=True)


def backtest(invoices, payments, customers, *, cutoff=None, window_months: int = 6, default_days: int = 90,
             train_snapshots: int = 4, snapshot_step_months: int = 3, sales=None,
             channels=None) -> SparkBacktest:
    """:func:`crmlib.credit.target.backtest_samples` on Spark DataFrames; nothing comes to pandas.

    Parameters
    ----------
    invoices, payments, customers, sales, channels : pyspark.sql.DataFrame
        As for :func:`crmlib.credit.spark.customer_features` (e.g. from
        :func:`crmlib.credit.spark.read_tables` and :func:`~crmlib.credit.spark.read_sales`).
    cutoff, window_months, default_days, train_snapshots, snapshot_step_months
        As for :func:`crmlib.credit.target.backtest_samples`.

    Returns
    -------
    SparkBacktest
        ``train`` stacks the training snapshots; both frames are cached.

    Raises
    ------
    ParameterError, EmptyDataError
        As for :func:`crmlib.credit.target.backtest_samples`.
    """
    from pyspark.sql import functions as F

    where = "credit.spark_models.backtest"
    window_months = check_window(window_months, where=where)
    default_days = check_default_days(default_days, where=where)
    check_interval(train_snapshots, 1, 12, name="train_snapshots", where=where, integer=True)
    check_interval(snapshot_step_months, 1, 12, name="snapshot_step_months", where=where, integer=True)
    invoices, payments = credit_spark.wall_clock(invoices), credit_spark.wall_clock(payments)
    start, end = data_period(invoices, payments)
    cutoff, train_cutoffs = backtest_cutoffs(
        start, end, maturity_days(invoices, default_days), cutoff=cutoff, window_months=window_months,
        default_days=default_days, train_snapshots=train_snapshots, snapshot_step_months=snapshot_step_months)

    def sample(at, as_of):
        feats = credit_spark.customer_features(invoices, payments, customers, cutoff=at,
                                               default_days=default_days, sales=sales, channels=channels)
        issued = F.col("issued_at")
        window = invoices.where((issued >= credit_spark.timestamp_literal(at))
                                & (issued < credit_spark.timestamp_literal(at + pd.DateOffset(months=window_months))))
        # backtest_cutoffs placed every window so that its outcomes are known by `as_of`, the check
        # invoice_target makes on pandas
        st = credit_spark.invoice_status(window, payments, as_of=as_of, default_days=default_days)
        tgt = st.groupBy("customer_id").agg(F.count("*").alias("invoices_next"),
                                            F.count(F.when(F.col("is_default"), 1)).alias("defaults_next"))
        rows = feats.join(tgt, "customer_id")
        return rows.select("customer_id", credit_spark.timestamp_literal(at).alias("snapshot"),
                           *[c for c in rows.columns if c != "customer_id"])

    holdout = sample(cutoff, end).cache()
    train = sample(train_cutoffs[0], cutoff)
    for at in train_cutoffs[1:]:
        train = train.unionByName(sample(at, cutoff))
    train = train.cache()
    totals = train.agg(F.count("*"), F.sum("invoices_next"), F.sum("defaults_next")).first()
    if not holdout.limit(1).count():
        raise EmptyDataError(
            f"{where}: no invoices of existing customers in the holdout window {cutoff.date()} to "
            f"{(cutoff + pd.DateOffset(months=window_months)).date()}", table="invoices")
    if not totals[2]:
        raise EmptyDataError(
            f"{where}: no defaults in the training windows ({totals[0]} customer windows, "
            f"{int(totals[1] or 0)} invoices, none unpaid {default_days} days past due); use more "
            "train_snapshots, a longer window or a smaller default_days.", table="invoices")
    return SparkBacktest(train=train, holdout=holdout, cutoff=cutoff, train_cutoffs=train_cutoffs,
                         window_months=window_months, default_days=default_days, data_start=start,
                         data_end=end)


def training_sample(frame, *, by: str = "defaults_next", max_rows: int | None = None,
                    seed: int = 0) -> pd.DataFrame:
    """Training rows for the driver-side fit: :func:`crmlib.engines.bounded_sample` stratified by
    the outcome, in the pandas backtest's order and dtypes.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        :attr:`SparkBacktest.train` (or ``holdout``, or customer features to profile).
    by : str, default='defaults_next'
        The outcome to stratify on: a count (strata: zero or not, e.g. whether the customer
        defaulted in the window) or a flag (e.g. ``repeat_defaulter``).
    max_rows : int, optional
        Default :data:`crmlib.engines.FIT_SAMPLE_ROWS`. With at most this many rows every row comes
        back and a model fitted on them equals the pandas run's.
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        Latest snapshot first, then by ``customer_id``; ``attrs`` as ``bounded_sample`` sets them.
    """
    from pyspark.sql import functions as F

    from .. import engines

    max_rows = engines.FIT_SAMPLE_ROWS if max_rows is None else max_rows
    outcome = F.col(by) if dict(frame.dtypes)[by] == "boolean" else F.col(by) > 0
    flagged = frame.withColumn("_defaulted", outcome)
    out = engines.bounded_sample(flagged, max_rows, by="_defaulted", key="customer_id", seed=seed)
    attrs = dict(out.attrs)
    out = out.drop(columns="_defaulted")
    if "snapshot" in out.columns:
        out = out.sort_values("snapshot", ascending=False, kind="stable").reset_index(drop=True)
    out = credit_spark.credit_dtypes(out)
    out.attrs.update(attrs)
    return out


# ---------------------------------------------------------------------- scoring
def scorecard_columns(model) -> dict:
    """A fitted ScorecardModel as Spark SQL expressions over its feature columns.

    Each scorecard variable's bins become one ``when`` chain (numbers: ``x < split``; categories:
    ``x = category``; null, NaN and categories not seen in fit: the 'missing' bin, as the model
    does). The values of each bin (points, WoE, label) are read from the fitted binning itself,
    one probe value per bin, so they are the model's own numbers.

    Parameters
    ----------
    model : crmlib.credit.models.ScorecardModel
        Fitted.

    Returns
    -------
    dict
        ``points``, ``woe``, ``bins``: dict variable -> Column; ``score`` (the points plus the
        intercept, added in the model's order: equal to :meth:`ScorecardModel.score`);
        ``probability`` (the logistic regression on the WoE values, as ``predict``).
    """
    from pyspark.sql import functions as F

    check_fitted(model, "scorecard_")
    card = model.scorecard_
    process = card.binning_process_
    detailed = card.table(style="detailed")
    variables = [str(v) for v in process.get_support(names=True)]
    points, woes, bins = {}, {}, {}
    for v in variables:
        optb = process.get_binned_variable(v)
        col = F.col(v)
        if v in model.categories_:
            probes = list(model.categories_[v])
            x = np.array([*probes, np.nan], dtype=object)
        else:
            splits = [float(s) for s in np.asarray(optb.splits, float)]
            probes = [splits[0] - 1.0, *splits] if splits else [0.0]
            x = np.array([*probes, np.nan], dtype=float)
        kw = {"metric_special": "empirical", "metric_missing": "empirical"}
        index = np.asarray(optb.transform(x, metric="indices", **kw), int)
        pts = detailed.loc[detailed["Variable"] == v, "Points"].to_numpy(float)[index]
        woe = np.asarray(optb.transform(x, metric="woe", **kw), float)
        label = [str(b) for b in optb.transform(x, metric="bins")]
        for out, values in ((points, pts), (woes, woe), (bins, label)):
            lit = (lambda val: F.lit(val)) if values is label else (lambda val: F.lit(float(val)))
            if v in model.categories_:
                expr = None
                for probe, val in zip(probes, values[:-1], strict=True):
                    cond = col.cast("string") == F.lit(str(probe))
                    expr = F.when(cond, lit(val)) if expr is None else expr.when(cond, lit(val))
                expr = (expr.otherwise(lit(values[-1])) if expr is not None else lit(values[-1]))
            else:
                # values: one per bin in split order, then the missing bin
                num = col.cast("double")
                expr = F.when(num.isNull() | F.isnan(num), lit(values[-1]))
                for split, val in zip(splits, values[:-2], strict=True):
                    expr = expr.when(num < F.lit(split), lit(val))
                expr = expr.otherwise(lit(values[-2]))
            out[v] = expr
    score = F.lit(0.0)
    for v in variables:
        score = score + points[v]
    score = score + F.lit(float(np.ravel(card.intercept_)[0]))
    est = card.estimator_
    logit = None
    for v, coef in zip(variables, np.ravel(est.coef_), strict=True):
        term = woes[v] * F.lit(float(coef))
        logit = term if logit is None else logit + term
    logit = logit + F.lit(float(np.ravel(est.intercept_)[0]))
    probability = F.lit(1.0) / (F.lit(1.0) + F.exp(-logit))
    return {"points": points, "woe": woes, "bins": bins, "score": score, "probability": probability}


def predict(model, frame, *, key: str = "customer_id", name: str = "probability"):
    """The model's probability per row of a Spark DataFrame.

    The scorecard is evaluated as Spark SQL (:func:`scorecard_columns`). Gradient boosting (and any
    other model with ``predict``) runs in ``mapInPandas``: scikit-learn's trees have no Spark
    equivalent, so the fitted model is broadcast once and each executor scores its partitions
    in batches with the very code the pandas path uses (the same probabilities).

    Parameters
    ----------
    model : fitted ScorecardModel, BoostingModel or any model with ``features_`` and ``predict``
    frame : pyspark.sql.DataFrame
        With ``key`` and the model's feature columns.
    key : str, default='customer_id'
    name : str, default='probability'

    Returns
    -------
    pyspark.sql.DataFrame
        ``key`` and ``name`` (double).
    """
    from pyspark.sql import functions as F

    check_columns(frame, [key, *model.features_], where="credit.spark_models.predict")
    if hasattr(model, "scorecard_"):
        return frame.select(key, scorecard_columns(model)["probability"].alias(name))
    broadcast = frame.sparkSession.sparkContext.broadcast(model)
    key_type = dict(frame.dtypes)[key]

    def run(batches):
        fitted = broadcast.value
        for batch in batches:
            yield pd.DataFrame({key: batch[key].to_numpy(), name: fitted.predict(batch)})

    return frame.select(key, *model.features_).mapInPandas(run, schema=f"{key} {key_type}, {name} double") \
        .select(key, F.col(name))


def reasons(model, frame, *, key: str = "customer_id", name: str = "top_reasons", top: int = 3):
    """One line of reasons per row (:func:`crmlib.credit.models.reason_text` of ``model.reasons``),
    computed by the executors in ``mapInPandas`` with the broadcast model.

    Returns
    -------
    pyspark.sql.DataFrame
        ``key`` and ``name`` (string; null where nothing costs the row anything).
    """
    from ._base import reason_text

    check_columns(frame, [key, *model.features_], where="credit.spark_models.reasons")
    broadcast = frame.sparkSession.sparkContext.broadcast(model)
    key_type = dict(frame.dtypes)[key]

    def run(batches):
        fitted = broadcast.value
        for batch in batches:
            batch = batch.rename(columns={key: "customer_id"})
            text = reason_text(fitted.reasons(batch, top=top))
            out = batch[["customer_id"]].merge(text, on="customer_id", how="left")
            yield pd.DataFrame({key: out["customer_id"].to_numpy(), name: out["reasons"].astype(object)})

    return frame.select(key, *model.features_).mapInPandas(run, schema=f"{key} {key_type}, {name} string")


# ---------------------------------------------------------------------- evaluation
def score_counts(frame, score: str, *, events: str = "defaults_next", trials: str = "invoices_next",
                 max_values: int | None = None) -> pd.DataFrame:
    """Customers, invoices and defaults per distinct score value: all the AUC, KS, Brier and ROC need.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        One row per customer with ``score``, ``events`` and ``trials``.
    score, events, trials : str
    max_values : int, optional
        Most distinct values brought back (default :data:`crmlib.engines.FIT_SAMPLE_ROWS`); above
        it the score is rounded to :data:`ROUND_DECIMALS` decimals first (then approximate).

    Returns
    -------
    pandas.DataFrame
        ``score``, ``customers``, ``events``, ``trials`` (float64), by score; ``attrs['rounded']``.
    """
    from pyspark.sql import functions as F

    from .. import engines

    max_values = engines.FIT_SAMPLE_ROWS if max_values is None else max_values
    nulls = frame.where(F.col(score).isNull() | F.isnan(F.col(score))).limit(1).count()
    if nulls:
        raise ParameterError(f"credit.spark_models.score_counts: {score!r} must not be null or NaN.", name=score)

    def grouped(s):
        return frame.groupBy(s.alias("score")).agg(
            F.count("*").alias("customers"), F.sum(events).alias("events"), F.sum(trials).alias("trials"))

    rows = grouped(F.col(score)).limit(max_values + 1).toPandas()
    rounded = len(rows) > max_values
    if rounded:
        rows = grouped(F.round(F.col(score), ROUND_DECIMALS)).toPandas()
    out = rows.astype(float).sort_values("score", kind="stable").reset_index(drop=True)
    out.attrs["rounded"] = rounded
    return out


def _metrics(counts: pd.DataFrame) -> pd.Series:
    out = evaluation.evaluate(counts["score"], counts["events"], counts["trials"])
    out["customers"] = float(counts["customers"].sum())
    return out


def compare_models(frame, scores, *, oracle: str | None = None, events: str = "defaults_next",
                   trials: str = "invoices_next", max_values: int | None = None) -> pd.DataFrame:
    """:func:`crmlib.credit.evaluation.compare_models` from grouped score counts (exact unless a
    score had to be rounded, see :func:`score_counts`).

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        One row per holdout customer with the score columns, ``events`` and ``trials``.
    scores : list of str
        The score columns (model names).
    oracle : str, optional
        The column with the true probability (adds the 'oracle' row and ``auc_vs_oracle``).

    Returns
    -------
    pandas.DataFrame
    """
    cols = [*scores, *([oracle] if oracle else [])]
    rows = {}
    for c in cols:
        counts = score_counts(frame, c, events=events, trials=trials, max_values=max_values)
        rows["oracle" if c == oracle else c] = _metrics(counts)
    out = pd.DataFrame(rows).T
    if oracle:
        out["auc_vs_oracle"] = out["auc"] - out.loc["oracle", "auc"]
    return out


def roc_table(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`crmlib.credit.evaluation.roc_table` from :func:`score_counts` (exact: the curve steps
    at distinct scores)."""
    return evaluation.roc_table(counts["score"], counts["events"], counts["trials"])


def _ranked(frame, score, counts, *, descending: bool, key: str, weight: str | None):
    """Per row: what comes before it in score order, ties in ``key`` order (stable sort by score)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = frame.sparkSession
    c = counts.sort_values("score", ascending=not descending, kind="stable")
    col = "customers" if weight is None else "trials"
    before = spark.createDataFrame(pd.DataFrame({"_s": c["score"].to_numpy(float),
                                                 "_before": (c[col].cumsum() - c[col]).to_numpy(float)}))
    s = F.round(F.col(score), ROUND_DECIMALS) if counts.attrs.get("rounded") else F.col(score)
    rows = frame.withColumn("_s", s.cast("double")).join(F.broadcast(before), "_s")
    within = Window.partitionBy("_s").orderBy(key)
    if weight is None:
        return rows.withColumn("_pos", F.col("_before") + F.row_number().over(within) - 1)
    running = within.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    return rows.withColumn("_pos", F.col("_before") + F.sum(F.col(weight).cast("double")).over(running)
                           - F.col(weight).cast("double") / 2)


def gains_table(frame, score: str, counts: pd.DataFrame, *, groups: int = 10, key: str = "customer_id",
                events: str = "defaults_next", trials: str = "invoices_next") -> pd.DataFrame:
    """:func:`crmlib.credit.evaluation.gains_table` on Spark: customers ranked by ``score`` (riskiest
    first, ties by ``key`` as the pandas path's stable sort), cut into ``groups`` groups.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    score : str
    counts : pandas.DataFrame
        :func:`score_counts` of ``score``.
    groups : int, default=10
    """
    from pyspark.sql import functions as F

    check_interval(groups, 2, 100, name="groups", where="credit.spark_models.gains_table", integer=True)
    total = int(counts["customers"].sum())
    rows = _ranked(frame, score, counts, descending=True, key=key, weight=None)
    per = (rows.groupBy(F.floor(F.col("_pos") * groups / total).cast("int").alias("decile"))
           .agg(F.count("*").alias("customers"), F.sum(trials).cast("double").alias("invoices"),
                F.sum(events).cast("double").alias("defaults")).toPandas())
    per["decile"] += 1
    per = per.sort_values("decile").set_index("decile").astype({"customers": "int64"})
    return evaluation.gains_frame(per)


def calibration_table(frame, score: str, counts: pd.DataFrame, *, n_bins: int = 10, key: str = "customer_id",
                      events: str = "defaults_next", trials: str = "invoices_next") -> pd.DataFrame:
    """:func:`crmlib.credit.evaluation.calibration_table` on Spark (bins of equal invoice count, ties
    in ``key`` order as the pandas path)."""
    from pyspark.sql import functions as F

    check_interval(n_bins, 2, 50, name="n_bins", where="credit.spark_models.calibration_table", integer=True)
    total = float(counts["trials"].sum())
    rows = _ranked(frame, score, counts, descending=False, key=key, weight=trials)
    b = F.least(F.floor(F.col("_pos") / F.lit(total) * F.lit(float(n_bins))), F.lit(n_bins - 1)).cast("int")
    per = (rows.groupBy(b.alias("bin"))
           .agg(F.count("*").alias("customers"), F.sum(trials).cast("double").alias("invoices"),
                F.sum(events).cast("double").alias("defaults"),
                F.sum(F.col(score) * F.col(trials)).alias("weighted")).toPandas())
    per["bin"] += 1
    return evaluation.calibration_frame(per.sort_values("bin").set_index("bin").astype({"customers": "int64"}))


# ---------------------------------------------------------------------- money at risk
def exposure(invoices, payments, *, as_of, default_days: int = 90):
    """:func:`crmlib.credit.risk.exposure` on Spark: open balances per customer as of ``as_of``.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``open_invoices`` (long), ``outstanding``, ``past_due``, ``in_default``.
    """
    from pyspark.sql import functions as F

    st = credit_spark.invoice_status(invoices, payments, as_of=as_of, default_days=default_days)
    st = st.where(F.col("open_amount") > 0)
    performing = ~F.col("is_default")
    amount = F.col("open_amount")
    return st.groupBy("customer_id").agg(
        F.count("*").alias("open_invoices"),
        F.sum(F.when(performing, amount).otherwise(F.lit(0.0))).alias("outstanding"),
        F.sum(F.when(performing & F.col("is_due"), amount).otherwise(F.lit(0.0))).alias("past_due"),
        F.sum(F.when(~performing, amount).otherwise(F.lit(0.0))).alias("in_default"))


def expected_loss(scores, balances, *, lgd: float = 1.0):
    """:func:`crmlib.credit.risk.expected_loss` on Spark (unsorted): ``customer_id``,
    ``probability``, ``outstanding``, ``expected_loss``, ``in_default`` per scored customer."""
    from pyspark.sql import functions as F

    check_interval(lgd, 0, 1, name="lgd", where="credit.spark_models.expected_loss")
    out = scores.select("customer_id", "probability").join(
        balances.select("customer_id", "outstanding", "in_default"), "customer_id", "left")
    out = out.fillna(0.0, subset=["outstanding", "in_default"])
    return out.select("customer_id", "probability", "outstanding",
                      (F.col("probability") * F.col("outstanding") * F.lit(float(lgd))).alias("expected_loss"),
                      "in_default")


def _kth(frame, col: str, k: int, n: int):
    """The k-th largest value of ``col`` (1-based), the rows above it and the sum of their values.

    Bracketed by approximate quantiles (relative error 1e-4, the bracket 20 times wider), then
    exact from the counts of the distinct values inside the bracket; widened if a bracket missed.
    """
    from pyspark.sql import functions as F

    c = F.col(col)
    margin = 0.002
    while True:
        if margin >= 1:
            lo, hi = -math.inf, math.inf
        else:
            p = 1 - k / n
            lo, hi = frame.approxQuantile(col, [max(0.0, p - margin), min(1.0, p + margin)], 1e-4)
        above = frame.where(c > F.lit(hi)).agg(F.count("*"), F.sum(c)).first() if hi < math.inf else (0, 0.0)
        n_above, s_above = int(above[0]), float(above[1] or 0.0)
        if n_above < k:
            mid = (frame.where((c >= F.lit(lo)) & (c <= F.lit(hi))).groupBy(c.alias("v"))
                   .agg(F.count("*").alias("n")).toPandas().sort_values("v", ascending=False))
            cum = n_above + mid["n"].cumsum().to_numpy()
            hit = np.flatnonzero(cum >= k)
            if len(hit):
                i = int(hit[0])
                t = float(mid["v"].iloc[i])
                higher = mid.iloc[:i]
                return t, n_above + int(higher["n"].sum()), s_above + float((higher["v"] * higher["n"]).sum())
        margin *= 20


def top_k(frame, col: str, k: int, *, key: str = "customer_id"):
    """The ``k`` rows with the largest ``col`` (ties: smallest ``key`` first), without a global sort.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    col, key : str
    k : int

    Returns
    -------
    pyspark.sql.DataFrame
        Those rows (unsorted): everything above the k-th value, and as many rows with that value as
        needed, taken in ``key`` order by a window partitioned by the value.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    n = frame.count()
    if k >= n:
        return frame
    if k <= 0:
        return frame.limit(0)
    t, n_above, _ = _kth(frame, col, k, n)
    ties = (frame.where(F.col(col) == F.lit(t))
            .withColumn("_rank", F.row_number().over(Window.partitionBy(col).orderBy(key)))
            .where(F.col("_rank") <= k - n_above).drop("_rank"))
    return frame.where(F.col(col) > F.lit(t)).unionByName(ties)


def loss_summary(losses) -> pd.Series:
    """:func:`crmlib.credit.risk.loss_summary` of a Spark :func:`expected_loss` (two or three jobs:
    the totals, and the sum of the top 10% expected losses from :func:`_kth`'s grouped counts)."""
    from pyspark.sql import functions as F

    row = losses.agg(F.count("*"), F.count(F.when(F.col("outstanding") > 0, 1)), F.sum("outstanding"),
                     F.sum("expected_loss"), F.sum("in_default")).first()
    n = int(row[0])
    outstanding, total, in_default = (float(v or 0.0) for v in row[2:])
    k = max(1, n // 10)
    if n and k < n:
        t, n_above, s_above = _kth(losses, "expected_loss", k, n)
        top = s_above + (k - n_above) * t
    else:
        top = total
    return pd.Series({
        "customers": float(n), "customers_with_balance": float(row[1]),
        "outstanding": outstanding, "expected_loss": total,
        "expected_loss_rate": total / outstanding if outstanding else float("nan"),
        "in_default": in_default, "top10_share": float(top / total) if total else float("nan"),
    })


# ---------------------------------------------------------------------- drift
def psi_table(reference, current, columns) -> pd.DataFrame:
    """:func:`crmlib.credit.drift.psi_table` of categorical (or bin-label) columns from Spark counts.

    Parameters
    ----------
    reference, current : pyspark.sql.DataFrame
    columns : list of str
    """
    from pyspark.sql import functions as F

    def counts(frame, c):
        key = F.coalesce(F.col(c).cast("string"), F.lit("<missing>"))
        pdf = frame.groupBy(key.alias("k")).count().toPandas()
        return pdf.set_index("k")["count"].astype(float)

    rows = [(c, drift.psi_counts(counts(reference, c), counts(current, c))) for c in columns]
    out = pd.DataFrame(rows, columns=["variable", "psi"])
    out["status"] = [drift.psi_status(v) for v in out["psi"]]
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def _lerp(a: float, b: float, t: float) -> float:
    # numpy's linear interpolation (the 'linear' quantile), written the same way
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def quantiles_from_counts(values: np.ndarray, weights: np.ndarray, q: np.ndarray) -> np.ndarray:
    """numpy's ``quantile(method='linear')`` of ``values`` repeated ``weights`` times, from the counts."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    ends = np.cumsum(w)
    n = float(ends[-1])
    out = []
    for p in q:
        vi = n * p + (1 + p * (1 - 1 - 1)) - 1
        lo = math.floor(vi)
        t = vi - lo
        lo_i = min(max(lo, 0), int(n) - 1)
        hi_i = min(lo_i + 1, int(n) - 1)
        a = v[np.searchsorted(ends, lo_i, side="right")]
        b = v[np.searchsorted(ends, hi_i, side="right")]
        out.append(_lerp(float(a), float(b), t))
    return np.asarray(out)


def score_psi(reference, current, col: str, *, bins: int = 10, max_values: int | None = None) -> float:
    """:func:`crmlib.credit.drift.psi` of a numeric column (e.g. the score) from Spark counts.

    The reference deciles are computed from the counts of its distinct values (exact, as numpy's
    quantile; a scorecard score has few distinct values), then both sides are counted per bin.
    Above ``max_values`` distinct values the edges come from ``approxQuantile`` (relative error
    1e-4) instead.
    """
    from pyspark.sql import functions as F

    from .. import engines

    check_interval(bins, 2, 50, name="bins", where="credit.spark_models.score_psi", integer=True)
    max_values = engines.FIT_SAMPLE_ROWS if max_values is None else max_values
    q = np.linspace(0, 1, bins + 1)[1:-1]
    ref = reference.where(F.col(col).isNotNull() & ~F.isnan(F.col(col)))
    values = ref.groupBy(col).count().limit(max_values + 1).toPandas()
    if len(values) == 0:
        edges = np.array([])
    elif len(values) <= max_values:
        edges = np.unique(quantiles_from_counts(values[col].to_numpy(float), values["count"].to_numpy(float), q))
    else:
        edges = np.unique(np.asarray(ref.approxQuantile(col, list(q), 1e-4), float))

    def counts(frame):
        c = F.col(col)
        k = F.lit(0)
        for e in edges:
            k = k + (c >= F.lit(float(e))).cast("int")
        k = F.when(c.isNull() | F.isnan(c), F.lit(-1)).otherwise(k)
        return frame.groupBy(k.alias("k")).count().toPandas().set_index("k")["count"].astype(float)

    return drift.psi_counts(counts(reference), counts(current))


# ---------------------------------------------------------------------- the report's steps
def holdout_scores(models: dict, holdout, *, oracle=None, key: str = "customer_id"):
    """Each model's probability per holdout customer, with the outcome counts (cached).

    Parameters
    ----------
    models : dict of str to fitted model
    holdout : pyspark.sql.DataFrame
        :attr:`SparkBacktest.holdout`.
    oracle : pyspark.sql.DataFrame, optional
        ``customer_id, p_default`` (the sample database's truth): adds the column ``oracle``.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``defaults_next``, ``invoices_next`` and one column per model.
    """
    out = holdout.select(key, "defaults_next", "invoices_next")
    for name, model in models.items():
        out = out.join(predict(model, holdout, key=key, name=name), key)
    if oracle is not None:
        out = out.join(oracle.select(key, oracle["p_default"].alias("oracle")), key, "left")
    return out.cache()


def holdout_tables(frame, names, *, oracle: bool = False) -> dict:
    """The report's ROC curves, calibration and gains tables of each score column of
    :func:`holdout_scores` (and the oracle's ROC and gains).

    Returns
    -------
    dict
        ``roc``, ``calibration``, ``gains``: dict name -> pandas.DataFrame; ``rounded``: names whose
        score had to be rounded (approximate tables).
    """
    out = {"roc": {}, "calibration": {}, "gains": {}, "rounded": []}
    for name in [*names, *(["oracle"] if oracle else [])]:
        counts = score_counts(frame, name)
        if counts.attrs["rounded"]:
            out["rounded"].append(name)
        out["roc"][name] = roc_table(counts)
        out["gains"][name] = gains_table(frame, name, counts)
        if name != "oracle":
            out["calibration"][name] = calibration_table(frame, name, counts)
    return out


def top_customers(scored, features, losses, customers, n: int, *,
                  personal=("first_name", "last_name", "email")) -> pd.DataFrame:
    """The ``n`` customers with the highest probability (ties by ``customer_id``), with their features,
    balances and personal columns: a bounded top-N (``orderBy().limit()``), brought to pandas.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``probability``, the ``personal`` columns, the feature columns,
        ``outstanding``, ``expected_loss``, ``in_default``; highest probability first.
    """
    from pyspark.sql import functions as F

    top = scored.select("customer_id", "probability").orderBy(F.desc("probability"), "customer_id").limit(n)
    rows = (top.join(customers.select("customer_id", *personal), "customer_id", "left")
            .join(features.drop("outstanding", "expected_loss", "in_default"), "customer_id")
            .join(losses.select("customer_id", "outstanding", "expected_loss", "in_default"), "customer_id",
                  "left"))
    out = credit_spark.credit_dtypes(rows.toPandas())
    out = out.sort_values(["probability", "customer_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def watch_list(scored, losses, *, share: float = 0.1, min_rows: int = 20):
    """:func:`crmlib.credit.actions.watch_list` on Spark: the top ``share`` by probability (at least
    ``min_rows``), ties by ``customer_id``, with the balances (0 where none); unsorted.

    Parameters
    ----------
    scored : pyspark.sql.DataFrame
        ``customer_id``, ``probability``, ``score``.
    losses : pyspark.sql.DataFrame
        :func:`expected_loss`.
    """
    from .actions import WATCH_COLUMNS

    check_interval(share, 0, 1, name="share", where="credit.spark_models.watch_list", closed="right")
    total = scored.count()
    n = min(total, max(min_rows, math.ceil(share * total)))
    top = top_k(scored.select("customer_id", "probability", "score"), "probability", n)
    out = top.join(losses.select("customer_id", "outstanding", "expected_loss", "in_default"), "customer_id", "left")
    return out.fillna(0.0, subset=["outstanding", "expected_loss", "in_default"]).select(*WATCH_COLUMNS)


def sums_by(losses, features, by: str, columns=("outstanding", "expected_loss", "in_default")) -> pd.DataFrame:
    """Sums of ``columns`` of ``losses`` per value of the feature ``by`` (one Spark aggregation),
    indexed like pandas' ``groupby(by, observed=True).sum()`` (category order)."""
    from pyspark.sql import functions as F

    rows = (losses.join(features.select("customer_id", by), "customer_id")
            .groupBy(by).agg(*[F.sum(c).alias(c) for c in columns]).toPandas())
    rows = credit_spark.credit_dtypes(rows)
    return rows.sort_values(by).set_index(by)[list(columns)]


def psi_frames(reference, current, columns) -> pd.DataFrame:
    """:func:`crmlib.credit.drift.psi_table` of Spark frames: numbers binned at the reference deciles
    (:func:`score_psi`), anything else by value (:func:`psi_table`)."""
    types = dict(reference.dtypes)
    numeric = [c for c in columns if types[c] in ("double", "float", "int", "bigint", "smallint")]
    rows = [(c, score_psi(reference, current, c)) for c in numeric]
    other = psi_table(reference, current, [c for c in columns if c not in numeric])
    out = pd.concat([pd.DataFrame(rows, columns=["variable", "psi"]), other[["variable", "psi"]]],
                    ignore_index=True)
    out["status"] = [drift.psi_status(v) for v in out["psi"]]
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
