"""The ``crmlib`` command line: argparse with one subcommand per task.

Each area adds its commands with ``register(subparsers)``; a command's handler takes the parsed
arguments and returns the exit code. Errors a user can cause (:class:`~crmlib.errors.CrmlibError`)
are printed as one line, with passwords redacted, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import redact_url
from .errors import CrmlibError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmlib", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from .report.cli import register as register_report

    register_report(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="crmlib: %(levelname)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CrmlibError as err:
        print(f"crmlib: error: {redact_url(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crmlib: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
