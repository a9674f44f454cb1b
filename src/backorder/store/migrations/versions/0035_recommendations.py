"""Restock recommendations: a proposed purchase order or transfer per SKU (and location), with
the option chosen, what it is expected to cost and leave waiting, and why in words.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from backorder.store.types import Money, UtcDateTime

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Payload = sa.JSON().with_variant(JSONB(), "postgresql")
STATES = ("proposed", "accepted", "rejected", "superseded")


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("product_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("supplier_id", sa.String(64), nullable=True),
        sa.Column("from_location_id", Id, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("need_by", sa.Date(), nullable=False),
        sa.Column("order_by", sa.Date(), nullable=True),
        sa.Column("arrive_on", sa.Date(), nullable=False),
        sa.Column("arrive_p90", sa.Date(), nullable=False),
        sa.Column("expected_short", sa.Float(), nullable=False),
        sa.Column("expected_cost", Money(), nullable=False),
        sa.Column("reasons", Payload, nullable=False),
        sa.Column("facts", Payload, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("po_id", Id, nullable=True),
        sa.Column("transfer_id", Id, nullable=True),
        sa.CheckConstraint("kind IN ('purchase', 'transfer')", name="kind_known"),
        sa.CheckConstraint("cause IN ('stockout', 'reorder_point', 'slip')", name="cause_known"),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name="state_known"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "(kind = 'purchase' AND supplier_id IS NOT NULL)"
            " OR (kind = 'transfer' AND from_location_id IS NOT NULL)",
            name="source_named",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_recommendations_product_id_products"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name="fk_recommendations_location_id_locations"
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name="fk_recommendations_supplier_id_suppliers"
        ),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["locations.id"],
            name="fk_recommendations_from_location_id_locations",
        ),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name="fk_recommendations_po_id_purchase_orders"
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name="fk_recommendations_transfer_id_transfers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_recommendations"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_recommendations_proposed_key",
        "recommendations",
        ["key"],
        unique=True,
        sqlite_where=sa.text("state = 'proposed'"),
        postgresql_where=sa.text("state = 'proposed'"),
    )
    op.create_index(
        "ix_recommendations_product", "recommendations", ["product_id", "computed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_recommendations_product", table_name="recommendations")
    op.drop_index("ix_recommendations_proposed_key", table_name="recommendations")
    op.drop_table("recommendations")
