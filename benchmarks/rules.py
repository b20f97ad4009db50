"""Association rules from order lines: crmlib.baskets against the textbook mlxtend path and pyfim.

Every pipeline starts from the same order-lines DataFrame (canonical columns) and ends with a
rules table (antecedents / consequents as frozensets plus measures):

crmlib
    ``make_baskets`` (sparse one-hot from integer codes) -> ``mine_rules`` (engine 'auto', here
    the vertical numpy miner; every mlxtend measure plus Fisher p-values with BH correction).
textbook
    what mlxtend's user guide shows: ``groupby(order_id).apply(list)`` -> ``TransactionEncoder``
    -> dense ``DataFrame`` -> ``apriori`` -> ``association_rules(num_itemsets=n)``.
pyfim
    Borgelt's C library as a careful user calls it: transactions as Python lists (sorted codes
    split per order, no groupby), ``fim.arules(mode='o')`` (rule support = antecedent plus
    consequent, as mlxtend), then a DataFrame of frozensets. pyfim's rules have one-item
    consequents only; crmlib's table also holds the multi-item ones.

Each run is a fresh subprocess: it loads the order lines (from an .npz file or the database),
resets its peak-RSS counter (``/proc/self/clear_refs``), runs the pipeline, and reports the time
and the memory the pipeline needed on top of the loaded data (peak VmHWM minus VmRSS before; the
same convention as benchmarks/load.py). crmlib and pyfim run three times (best time kept), the
textbook path once. Itemsets and supports are checked identical (crmlib vs textbook), and the
rules of crmlib with a one-item consequent against pyfim's.

Against pyfim, crmlib is called with pyfim's semantics (``max_consequent_len=1``: one-item
consequents, as ``fim.arules``), and the rules must be equal. Data sets: the public retail.dat
(FIMI; ``../shared/data/retail.dat``, skipped with the reason when absent) at four supports, an
IBM Quest T10I4D100K set and a dense chess-like set (crmlib.baskets.synthetic), both from lists
of item codes; a generated Zipf basket set (default 1,000,000 orders over 5,000 items, about 4 lines per
order, 40 planted itemsets) and the default sample database (built with ``crmlib sample`` if
missing). The textbook path holds a dense orders x items frame twice (pandas 3 copies the encoder's
array): about 10 GB at 1M x 5,000, plus apriori's candidate arrays (orders x candidates), so it is
run at a higher ``--textbook-min-support`` where few items are frequent; it is skipped (and said so)
when the machine has less than ``--textbook-min-free-gb`` available.

    python benchmarks/rules.py [--orders 1000000] [--items 5000] [--min-support 0.001]
                               [--textbook-min-support 0.01] [--db URL] [--skip-textbook]

Ends with one line per comparison (ratios above 1: crmlib is better):

    ratio <what> vs <baseline>: time X.Yx, memory X.Yx
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

from _common import OUT, default_database, peak_kb, reset_peak

MIN_CONFIDENCE = 0.1


# -- child side ----------------------------------------------------------------------------------


def _load_lines(source: str):
    """Order lines (a DataFrame) or, for the basket files, transactions (lists of item codes)."""
    import numpy as np
    import pandas as pd

    if source.startswith("transactions:"):
        return _transactions(source.split(":", 1)[1])
    if source.startswith("orders:"):
        import crmlib

        crm = crmlib.connect(source.split(":", 1)[1])
        return (crm.orders(["order_id", "customer_id", "ordered_at"]),
                crm.order_lines(["order_id", "product_id"]))
    if source.endswith(".npz"):
        with np.load(source) as data:
            return pd.DataFrame({k: data[k] for k in data.files})
    import crmlib

    return crmlib.connect(source).order_lines()


def _transactions(spec: str) -> list[list[int]]:
    """``retail=PATH`` (FIMI format), ``quest`` (T10I4D100K) or ``dense`` (chess-like)."""
    from crmlib.baskets.synthetic import dense_transactions, quest_transactions

    if spec.startswith("retail="):
        with open(spec.split("=", 1)[1]) as fh:
            return [[int(x) for x in line.split()] for line in fh]
    return {"quest": quest_transactions, "dense": dense_transactions}[spec]()


def _baskets(lines):
    from crmlib.baskets import Baskets, make_baskets

    return Baskets.from_transactions(lines) if isinstance(lines, list) else make_baskets(lines)


def _crmlib(lines, min_support, max_len, pyfim_semantics=False):
    from crmlib.baskets import mine_rules

    rules = mine_rules(_baskets(lines), min_support=min_support, min_confidence=MIN_CONFIDENCE,
                       max_len=max_len, max_rules=None,
                       max_consequent_len=1 if pyfim_semantics else None)
    return rules, {"itemsets": rules.attrs["n_itemsets"], "rules": len(rules),
                   "engine": rules.attrs["engine"]}


def _textbook(lines, min_support, max_len):
    import pandas as pd
    from mlxtend.frequent_patterns import apriori, association_rules
    from mlxtend.preprocessing import TransactionEncoder

    dataset = lines.groupby("order_id")["product_id"].apply(list).tolist()
    te = TransactionEncoder()
    te_ary = te.fit(dataset).transform(dataset)
    df = pd.DataFrame(te_ary, columns=te.columns_)
    frequent = apriori(df, min_support=min_support, use_colnames=True, max_len=max_len)
    rules = association_rules(frequent, num_itemsets=len(df), metric="confidence",
                              min_threshold=MIN_CONFIDENCE)
    return (rules, frequent), {"itemsets": len(frequent), "rules": len(rules)}


def _pyfim(lines, min_support, max_len):
    import fim
    import numpy as np
    import pandas as pd

    if isinstance(lines, list):
        tracts = lines
    else:
        codes, _ = pd.factorize(lines["order_id"].to_numpy())
        order = np.argsort(codes, kind="stable")
        items = lines["product_id"].to_numpy()[order].tolist()
        bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))]).tolist()
        tracts = [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    n = len(tracts)
    min_count = int(np.ceil(min_support * n))
    while (min_count - 1) / n >= min_support:
        min_count -= 1
    kwargs = {} if max_len is None else {"zmax": max_len}
    found = fim.arules(tracts, supp=-min_count, conf=100 * MIN_CONFIDENCE, zmin=2,
                       report="sxycla", mode="o", **kwargs)
    rules = pd.DataFrame(found, columns=["consequent", "antecedent", "support",
                                         "antecedent support", "consequent support",
                                         "confidence", "lift", "count"])
    rules["antecedents"] = [frozenset(a) for a in rules.pop("antecedent")]
    rules["consequents"] = [frozenset([c]) for c in rules.pop("consequent")]
    return rules, {"rules": len(rules)}


SEQUENCE_DAYS = 60


def _sequences(lines, min_support, max_len):
    """crmlib's next-purchase rules (every X, Y pair) from order lines plus orders."""
    from crmlib.baskets import make_baskets, next_purchase_rules

    orders, lines = lines
    rules = next_purchase_rules(make_baskets(lines, orders=orders), within_days=SEQUENCE_DAYS,
                                min_support=0, until=orders["ordered_at"].max())
    return rules, {"rules": len(rules)}


def _self_merge(lines, min_support, max_len):
    """The baseline: a pandas self-merge of each customer's purchases (anchors x purchases)."""
    import pandas as pd

    orders, lines = lines
    until = orders["ordered_at"].max()
    window = pd.Timedelta(days=SEQUENCE_DAYS)
    ev = lines[["order_id", "product_id"]].drop_duplicates().merge(orders, on="order_id")
    ev = ev.sort_values(["ordered_at", "order_id"])
    anchors = ev.drop_duplicates(["customer_id", "product_id"])
    anchors = anchors[anchors["ordered_at"] + window <= until]
    m = anchors.merge(ev, on="customer_id", suffixes=("_x", "_y"))
    lag = m["ordered_at_y"] - m["ordered_at_x"]
    m = m[(lag > pd.Timedelta(0)) & (lag <= window) & (m["product_id_x"] != m["product_id_y"])]
    m = m.assign(lag=(m["ordered_at_y"] - m["ordered_at_x"]).dt.total_seconds() / 86400)
    first = m.groupby(["customer_id", "product_id_x", "product_id_y"])["lag"].min().reset_index()
    out = first.groupby(["product_id_x", "product_id_y"]).agg(
        hits=("lag", "size"), median_lag_days=("lag", "median")).reset_index()
    anchored = anchors.groupby("product_id").size()
    out["confidence"] = out["hits"] / out["product_id_x"].map(anchored).to_numpy()
    firsts = ev.drop_duplicates("customer_id")
    firsts = firsts[firsts["ordered_at"] + window <= until][["customer_id", "ordered_at"]]
    fb = firsts.merge(ev, on="customer_id", suffixes=("", "_y"))
    lagb = fb["ordered_at_y"] - fb["ordered_at"]
    hits = fb[(lagb > pd.Timedelta(0)) & (lagb <= window)][["customer_id", "product_id"]]
    hits = hits.drop_duplicates()
    buyers = ev[["customer_id", "product_id"]].drop_duplicates()
    buyers = buyers[buyers["customer_id"].isin(firsts["customer_id"])]
    both = hits.merge(buyers, on="customer_id", suffixes=("_y", "_x"))
    both = both.groupby(["product_id_x", "product_id_y"]).size().rename("both").reset_index()
    out = out.merge(both, on=["product_id_x", "product_id_y"], how="left").fillna({"both": 0})
    all_hits = hits.groupby("product_id").size()
    x_buyers = buyers.groupby("product_id").size()
    num = out["product_id_y"].map(all_hits).fillna(0).to_numpy() - out["both"].to_numpy()
    den = firsts["customer_id"].nunique() - out["product_id_x"].map(x_buyers).to_numpy()
    out["base_rate"] = num / den
    out["lift"] = out["confidence"] / out["base_rate"]
    return out, {"rules": len(out)}


def child(side: str, source: str, min_support: float, max_len, dump: str) -> None:
    """One measured run; side 'crmlib1' is crmlib with pyfim's semantics (one-item consequents)."""
    import numpy as np  # noqa: F401  (imports happen before the counter is reset)
    import pandas as pd  # noqa: F401

    if side.startswith("crmlib"):
        import crmlib.baskets  # noqa: F401
        try:  # crmlib's optional engine: imported before the counter, as on pyfim's side
            import fim  # noqa: F401
        except ImportError:
            pass
    elif side == "textbook":
        import mlxtend.frequent_patterns  # noqa: F401
    else:
        import fim  # noqa: F401
    lines = _load_lines(source)
    base = reset_peak()  # after imports and inputs
    start = time.perf_counter()
    if side in ("sequences", "selfmerge"):
        result, info = {"sequences": _sequences, "selfmerge": _self_merge}[side](
            lines, min_support, max_len)
    elif side == "crmlib1":
        result, info = _crmlib(lines, min_support, max_len, pyfim_semantics=True)
    else:
        result, info = {"crmlib": _crmlib, "textbook": _textbook, "pyfim": _pyfim}[side](
            lines, min_support, max_len)
    seconds = time.perf_counter() - start
    peak = peak_kb()
    if dump:
        with open(dump, "wb") as fh:
            pickle.dump(_summary(side, result, lines, min_support, max_len), fh)
    print(json.dumps({"seconds": seconds, "peak_mb": (peak - base) / 1024,
                      "total_peak_mb": peak / 1024, "data_mb": base / 1024, **info}))


def _summary(side, result, lines, min_support, max_len):
    """What the parent compares: itemset supports and rule (support, confidence) by key."""
    if side == "sequences":
        return {"rules": {(a, c): (h, lift) for a, c, h, lift in zip(
            result["antecedent"], result["consequent"], result["hits"], result["lift"],
            strict=True)}}
    if side == "selfmerge":
        return {"rules": {(a, c): (h, lift) for a, c, h, lift in zip(
            result["product_id_x"], result["product_id_y"], result["hits"], result["lift"],
            strict=True)}}
    if side == "textbook":
        rules, frequent = result
        itemsets = dict(zip(frequent["itemsets"], frequent["support"], strict=True))
    else:
        rules, itemsets = result, None
        if side.startswith("crmlib"):
            from crmlib.baskets import frequent_itemsets

            found = frequent_itemsets(_baskets(lines), min_support=min_support,
                                      max_len=max_len)
            itemsets = dict(zip(found["itemsets"], found["support"], strict=True))
    keys = zip(rules["antecedents"], rules["consequents"], strict=True)
    values = zip(rules["support"], rules["confidence"], strict=True)
    return {"itemsets": itemsets, "rules": dict(zip(keys, values, strict=True))}


# -- parent side ---------------------------------------------------------------------------------

def measure(side: str, source: str, min_support: float, max_len, repeat: int, dump: Path):
    best = None
    for i in range(repeat):
        cmd = [sys.executable, __file__, "--child", side, source, str(min_support),
               str(max_len or 0), str(dump) if i == 0 else ""]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"{side} failed:\n{out.stderr[-2000:]}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or res["seconds"] < best["seconds"]:
            best = {**res, "peak_mb": min(res["peak_mb"], (best or res)["peak_mb"])}
    return best


def zipf_file(orders: int, items: int, seed: int) -> Path:
    import numpy as np

    from crmlib.baskets.synthetic import zipf_order_lines

    path = OUT / f"zipf-{orders}-{items}-{seed}.npz"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        lines = zipf_order_lines(orders, items, seed=seed)
        np.savez(path, **{c: lines[c].to_numpy() for c in lines.columns})
    return path



def _available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 ** 2
    return 0.0


def _load(path: Path) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def compare(what, source, min_support, max_len, baseline, repeat, ratios):
    OUT.mkdir(exist_ok=True)
    dump_ours, dump_base = OUT / "crmlib.pkl", OUT / f"{baseline}.pkl"
    side = "crmlib1" if baseline == "pyfim" else "crmlib"  # same semantics as the baseline
    ours = measure(side, source, min_support, max_len, repeat, dump_ours)
    base = measure(baseline, source, min_support, max_len, 1 if baseline == "textbook" else repeat,
                   dump_base)
    a, b = _load(dump_ours), _load(dump_base)
    if baseline == "textbook":
        check = (f"identical itemsets and supports: {a['itemsets'] == b['itemsets']} "
                 f"({len(a['itemsets']):,}); identical rules (support, confidence): "
                 f"{_close(a['rules'], b['rules'])}")
    else:
        # pyfim keeps a rule at exactly the confidence threshold (18 / 180 = 0.1 in rationals);
        # mlxtend's float arithmetic, which crmlib keeps, gives 0.0999...: only such ties differ
        ties = {k for k in b["rules"].keys() - a["rules"].keys()
                if abs(b["rules"][k][1] - MIN_CONFIDENCE) <= 1e-12}
        same = _close(a["rules"], {k: v for k, v in b["rules"].items() if k not in ties})
        check = (f"crmlib's {len(a['rules']):,} one-item-consequent rules equal pyfim's "
                 f"{len(b['rules']):,} (support, confidence to 1e-12) but for {len(ties)} rules "
                 f"at exactly confidence {MIN_CONFIDENCE} that mlxtend's arithmetic drops: {same}")
    name = {"textbook": "textbook mlxtend (TransactionEncoder, dense frame, apriori)",
            "pyfim": "pyfim (fim.arules)"}[baseline]
    print(f"{what}, min_support {min_support}: crmlib {ours['seconds']:.2f} s, "
          f"+{ours['peak_mb']:.0f} MB ({ours['itemsets']:,} itemsets, {ours['rules']:,} rules, "
          f"engine {ours['engine']}); {baseline} {base['seconds']:.2f} s, +{base['peak_mb']:.0f} MB "
          f"({base['rules']:,} rules); whole-process peak RSS {ours['total_peak_mb']:.0f} vs "
          f"{base['total_peak_mb']:.0f} MB (order lines, interpreter and imports included); {check}",
          flush=True)
    ratios.append(f"ratio crmlib rules ({what}, min_support {min_support}) vs {name}: "
                  f"time {base['seconds'] / ours['seconds']:.1f}x, "
                  f"memory {base['peak_mb'] / max(ours['peak_mb'], 1):.1f}x")


def compare_sequences(db: str, repeat: int, ratios: list) -> None:
    """Next-purchase rules (every pair, 60 days) against the pandas self-merge baseline."""
    source = f"orders:{db}"
    ours = measure("sequences", source, 0, None, repeat, OUT / "sequences.pkl")
    base = measure("selfmerge", source, 0, None, repeat, OUT / "selfmerge.pkl")
    a, b = _load(OUT / "sequences.pkl")["rules"], _load(OUT / "selfmerge.pkl")["rules"]
    # product ids (baseline) vs labels (crmlib, ids here as there are no products): same keys
    same = a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and (abs(a[k][1] - b[k][1]) <= 1e-9 * abs(b[k][1])
                                or a[k][1] == b[k][1]) for k in a)
    print(f"next-purchase rules (default sample, {SEQUENCE_DAYS} days): crmlib "
          f"{ours['seconds']:.2f} s, +{ours['peak_mb']:.0f} MB ({ours['rules']:,} rules); pandas "
          f"self-merge {base['seconds']:.2f} s, +{base['peak_mb']:.0f} MB ({base['rules']:,} "
          f"rules); identical hits and lifts: {same}", flush=True)
    ratios.append(f"ratio crmlib next-purchase rules (default sample, {SEQUENCE_DAYS} days, every "
                  "pair) vs pandas self-merge per customer: "
                  f"time {base['seconds'] / ours['seconds']:.1f}x, "
                  f"memory {base['peak_mb'] / max(ours['peak_mb'], 1):.1f}x")


def _close(x: dict, y: dict) -> bool:
    if x.keys() != y.keys():
        return False
    return all(abs(x[k][0] - y[k][0]) <= 1e-12 and abs(x[k][1] - y[k][1]) <= 1e-12 for k in x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-support", type=float, default=0.001,
                        help="crmlib vs pyfim on the Zipf set")
    parser.add_argument("--textbook-min-support", type=float, default=0.01,
                        help="crmlib vs textbook on the Zipf set (few frequent items: apriori "
                             "holds orders x candidates booleans)")
    parser.add_argument("--sample-min-support", type=float, default=0.005,
                        help="both comparisons on the sample database (the notebook's default)")
    parser.add_argument("--max-len", type=int, default=0, help="0: no limit")
    parser.add_argument("--db", default=None, help="sample database URL (default: data/crm.sqlite, "
                                                   "built if missing)")
    parser.add_argument("--skip-textbook", action="store_true")
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--textbook-min-free-gb", type=float, default=16.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--retail", default=str(Path(__file__).resolve().parents[1].parent
                                                / "shared" / "data" / "retail.dat"),
                        help="FIMI retail.dat (default ../shared/data/retail.dat)")
    parser.add_argument("--retail-min-support", type=float, nargs="*",
                        default=[0.01, 0.002, 0.0005, 0.0002])
    parser.add_argument("--quest-min-support", type=float, nargs="*", default=[0.002, 0.0005])
    parser.add_argument("--dense-min-support", type=float, nargs="*", default=[0.4, 0.38])
    parser.add_argument("--skip-zipf", action="store_true")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, source, ms, ml, dump = args.child
        child(side, source, float(ms), int(ml) or None, dump)
        return
    max_len = args.max_len or None
    ratios = []
    if not args.skip_sample:
        db = args.db or default_database()
        compare("default sample", db, args.sample_min_support, max_len, "textbook", args.repeat,
                ratios)
        compare("default sample", db, args.sample_min_support, max_len, "pyfim", args.repeat,
                ratios)
    if Path(args.retail).exists():
        for ms in args.retail_min_support:
            compare("retail.dat", f"transactions:retail={args.retail}", ms, max_len, "pyfim",
                    args.repeat, ratios)
    else:
        print(f"retail.dat comparisons skipped: {args.retail} is absent (the public data lives "
              "in ../shared/data; see its README)")
    for ms in args.quest_min_support:
        compare("T10I4D100K IBM Quest", "transactions:quest", ms, max_len, "pyfim", args.repeat,
                ratios)
    for ms in args.dense_min_support:
        compare("dense chess-like 10,000 x 100 items", "transactions:dense", ms, max_len, "pyfim",
                args.repeat, ratios)
    if not args.skip_sample:
        compare_sequences(args.db or default_database(), args.repeat, ratios)
    if args.skip_zipf:
        for line in ratios:
            print(line)
        return
    data = str(zipf_file(args.orders, args.items, args.seed))
    what = f"{args.orders:,} Zipf orders x {args.items:,} items"
    compare(what, data, args.min_support, max_len, "pyfim", args.repeat, ratios)
    if args.skip_textbook:
        print("textbook path on the Zipf set skipped (--skip-textbook)")
    elif _available_gb() < args.textbook_min_free_gb:
        print(f"textbook path on the Zipf set skipped: {_available_gb():.1f} GB available, "
              f"needs about {args.textbook_min_free_gb:.0f} GB (run alone, or with fewer --orders)")
    else:
        compare(what, data, args.textbook_min_support, max_len, "textbook", args.repeat, ratios)
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
