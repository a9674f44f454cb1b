"""SMS consent, staff alerts, folded and provider-tracked deliveries, Slack-style webhooks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = "state = 'open'"


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column(
            "customer_sms_consent", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "webhook_subscriptions",
        sa.Column("format", sa.String(length=16), server_default="standard", nullable=False),
    )
    op.add_column("deliveries", sa.Column("order_ref", sa.String(length=200), nullable=True))
    op.add_column("deliveries", sa.Column("folded", JSON, nullable=True))
    op.add_column("deliveries", sa.Column("provider_id", sa.String(length=128), nullable=True))
    op.create_index("ix_deliveries_order_ref", "deliveries", ["order_ref"])
    op.create_table(
        "alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("order_ref", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("opened_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'resolved', 'notice')", name=op.f("ck_alerts_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_alerts_open_key",
        "alerts",
        ["key"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_index("ix_alerts_order_ref", "alerts", ["order_ref"])


def downgrade() -> None:
    op.drop_index("ix_alerts_order_ref", table_name="alerts")
    op.drop_index("ix_alerts_open_key", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_deliveries_order_ref", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("provider_id")
        batch.drop_column("folded")
        batch.drop_column("order_ref")
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("format")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("customer_sms_consent")
