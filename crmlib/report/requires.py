"""What a report needs from the database, checked before its kernel starts.

Each notebook declares the canonical tables it cannot do without in its metadata::

    "metadata": {"crmlib": {"requires": ["invoices", "payments", "customers"]}, ...}

(in JupyterLab: Property Inspector -> Notebook metadata). ``crmlib run`` looks at those tables
before it starts the notebook's kernel. When one is missing or has no rows, the report does not
apply to this database: a retail export imported with ``crmlib import`` has orders but no invoices,
so the payment-default report has nothing to say. That run is recorded with the status
``not applicable`` and the reason; it is not a failure (no ``on_failure`` alert, exit code 0), and
the report's last good page, if any, stays published, marked in the index as not refreshed.

A notebook without the key is always run; ``requires: []`` says it works on any database.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import schema as S
from ..errors import CrmlibError

__all__ = ["missing_data", "notebook_requires"]


def notebook_requires(notebook: str | Path) -> list[str] | None:
    """The tables ``notebook`` declares in ``metadata.crmlib.requires``, or None if it declares none.

    Raises
    ------
    CrmlibError
        The declaration is not a list of canonical table names.
    """
    path = Path(notebook)
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("crmlib", {})
    if "requires" not in meta:
        return None
    tables = meta["requires"]
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise CrmlibError(f"notebook '{path.stem}': metadata crmlib.requires must be a list of table "
                          f"names; got {tables!r}.")
    unknown = sorted(set(tables) - set(S.CANONICAL_TABLES))
    if unknown:
        raise CrmlibError(f"notebook '{path.stem}': metadata crmlib.requires names {unknown}, which are "
                          f"not canonical tables; canonical tables are {sorted(S.CANONICAL_TABLES)}.")
    return list(tables)


def missing_data(url: str | None, tables: list[str]) -> str | None:
    """Why the database at ``url`` cannot feed a report that needs ``tables``, or None if it can.

    Only reads: each table's existence and whether it has a row. A database that cannot be opened
    returns None: the report then runs and fails with the real error, which is a failure.

    >>> missing_data("sqlite:////nonexistent/crm.sqlite", ["orders"]) is None
    True
    """
    if not tables:
        return None
    import sqlalchemy as sa

    from ..db import connect
    from ..errors import DatabaseUnavailableError

    try:
        crm = connect(url)
    except DatabaseUnavailableError:
        return None
    try:
        present = set(crm.tables())
        absent = [t for t in tables if t not in present]
        empty = []
        with crm.engine.connect() as conn:
            for t in tables:
                if t in present and conn.execute(
                        sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first() is None:
                    empty.append(t)
    finally:
        crm.close()
    if not absent and not empty:
        return None
    parts = []
    if empty:
        parts.append(f"no rows in {', '.join(empty)}")
    if absent:
        parts.append(f"no table {', '.join(absent)}")
    return f"the database has {' and '.join(parts)} (the report needs {', '.join(tables)})"
