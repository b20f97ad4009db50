"""The ``crmlib`` command line. Each command family registers itself with ``register(subparsers)``.

Errors a user can cause (CrmlibError) print one line naming the problem and exit with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .config import redact_url
from .errors import CrmlibError

__all__ = ["main"]


def _sample(args: argparse.Namespace) -> int:
    from .sample import build

    result = build(args.url, customers=args.customers, seed=args.seed, progress=not args.quiet,
                   replace=args.replace, duplicates=args.duplicates, duplicate_mode=args.duplicate_mode)
    rows = ", ".join(f"{k} {v:,}" for k, v in result.rows.items() if not k.startswith("truth_"))
    print(f"built {redact_url(result.url)} in {result.seconds:.1f} s: {rows}")
    return 0


def _register_sample(sub) -> None:
    p = sub.add_parser("sample", help="build the sample CRM database with planted truth")
    p.add_argument("--customers", type=int, default=20000, help="number of customers (default 20000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--url", default=None, help="target SQLAlchemy URL (default: data/crm.sqlite)")
    p.add_argument("--replace", action="store_true", help="rebuild an existing sample database")
    p.add_argument("--duplicates", type=float, default=0.0, metavar="FRACTION",
                   help="share of customers given a planted duplicate (default 0; truth in truth_duplicates)")
    p.add_argument("--duplicate-mode", choices=["default", "hard"], default="default",
                   help="'hard': typos in every field, sound-alike names, wrong birth-date digits, "
                        "missing e-mail and phone (default: the easy ones)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sample)


def _registrars():
    """Command families; optional ones are skipped if their module is not installed."""
    yield _register_sample
    import importlib

    for module in ("crmlib.report.cli", "crmlib.imports.cli", "crmlib.mart.cli"):
        try:
            yield importlib.import_module(module).register
        except ModuleNotFoundError as err:
            if err.name is None or not module.startswith(err.name):
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmlib", description="CRM data-mining workbench")
    parser.add_argument("--version", action="version", version=f"crmlib {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in _registrars():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args) or 0
    except CrmlibError as err:
        print(f"error: {redact_url(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
