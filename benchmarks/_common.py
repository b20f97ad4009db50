"""What the benchmarks share: the default sample they measure on, and peak memory from /proc.

A child process imports what it needs, loads its inputs, calls :func:`reset_peak` (the baseline),
runs the work and reads :func:`peak_kb`: the difference is what the work added, imports and
inputs left out, on both sides of a comparison alike (Linux only).
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def rss_kb(field: str = "VmRSS") -> int:
    """A memory field of /proc/self/status in KiB (VmRSS now, VmHWM the peak since the reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> int:
    """Reset this process's peak resident set (VmHWM) to the current one; return that, in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_kb("VmRSS")


def peak_kb() -> int:
    """The peak resident set since :func:`reset_peak`, in KiB."""
    return rss_kb("VmHWM")


def default_database() -> str:
    """The default sample database: data/crm.sqlite, or a copy built once under benchmarks/out."""
    from crmlib.config import DEFAULT_DB_PATH
    from crmlib.sample import build

    if DEFAULT_DB_PATH.exists():
        return f"sqlite:///{DEFAULT_DB_PATH}"
    path = OUT / "sample.sqlite"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        build(f"sqlite:///{path}")
    return f"sqlite:///{path}"
