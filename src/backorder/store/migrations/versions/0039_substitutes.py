"""Substitutes: a SKU names the SKUs that may stand in for it, in order of preference; a line
that has waited too long is offered one (once), and the offer's outcome is kept.

Revision ID: 0039
Revises: 0037
Create Date: 2026-12-06 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0039"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = ("offered", "accepted", "declined", "lapsed", "withdrawn")


def upgrade() -> None:
    op.create_table(
        "product_substitutes",
        sa.Column("product_id", Id, nullable=False),
        sa.Column("substitute_id", Id, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("product_id <> substitute_id", name="not_itself"),
        sa.CheckConstraint("rank >= 1", name="rank_positive"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_product_substitutes_product_id_products",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["substitute_id"],
            ["products.id"],
            name="fk_product_substitutes_substitute_id_products",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "substitute_id", name="pk_product_substitutes"),
    )
    op.create_index(
        "ix_product_substitutes_substitute_id", "product_substitutes", ["substitute_id"]
    )
    op.create_table(
        "substitute_offers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("line_id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("substitute_id", Id, nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("offered_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=True),
        sa.Column("new_line_id", Id, nullable=True),
        sa.CheckConstraint("units > 0", name="units_positive"),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name="state_known"
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name="fk_substitute_offers_line_id_order_lines"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_substitute_offers_order_id_orders"
        ),
        sa.ForeignKeyConstraint(
            ["substitute_id"], ["products.id"], name="fk_substitute_offers_substitute_id_products"
        ),
        sa.ForeignKeyConstraint(
            ["new_line_id"],
            ["order_lines.id"],
            name="fk_substitute_offers_new_line_id_order_lines",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_substitute_offers"),
        sa.UniqueConstraint("line_id", name="uq_substitute_offers_line_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_substitute_offers_order_id", "substitute_offers", ["order_id"])
    op.create_index(
        "ix_substitute_offers_open",
        "substitute_offers",
        ["substitute_id", "expires_at"],
        sqlite_where=sa.text("state = 'offered'"),
        postgresql_where=sa.text("state = 'offered'"),
    )


def downgrade() -> None:
    op.drop_index("ix_substitute_offers_open", table_name="substitute_offers")
    op.drop_index("ix_substitute_offers_order_id", table_name="substitute_offers")
    op.drop_table("substitute_offers")
    op.drop_index("ix_product_substitutes_substitute_id", table_name="product_substitutes")
    op.drop_table("product_substitutes")
