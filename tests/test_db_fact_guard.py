"""The fact-load guard (crmlib.db.check_fact_load): with CRMLIB_FORBID_FACT_LOADS=1 no fact table
comes into pandas, through an accessor, Crm.load or crmlib.mart.read; dimensions still load."""

from __future__ import annotations

import pytest

from crmlib import db, mart
from crmlib.errors import CrmlibError

FACTS = sorted(db.FACT_TABLES)


@pytest.fixture
def guarded(monkeypatch):
    monkeypatch.setenv(db.FORBID_FACT_LOADS_ENV, "1")


@pytest.mark.parametrize("table", FACTS)
def test_every_fact_loader_raises_naming_the_table(guarded, small_url, table):
    expected = (rf"loading the fact table '{table}' into pandas is forbidden on this run "
                rf"\(CRMLIB_FORBID_FACT_LOADS=1, set for a report run on Spark\): read "
                rf"eng\.table\('{db.FACT_TABLES[table]}'\) on Spark instead")
    with db.connect(small_url) as crm:
        with pytest.raises(CrmlibError, match=expected):
            getattr(crm, table)()
        with pytest.raises(CrmlibError, match=rf"Crm\.load: {expected}"):
            crm.load(table, columns=None)


def test_the_accessors_cover_every_fact_of_the_schema():
    from crmlib import schema
    from crmlib.mart import FACTS

    assert set(db.FACT_TABLES) <= set(schema.CANONICAL_TABLES)
    assert set(db.FACT_TABLES.values()) == set(FACTS)  # every fact of the mart is guarded


@pytest.mark.parametrize("table", sorted(db.FACT_TABLES.values()))
def test_mart_read_of_a_fact_raises(guarded, small_mart, table):
    with pytest.raises(CrmlibError, match=rf"mart\.read: loading the fact table '{table}' .*"
                                          rf"eng\.table\('{table}'\)"):
        mart.read(small_mart, table)


def test_dimensions_still_load_and_the_guard_is_off_by_default(small_url, small_mart, monkeypatch):
    monkeypatch.setenv(db.FORBID_FACT_LOADS_ENV, "1")
    with db.connect(small_url) as crm:
        assert len(crm.products()) and len(crm.customers(["customer_id"]))
    assert len(mart.read(small_mart, "dim_product"))
    for off in ("", "0", "false"):
        monkeypatch.setenv(db.FORBID_FACT_LOADS_ENV, off)
        with db.connect(small_url) as crm:
            assert len(crm.orders(["order_id"]))
    monkeypatch.delenv(db.FORBID_FACT_LOADS_ENV)
    assert len(mart.read(small_mart, "fact_sales", columns=["order_id"]))
