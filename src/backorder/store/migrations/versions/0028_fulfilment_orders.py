"""Fulfilment at 3PLs: where a location takes its shipping orders (URL, format, signing
secret), the shipping orders sent to it (each document kept as sent, so a retry resends the
same bytes), and the sender's shipment id on a shipment a 3PL confirmed (a second
confirmation of the same shipment ships nothing). Nothing to fill in for old rows: a
location without a URL is sent nothing, a shipment made by hand has no sender's id.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backorder.store.types import UtcDateTime

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Payload = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # plain ADD COLUMN on both backends (SQLite's copy of a table would trip its triggers)
    op.add_column("locations", sa.Column("orders_url", sa.String(2000), nullable=True))
    op.add_column("locations", sa.Column("orders_format", sa.String(16), nullable=True))
    op.add_column("locations", sa.Column("orders_secret", sa.String(200), nullable=True))
    op.add_column("shipments", sa.Column("reference", sa.String(128), nullable=True))
    op.create_index(
        "ix_shipments_confirmed", "shipments", ["order_id", "location_id", "reference"], unique=True
    )
    op.create_table(
        "shipping_orders",
        sa.Column("id", Id, nullable=False),
        sa.Column("number", sa.String(200), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("lines", Payload, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipping_orders_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_shipping_orders_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_shipping_orders_number")),
        sa.UniqueConstraint("message_id", name=op.f("uq_shipping_orders_message_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_shipping_orders_order", "shipping_orders", ["order_id", "location_id"])
    # shipping orders are planned from the allocations written from now on, not the history
    op.execute(
        "INSERT INTO event_consumers (name, position, updated_at) "
        "SELECT 'shipping_orders', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM events"
    )


def downgrade() -> None:
    op.execute("DELETE FROM event_consumers WHERE name = 'shipping_orders'")
    op.drop_index("ix_shipping_orders_order", table_name="shipping_orders")
    op.drop_table("shipping_orders")
    op.drop_index("ix_shipments_confirmed", table_name="shipments")
    op.drop_column("shipments", "reference")
    op.drop_column("locations", "orders_secret")
    op.drop_column("locations", "orders_format")
    op.drop_column("locations", "orders_url")
