"""Suppliers, purchase orders, the acceptance policy of a SKU, promised and told dates

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backorder.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = backorder.store.types.UtcDateTime(timezone=True)
INBOUND = "received + cancelled < ordered"


def upgrade() -> None:
    op.add_column("products", sa.Column("supplier_id", sa.String(length=64), nullable=True))
    op.add_column(
        "products",
        sa.Column(
            "require_known_date", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column("products", sa.Column("max_lead_days", sa.Integer(), nullable=True))
    op.add_column("products", sa.Column("min_on_time_percent", sa.Integer(), nullable=True))
    op.add_column("order_lines", sa.Column("promised", sa.Date(), nullable=True))
    op.add_column("order_lines", sa.Column("eta_told", sa.Date(), nullable=True))
    # What a customer was told before this release: the date on the line.
    op.execute("UPDATE order_lines SET promised = eta, eta_told = eta WHERE backordered > 0")
    op.create_table(
        "suppliers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("orders_completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("orders_on_time", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_suppliers_lead_time_not_negative")),
        sa.CheckConstraint(
            "orders_on_time >= 0 AND orders_on_time <= orders_completed",
            name=op.f("ck_suppliers_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'received', 'cancelled')",
            name=op.f("ck_purchase_orders_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_purchase_orders_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("ref", name=op.f("uq_purchase_orders_ref")),
    )
    op.create_table(
        "po_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("po_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("first_expected_on", sa.Date(), nullable=False),
        sa.Column("last_received_at", WHEN, nullable=True),
        sa.CheckConstraint(
            "ordered > 0 AND received >= 0 AND cancelled >= 0 AND received + cancelled <= ordered",
            name=op.f("ck_po_lines_quantities"),
        ),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name=op.f("fk_po_lines_po_id_purchase_orders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_po_lines_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_lines")),
        sa.UniqueConstraint("po_id", "product_id", name="uq_po_lines_po_product"),
    )
    op.create_index(
        "ix_po_lines_inbound",
        "po_lines",
        ["product_id", "expected_on", "id"],
        sqlite_where=sa.text(INBOUND),
        postgresql_where=sa.text(INBOUND),
    )


def downgrade() -> None:
    op.drop_index("ix_po_lines_inbound", table_name="po_lines")
    op.drop_table("po_lines")
    op.drop_table("purchase_orders")
    op.drop_table("suppliers")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("eta_told")
        batch.drop_column("promised")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("min_on_time_percent")
        batch.drop_column("max_lead_days")
        batch.drop_column("require_known_date")
        batch.drop_column("supplier_id")
