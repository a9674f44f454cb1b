"""An Idempotency-Key's claim is a lease: when it was claimed, and which claim holds it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backorder.store.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("claimed_at", backorder.store.types.UtcDateTime(timezone=True)))
        batch.add_column(sa.Column("claim", sa.Integer()))
    # Keys claimed before: their lease runs from when they were made, as their first claim.
    op.execute("UPDATE idempotency_keys SET claimed_at = created_at, claim = 1")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column(
            "claimed_at",
            existing_type=backorder.store.types.UtcDateTime(timezone=True),
            nullable=False,
        )
        batch.alter_column("claim", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("claim")
        batch.drop_column("claimed_at")
