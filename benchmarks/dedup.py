"""De-duplication of customers: splink's probabilistic linkage on the planted duplicates.

Builds customers with planted duplicates (and household members as hard non-duplicates) from the
sample generator, in the default mode and in the hard mode (typos in every field, sound-alike names,
wrong birth-date digits, missing e-mail and phone), then

1. runs :class:`crmlib.imports.dedup.Deduplicator` (splink on DuckDB) on each (default 100,000
   customers plus 5% duplicates) and prints precision, recall and seconds against the planted pairs;
2. runs the hand-written matcher it replaced (``benchmarks/_handwritten_dedup.py``: blocking keys,
   rapidfuzz similarities, fixed weights) on the same data;
3. on a subsample, compares the blocked linkage with scoring every pair with the same model, and
   splink with the hand-written matcher, as time and peak traced memory ratios (DuckDB's own memory
   is outside Python's tracemalloc, so the memory ratio understates splink's).

    python benchmarks/dedup.py [--customers 100000] [--subsample 2000] [--modes default hard]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def people(n: int, seed: int, duplicates: float, mode: str = "default") -> dict[str, pd.DataFrame]:
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
    return plant_duplicates({"customers": customers}, duplicates, np.random.default_rng([seed, 2]), mode=mode)


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


def main(argv=None) -> None:
    from _handwritten_dedup import Deduplicator as HandWritten

    from crmlib.imports.dedup import Deduplicator, score_against_truth

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--subsample", type=int, default=2_000)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", nargs="+", default=["default", "hard"], choices=["default", "hard"])
    args = parser.parse_args(argv)

    data = {}
    for mode in args.modes:
        start = time.perf_counter()
        data[mode] = people(args.customers, args.seed, args.duplicates, mode)
        customers, truth = data[mode]["customers"], data[mode]["truth_duplicates"]
        print(f"generated {len(customers):,} customers ({len(truth):,} planted {mode} duplicates) "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        start = time.perf_counter()
        model = Deduplicator().fit(customers)
        seconds = time.perf_counter() - start
        s = score_against_truth(model.id_map_, truth)
        print(f"  {len(model.pairs_):,} candidate pairs, {model.n_merged_:,} merged, EM converged: "
              f"{model.converged_}, prior {model.probability_two_random_records_match_:.3g}")
        print(f"dedup ({mode}): precision {s['precision']:.3f}, recall {s['recall']:.3f}, seconds {seconds:.1f}",
              flush=True)
        start = time.perf_counter()
        hand = HandWritten().fit(customers)
        hand_seconds = time.perf_counter() - start
        h = score_against_truth(hand.id_map_, truth)
        print(f"hand-written dedup ({mode}): precision {h['precision']:.3f}, recall {h['recall']:.3f}, "
              f"seconds {hand_seconds:.1f}", flush=True)

    # subsample of the hardest data there is: the first customers and their planted duplicates
    mode = "hard" if "hard" in data else args.modes[0]
    customers, truth = data[mode]["customers"], data[mode]["truth_duplicates"]
    keep = set(range(1, args.subsample + 1))
    keep |= set(truth.loc[truth["customer_id"].isin(keep), "duplicate_id"])
    small = customers[customers["customer_id"].isin(keep)].reset_index(drop=True)
    small_truth = truth[truth["customer_id"].isin(keep)]
    n_pairs = len(small) * (len(small) - 1) // 2
    runs = {
        "blocked": measure(lambda: Deduplicator().fit(small).id_map_),
        "all pairs": measure(lambda: Deduplicator(blocking=False).fit(small).id_map_),
        "hand-written": measure(lambda: HandWritten().fit(small).id_map_),
    }
    for label, (ids, t, m) in runs.items():
        s = score_against_truth(ids, small_truth)
        print(f"{label:>12} on {len(small):,} {mode} customers ({n_pairs:,} pairs): {t:.2f} s, peak {m / 2**20:.0f} MiB, "
              f"precision {s['precision']:.3f}, recall {s['recall']:.3f}")
    (_, tb, mb), (_, tn, mn), (_, th, mh) = runs["blocked"], runs["all pairs"], runs["hand-written"]
    print(f"ratio dedup blocked vs all-pairs ({len(small):,} customers): time {tn / tb:.1f}x, memory {mn / mb:.1f}x")
    sp = score_against_truth(runs["blocked"][0], small_truth)
    hw = score_against_truth(runs["hand-written"][0], small_truth)
    print(f"ratio dedup splink vs hand-written ({len(small):,} {mode} customers): time {th / tb:.2f}x, "
          f"memory {mh / mb:.1f}x; precision {sp['precision']:.3f} vs {hw['precision']:.3f}, "
          f"recall {sp['recall']:.3f} vs {hw['recall']:.3f}")


if __name__ == "__main__":
    main()
