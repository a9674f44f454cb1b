"""The dashboard's policy-simulator runs, in the database so that every server process shows
the same runs and one runs at a time across them (they lived in the memory of the process
that started them).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backorder.store.types import UtcDateTime

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "simulation_runs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("rows", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed')", name=op.f("ck_simulation_runs_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulation_runs")),
    )
    op.create_index(
        "ix_simulation_runs_one_running",
        "simulation_runs",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_index("ix_simulation_runs_started", "simulation_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_simulation_runs_started", table_name="simulation_runs")
    op.drop_index("ix_simulation_runs_one_running", table_name="simulation_runs")
    op.drop_table("simulation_runs")
