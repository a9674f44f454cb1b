"""Deliveries taken from the broker's stream, by stream and sequence, so that a message
delivered again (a consumer stopped between its commit and its ack) is stored only once.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backorder.store.types import UtcDateTime

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broker_messages",
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column(
            "payload_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sequence > 0", name=op.f("ck_broker_messages_sequence_positive")),
        sa.PrimaryKeyConstraint("stream", "sequence", name=op.f("pk_broker_messages")),
    )


def downgrade() -> None:
    op.drop_table("broker_messages")
