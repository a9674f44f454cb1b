"""Projected stockouts: each forecast row keeps what the last plan refresh found with it
(`planned_at`; the first week projected below zero, the units short that week, the last
date to order that prevents it; the first week below the safety stock), so the dashboard
and `GET /shortages` read the coming shortages without recomputing every SKU.

Revision ID: 0033
Revises: 0030
Create Date: 2026-12-06 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("planned_at", "stockout_week", "units_short", "order_by", "below_safety_week")


def upgrade() -> None:
    # plain ADD COLUMN on both backends
    op.add_column("forecasts", sa.Column("planned_at", UtcDateTime(), nullable=True))
    op.add_column("forecasts", sa.Column("stockout_week", sa.Date(), nullable=True))
    op.add_column("forecasts", sa.Column("units_short", sa.Integer(), nullable=True))
    op.add_column("forecasts", sa.Column("order_by", sa.Date(), nullable=True))
    op.add_column("forecasts", sa.Column("below_safety_week", sa.Date(), nullable=True))
    op.create_index("ix_forecasts_stockout", "forecasts", ["stockout_week"])


def downgrade() -> None:
    op.drop_index("ix_forecasts_stockout", table_name="forecasts")
    for name in reversed(COLUMNS):
        op.drop_column("forecasts", name)
