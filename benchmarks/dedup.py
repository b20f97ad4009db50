"""De-duplication of customers: blocked linkage vs comparing all pairs.

Builds customers with planted duplicates (and household members as hard non-duplicates) from the
sample generator, then

1. runs :class:`crmlib.imports.dedup.Deduplicator` on all of them (default 100,000 customers plus
   5% duplicates) and prints the time and the precision / recall against the planted pairs;
2. on a subsample, compares the blocked linkage with what a user would otherwise write: score every
   pair (no blocking) with the same comparisons, and prints time and peak memory as a ratio line.

    python benchmarks/dedup.py [--customers 100000] [--subsample 2000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd


def people(n: int, seed: int, duplicates: float) -> dict[str, pd.DataFrame]:
    """Customers only (no orders), through the sample's own generators."""
    from faker import Faker

    from crmlib.sample import _people
    from crmlib.sample._duplicates import plant_duplicates

    rng = np.random.default_rng(seed)
    faker = Faker("en_US")
    faker.seed_instance(seed)
    c = _people.draw_customers(rng, n)
    customers = _people.personal_data(rng, faker, c)
    customers["created_at"] = c["created_at"].to_numpy()
    return plant_duplicates({"customers": customers}, duplicates, np.random.default_rng([seed, 2]))


def measure(func):
    """Result, seconds (untraced run) and peak traced memory (a second, traced run)."""
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def all_pairs(customers: pd.DataFrame, threshold: float) -> pd.Series:
    """The unblocked baseline: every pair scored, matches clustered the same way."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from crmlib.imports.dedup import prepare, score_pairs

    prepared = prepare(customers)
    left, right = np.triu_indices(len(prepared), k=1)
    scored = score_pairs(prepared, pd.DataFrame({"left": left, "right": right}))
    match = scored["score"].to_numpy() >= threshold
    graph = coo_matrix((np.ones(match.sum()), (left[match], right[match])), shape=(len(prepared),) * 2)
    _, label = connected_components(graph, directed=False)
    ids = prepared["id"].to_numpy()
    return pd.Series(pd.Series(ids).groupby(label).transform("min").to_numpy(), index=ids)


def main(argv=None) -> None:
    from crmlib.imports.dedup import Deduplicator, score_against_truth

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--subsample", type=int, default=2_000)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = people(args.customers, args.seed, args.duplicates)
    customers, truth = data["customers"], data["truth_duplicates"]
    print(f"generated {len(customers):,} customers ({len(truth):,} planted duplicates) "
          f"in {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    model = Deduplicator().fit(customers)
    seconds = time.perf_counter() - start
    score = score_against_truth(model.id_map_, truth)
    print(f"dedup {len(customers):,} customers: {seconds:.1f} s, "
          f"{len(model.pairs_):,} candidate pairs, {model.n_merged_:,} merged; "
          f"precision {score['precision']:.3f}, recall {score['recall']:.3f}")

    # subsample: the first customers, their planted duplicates and the household members among them
    keep = set(range(1, args.subsample + 1))
    keep |= set(truth.loc[truth["customer_id"].isin(keep), "duplicate_id"])
    small = customers[customers["customer_id"].isin(keep)].reset_index(drop=True)
    small_truth = truth[truth["customer_id"].isin(keep)]
    n_pairs = len(small) * (len(small) - 1) // 2
    blocked, t_blocked, m_blocked = measure(lambda: Deduplicator().fit(small).id_map_)
    naive, t_naive, m_naive = measure(lambda: all_pairs(small, 0.8))
    for label, ids, t, m in (("blocked", blocked, t_blocked, m_blocked), ("all pairs", naive, t_naive, m_naive)):
        s = score_against_truth(ids, small_truth)
        print(f"{label:>9} on {len(small):,} customers ({n_pairs:,} pairs): {t:.2f} s, peak {m / 2**20:.0f} MiB, "
              f"precision {s['precision']:.3f}, recall {s['recall']:.3f}")
    print(f"ratio dedup blocked vs all-pairs ({len(small):,} customers): "
          f"time {t_naive / t_blocked:.1f}x, memory {m_naive / m_blocked:.1f}x")


if __name__ == "__main__":
    main()
