"""Full drill-down speed and memory: crmlib.cube against the plain pandas groupby a user would write.

The data: the default sample's last 24 months (2024-01 to 2025-12), its customers and orders
replicated under new ids until there are 5,000,000 order lines (cached as Parquet in
benchmarks/out/). Both sides start from the same canonical DataFrames (as ``crmlib.connect``
loads them) and compute the same full drill-down: every level of every hierarchy per month
(date: year > quarter > month > day; ISO week; product: category > subcategory > product;
price band; customer: region > customer; segment (income band); channel: kind > channel;
rep: region > manager > rep), with revenue, margin, cost, quantity, discount, lines and distinct
orders.

* crmlib: ``build_star`` + ``drill_down_all(star, by='month')``;
* pandas: merge the order lines with orders, products, customers, channels, reps and managers
  into one wide frame, derive the periods, then one ``groupby(...).agg(...)`` per level.

Each side runs in a fresh subprocess that loads the inputs, resets its peak-RSS counter, and
reports the time and the peak memory of the work alone, plus checksums (row count and revenue per
level) that must agree. Ends with one line per comparison:

    ratio <what> vs <baseline>: time 6.1x, memory 2.4x
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import OUT, default_database, peak_kb, reset_peak

TABLES = ("orders", "order_lines", "products", "channels", "sales_reps", "customers", "rep_targets")
MEASURES = ("revenue", "margin", "cost", "quantity", "discount", "lines", "orders")


def _load(folder: Path) -> dict:
    import pandas as pd

    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}


def _crmlib(t: dict) -> dict:
    from crmlib.cube import build_star, drill_down_all

    star = build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                      t["customers"], rep_targets=t["rep_targets"], segments="income_band")
    trees = drill_down_all(star, by="month", measures=MEASURES, engine=ENGINE)
    out = {}
    for h, tree in trees.items():
        for level, part in tree.groupby("level", observed=True):
            out[f"{h}:{level}"] = (len(part), round(float(part["revenue"].sum()), 2),
                                   int(part["orders"].sum()))
    return out


def _pandas(t: dict) -> dict:
    """What an analyst would write with pandas alone (the drill-down spec is crmlib's, so that both
    sides compute the same cells: by month, except along 'date')."""
    from crmlib.cube import HIERARCHIES

    orders = t["orders"][t["orders"]["status"] == "completed"]
    reps = t["sales_reps"].merge(
        t["sales_reps"][["rep_id", "name"]].rename(columns={"rep_id": "manager_id", "name": "manager"}),
        on="manager_id", how="left")
    reps["manager"] = reps["manager"].fillna(reps["name"])  # a manager heads their own team
    reps = reps.rename(columns={"name": "rep", "region": "rep_region"})[
        ["rep_id", "rep", "rep_region", "manager"]]
    df = t["order_lines"].merge(orders, on="order_id")
    df = df.merge(t["products"].rename(columns={"name": "product", "unit_price": "list_price"}),
                  on="product_id")
    df = df.merge(t["customers"].rename(columns={"region": "customer_region", "income_band": "segment"}),
                  on="customer_id", how="left")
    df = df.merge(t["channels"].rename(columns={"name": "channel", "kind": "channel_kind"})[
        ["channel_id", "channel", "channel_kind"]], on="channel_id")
    df = df.merge(reps, on="rep_id", how="left")
    df["gross"] = df["quantity"] * df["unit_price"]
    df["revenue"] = df["quantity"] * df["unit_price"] * (1 - df["discount"])
    df["discount"] = df["gross"] - df["revenue"]
    df["cost"] = df["quantity"] * df["unit_cost"]
    df["margin"] = df["revenue"] - df["cost"]
    df["year"] = df["ordered_at"].dt.to_period("Y")
    df["quarter"] = df["ordered_at"].dt.to_period("Q")
    df["month"] = df["ordered_at"].dt.to_period("M")
    df["day"] = df["ordered_at"].dt.to_period("D")
    df["week"] = df["ordered_at"].dt.to_period("W")
    df["customer"] = df["customer_id"]
    aggs = {"revenue": ("revenue", "sum"), "margin": ("margin", "sum"), "cost": ("cost", "sum"),
            "quantity": ("quantity", "sum"), "discount": ("discount", "sum"),
            "lines": ("revenue", "size"), "orders": ("order_id", "nunique")}
    out = {}
    for h, levels in HIERARCHIES.items():
        by = [] if h == "date" else ["month"]
        for i in range(len(levels) + 1):
            keys = by + list(levels[:i])
            if keys:
                part = df.groupby(keys, observed=True).agg(**aggs).reset_index()
            else:
                part = df.agg({"revenue": "sum"}).to_frame().T.assign(orders=df["order_id"].nunique())
            out[f"{h}:{levels[i - 1] if i else 'total'}"] = (
                len(part), round(float(part["revenue"].sum()), 2), int(part["orders"].sum()))
    return out


ENGINE = "auto"


def child(side: str, folder: str, engine: str) -> None:
    global ENGINE
    ENGINE = engine
    import pandas  # noqa: F401

    import crmlib.cube  # noqa: F401 - imports before the counter reset, on both sides

    if engine == "duckdb":
        import duckdb  # noqa: F401 - its import (about 40 MB) is not part of the work

    tables = _load(Path(folder))
    _release_free_memory()  # so both sides start from the same resident baseline
    base = reset_peak()  # after imports and inputs
    start = time.perf_counter()
    result = _crmlib(tables) if side == "crmlib" else _pandas(tables)
    seconds = time.perf_counter() - start
    peak = peak_kb() - base
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "checksum": result,
                      "lines": len(tables["order_lines"])}))


def _release_free_memory() -> None:
    import ctypes
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()  # Parquet decode buffers, else freed lazily later
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass


def measure(side: str, folder: Path, engine: str = "auto") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", side, str(folder), engine],
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{side} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def dataset(lines: int, months: int = 24) -> Path:
    """Parquet files of the default sample's last ``months`` months, replicated to ``lines``."""
    import numpy as np
    import pandas as pd

    import crmlib

    folder = OUT / f"cube-{lines}"
    if (folder / "done").exists():
        return folder
    url = default_database()
    crm = crmlib.connect(url)
    end = pd.Timestamp(crm.orders(["ordered_at"])["ordered_at"].max()).to_period("M") + 1
    since = (end - months).to_timestamp()
    orders = crm.orders(since=since)
    order_lines = crm.order_lines(since=since)
    customers = crm.customers(["customer_id", "region", "income_band"])
    copies = int(np.ceil(lines / len(order_lines)))
    step_o, step_c = int(orders["order_id"].max()), int(customers["customer_id"].max())
    big_o = pd.concat([orders.assign(order_id=orders["order_id"] + i * step_o,
                                     customer_id=orders["customer_id"] + i * step_c)
                       for i in range(copies)], ignore_index=True)
    big_l = pd.concat([order_lines.assign(order_id=order_lines["order_id"] + i * step_o)
                       for i in range(copies)], ignore_index=True).iloc[:lines]
    big_o = big_o[big_o["order_id"] <= big_l["order_id"].max()]
    big_c = pd.concat([customers.assign(customer_id=customers["customer_id"] + i * step_c)
                       for i in range(copies)], ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    big_o.to_parquet(folder / "orders.parquet")
    big_l.to_parquet(folder / "order_lines.parquet")
    big_c.to_parquet(folder / "customers.parquet")
    for name in ("products", "channels", "sales_reps", "rep_targets"):
        getattr(crm, name)().to_parquet(folder / f"{name}.parquet")
    (folder / "done").write_text(f"{len(big_l)} lines from {url}\n")
    return folder



def _same(a: dict, b: dict) -> bool:
    """Same levels, row counts and order counts; revenue equal to 1e-9 (summation order differs)."""
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and a[k][2] == b[k][2] and abs(a[k][1] - b[k][1]) <= 1e-9 * abs(b[k][1]) + 0.01
        for k in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000, help="order lines (default 5,000,000)")
    parser.add_argument("--engines", default="auto",
                        help="comma-separated crmlib engines to time: auto, pandas, duckdb")
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "FOLDER", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = dataset(args.lines)
    plain = measure("pandas", folder)
    ratios = []
    for engine in args.engines.split(","):
        ours = measure("crmlib", folder, engine)
        same = _same(ours["checksum"], plain["checksum"])
        print(f"full drill-down, {ours['lines']:,} order lines, 24 months, {len(plain['checksum'])} "
              f"levels: crmlib (engine={engine}) {ours['seconds']:.2f} s, {ours['peak_mb']:.0f} MB; "
              f"pandas {plain['seconds']:.2f} s, {plain['peak_mb']:.0f} MB; identical results: {same}")
        if not same:
            for key in plain["checksum"]:
                if ours["checksum"].get(key) != plain["checksum"][key]:
                    print(f"  {key}: crmlib {ours['checksum'].get(key)} vs pandas {plain['checksum'][key]}")
        label = "" if engine == "auto" else f" (engine={engine})"
        ratios.append(f"ratio cube full drill-down{label} vs pandas merge+groupby: "
                      f"time {plain['seconds'] / ours['seconds']:.1f}x, "
                      f"memory {plain['peak_mb'] / max(ours['peak_mb'], 1):.1f}x")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
