"""What the KPIs and the weekly report read: when a line first waited, how many units a
cancellation took out of the queue, indexes by time for the tables a date range filters; and
the weekly reports published

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backorder.store.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The intake's refusals as they were when this migration was written: their cancellations
# never took a unit out of the queue.
REFUSALS = (
    "not_backorderable",
    "discontinued",
    "over_customer_limit",
    "over_backorder_cap",
    "backorder_window_closed",
    "no_known_date",
    "lead_time_too_long",
    "supplier_unreliable",
    "refused",
)


def upgrade() -> None:
    # Plain ADD COLUMN, which SQLite does in place: a batch copy of a table that other
    # tables' rows refer to would fail on its DROP TABLE under foreign keys.
    op.add_column(
        "order_lines",
        sa.Column("backordered_at", backorder.store.types.UtcDateTime(timezone=True)),
    )
    op.add_column(
        "cancellations",
        sa.Column("from_backordered", sa.Integer(), nullable=False, server_default="0"),
    )
    refusals = ", ".join(f"'{reason}'" for reason in REFUSALS)
    # Cancellations after intake took their units from the queue first, then from stock.
    op.execute(
        "UPDATE cancellations SET from_backordered = units - from_allocated "
        f"WHERE reason NOT IN ({refusals})"
    )
    # A line that waited: one waiting now, or served or cancelled from the queue. Its wait
    # began at intake (lines sent back to the queue by a count are dated from intake too).
    op.execute(
        "UPDATE order_lines SET backordered_at = "
        "(SELECT received_at FROM orders WHERE orders.id = order_lines.order_id) "
        "WHERE backordered > 0 "
        "OR EXISTS (SELECT 1 FROM allocations a WHERE a.line_id = order_lines.id "
        "AND a.source <> 'intake') "
        "OR EXISTS (SELECT 1 FROM cancellations c WHERE c.line_id = order_lines.id "
        "AND c.from_backordered > 0)"
    )
    op.add_column(
        "shipment_lines",
        sa.Column("allocated", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "shipments",
        sa.Column("completed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Shipments made before this version shipped exactly what was allocated (the engine
    # ships nothing else); a shipment completed its order when it was the order's last and
    # nothing is open.
    op.execute("UPDATE shipment_lines SET allocated = units")
    op.execute(
        "UPDATE shipments SET completed = "
        "(NOT EXISTS (SELECT 1 FROM shipments later WHERE later.order_id = shipments.order_id "
        "AND later.id > shipments.id) "
        "AND NOT EXISTS (SELECT 1 FROM order_lines open_line "
        "WHERE open_line.order_id = shipments.order_id "
        "AND open_line.allocated + open_line.backordered > 0))"
    )
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.create_index(
        "ix_order_lines_backordered_at",
        "order_lines",
        ["backordered_at"],
        sqlite_where=sa.text("backordered_at IS NOT NULL"),
        postgresql_where=sa.text("backordered_at IS NOT NULL"),
    )
    op.create_index(
        "ix_order_lines_promised",
        "order_lines",
        ["promised"],
        sqlite_where=sa.text("backordered_at IS NOT NULL"),
        postgresql_where=sa.text("backordered_at IS NOT NULL"),
    )
    op.create_index("ix_allocations_allocated_at", "allocations", ["allocated_at"])
    op.create_index("ix_cancellations_cancelled_at", "cancellations", ["cancelled_at"])
    op.create_index("ix_shipments_shipped_at", "shipments", ["shipped_at"])
    op.create_table(
        "weekly_reports",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("published_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_weekly_reports")),
    )


def downgrade() -> None:
    op.drop_table("weekly_reports")
    op.drop_index("ix_shipments_shipped_at", table_name="shipments")
    op.drop_index("ix_cancellations_cancelled_at", table_name="cancellations")
    op.drop_index("ix_allocations_allocated_at", table_name="allocations")
    op.drop_index("ix_order_lines_promised", table_name="order_lines")
    op.drop_index("ix_order_lines_backordered_at", table_name="order_lines")
    op.drop_index("ix_orders_placed_at", table_name="orders")
    with op.batch_alter_table("cancellations") as batch:
        batch.drop_column("from_backordered")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("completed")
    with op.batch_alter_table("shipment_lines") as batch:
        batch.drop_column("allocated")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("backordered_at")
