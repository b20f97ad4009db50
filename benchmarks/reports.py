"""How long `crmlib run all` (what `make reports` does) takes over every notebook.

    python benchmarks/reports.py [--notebooks-dir notebooks] [--no-baseline] [--runs-only]

Measures, on the default database (``crmlib sample`` builds it):

* kernel start-up alone (start a kernel, wait until it answers, shut it down; median of 3);
* ``crmlib run all`` as a user runs it (a fresh process, results into a temporary reports folder):
  total wall time and peak memory, and per notebook the run time from its ``summary.json`` with the
  kernel start-up part shown separately;
* the baseline a user would otherwise script: per notebook ``papermill in.ipynb out.ipynb`` and
  ``jupyter nbconvert --to html --no-input out.ipynb`` (two processes per notebook, no checks,
  no publishing).

Ends with the budget line (the issue asks for under 120 s on a 2-core machine) and one ratio line,
ratios above 1 meaning crmlib is better:
``ratio crmlib run all vs papermill+nbconvert CLI: time 1.8x, memory 1.1x``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 120.0

# Runs a list of commands one after another in a fresh process and reports wall time and the peak
# resident memory of the largest process among them (kernels included: they are waited for).
MEASURE = r"""
import json, resource, subprocess, sys, time
cmds = json.loads(sys.argv[1])
t0 = time.perf_counter()
codes = [subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
         for c in cmds]
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "codes": codes}))
"""


def measured(cmds: list[list[str]], cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(cmds)], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def kernel_startup(kernel_name: str, repeat: int = 3) -> float:
    """Seconds from starting a kernel (as crmlib run does) until it answers."""
    from jupyter_client import KernelManager

    from crmlib.report.runner import _kernel_config

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        km = KernelManager(kernel_name=kernel_name, config=_kernel_config())
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        times.append(time.perf_counter() - t0)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(times)


def main(argv=None) -> int:
    from crmlib import config
    from crmlib.report import store
    from crmlib.report.kernel import resolve_kernel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks-dir", type=Path, default=config.NOTEBOOKS_DIR)
    parser.add_argument("--no-baseline", action="store_true", help="skip papermill+nbconvert")
    args = parser.parse_args(argv)

    notebooks = sorted(p for p in args.notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))
    if not notebooks:
        print(f"no notebooks in {args.notebooks_dir}: nothing to measure")
        return 0
    if not config.DEFAULT_DB_PATH.exists() and not os.environ.get("CRMLIB_DB_URL"):
        print(f"warning: {config.DEFAULT_DB_PATH} does not exist (run `crmlib sample`); "
              "notebooks that read the database will fail")
    kernel = resolve_kernel()
    crmlib_cli = Path(sys.executable).with_name("crmlib")
    crmlib_cmd = [str(crmlib_cli)] if crmlib_cli.is_file() else [sys.executable, "-m", "crmlib.cli"]

    print(f"{len(notebooks)} notebooks in {args.notebooks_dir}, kernel '{kernel}', "
          f"{os.cpu_count()} cores")
    startup = kernel_startup(kernel)
    print(f"kernel start-up alone: {startup:.2f} s (median of 3)")

    with tempfile.TemporaryDirectory(prefix="crmlib-bench-") as tmp:
        tmp = Path(tmp)
        reports = tmp / "reports"
        ours = measured([[*crmlib_cmd, "run", "all", "--no-progress", "--notebooks-dir",
                          str(args.notebooks_dir), "--reports-dir", str(reports)]], cwd=tmp)
        print(f"\ncrmlib run all: {ours['wall']:.1f} s total, peak memory "
              f"{ours['maxrss_kb'] / 1024:.0f} MiB, exit code {ours['codes'][0]}")
        print(f"  {'notebook':<32} {'status':<8} {'total s':>8} {'kernel s':>9} {'cells s':>8}")
        for nb in notebooks:
            runs = store.list_runs(reports, nb.stem)
            if not runs:
                print(f"  {nb.stem:<32} {'-':<8}")
                continue
            s = store.read_summary(runs[-1])
            total, k = s.get("duration_s") or 0.0, s.get("kernel_startup_s") or 0.0
            print(f"  {nb.stem:<32} {s['status']:<8} {total:8.1f} {k:9.2f} {total - k:8.1f}")
            if s.get("error"):
                err = s["error"]
                print(f"  {'':<32} cell {err.get('cell_index')}: {err.get('ename')}: "
                      f"{str(err.get('evalue'))[:80]}")
        verdict = "OK" if ours["wall"] < BUDGET_S else "OVER"
        print(f"\nbudget make reports: total {ours['wall']:.1f} s (limit {BUDGET_S:.0f} s): {verdict}")

        if not args.no_baseline:
            out = tmp / "baseline"
            out.mkdir()
            cmds = []
            for nb in notebooks:
                executed = out / nb.name
                cmds.append([sys.executable, "-m", "papermill", str(nb), str(executed), "-k", kernel,
                             "--cwd", str(args.notebooks_dir), "--no-progress-bar"])
                cmds.append([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                             "--no-input", str(executed)])
            base = measured(cmds, cwd=tmp)
            print(f"baseline papermill + nbconvert CLI: {base['wall']:.1f} s total, peak memory "
                  f"{base['maxrss_kb'] / 1024:.0f} MiB")
            print(f"ratio crmlib run all vs papermill+nbconvert CLI: time "
                  f"{base['wall'] / ours['wall']:.1f}x, memory "
                  f"{base['maxrss_kb'] / ours['maxrss_kb']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
