"""Several suppliers per SKU: each with its own cost, lead time, minimum order and pack.
The preferred one is `products.supplier_id` (one place says it, so there is never more than
one); every product that names a supplier gets its row here (cost unknown), so nothing
existing changes behaviour.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import Money, UtcDateTime

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "product_suppliers",
        sa.Column("product_id", Id, nullable=False),
        sa.Column("supplier_id", sa.String(64), nullable=False),
        sa.Column("cost", Money(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("pack", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
        sa.CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
        sa.CheckConstraint("moq >= 1 AND pack >= 1", name="order_units"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_product_suppliers_product_id_products",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name="fk_product_suppliers_supplier_id_suppliers",
        ),
        sa.PrimaryKeyConstraint("product_id", "supplier_id", name="pk_product_suppliers"),
    )
    op.create_index("ix_product_suppliers_supplier_id", "product_suppliers", ["supplier_id"])
    # the supplier every product names today gets its row, cost unknown, with
    # the lead time it already uses (the product's own, else the supplier's)
    op.execute(
        "INSERT INTO product_suppliers (product_id, supplier_id, cost, lead_time_days, moq,"
        " pack, created_at, updated_at)"
        " SELECT p.id, p.supplier_id, NULL, COALESCE(p.lead_time_days, s.lead_time_days), 1, 1,"
        " p.updated_at, p.updated_at"
        " FROM products p JOIN suppliers s ON s.id = p.supplier_id"
    )


def downgrade() -> None:
    op.drop_index("ix_product_suppliers_supplier_id", table_name="product_suppliers")
    op.drop_table("product_suppliers")
