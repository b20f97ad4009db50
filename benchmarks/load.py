"""Loading speed and memory: crmlib's typed load against plain ``pandas.read_sql``.

Each measurement runs in a fresh subprocess, which resets its peak-RSS counter after imports and
reports the time and the peak memory of the load alone, plus a checksum of the values so both
sides are shown to load the same data. Compared on the default sample database (built if
missing) and on a synthetic 5,000,000-row table of the same shape. Ends with one line per
comparison:

    ratio <what> vs <baseline>: time 6.1x, memory 2.4x
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import OUT, default_database, peak_kb, reset_peak


def child(side: str, url: str, table: str) -> None:
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    import crmlib
    from crmlib import schema as S

    engine = sa.create_engine(url)
    crm = crmlib.connect(url) if side == "crmlib" else None
    base = reset_peak()  # after imports and inputs
    start = time.perf_counter()
    if side == "crmlib":
        frame = crm.load(table)
    else:
        frame = pd.read_sql(table, engine, parse_dates=list(S.DATE_COLUMNS[table]))
    seconds = time.perf_counter() - start
    peak = peak_kb() - base
    checksum = []
    for col in frame.columns:
        s = frame[col]
        if str(s.dtype).startswith("datetime64"):
            checksum.append(float(s.astype("int64").sum() // 10**6))  # milliseconds, unit-free
        elif pd.api.types.is_numeric_dtype(s) or str(s.dtype) in ("boolean", "Int64"):
            checksum.append(round(float(np.nansum(s.astype("float64"))), 2))
        else:
            checksum.append(int(s.astype(str).str.len().sum()))
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "rows": len(frame), "checksum": checksum}))


def measure(side: str, url: str, table: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", side, url, table],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def big_database(rows: int) -> str:
    """A SQLite file with ``rows`` orders and ``rows`` order lines shaped like the sample's."""
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa

    from crmlib import schema as S
    from crmlib.sample._writer import _adbc, _arrow

    path = OUT / f"big-{rows}.sqlite"
    if path.exists():
        return f"sqlite:///{path}"
    OUT.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    engine = sa.create_engine(f"sqlite:///{tmp}")
    S.metadata.create_all(engine)  # every table: read_sql reflects foreign keys
    engine.dispose()
    rng = np.random.default_rng(0)
    conn = _adbc(f"sqlite:///{tmp}", "sqlite")
    chunk = 1_000_000
    for lo in range(0, rows, chunk):
        n = min(chunk, rows - lo)
        ids = np.arange(lo + 1, lo + n + 1)
        orders = pd.DataFrame({
            "order_id": ids, "customer_id": rng.integers(1, 500_000, n), "channel_id": rng.integers(1, 9, n),
            "rep_id": pd.array(rng.integers(1, 26, n), dtype="Int64"),
            "ordered_at": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, n), unit="s"),
            "status": rng.choice(["completed", "cancelled", "returned"], n, p=[0.95, 0.03, 0.02]),
        })
        lines = pd.DataFrame({
            "order_id": np.sort(rng.integers(1, rows // 2, n)), "line_no": np.arange(lo + 1, lo + n + 1),
            "product_id": rng.integers(1, 262, n), "quantity": rng.choice([1, 2, 3, 4], n),
            "unit_price": np.round(rng.lognormal(2.5, 0.8, n), 2),
            "discount": rng.choice([0.0, 0.05, 0.1, 0.2], n, p=[0.8, 0.1, 0.05, 0.05]),
        })
        with conn.cursor() as cur:
            cur.adbc_ingest("orders", _arrow("orders", orders, "sqlite"), mode="append")
            cur.adbc_ingest("order_lines", _arrow("order_lines", lines, "sqlite"), mode="append")
    conn.commit()
    conn.close()
    tmp.rename(path)
    return f"sqlite:///{path}"



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the large table")
    parser.add_argument("--child", nargs=3, metavar=("SIDE", "URL", "TABLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    cases = [("order_lines, default sample", default_database(), "order_lines"),
             ("orders, default sample", default_database(), "orders")]
    big = big_database(args.rows)
    cases += [(f"orders, {args.rows:,} rows", big, "orders"),
              (f"order_lines, {args.rows:,} rows", big, "order_lines")]
    ratios = []
    for what, url, table in cases:
        ours = measure("crmlib", url, table)
        plain = measure("read_sql", url, table)
        same = ours["checksum"] == plain["checksum"] and ours["rows"] == plain["rows"]
        print(f"{what}: {ours['rows']:,} rows; crmlib {ours['seconds']:.2f} s, {ours['peak_mb']:.0f} MB; "
              f"read_sql {plain['seconds']:.2f} s, {plain['peak_mb']:.0f} MB; identical values: {same}")
        if not same:
            print(f"  checksums differ: {ours['checksum']} vs {plain['checksum']}")
        ratios.append(f"ratio load {what} vs pandas.read_sql: time {plain['seconds'] / ours['seconds']:.1f}x, "
                      f"memory {plain['peak_mb'] / max(ours['peak_mb'], 1):.1f}x")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
