"""``crmlib import MAPPING.yml [--url TARGET]``: import another CRM's data following a mapping file."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _import(args: argparse.Namespace) -> int:
    if args.examples:
        from .examples import write_examples

        paths = write_examples(args.examples, customers=args.example_customers)
        for name, path in paths.items():
            print(f"wrote {name}: {path}")
        if not args.mapping:
            return 0
    if not args.mapping:
        from ..errors import ParameterError

        raise ParameterError("crmlib import: give a mapping file (see data/mappings/ and docs/imports.md)",
                             name="mapping")
    from .load import run_import

    result = run_import(args.mapping, args.url, log_dir=args.log_dir)
    print(result.summary())
    return 0


def register(subparsers) -> None:
    """Add the ``import`` command to the ``crmlib`` command line."""
    p = subparsers.add_parser(
        "import", help="import CSV / Excel files or another database into the canonical tables",
        description="Load the sources of a mapping file into the canonical CRM tables of TARGET: values "
                    "standardised, rows with problems quarantined with a reason, duplicates merged, "
                    "re-imports idempotent. Sources are only read.")
    p.add_argument("mapping", nargs="?", help="YAML mapping file (examples in data/mappings/)")
    p.add_argument("--url", default=None, help="target SQLAlchemy URL (default: data/crm.sqlite or CRMLIB_DB_URL)")
    p.add_argument("--log-dir", default=None, help="where the log and the quarantine CSV go (default: beside the target: "
                        "x.imports/ next to a SQLite file x.sqlite, else imports/ next to the mapping)")
    p.add_argument("--examples", metavar="DIR", default=None,
                   help="first write example source files (online_retail.csv, customer_list.csv) into DIR")
    p.add_argument("--example-customers", type=int, default=500, help=argparse.SUPPRESS)
    p.set_defaults(func=_import)
