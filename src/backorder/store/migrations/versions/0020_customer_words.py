"""What the customer knows their order by: the shop's own order number (Shopify "#9001",
WooCommerce's number, a PO number), the customer's language, and each line's variant as the
shop named it ("Blue / L")

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("display_number", sa.String(64)))
        batch.add_column(sa.Column("customer_language", sa.String(35)))
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("variant", sa.String(200)))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: a copied table would lose
    # the KPI triggers that live on orders and order_lines.
    op.drop_column("order_lines", "variant")
    op.drop_column("orders", "customer_language")
    op.drop_column("orders", "display_number")
