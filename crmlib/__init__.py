"""crmlib: load a CRM customer database into typed pandas DataFrames and mine it.

>>> import crmlib
>>> crm = crmlib.connect()            # doctest: +SKIP
>>> orders = crm.orders(since="2025-01-01")  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "connect"]


def connect(url: str | None = None, **kwargs):
    """Open the CRM database read-only; see :func:`crmlib.db.connect`."""
    from .db import connect as _connect  # imported lazily: ``import crmlib`` stays cheap

    return _connect(url, **kwargs)
