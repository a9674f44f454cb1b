"""signed webhook deliveries by their body's hash, so a delivery sent again is counted, not
stored again

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signed_deliveries",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "payload_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("replayed_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "replays >= 0", name=op.f("ck_signed_deliveries_replays_not_negative")
        ),
        sa.PrimaryKeyConstraint(
            "channel", "account", "body_hash", name=op.f("pk_signed_deliveries")
        ),
    )


def downgrade() -> None:
    op.drop_table("signed_deliveries")
