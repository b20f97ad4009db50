"""The same linkage on Spark (splink's Spark backend, local mode) as on DuckDB.

Both engines count the u probabilities on the same random pairs (drawn by crmlib with numpy, not by
the engine) and train m by EM on the same blocked pairs, so the model is the same: equal candidate
pairs, decisions and clusters, and match weights equal up to floating-point summation order
(tolerance 1e-6 bits; the prior to a relative 1e-9).
"""

import numpy as np
import pandas as pd
import pytest

from crmlib.imports.dedup import Deduplicator, score_against_truth
from crmlib.sample import generate

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def planted():
    return generate(500, 17, duplicates=0.1, duplicate_mode="hard")


@pytest.fixture(scope="module")
def both(spark, planted):
    customers = planted["customers"]
    return Deduplicator().fit(customers), Deduplicator(backend="spark", spark=spark).fit(customers)


def test_spark_gives_the_duckdb_result(both):
    duck, spark = both
    assert spark.comparisons_ == duck.comparisons_ and spark.blocking_rules_ == duck.blocking_rules_
    a, b = duck.pairs_, spark.pairs_
    assert a[["left_id", "right_id"]].equals(b[["left_id", "right_id"]])
    diff = (a["match_weight"] - b["match_weight"]).abs().max()
    assert diff <= 1e-6, f"largest match-weight difference {diff:.3g} bits"
    for name in duck.comparisons_:
        assert np.allclose(a[name], b[name], rtol=0, atol=1e-6), name
    pd.testing.assert_frame_equal(duck.parameters_, spark.parameters_, rtol=1e-9)
    assert ((a["score"] >= duck.threshold) == (b["score"] >= spark.threshold)).all()
    assert spark.id_map_.equals(duck.id_map_)
    assert spark.probability_two_random_records_match_ == pytest.approx(
        duck.probability_two_random_records_match_, rel=1e-9)


def test_spark_recovers_the_hard_duplicates(both, planted):
    _, spark = both
    score = score_against_truth(spark.id_map_, planted["truth_duplicates"])
    assert score["precision"] >= 0.95 and score["recall"] >= 0.95, score
    assert spark.converged_


def test_pair_tables_get_two_partitions_a_core(spark):
    """splink's own default (half of spark.sql.shuffle.partitions, 100 out of the box) made every
    EM iteration run 100 tasks: the 2M-line data_quality report timed out on 2 cores."""
    from crmlib.imports.dedup import backends

    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "200")
    try:
        api = backends.database_api("spark", spark)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    assert api.num_partitions_on_repartition == 2 * spark.sparkContext.defaultParallelism
