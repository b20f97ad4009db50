"""Shared set-up of the audience, audit and erasure tests: one real run with three audiences.

The ``people`` fixture notebook shows the first customers of the session's sample database by
name, e-mail and phone and publishes them as lists; ``ok`` is a report without lists. The run is
made once per session (kernel start-up dominates) and only read, or copied, afterwards.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from report_support import copy_notebooks

AUDIENCES = """\
audiences:
  board:                  # masked, sees only ok, no lists
    reports: [ok]
    lists: none
  sales:                  # masked, sees people with one of its lists and the executed notebook
    reports: [people]
    mask_pii: true
    lists: [contacts]
    notebooks: true
  service:                # unmasked, sees both, every list, the notebooks
    description: Customer service <b>team</b>
    reports: [people, ok]
    mask_pii: false
    lists: all
    notebooks: true
"""
PEOPLE = 25  # the people notebook's default n


@dataclass
class AudienceRun:
    root: Path
    notebooks: Path
    reports: Path
    audiences: Path
    results: list
    db_url: str

    def people(self, n: int = PEOPLE) -> list[tuple]:
        """(customer_id, first_name, last_name, email, phone) of the customers the notebook shows."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as con:
                return [tuple(r) for r in con.execute(sa.text(
                    "SELECT customer_id, first_name, last_name, email, phone FROM customers "
                    "ORDER BY customer_id LIMIT :n"), {"n": n})]
        finally:
            engine.dispose()


def personal_hits(folder: Path, people) -> list[str]:
    """Files under ``folder`` holding one of ``people``'s e-mail addresses, phone numbers or last
    names as a table cell / CSV field (Parquet files are read)."""
    import pandas as pd

    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).to_csv(index=False)
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        for _, _, last, email, phone in people:
            if email in text or phone in text or f">{last}<" in text or f",{last}," in text:
                hits.append(str(path.relative_to(folder)))
                break
    return hits


@functools.lru_cache(maxsize=1)
def _run(root: str) -> AudienceRun:
    from crmlib.report.runner import run_reports

    root = Path(root)
    notebooks = copy_notebooks(root / "notebooks", ("ok", "people"))
    audiences = root / "audiences.yml"
    audiences.write_text(AUDIENCES, encoding="utf-8")
    reports = root / "reports"
    results = run_reports(["all"], notebooks_dir=notebooks, reports_dir=reports, progress=False,
                          timeout=120, audiences=audiences)
    return AudienceRun(root, notebooks, reports, audiences, results, os.environ["CRMLIB_DB_URL"])


def audience_run(tmp_path_factory) -> AudienceRun:
    """The session's run (made on first use)."""
    base = getattr(audience_run, "_base", None)
    if base is None:
        base = audience_run._base = str(tmp_path_factory.mktemp("audiences"))
    return _run(base)
