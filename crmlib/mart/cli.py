"""``crmlib mart export``: refresh the Parquet mart from the CRM database."""

from __future__ import annotations

import argparse

from ..config import redact_url

__all__ = ["register"]


def _export(args: argparse.Namespace) -> int:
    from .export import export

    result = export(args.url, args.out, since=args.since)
    print(redact_url(result.summary()))
    return 0


def register(subparsers) -> None:
    """Add ``mart export`` to the ``crmlib`` command line."""
    mart = subparsers.add_parser("mart", help="the Parquet analytics mart (for Spark and large data)")
    sub = mart.add_subparsers(dest="mart_command", required=True)
    p = sub.add_parser("export", help="export the canonical tables into the Parquet star-schema mart",
                       description="Incremental and idempotent: only new or changed months are "
                                   "written, each partition atomically; a run with no new data "
                                   "writes nothing.")
    p.add_argument("--url", default=None, help="source SQLAlchemy URL (default: data/crm.sqlite)")
    p.add_argument("--out", default=None,
                   help="mart folder or URI: a path, s3://..., hdfs://... (default: data/mart)")
    p.add_argument("--since", default=None,
                   help="only refresh months from this date's month on (e.g. 2025-06-01)")
    p.set_defaults(func=_export)
