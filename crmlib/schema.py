"""The canonical CRM schema (../shared/DESIGN.md) as SQLAlchemy Core metadata.

Names here are the contract between a database and the analyses: a CRM with other names is mapped
onto them, not the other way round. Every table has an integer primary key (or a composite one of
foreign keys), foreign keys are declared, and keys and timestamps are indexed.

Money is ``NUMERIC(12, 2)`` on real databases and ``REAL`` on SQLite, where NUMERIC affinity would
store 3.00 as the integer 3 and make a column's type depend on its values.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)

__all__ = [
    "CANONICAL_TABLES",
    "CATEGORICAL_COLUMNS",
    "DATE_COLUMNS",
    "TIME_COLUMN",
    "metadata",
    "table_columns",
]

metadata = MetaData()

Money = Numeric(12, 2).with_variant(Float(), "sqlite")
Rate = Numeric(6, 4).with_variant(Float(), "sqlite")


def _idx(table: Table, *columns: str) -> None:
    for col in columns:
        Index(f"ix_{table.name}_{col}", table.c[col])


customers = Table(
    "customers", metadata,
    Column("customer_id", Integer, primary_key=True),
    Column("salutation", String(16)),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("gender", String(16)),
    Column("birth_date", Date),
    Column("marital_status", String(16)),
    Column("anniversary_date", Date),
    Column("occupation", String(80)),
    Column("income_band", String(16)),
    Column("email", String(160)),
    Column("phone", String(40)),
    Column("street", String(160)),
    Column("city", String(80)),
    Column("region", String(40)),
    Column("postal_code", String(16)),
    Column("country", String(2)),
    Column("contact_preference", String(16)),
    Column("marketing_opt_in", Boolean),
    Column("acquisition_channel", String(32)),
    Column("acquisition_campaign_id", Integer, ForeignKey("campaigns.campaign_id")),
    Column("created_at", DateTime, nullable=False),
)
_idx(customers, "region", "created_at", "acquisition_campaign_id")

products = Table(
    "products", metadata,
    Column("product_id", Integer, primary_key=True),
    Column("sku", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("category", String(60), nullable=False),
    Column("subcategory", String(60), nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("unit_cost", Money, nullable=False),
    Column("price_band", String(16)),
)
_idx(products, "category")

channels = Table(
    "channels", metadata,
    Column("channel_id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("region", String(40)),
)

sales_reps = Table(
    "sales_reps", metadata,
    Column("rep_id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("region", String(40), nullable=False),
    Column("manager_id", Integer, ForeignKey("sales_reps.rep_id")),
)
_idx(sales_reps, "region", "manager_id")

rep_targets = Table(
    "rep_targets", metadata,
    Column("rep_id", Integer, ForeignKey("sales_reps.rep_id"), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("target_amount", Money, nullable=False),
)
_idx(rep_targets, "month")

campaigns = Table(
    "campaigns", metadata,
    Column("campaign_id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("cost", Money, nullable=False),
)
_idx(campaigns, "started_at")

orders = Table(
    "orders", metadata,
    Column("order_id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("channel_id", Integer, ForeignKey("channels.channel_id"), nullable=False),
    Column("rep_id", Integer, ForeignKey("sales_reps.rep_id")),
    Column("ordered_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
)
_idx(orders, "customer_id", "channel_id", "rep_id", "ordered_at")

order_lines = Table(
    "order_lines", metadata,
    Column("order_id", Integer, ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", Integer, ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("discount", Rate, nullable=False),
)
_idx(order_lines, "product_id")

invoices = Table(
    "invoices", metadata,
    Column("invoice_id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.order_id")),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("amount", Money, nullable=False),
)
_idx(invoices, "order_id", "customer_id", "issued_at", "due_at")

payments = Table(
    "payments", metadata,
    Column("payment_id", Integer, primary_key=True),
    Column("invoice_id", Integer, ForeignKey("invoices.invoice_id"), nullable=False),
    Column("paid_at", DateTime, nullable=False),
    Column("amount", Money, nullable=False),
    Column("method", String(32)),
)
_idx(payments, "invoice_id", "paid_at")

interactions = Table(
    "interactions", metadata,
    Column("interaction_id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("channel", String(32)),
    Column("kind", String(32), nullable=False),
    Column("outcome", String(32)),
)
_idx(interactions, "customer_id", "occurred_at")

service_tickets = Table(
    "service_tickets", metadata,
    Column("ticket_id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("category", String(40)),
    Column("priority", String(16)),
    Column("satisfaction", Integer),
)
_idx(service_tickets, "customer_id", "opened_at")

campaign_contacts = Table(
    "campaign_contacts", metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.campaign_id"), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), primary_key=True),
    Column("contacted_at", DateTime, nullable=False),
    Column("treatment", Boolean, nullable=False),
)
_idx(campaign_contacts, "customer_id", "contacted_at")

campaign_responses = Table(
    "campaign_responses", metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.campaign_id"), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), primary_key=True),
    Column("responded_at", DateTime, nullable=False),
    Column("converted", Boolean, nullable=False),
    Column("coupon_used", Boolean, nullable=False),
)
_idx(campaign_responses, "customer_id", "responded_at")

opportunities = Table(
    "opportunities", metadata,
    Column("opportunity_id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.customer_id"), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("amount", Money),
    Column("created_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Column("won", Boolean),
)
_idx(opportunities, "customer_id", "created_at")

#: Canonical table names in an order that respects foreign keys (parents first).
CANONICAL_TABLES: tuple[str, ...] = tuple(t.name for t in metadata.sorted_tables)

#: Date and timestamp columns per table, parsed on load.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns if isinstance(c.type, (Date, DateTime)))
    for t in metadata.sorted_tables
}


#: Low-cardinality text columns, loaded as pandas categoricals.
CATEGORICAL_COLUMNS: frozenset[tuple[str, str]] = frozenset({
    ("customers", c) for c in ("salutation", "gender", "marital_status", "occupation", "income_band",
                               "city", "region", "country", "contact_preference", "acquisition_channel")
} | {
    ("products", "category"), ("products", "subcategory"), ("products", "price_band"),
    ("channels", "kind"), ("channels", "region"), ("sales_reps", "region"),
    ("orders", "status"), ("payments", "method"),
    ("interactions", "channel"), ("interactions", "kind"), ("interactions", "outcome"),
    ("service_tickets", "category"), ("service_tickets", "priority"),
    ("campaigns", "channel"), ("opportunities", "stage"),
})

#: The column that ``since`` / ``until`` filter on, per table (order_lines go through orders).
TIME_COLUMN: dict[str, str] = {
    "customers": "created_at",
    "rep_targets": "month",
    "campaigns": "started_at",
    "orders": "ordered_at",
    "invoices": "issued_at",
    "payments": "paid_at",
    "interactions": "occurred_at",
    "service_tickets": "opened_at",
    "campaign_contacts": "contacted_at",
    "campaign_responses": "responded_at",
    "opportunities": "created_at",
}


def table_columns(table: str) -> list[str]:
    """The canonical column names of ``table``, in schema order."""
    return [c.name for c in metadata.tables[table].columns]


