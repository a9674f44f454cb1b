"""Units of measure: a product's pack sizes (CA=12: one case holds 12 single units), and
what the buyer ordered on a line when not in single units (12 CA of 12), beside the line's
quantity in units

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_packs",
        sa.Column(
            "product_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("products.id"),
            primary_key=True,
        ),
        sa.Column("unit", sa.String(8), primary_key=True),
        sa.Column("units", sa.Integer, nullable=False),
        sa.CheckConstraint("units > 1", name="pack_holds_units"),
    )
    # ADD COLUMN directly (not a batch copy): a copied table would lose the KPI triggers
    # that live on order_lines.
    op.add_column("order_lines", sa.Column("ordered_quantity", sa.Integer))
    op.add_column("order_lines", sa.Column("ordered_unit", sa.String(8)))
    op.add_column("order_lines", sa.Column("ordered_pack", sa.Integer))


def downgrade() -> None:
    op.drop_column("order_lines", "ordered_pack")
    op.drop_column("order_lines", "ordered_unit")
    op.drop_column("order_lines", "ordered_quantity")
    op.drop_table("product_packs")
