"""An index of waiting lines by expected date, for the walk

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_order_lines_waiting_eta",
        "order_lines",
        ["product_id", "eta"],
        sqlite_where=sa.text("backordered > 0"),
        postgresql_where=sa.text("backordered > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_order_lines_waiting_eta", table_name="order_lines")
