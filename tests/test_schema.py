import sqlalchemy as sa

from crmlib import schema as S

DESIGN_COLUMNS = {  # ../shared/DESIGN.md, "Canonical CRM schema"
    "customers": "customer_id salutation first_name last_name gender birth_date marital_status anniversary_date "
                 "occupation income_band email phone street city region postal_code country contact_preference "
                 "marketing_opt_in acquisition_channel acquisition_campaign_id created_at",
    "products": "product_id sku name category subcategory unit_price unit_cost price_band",
    "channels": "channel_id name kind region",
    "sales_reps": "rep_id name region manager_id",
    "rep_targets": "rep_id month target_amount",
    "orders": "order_id customer_id channel_id rep_id ordered_at status",
    "order_lines": "order_id line_no product_id quantity unit_price discount",
    "invoices": "invoice_id order_id customer_id issued_at due_at amount",
    "payments": "payment_id invoice_id paid_at amount method",
    "interactions": "interaction_id customer_id occurred_at channel kind outcome",
    "service_tickets": "ticket_id customer_id opened_at closed_at category priority satisfaction",
    "campaigns": "campaign_id name channel started_at ended_at cost",
    "campaign_contacts": "campaign_id customer_id contacted_at treatment",
    "campaign_responses": "campaign_id customer_id responded_at converted coupon_used",
    "opportunities": "opportunity_id customer_id stage amount created_at closed_at won",
}


def test_metadata_has_every_design_table_and_column():
    assert set(S.CANONICAL_TABLES) == set(DESIGN_COLUMNS)
    for table, cols in DESIGN_COLUMNS.items():
        assert S.table_columns(table) == cols.split(), table


def test_every_table_has_a_primary_key_and_key_indexes():
    for table in S.metadata.sorted_tables:
        assert table.primary_key.columns, table.name
        indexed = {c.name for ix in table.indexes for c in ix.columns} | {c.name for c in table.primary_key}
        for fk in table.foreign_keys:
            assert fk.parent.name in indexed, f"{table.name}.{fk.parent.name} is not indexed"
        for col in S.DATE_COLUMNS[table.name]:
            if col in S.TIME_COLUMN.values() and S.TIME_COLUMN.get(table.name) == col:
                assert col in indexed, f"{table.name}.{col} is not indexed"


def _check_created(url):
    engine = sa.create_engine(url)
    insp = sa.inspect(engine)
    for table, cols in DESIGN_COLUMNS.items():
        assert [c["name"] for c in insp.get_columns(table)] == cols.split()
    fks = {(fk["referred_table"], tuple(fk["constrained_columns"])) for fk in insp.get_foreign_keys("order_lines")}
    assert ("orders", ("order_id",)) in fks and ("products", ("product_id",)) in fks
    assert insp.get_pk_constraint("order_lines")["constrained_columns"] == ["order_id", "line_no"]
    assert any(ix["column_names"] == ["ordered_at"] for ix in insp.get_indexes("orders"))
    engine.dispose()


def test_schema_created_on_sqlite(small_url):
    _check_created(small_url)


def test_schema_created_on_postgresql(pg_url):
    _check_created(pg_url)
