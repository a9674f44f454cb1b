"""The nightly forecast run of each UTC day: claimed by one worker, with when it started and
finished and what it did, so that workers racing for the day run it once.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from backorder.store.types import UtcDateTime

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Payload = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("counts", Payload, nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_forecast_runs")),
    )


def downgrade() -> None:
    op.drop_table("forecast_runs")
