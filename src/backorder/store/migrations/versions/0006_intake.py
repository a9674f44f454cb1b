"""intake: stored payloads and SKU aliases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "intake_payloads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column(
            "received_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("order_ref", sa.String(length=200), nullable=True),
        sa.Column("reasons", JSON, nullable=True),
        sa.Column("warnings", JSON, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("value", backorder.store.types.Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column(
            "processed_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("discard_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'accepted', 'duplicate', 'dead', 'discarded')",
            name=op.f("ck_intake_payloads_state"),
        ),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_intake_payloads_attempts_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_payloads")),
    )
    op.create_index(
        "ix_intake_payloads_waiting",
        "intake_payloads",
        ["state", "id"],
        unique=False,
        sqlite_where=sa.text("state IN ('pending', 'dead')"),
        postgresql_where=sa.text("state IN ('pending', 'dead')"),
    )
    op.create_table(
        "sku_aliases",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("channel_sku", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "channel", "account", "channel_sku", name=op.f("pk_sku_aliases")
        ),
    )


def downgrade() -> None:
    op.drop_table("sku_aliases")
    op.drop_index("ix_intake_payloads_waiting", table_name="intake_payloads")
    op.drop_table("intake_payloads")
