"""Erasure on request: ``crmlib forget CUSTOMER_ID ...``.

What it does, in every file under the reports folder (the main reports, their run history, the
runs made again for audiences in ``.audiences/`` and every audience site):

1. **Lists** (``*.csv``, ``*.parquet`` with a ``customer_id`` column): the customers' rows are
   removed; the manifests (``lists.json``, ``summary.json``, ``latest.json``, a site's
   ``about.json``) and the pages' "Lists to download" tables get the new row counts.
2. **Pages and executed notebooks** (``*.html``, ``*.ipynb``): every table row whose
   customer-id cell (a column or the row label named in :data:`ID_COLUMNS` or ending in
   ``customer_id``) is one of the customers is dropped, in an interactive table's JSON rows too;
   in a notebook the output's plain-text twin of a changed table is replaced by a note. When the source
   database can be read, the customers' full names, e-mail addresses and phone numbers are
   replaced by ``[erased]`` wherever they still appear (prose, logs, tables without a
   customer_id). The indexes are rebuilt.
3. **The audit log** gets one ``forget`` line: user, host, times, status, the *number* of
   customers, the request's ``--reference``, rows removed and the SHA-256 of every file changed.
   The ids themselves are not written: customer ids are small integers, so even a hash of one is
   reversed by hashing every possible id; the reference links the line to the request record
   kept where such records belong.

The source database is only read (for the names to redact), never written: erasing the customer
in the CRM is the CRM's job. Until it is done there, the next run publishes the customer again.
Each report's lock is held while its files are rewritten, so no run publishes meanwhile.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import html as _html
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import redact_url
from ..errors import CrmlibError, ParameterError
from . import audit, store

__all__ = ["ID_COLUMNS", "ForgetResult", "forget", "redact_html"]

ERASED = "[erased]"
#: Table columns (lower case) that hold a customer id: ``customer_id`` (also as a suffix) and the
#: duplicate pairs of the data-quality report (``left_id``, ``right_id``).
ID_COLUMNS = frozenset({"customer_id", "left_id", "right_id"})
NOTE = "[output removed on an erasure request]"
_SKIP_DIRS = {store.LOCKS}
_TABLE = re.compile(r"<table\b.*?</table>", re.S | re.I)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_THEAD = re.compile(r"<thead\b.*?</thead>", re.S | re.I)
_LISTS_TABLE = re.compile(r'(<table class="crmlib-lists-table">)(.*?)(</table>)', re.S)


@dataclass
class ForgetResult:
    """What :func:`forget` changed."""

    customers: int
    rows_removed: int = 0
    files: dict[str, str] = field(default_factory=dict)  # changed file -> new sha256
    database_read: bool = False
    scores_removed: int | None = None  # rows deleted from customer_scores (with scores_db)

    def lines(self) -> list[str]:
        out = [f"forgot {self.customers} customer(s): {self.rows_removed:,} list row(s) removed, "
               f"{len(self.files)} file(s) changed."]
        if self.scores_removed is not None:
            out.append(f"customer_scores: {self.scores_removed:,} row(s) deleted.")
        if not self.database_read:
            out.append("note: the source database could not be read; names and e-mail addresses "
                       "outside the customers' table rows were not searched for.")
        out.append("The source database is unchanged: erase the customers in the CRM too, or "
                   "the next run publishes them again.")
        return out


def _ids(values: Iterable) -> set[str]:
    ids = set()
    for value in values:
        text = str(value).strip()
        if not re.fullmatch(r"\d+", text):
            raise ParameterError(f"crmlib forget: a customer id must be a whole number; got "
                                 f"{value!r}.", name="customer_ids")
        ids.add(str(int(text)))
    if not ids:
        raise ParameterError("crmlib forget: give at least one customer id.", name="customer_ids")
    return ids


def _cell_text(cell: str) -> str:
    return _html.unescape(_TAG.sub("", cell)).strip().replace(",", "").replace("\u202f", "")


def _id_positions(table: str) -> set[int]:
    """Column positions of ``customer_id`` in the header rows of ``table``."""
    head = _THEAD.search(table)
    rows = _ROW.findall(head.group(0)) if head else _ROW.findall(table)[:1]
    positions = set()
    for row in rows:
        for i, (_, cell) in enumerate(_CELL.findall(row)):
            name = _cell_text(cell).lower()
            if name in ID_COLUMNS or name.endswith("customer_id"):
                positions.add(i)
    return positions


def _drop_rows(table: str, ids: set[str], people: list[tuple[str, str]]) -> tuple[str, int]:
    positions = _id_positions(table)
    head = _THEAD.search(table)
    dropped = 0

    def keep(m: re.Match) -> str:
        nonlocal dropped
        row = m.group(0)
        if head and head.start() <= m.start() < head.end():
            return row
        cells = [_cell_text(c) for _, c in _CELL.findall(row)]
        if any(i < len(cells) and cells[i] in ids for i in positions) or any(
                first in cells and last in cells for first, last in people):
            dropped += 1
            return ""
        return row

    return _ROW.sub(keep, table), dropped


def redact_html(text: str, ids: set[str], *, people: list[tuple[str, str]] = (),
                strings: Iterable[str] = ()) -> tuple[str, int]:
    """``text`` without the table rows of the customers ``ids`` and with ``strings`` replaced.

    Parameters
    ----------
    text : str
        HTML (a page or a notebook output).
    ids : set of str
        Customer ids as text, without thousands separators.
    people : list of (str, str), default=()
        (first name, last name) pairs: a row holding both as cells is dropped too.
    strings : iterable of str, default=()
        Replaced by ``[erased]`` anywhere (full names, e-mail addresses, phone numbers).

    Returns
    -------
    (str, int)
        The new text and the number of rows dropped.
    """
    total = 0

    def table(m: re.Match) -> str:
        nonlocal total
        new, n = _drop_rows(m.group(0), ids, list(people))
        total += n
        return new

    text = _TABLE.sub(table, text)

    def interactive(m: re.Match) -> str:
        nonlocal total
        new, n = _drop_itables_rows(m, ids, list(people))
        total += n
        return new

    text = _ITABLES_DATA.sub(interactive, text)
    for s in strings:
        for form in {s, _html.escape(s)}:
            text = text.replace(form, ERASED)
    return text, total


# An interactive table (present.show_table(interactive=True), itables) keeps its rows as a JSON
# string in the script's arguments, next to its header as "table_html": neither is a <tr>.
_ITABLES_DATA = re.compile(r'("data_json": )("(?:[^"\\]|\\.)*")(,\s*(?:"[a-z_]+": [^\n]*,\s*)*?'
                           r'"table_html": )("(?:[^"\\]|\\.)*")')


def _drop_itables_rows(m: re.Match, ids: set[str], people: list[tuple[str, str]]) -> tuple[str, int]:
    try:
        rows = json.loads(json.loads(m.group(2)))
        header = json.loads(m.group(4))
    except ValueError:
        return m.group(0), 0
    positions = _id_positions(header)

    def shown(cell) -> str:  # a formatted number is a [text, value] pair
        return _cell_text(str(cell[0] if isinstance(cell, list) and cell else cell))

    kept = []
    for row in rows:
        cells = [shown(c) for c in row] if isinstance(row, list) else []
        if any(i < len(cells) and cells[i] in ids for i in positions) or any(
                first in cells and last in cells for first, last in people):
            continue
        kept.append(row)
    if len(kept) == len(rows):
        return m.group(0), 0
    return m.group(1) + json.dumps(json.dumps(kept)) + m.group(3) + m.group(4), len(rows) - len(kept)


# ------------------------------------------------------------------------------------- lists

def _filter_parquet(path: Path, ids: set[str]) -> int:
    import pandas as pd

    frame = pd.read_parquet(path)
    if "customer_id" not in frame.columns:
        return 0
    drop = frame["customer_id"].map(lambda v: str(v).split(".")[0] if v is not None else "").isin(ids)
    if not drop.any():
        return 0
    buffer = io.BytesIO()
    frame[~drop].reset_index(drop=True).to_parquet(buffer, index=False)
    store.write_atomic(path, buffer.getvalue())
    return int(drop.sum())


def _filter_csv(path: Path, ids: set[str]) -> int:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or "customer_id" not in rows[0]:
        return 0
    col = rows[0].index("customer_id")
    kept = [rows[0]] + [r for r in rows[1:] if not (col < len(r) and r[col].strip() in ids)]
    removed = len(rows) - len(kept)
    if removed:
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n").writerows(kept)
        store.write_atomic(path, ("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode("utf-8"))
    return removed


def _rows(parquet: Path) -> int | None:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(parquet).metadata.num_rows
    except (OSError, ValueError):
        return None


def _list_folder(json_path: Path, doc: dict) -> Path:
    """Where the list files named in a manifest-bearing JSON file live."""
    if json_path.name in ("latest.json",) and doc.get("run_id"):
        return json_path.parent / "lists" / str(doc["run_id"])
    if json_path.name == "lists.json":
        return json_path.parent
    if json_path.name == "about.json":
        return json_path.parent
    return json_path.parent  # summary.json: files are 'lists/NAME.csv' relative to the run


def _update_counts(path: Path) -> bool:
    """New ``rows`` for the list entries of a JSON file, from the Parquet files beside it."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    entries = doc if isinstance(doc, list) else doc.get("lists") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return False
    base = _list_folder(path, doc if isinstance(doc, dict) else {})
    changed = False
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        parquet = (base / f"{entry['name']}.parquet") if path.name in ("lists.json", "latest.json") \
            else base / str((entry.get("files") or {}).get("parquet", ""))
        n = _rows(parquet) if parquet.is_file() else None
        if n is not None and n != entry.get("rows"):
            entry["rows"] = n
            changed = True
    if changed:
        store.write_atomic(path, json.dumps(doc, indent=2, default=str))
    return changed


def _update_page_counts(path: Path, text: str) -> str:
    """The "Lists to download" table of a page with the row counts of the files it links."""
    def table(m: re.Match) -> str:
        def row(r: re.Match) -> str:
            href = re.search(r'href="([^"]+)\.csv"', r.group(0))
            if not href:
                return r.group(0)
            n = _rows(path.parent / f"{href.group(1)}.parquet")
            if n is None:
                return r.group(0)
            return re.sub(r'(<td class="num">)[\d,]+(</td>)', lambda c: f"{c.group(1)}{n:,}{c.group(2)}",
                          r.group(0), count=1)
        return m.group(1) + _ROW.sub(row, m.group(2)) + m.group(3)

    return _LISTS_TABLE.sub(table, text)


# ------------------------------------------------------------------------------------ notebooks

def _redact_notebook(path: Path, ids, people, strings) -> int:
    nb = json.loads(path.read_text(encoding="utf-8"))
    dropped = 0

    def fix(text, *, is_html):
        nonlocal dropped
        if isinstance(text, list):
            text = "".join(text)
        if is_html:
            new, n = redact_html(text, ids, people=people, strings=strings)
            dropped += n
            return new, n
        for s in strings:
            text = text.replace(s, ERASED)
        return text, 0

    changed = False
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            html_rows = 0
            for mime in list(data):
                value = data[mime]
                if not isinstance(value, (str, list)):
                    continue
                original = "".join(value) if isinstance(value, list) else value
                new, n = fix(value, is_html=mime == "text/html")
                html_rows += n
                if new != original:
                    data[mime] = new
                    changed = True
            if html_rows and "text/plain" in data:
                data["text/plain"] = NOTE
            if "text" in out:
                original = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
                new, _ = fix(out["text"], is_html=False)
                if new != original:
                    out["text"] = new
                    changed = True
    if changed:
        store.write_atomic(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return dropped if changed else -1


# ---------------------------------------------------------------------------------------- main

def _people(ids: set[str], db_url: str | None) -> tuple[list[tuple[str, str]], list[str], bool]:
    """(first, last) pairs and the strings to redact, read from the source (read-only)."""
    from .. import db

    try:
        with db.connect(db_url) as crm:
            customers = crm.customers(["customer_id", "first_name", "last_name", "email", "phone"])
    except Exception:  # unreachable or not a CRM: redaction by customer_id only
        return [], [], False
    mine = customers[customers["customer_id"].astype(str).isin(ids)]
    people, strings = [], set()
    for row in mine.itertuples(index=False):
        first, last = (str(row.first_name or "").strip(), str(row.last_name or "").strip())
        if first and last:
            people.append((first, last))
            strings.update({f"{first} {last}", f"{last}, {first}"})
        for value in (row.email, row.phone):
            if isinstance(value, str) and len(value.strip()) >= 5:
                strings.add(value.strip())
    return people, sorted(strings, key=len, reverse=True), True


def _files(reports_dir: Path):
    for root, dirs, files in os.walk(reports_dir):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".tmp")]
        for name in files:
            if not name.startswith("."):
                yield Path(root) / name


@contextlib.contextmanager
def _all_locks(reports_dir: Path, timeout: float):
    from filelock import FileLock, Timeout

    names = set(store.list_reports(reports_dir))
    trees = reports_dir / ".audiences"
    if trees.is_dir():
        for tree in trees.iterdir():
            names |= {(tree, n) for n in store.list_reports(tree)}
    names |= {(reports_dir, f"site-{p.name}") for p in reports_dir.iterdir() if _is_site(p)} \
        if reports_dir.is_dir() else set()
    held = []
    try:
        for name in sorted(names, key=str):
            folder, report = (name if isinstance(name, tuple) else (reports_dir, name))
            lock = FileLock(str(store.lock_path(folder, report)), timeout=timeout)
            try:
                lock.acquire()
            except Timeout as err:
                raise CrmlibError(f"crmlib forget: '{report}' is being published; try again when "
                                  f"it has finished.") from err
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


def _forget_scores(url: str, ids: set[str], source: str | None) -> int:
    """Delete the customers' rows from ``customer_scores`` in the scores database (ours, never the
    source: :func:`crmlib.report.scores.check_target` refuses it); one transaction."""
    import sqlalchemy as sa

    from .scores import TABLE, check_target

    check_target(url, source)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as con:
            if not sa.inspect(con).has_table(TABLE):
                return 0
            table = sa.Table(TABLE, sa.MetaData(), autoload_with=con)
            done = con.execute(table.delete().where(table.c.customer_id.in_(sorted(int(i) for i in ids))))
            return int(done.rowcount or 0)
    except sa.exc.SQLAlchemyError as err:
        raise CrmlibError(f"crmlib forget: the scores database cannot be updated: "
                          f"{' '.join(str(err).split())[:200]}") from err
    finally:
        engine.dispose()


def forget(customer_ids: Iterable, *, reports_dir: str | Path, db_url: str | None = None,
           reference: str | None = None, scores_db: str | None = None,
           lock_timeout: float = 120.0) -> ForgetResult:
    """Erase customers from everything published under ``reports_dir`` (see the module docstring).

    Parameters
    ----------
    customer_ids : iterable of int or str
    reports_dir : str or Path
    db_url : str, optional
        The source database, read to find the customers' names, e-mail and phone (default: the
        default database). Unreachable: only the rows identified by customer_id are removed.
    reference : str, optional
        The request's reference for the audit log (a ticket number, not personal data).
    scores_db : str, optional
        The database ``crmlib run --scores-to`` writes: the customers' rows of
        ``customer_scores`` are deleted there too (never the source database).
    lock_timeout : float, default=120
        Seconds to wait for a running report to finish.

    Returns
    -------
    ForgetResult

    Raises
    ------
    ParameterError
        An id that is not a whole number.
    CrmlibError
        A report still running after ``lock_timeout``.
    """
    ids = _ids(customer_ids)
    reports_dir = Path(reports_dir)
    started = _dt.datetime.now(_dt.UTC)
    if scores_db:
        from .scores import check_target

        check_target(scores_db, db_url)  # before anything changes
    people, strings, read = _people(ids, db_url)
    result = ForgetResult(customers=len(ids), database_read=read)
    changed: set[Path] = set()
    status = "ok"
    try:
        with _all_locks(reports_dir, lock_timeout):
            files = [f for f in _files(reports_dir) if f.name != audit.AUDIT_FILE]
            for f in files:  # lists first: the counts below are read from them
                if f.suffix == ".parquet":
                    n = _filter_parquet(f, ids)
                elif f.suffix == ".csv":
                    n = _filter_csv(f, ids)
                else:
                    continue
                if n:
                    result.rows_removed += n if f.suffix == ".parquet" else 0
                    changed.add(f)
            for f in files:
                if f.suffix == ".json" and _update_counts(f):
                    changed.add(f)
                elif f.suffix == ".html" and f.name != "index.html":
                    text = f.read_text(encoding="utf-8")
                    new, _ = redact_html(text, ids, people=people, strings=strings)
                    new = _update_page_counts(f, new)
                    if new != text:
                        store.write_atomic(f, new)
                        changed.add(f)
                elif f.suffix == ".ipynb" and _redact_notebook(f, ids, people, strings) >= 0:
                    changed.add(f)
        _rebuild_indexes(reports_dir)
        if scores_db:
            result.scores_removed = _forget_scores(scores_db, ids, db_url)
    except BaseException:
        status = "failed"
        raise
    finally:
        result.files = audit.file_hashes(reports_dir, sorted(changed))
        audit.append(reports_dir, {
            "event": "forget", "report": None, **audit.who(),
            "started": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "ended": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "status": status, "customers": result.customers, "reference": reference,
            "rows_removed": result.rows_removed, "database_read": read, "parameters": {},
            "scores_db": redact_url(scores_db) if scores_db else None,
            "scores_removed": result.scores_removed,
            "sites": sorted({p.relative_to(reports_dir).parts[0] for p in changed
                             if _is_site(reports_dir / p.relative_to(reports_dir).parts[0])}),
            "files": result.files,
        })
    return result


def _is_site(folder: Path) -> bool:
    from .audiences import SITE_META

    return folder.is_dir() and (folder / SITE_META).is_file()


def _rebuild_indexes(reports_dir: Path) -> None:
    from .audiences import SITE_META, Audience, build_site_index
    from .index import build_index

    if (reports_dir / store.RUNS).is_dir():
        build_index(reports_dir)
    for site in reports_dir.iterdir():
        if not _is_site(site):
            continue
        meta = json.loads((site / SITE_META).read_text(encoding="utf-8"))
        build_site_index(Audience(name=site.name, reports=tuple(meta.get("reports") or ()),
                                  mask_pii=meta.get("mask_pii", True) is not False,
                                  description=meta.get("description") or ""), site)
