"""Shipping orders that cancel: `kind` (`order`, or `cancel` for a cancellation of an
earlier shipping order, whose id is in `cancels` and whose lines carry the units taken off
as negative numbers, so "asked for" stays one sum), and `short_ref`, the at most 22
characters a 940 carries in W05-02 (the depositor order number) and a 945 brings back in
W06-02. Old rows are shipping orders (`kind` defaults to `order`) without a short
reference: their 940 carried the order reference itself, which a 945 still resolves.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # plain ADD COLUMN on both backends (SQLite's copy of a table would trip its triggers)
    op.add_column(
        "shipping_orders",
        sa.Column("kind", sa.String(16), nullable=False, server_default=sa.text("'order'")),
    )
    op.add_column("shipping_orders", sa.Column("short_ref", sa.String(22), nullable=True))
    op.add_column("shipping_orders", sa.Column("cancels", Id, nullable=True))
    op.create_index("ix_shipping_orders_short_ref", "shipping_orders", ["short_ref"], unique=True)
    op.create_index("ix_shipping_orders_cancels", "shipping_orders", ["cancels"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_shipping_orders_cancels", table_name="shipping_orders")
    op.drop_index("ix_shipping_orders_short_ref", table_name="shipping_orders")
    op.drop_column("shipping_orders", "cancels")
    op.drop_column("shipping_orders", "short_ref")
    op.drop_column("shipping_orders", "kind")
