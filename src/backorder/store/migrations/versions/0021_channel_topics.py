"""A stored payload keeps the channel's topic (Shopify's `X-Shopify-Topic`, WooCommerce's
`X-WC-Webhook-Topic`) so that a replay does the same thing again, and what it did when that
was not to place an order (a cancellation applied, an update recorded, an event ignored, an
X12 997 read), in words

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two nullable columns: ALTER TABLE ... ADD COLUMN on both backends, no batch copy (which
    # would rebuild the table and its partial index); existing rows keep no topic.
    op.add_column("intake_payloads", sa.Column("topic", sa.String(64)))
    op.add_column("intake_payloads", sa.Column("outcome", sa.String(500)))
    kept = sa.text("outcome IS NOT NULL AND order_ref IS NULL")
    op.create_index(
        "ix_intake_payloads_ignored",
        "intake_payloads",
        ["channel", "account", "topic"],
        sqlite_where=kept,
        postgresql_where=kept,
    )


def downgrade() -> None:
    op.drop_index("ix_intake_payloads_ignored", table_name="intake_payloads")
    op.drop_column("intake_payloads", "outcome")
    op.drop_column("intake_payloads", "topic")
