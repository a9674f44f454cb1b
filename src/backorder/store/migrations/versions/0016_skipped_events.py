"""Events the dispatcher could not plan are recorded and stepped over (skipped_events), and
failed deliveries are indexed, so /metrics counts them at every scrape

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backorder.store.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DEAD = "state = 'dead'"


def upgrade() -> None:
    op.create_table(
        "skipped_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("skipped_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("replanned_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('skipped', 'replanned')", name=op.f("ck_skipped_events_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_skipped_events_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_events")),
        sa.UniqueConstraint("consumer", "event_id", name="uq_skipped_events_consumer_event"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_deliveries_dead",
        "deliveries",
        ["id"],
        sqlite_where=sa.text(DEAD),
        postgresql_where=sa.text(DEAD),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_dead", table_name="deliveries")
    op.drop_table("skipped_events")
