"""notifications: webhook subscriptions, deliveries, customer preferences

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WAITING = "state IN ('due', 'sending')"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("description", sa.String(length=200), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("after_event", sa.BigInteger(), nullable=False),
        sa.Column("created_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("subscription_id", ID, nullable=True),
        sa.Column("recipient", sa.String(length=2000), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("sent_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('due', 'sending', 'sent', 'dead', 'withdrawn')",
            name=op.f("ck_deliveries_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_deliveries_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_deliveries_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("message_id", name=op.f("uq_deliveries_message_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_deliveries_waiting",
        "deliveries",
        ["due_at", "id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index("ix_deliveries_event", "deliveries", ["event_id"])
    op.create_table(
        "customer_preferences",
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "channel", name=op.f("pk_customer_preferences")),
    )
    # The dispatcher starts with the events written after this upgrade: an existing
    # deployment does not e-mail its customers about the past.
    op.execute(
        "INSERT INTO event_consumers (name, position, updated_at) "
        "SELECT 'notifier', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM events"
    )


def downgrade() -> None:
    op.execute("DELETE FROM event_consumers WHERE name = 'notifier'")
    op.drop_table("customer_preferences")
    op.drop_index("ix_deliveries_event", table_name="deliveries")
    op.drop_index("ix_deliveries_waiting", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("webhook_subscriptions")
