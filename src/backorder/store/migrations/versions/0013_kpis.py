"""What the KPIs and the weekly report read, kept with the change that makes it: a line's wait
(when it began, and when it ended, filled or withdrawn), how many units a cancellation took
out of the queue, an order's lines and how many waited, when its last shipment completed it,
what each shipment line held and how many lines of a shipment matched; indexes by time that
hold what each KPI reads; and the weekly reports published

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
    moment = backorder.store.types.UtcDateTime(timezone=True)
    for name in ("backordered_at", "filled_at", "withdrawn_at"):
        op.add_column("order_lines", sa.Column(name, moment))
    for name in ("line_count", "waited_lines"):
        op.add_column("orders", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.add_column("orders", sa.Column("completed_at", moment))
    op.add_column(
        "cancellations",
        sa.Column("from_backordered", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "shipment_lines",
        sa.Column("allocated", sa.Integer(), nullable=False, server_default="0"),
    )
    for name in ("line_count", "exact_lines"):
        op.add_column(
            "shipments", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    _fill_in()
    _indexes()
    op.create_table(
        "weekly_reports",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("published_at", moment, nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_weekly_reports")),
    )


# The last unit a line had served from the queue, and the last it had cancelled from it.
LAST_SERVED = (
    "(SELECT max(a.allocated_at) FROM allocations a "
    "WHERE a.line_id = order_lines.id AND a.source <> 'intake')"
)
LAST_WITHDRAWN = (
    "(SELECT max(c.cancelled_at) FROM cancellations c "
    "WHERE c.line_id = order_lines.id AND c.from_backordered > 0)"
)


def _fill_in() -> None:
    """What the engine records from now on, worked out for the data before this version."""
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
        f"WHERE backordered > 0 OR {LAST_SERVED} IS NOT NULL OR {LAST_WITHDRAWN} IS NOT NULL"
    )
    # A wait that is over ended with whichever came last: stock, or a cancellation.
    op.execute(
        "UPDATE order_lines SET "
        f"filled_at = CASE WHEN {LAST_WITHDRAWN} IS NULL OR {LAST_SERVED} > {LAST_WITHDRAWN} "
        f"THEN {LAST_SERVED} END, "
        f"withdrawn_at = CASE WHEN {LAST_SERVED} IS NULL OR {LAST_WITHDRAWN} >= {LAST_SERVED} "
        f"THEN {LAST_WITHDRAWN} END "
        "WHERE backordered_at IS NOT NULL AND backordered = 0"
    )
    # Shipments made before this version shipped exactly what was allocated (the engine
    # ships nothing else).
    op.execute("UPDATE shipment_lines SET allocated = units")
    op.execute(
        "UPDATE shipments SET line_count = (SELECT count(*) FROM shipment_lines sl "
        "WHERE sl.shipment_id = shipments.id)"
    )
    op.execute("UPDATE shipments SET exact_lines = line_count")
    op.execute(
        "UPDATE orders SET "
        "line_count = (SELECT count(*) FROM order_lines l WHERE l.order_id = orders.id), "
        "waited_lines = (SELECT count(l.backordered_at) FROM order_lines l "
        "WHERE l.order_id = orders.id)"
    )
    # An order's last shipment completed it when nothing is open and nothing of it was
    # cancelled after that shipment (then the cancellation closed it, not the shipment).
    op.execute(
        "UPDATE orders SET completed_at = "
        "(SELECT max(s.shipped_at) FROM shipments s WHERE s.order_id = orders.id) "
        "WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id "
        "AND l.allocated + l.backordered > 0)"
    )
    op.execute(
        "UPDATE orders SET completed_at = NULL WHERE completed_at IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM cancellations c JOIN order_lines l ON l.id = c.line_id "
        "WHERE l.order_id = orders.id AND c.cancelled_at > orders.completed_at)"
    )


def _indexes() -> None:
    op.create_index(
        "ix_orders_placed_at",
        "orders",
        ["placed_at", "channel", "customer_tier", "line_count", "waited_lines"],
    )
    completed = sa.text("waited_lines > 0 AND completed_at IS NOT NULL")
    op.create_index(
        "ix_orders_completed_at",
        "orders",
        ["completed_at", "placed_at", "channel", "customer_tier", "waited_lines"],
        sqlite_where=completed,
        postgresql_where=completed,
    )
    waited = sa.text("backordered_at IS NOT NULL")
    op.create_index(
        "ix_order_lines_backordered_at",
        "order_lines",
        ["backordered_at"],
        sqlite_where=waited,
        postgresql_where=waited,
    )
    filled = sa.text("filled_at IS NOT NULL")
    op.create_index(
        "ix_order_lines_filled_at",
        "order_lines",
        ["filled_at", "backordered_at", "product_id", "order_id"],
        sqlite_where=filled,
        postgresql_where=filled,
    )
    op.create_index(
        "ix_order_lines_promised",
        "order_lines",
        ["promised", "filled_at", "withdrawn_at", "product_id", "order_id"],
        sqlite_where=waited,
        postgresql_where=waited,
    )
    queued = sa.text("source <> 'intake'")
    op.create_index(
        "ix_allocations_from_queue",
        "allocations",
        ["allocated_at", "line_id", "units", "source"],
        sqlite_where=queued,
        postgresql_where=queued,
    )
    withdrawn = sa.text("from_backordered > 0")
    op.create_index(
        "ix_cancellations_from_queue",
        "cancellations",
        ["cancelled_at", "line_id", "from_backordered", "reason"],
        sqlite_where=withdrawn,
        postgresql_where=withdrawn,
    )
    op.create_index(
        "ix_shipments_shipped_at",
        "shipments",
        ["shipped_at", "order_id", "line_count", "exact_lines"],
    )


INDEXES = (
    ("ix_shipments_shipped_at", "shipments"),
    ("ix_cancellations_from_queue", "cancellations"),
    ("ix_allocations_from_queue", "allocations"),
    ("ix_order_lines_promised", "order_lines"),
    ("ix_order_lines_filled_at", "order_lines"),
    ("ix_order_lines_backordered_at", "order_lines"),
    ("ix_orders_completed_at", "orders"),
    ("ix_orders_placed_at", "orders"),
)
COLUMNS = (
    ("cancellations", ("from_backordered",)),
    ("shipments", ("line_count", "exact_lines")),
    ("shipment_lines", ("allocated",)),
    ("orders", ("line_count", "waited_lines", "completed_at")),
    ("order_lines", ("backordered_at", "filled_at", "withdrawn_at")),
)


def downgrade() -> None:
    op.drop_table("weekly_reports")
    for index, table in INDEXES:
        op.drop_index(index, table_name=table)
    for table, names in COLUMNS:
        with op.batch_alter_table(table) as batch:
            for name in names:
                batch.drop_column(name)
