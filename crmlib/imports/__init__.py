"""Bring your own CRM: import other systems' data into the canonical tables.

``crmlib import MAPPING.yml [--url TARGET]`` on the command line; in Python:

>>> from crmlib.imports import run_import
>>> result = run_import("data/mappings/online_retail.yml", "sqlite:///data/mine.sqlite")  # doctest: +SKIP
>>> result.counts                                                                          # doctest: +SKIP

Modules: ``mapping`` (the YAML mapping file), ``sources`` (reading files and databases),
``standardise`` (phones, e-mails, countries, codes, names, dates), ``transform`` (source rows to
canonical records), ``rules`` (validation rules per table, pandera), ``dedup`` (duplicate
customers), ``load`` (the import run: ID map, quarantine, log), ``quality`` (data-quality
measures), ``examples`` (example source files), ``cli``. See docs/imports.md.
"""

from __future__ import annotations

__all__ = ["Deduplicator", "ImportResult", "MappingError", "check_rules", "load_mapping", "quality_report",
           "run_import"]

_WHERE = {
    "Deduplicator": "dedup", "ImportResult": "load", "run_import": "load", "MappingError": "mapping",
    "load_mapping": "mapping", "check_rules": "rules", "quality_report": "quality",
}


def __getattr__(name: str):
    """Import the public names lazily, so ``import crmlib.imports`` stays cheap."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
