"""intake rules: validation rules per channel and account, as data

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "intake_rules",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("options", JSON, nullable=True),
        sa.Column("updated_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "severity IN ('error', 'warning', 'off')", name=op.f("ck_intake_rules_severity_known")
        ),
        sa.PrimaryKeyConstraint("channel", "account", "rule", name=op.f("pk_intake_rules")),
    )


def downgrade() -> None:
    op.drop_table("intake_rules")
