"""Indexes for finding orders (order list, GET /orders, the dashboard's search): by the
channel's order number, the shop's display number, the customer's e-mail, the channel
(newest first), and the orders holding a line of a SKU

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 05:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_INDEXES = {
    "ix_orders_external_id": ["external_id"],
    "ix_orders_display_number": ["display_number"],
    "ix_orders_customer_email": ["customer_email"],
    "ix_orders_channel": ["channel", "id"],
}


def upgrade() -> None:
    # CREATE INDEX directly (not a batch copy): a copied table would lose the KPI triggers
    # that live on orders and order_lines.
    for name, columns in ORDER_INDEXES.items():
        op.create_index(name, "orders", columns)
    op.create_index("ix_order_lines_product_order", "order_lines", ["product_id", "order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_lines_product_order", table_name="order_lines")
    for name in reversed(ORDER_INDEXES):
        op.drop_index(name, table_name="orders")
