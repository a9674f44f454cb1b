"""The worker's nightly backorder-risk pass, one row per day (scored, retrained, or why not).

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-06 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "risk_runs",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("scored", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("trained_model_id", Id, nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["trained_model_id"],
            ["risk_models.id"],
            name=op.f("fk_risk_runs_trained_model_id_risk_models"),
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_risk_runs")),
    )


def downgrade() -> None:
    op.drop_table("risk_runs")
