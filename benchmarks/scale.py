"""Scale: the pandas path against the Spark path for association rules and RFM, 1M to 50M lines.

    python benchmarks/scale.py                      # 1M and 10M order lines
    python benchmarks/scale.py --sizes 1M,10M,50M   # and 50M (pandas may run out of memory)

Data: the small sample database (built if missing) is exported to a mart, and its orders are
replicated with fresh order and customer ids until the wanted number of order lines is reached,
so basket composition, prices, dates and customer behaviour keep the sample's distributions (and
the planted rules keep their support). Written as Parquet under benchmarks/out/scale/<size>/.

Each (size, engine, task) runs in a fresh child process; time is wall-clock of the task
including reading the Parquet files, memory is the peak resident set of the child's whole
process tree (the JVM included for Spark), sampled every 0.1 s.

- rules, pandas path: read Parquet with pandas, crmlib.baskets.make_baskets and mine_rules;
  Spark path: crmlib.baskets.spark (FPGrowth, all measures, Fisher tests, correction).
- rfm, pandas path: crmlib.segments (order_values, rfm_table, rfm_scores);
  Spark path: crmlib.segments.spark_rfm.

Ends with one ratio line per comparison (above 1: Spark is better) and writes scale.png.

Whole reports, ``--reports`` (issue 14):

    python benchmarks/scale.py --reports                   # about 2M order lines
    python benchmarks/scale.py --reports --lines 200000    # a quick try
    python benchmarks/scale.py --reports --only segmentation,association_rules

builds a sample database of about ``--lines`` order lines (``crmlib sample`` with
lines / LINES_PER_CUSTOMER customers; the lines it really has are printed), exports its mart, and
runs each report with ``crmlib run`` on pandas and on Spark (``--spark-master``, default
local[*]; the mart passed with ``-p mart``, so the export is not timed). While a report runs,
psutil polls the runner's child processes every 0.2 s and keeps apart the peak resident set of
the notebook kernel's Python process (the ipykernel child), of the Spark driver JVM it starts,
and of the PySpark Python workers together (pandas UDFs run there; in local mode they sit beside
the kernel, on a cluster they are on the executors). Time is the run's ``duration_s`` (kernel start-up and every cell). Per report it prints
``ratio report NAME, 2M lines, spark vs pandas: time Tx, memory Mx`` (time: pandas seconds /
Spark seconds; memory: pandas kernel peak / Spark kernel peak; above 1: Spark is better) and
writes ``reports-<lines>.json`` under benchmarks/out/scale/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "scale"
MIN_SUPPORT = 0.002
SIZES = {"1M": 1_000_000, "10M": 10_000_000, "50M": 50_000_000}


# ---------------------------------------------------------------------- data
def build_data(size: str, seed_db: Path) -> Path:
    """Parquet order lines at ``size``, replicated from the sample mart."""
    from crmlib import mart

    target = OUT / size
    if (target / "_done").exists():
        return target
    base = OUT / "base-mart"
    if not (base / "_manifest.json").exists():
        mart.export(f"sqlite:///{seed_db}", base)
    sales = mart.read(base, "fact_sales", columns=["order_id", "customer_id", "product_id", "ordered_at",
                                                   "status", "quantity", "unit_price", "discount",
                                                   "net_amount"])
    sales = sales.drop(columns="month")
    n_lines, n_orders = len(sales), int(sales["order_id"].max())
    n_cust = int(sales["customer_id"].max())
    copies = int(np.ceil(SIZES[size] / n_lines))
    (target / "fact_sales").mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(base / "dim_product" / "part-0.parquet"),
                   (target / "dim_product.parquet"))
    (target / "dim_product").mkdir(exist_ok=True)
    os.replace(target / "dim_product.parquet", target / "dim_product" / "part-0.parquet")
    written = 0
    for k in range(copies):
        part = sales.copy()
        part["order_id"] += k * n_orders
        part["customer_id"] += k * n_cust
        take = min(len(part), SIZES[size] - written)
        part = part.iloc[:take]
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       target / "fact_sales" / f"part-{k:05d}.parquet", compression="zstd")
        written += take
    (target / "_done").write_text(str(written))
    return target


# ---------------------------------------------------------------------- tasks (child process)
def _pandas_rules(path: Path) -> dict:
    from crmlib import baskets as bk

    sales = pd.read_parquet(path / "fact_sales", columns=["order_id", "product_id"])
    products = pd.read_parquet(path / "dim_product", columns=["product_id", "name", "category",
                                                              "subcategory"])
    rules = bk.mine_rules(bk.make_baskets(sales, products=products), min_support=MIN_SUPPORT,
                          max_rules=None)
    return {"rules": int(len(rules)), "impl": "crmlib.baskets"}


def _pandas_rfm(path: Path) -> dict:
    from crmlib import segments

    sales = pd.read_parquet(path / "fact_sales", columns=["order_id", "customer_id", "ordered_at",
                                                          "status", "quantity", "unit_price", "discount"])
    orders = sales.drop_duplicates("order_id")[["order_id", "customer_id", "ordered_at", "status"]]
    tx = segments.order_values(orders, sales[["order_id", "quantity", "unit_price", "discount"]])
    scored = segments.rfm_scores(segments.rfm_table(tx))
    return {"customers": int(len(scored)), "impl": "crmlib.segments"}


def _spark_session():
    from crmlib.spark import get_session

    return get_session("local[*]", config={"spark.ui.enabled": "false", "spark.driver.memory": "6g",
                                           "spark.sql.shuffle.partitions": "8"})


def _spark_rules(path: Path) -> dict:
    from crmlib.baskets import spark as sr

    spark = _spark_session()
    b = sr.baskets(spark, path)
    rules, _, _ = sr.mine_rules(b, min_support=MIN_SUPPORT)
    n = rules.count()
    spark.stop()
    return {"rules": int(n), "impl": "crmlib.baskets.spark"}


def _spark_rfm(path: Path) -> dict:
    from crmlib.segments import spark_rfm as srfm

    spark = _spark_session()
    scored = srfm.rfm_scores(srfm.rfm_table(srfm.order_values(spark, path)))
    impl = "crmlib.segments.spark_rfm"
    n = scored.count()
    spark.stop()
    return {"customers": int(n), "impl": impl}


TASKS = {("pandas", "rules"): _pandas_rules, ("pandas", "rfm"): _pandas_rfm,
         ("spark", "rules"): _spark_rules, ("spark", "rfm"): _spark_rfm}


def _child(engine: str, task: str, path: str) -> None:
    start = time.perf_counter()
    info = TASKS[(engine, task)](Path(path))
    info["seconds"] = time.perf_counter() - start
    print("RESULT " + json.dumps(info), flush=True)


# ---------------------------------------------------------------------- measuring (parent)
def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run(engine: str, task: str, path: Path, timeout: float) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", engine, task, str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        done.set()
        return {"engine": engine, "task": task, "error": f"timeout after {timeout:.0f} s", "peak_mb": peak[0] / 2**20}
    done.set()
    thread.join()
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        last = (err.strip().splitlines() or ["?"])[-1]
        kind = "out of memory" if proc.returncode in (-9, 137) or "MemoryError" in err else last[:200]
        return {"engine": engine, "task": task, "error": kind, "peak_mb": peak[0] / 2**20}
    info = json.loads(line[len("RESULT "):])
    info.update(engine=engine, task=task, peak_mb=peak[0] / 2**20)
    return info


def plot(results: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ok = results[results["error"].isna()] if "error" in results else results
    for (engine, task), g in ok.groupby(["engine", "task"]):
        g = g.sort_values("lines")
        style = "-" if engine == "spark" else "--"
        axes[0].plot(g["lines"], g["seconds"], style, marker="o", label=f"{task} ({engine})")
        axes[1].plot(g["lines"], g["peak_mb"] / 1024, style, marker="o", label=f"{task} ({engine})")
    for ax, label in zip(axes, ("time (s)", "peak memory (GB)"), strict=False):
        ax.set_xscale("log")
        ax.set_xlabel("order lines")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("pandas path vs Spark path (local[*], 2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------- whole reports (--reports)
LINES_PER_CUSTOMER = 25  # measured: 9,524 customers of the sample gave 240,802 order lines


def _lines_label(lines: int) -> str:
    return f"{lines / 1e6:g}M" if lines >= 1_000_000 else f"{lines / 1e3:g}k"


def report_data(lines: int) -> tuple[str, Path, int]:
    """A sample database of about ``lines`` order lines and its mart (built once per size)."""
    import sqlalchemy as sa

    from crmlib import mart
    from crmlib.sample import build

    folder = OUT / f"reports-{lines}"
    db, out = folder / "crm.sqlite", folder / "mart"
    url = f"sqlite:///{db}"
    if not (folder / "_done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        build(url, customers=max(50, round(lines / LINES_PER_CUSTOMER)), seed=42)
        (folder / "_done").write_text("built")
    mart.export(url, out)  # incremental: nothing is rewritten the second time
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        actual = conn.execute(sa.text("SELECT COUNT(*) FROM order_lines")).scalar_one()
    engine.dispose()
    return url, out, int(actual)


def _role(proc) -> str | None:
    """'kernel' for an ipykernel process, 'jvm' for a Java one, 'workers' for a PySpark Python
    worker (pandas UDFs run there, beside the kernel), else None."""
    try:
        cmd = " ".join(proc.cmdline())
        name = proc.name()
    except Exception:  # gone, or not ours to read
        return None
    if "ipykernel" in cmd:
        return "kernel"
    if name == "java" or cmd.split(" ", 1)[0].endswith("/java"):
        return "jvm"
    if "pyspark.daemon" in cmd or "pyspark.worker" in cmd:
        return "workers"
    return None


def run_report(report: str, engine: str, url: str, mart_dir: Path, reports_dir: Path,
               master: str, timeout: float) -> dict:
    """One ``crmlib run`` of ``report``; the peaks of its kernel and JVM, apart, and its time."""
    import psutil

    cmd = [sys.executable, "-m", "crmlib.cli", "run", report, "--db", url, "--reports-dir",
           str(reports_dir), "--no-progress", "--no-audiences", "--timeout", str(timeout)]
    if engine == "spark":
        cmd += ["--engine", "spark", "--spark-master", master, "-p", "mart", str(mart_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = {"kernel": 0, "jvm": 0, "workers": 0}
    done = threading.Event()

    def sample():
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                children = root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            workers = 0  # the workers run side by side: their peak is that of their sum
            for child in children:
                role = _role(child)
                if role is None:
                    continue
                try:
                    rss = child.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                if role == "workers":
                    workers += rss
                else:
                    peaks[role] = max(peaks[role], rss)
            peaks["workers"] = max(peaks["workers"], workers)
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout + 300)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    done.set()
    thread.join()
    row = {"report": report, "engine": engine, "kernel_peak_mb": peaks["kernel"] / 2**20,
           "jvm_peak_mb": peaks["jvm"] / 2**20, "workers_peak_mb": peaks["workers"] / 2**20,
           "exit": proc.returncode}
    latest = reports_dir / report / "latest.json"
    summary = json.loads(latest.read_text()) if latest.is_file() and proc.returncode == 0 else None
    if summary is None:
        # the runner's own line (FAILED ... cell N: ...) or its one-line error, not Spark's log
        said = out.strip().splitlines() or [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
        row["error"] = (" ".join(said[-1].split())[:300] if said else f"exit {proc.returncode}")
    else:
        row.update(seconds=summary["duration_s"], recorded_engine=summary.get("engine"),
                   slowest_cells=_slowest_cells(reports_dir / report / "latest.ipynb"))
    return row


def _slowest_cells(path: Path, n: int = 3) -> list[list]:
    """The ``n`` slowest code cells of an executed notebook: [index, seconds, first line]."""
    if not path.is_file():
        return []
    cells = json.loads(path.read_text())["cells"]
    timed = [[i, round(float(c["metadata"].get("papermill", {}).get("duration") or 0.0), 1),
              "".join(c["source"]).strip().splitlines()[0][:70] if "".join(c["source"]).strip() else ""]
             for i, c in enumerate(cells) if c["cell_type"] == "code"]
    return sorted(timed, key=lambda t: -t[1])[:n]


def plot_reports(rows: list[dict], path: Path, label: str) -> None:
    """Kernel peaks per report, pandas beside Spark (the Spark driver JVM stacked apart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = pd.DataFrame([r for r in rows if not r.get("error")])
    if ok.empty:
        return
    peaks = ok.pivot_table(index="report", columns="engine", values="kernel_peak_mb")
    jvm = ok[ok["engine"] == "spark"].set_index("report")["jvm_peak_mb"].reindex(peaks.index)
    x = np.arange(len(peaks))
    fig, ax = plt.subplots(figsize=(10, 4))
    if "pandas" in peaks:
        ax.bar(x - 0.2, peaks["pandas"], 0.4, label="pandas: kernel", color="#888")
    if "spark" in peaks:
        ax.bar(x + 0.2, peaks["spark"], 0.4, label="Spark: kernel", color="#1f77b4")
        ax.bar(x + 0.2, jvm, 0.4, bottom=peaks["spark"], label="Spark: driver JVM (apart)",
               color="#1f77b4", alpha=0.25)
        for i, report in enumerate(peaks.index):
            if "pandas" in peaks and pd.notna(peaks.loc[report, "pandas"]):
                ratio = peaks.loc[report, "pandas"] / peaks.loc[report, "spark"]
                ax.annotate(f"{ratio:.1f}x", (x[i] - 0.2, peaks.loc[report, "pandas"]),
                            ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, peaks.index, rotation=20)
    ax.set_ylabel("peak resident memory (MB)")
    ax.set_title(f"Notebook kernel peak per report, {label} order lines "
                 "(the ratio: pandas kernel / Spark kernel)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_report_sizes(folder: Path, path: Path) -> bool:
    """Kernel peak against order lines per report and engine, from every ``reports-*.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for f in sorted(folder.glob("reports-*.json")) for r in json.loads(f.read_text())
            if not r.get("error")]
    runs = pd.DataFrame(rows)
    if runs.empty or runs["lines"].nunique() < 2:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (report, engine), g in runs.groupby(["report", "engine"]):
        if g["lines"].nunique() < 2:
            continue
        g = g.sort_values("lines")
        ax.plot(g["lines"], g["kernel_peak_mb"], "-" if engine == "spark" else "--", marker="o",
                label=f"{report} ({engine})")
    ax.set_xscale("log")
    ax.set_xlabel("order lines")
    ax.set_ylabel("notebook kernel peak (MB)")
    ax.set_title("Kernel peak by data size: pandas grows, Spark's kernel holds bounded results")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def reports_main(args) -> None:
    from crmlib.config import NOTEBOOKS_DIR

    names = args.only.split(",") if args.only else sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    url, mart_dir, lines = report_data(args.lines)
    label = _lines_label(args.lines)
    print(f"sample: {lines:,} order lines ({label} asked), mart {mart_dir}", flush=True)
    rows = []
    for report in names:
        for engine in ("pandas", "spark"):
            r = run_report(report, engine, url, mart_dir, OUT / f"reports-{args.lines}" / engine,
                           args.spark_master, args.timeout)
            r["lines"] = lines
            rows.append(r)
            what = r.get("error") or f"{r['seconds']:.1f} s"
            print(f"{report:<20} {engine:<6} {what:>12}  kernel peak {r['kernel_peak_mb']:.0f} MB"
                  + (f", JVM peak {r['jvm_peak_mb']:.0f} MB, Python workers {r['workers_peak_mb']:.0f} MB"
                     if engine == "spark" else ""), flush=True)
            for index, seconds, first in r.get("slowest_cells", []):  # where the time goes
                print(f"{'':<28}cell {index:>2}: {seconds:7.1f} s  {first}", flush=True)
    saved = OUT / f"reports-{args.lines}.json"
    if saved.is_file():  # keep the reports not re-run: --only one report adds to the table
        rows = [r for r in json.loads(saved.read_text()) if r["report"] not in names] + rows
    saved.write_text(json.dumps(rows, indent=2))
    plot_reports(rows, OUT / f"reports-{args.lines}.png", label)
    print(f"plot: {OUT / f'reports-{args.lines}.png'}")
    if plot_report_sizes(OUT, OUT / "reports-sizes.png"):
        print(f"plot: {OUT / 'reports-sizes.png'}")
    for report in names:
        pair = {r["engine"]: r for r in rows if r["report"] == report}
        bad = [f"{e}: {r['error']}" for e, r in pair.items() if r.get("error")]
        if bad:
            print(f"ratio report {report}, {label} lines, spark vs pandas: " + "; ".join(bad))
            continue
        p, sp = pair["pandas"], pair["spark"]
        t = p["seconds"] / sp["seconds"]
        m = p["kernel_peak_mb"] / sp["kernel_peak_mb"] if sp["kernel_peak_mb"] else float("nan")
        print(f"ratio report {report}, {label} lines, spark vs pandas: time {t:.2g}x, memory {m:.3g}x"
              f"  (kernel {p['kernel_peak_mb']:.0f} MB vs {sp['kernel_peak_mb']:.0f} MB, "
              f"Spark JVM {sp['jvm_peak_mb']:.0f} MB, Python workers {sp.get('workers_peak_mb', 0):.0f} MB; "
              f"{p['seconds']:.0f} s vs {sp['seconds']:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", action="store_true",
                        help="run every report on pandas and on Spark (see the module docstring)")
    parser.add_argument("--lines", type=int, default=2_000_000, help="order lines, with --reports")
    parser.add_argument("--only", default=None, help="with --reports: comma-separated report names")
    parser.add_argument("--spark-master", default="local[*]", help="with --reports")
    parser.add_argument("--sizes", default="1M,10M")
    parser.add_argument("--tasks", default="rules,rfm")
    parser.add_argument("--seed-db", default=str(OUT / "seed.sqlite"))
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "TASK", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.reports:
        OUT.mkdir(parents=True, exist_ok=True)
        reports_main(args)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    seed = Path(args.seed_db)
    if not seed.exists():
        from crmlib.sample import build

        build(f"sqlite:///{seed}", customers=20000, seed=42)
    rows = []
    for size in args.sizes.split(","):
        path = build_data(size, seed)
        lines = int((path / "_done").read_text())
        for task in args.tasks.split(","):
            for engine in ("pandas", "spark"):
                r = run(engine, task, path, args.timeout)
                r.update(size=size, lines=lines)
                rows.append(r)
                what = r.get("error") or f"{r['seconds']:.1f} s"
                print(f"{size:>4} {task:<5} {engine:<6} {what:>14}  peak {r['peak_mb'] / 1024:.2f} GB  "
                      f"{ {k: v for k, v in r.items() if k in ('rules', 'customers', 'impl')} }", flush=True)
    results = pd.DataFrame(rows)
    sizes = args.sizes.split(",")
    if (OUT / "scale.csv").exists():  # keep earlier sizes: a run can add 50M without redoing 1M
        old = pd.read_csv(OUT / "scale.csv")
        results = pd.concat([old[~old["size"].isin(sizes)], results], ignore_index=True)
        sizes = [s for s in SIZES if s in set(results["size"])]
    results.to_csv(OUT / "scale.csv", index=False)
    plot(results, OUT / "scale.png")
    print(f"plot: {OUT / 'scale.png'}")
    for size in sizes:
        for task in args.tasks.split(","):
            sel = results[(results["size"] == size) & (results["task"] == task)].set_index("engine")
            if "error" in sel and sel["error"].notna().any():
                print(f"ratio {task} {size} spark vs pandas: " + "; ".join(
                    f"{e}: {sel.loc[e, 'error']}" for e in sel.index if pd.notna(sel.loc[e, "error"])))
                continue
            t = sel.loc["pandas", "seconds"] / sel.loc["spark", "seconds"]
            m = sel.loc["pandas", "peak_mb"] / sel.loc["spark", "peak_mb"]
            print(f"ratio {task} {size} spark vs pandas: time {t:.2g}x, memory {m:.2g}x")


if __name__ == "__main__":
    main()
