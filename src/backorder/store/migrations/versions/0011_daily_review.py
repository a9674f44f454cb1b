"""The daily review: delay notices, tasks, the incident log, the review days, line stamps

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backorder.store.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("orders", JSON, nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("value", backorder.store.types.Money(), nullable=False),
        sa.Column("max_delay_days", sa.Integer(), nullable=False),
        sa.Column("new_eta", sa.Date(), nullable=True),
        sa.Column("supplier_id", sa.String(length=64), nullable=True),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("created_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("sku", "day", name="uq_incidents_sku_day"),
    )
    op.create_table(
        "reviews",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("overdue_lines", sa.Integer(), nullable=False),
        sa.Column("value_at_risk", backorder.store.types.Money(), nullable=False),
        sa.Column("skus", sa.Integer(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_reviews")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("orders", JSON, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("opened_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.CheckConstraint(
            "role IN ('procurement', 'inventory')", name=op.f("ck_tasks_role_known")
        ),
        sa.CheckConstraint("state IN ('open', 'done')", name=op.f("ck_tasks_state_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_open_kind_sku",
            ["kind", "sku"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    op.create_table(
        "delay_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("noticed_on", sa.Date(), nullable=False),
        sa.Column("missed", sa.Date(), nullable=False),
        sa.Column("revised", sa.Date(), nullable=True),
        sa.Column("backordered", sa.Integer(), nullable=False),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("settled_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "consent IN ('none', 'silence', 'explicit')",
            name=op.f("ck_delay_notices_consent_known"),
        ),
        sa.CheckConstraint(
            "outcome IN ('informed', 'pending', 'accepted', 'consented', 'cancelled', 'lapsed', "
            "'superseded', 'moot')",
            name=op.f("ck_delay_notices_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_delay_notices_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_delay_notices_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delay_notices")),
        sa.UniqueConstraint("line_id", "seq", name="uq_delay_notices_line_seq"),
    )
    with op.batch_alter_table("delay_notices", schema=None) as batch_op:
        batch_op.create_index("ix_delay_notices_order", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_delay_notices_pending",
            ["answer_by"],
            unique=False,
            sqlite_where=sa.text("outcome = 'pending'"),
            postgresql_where=sa.text("outcome = 'pending'"),
        )

    op.add_column(
        "order_lines",
        sa.Column("checked_at", backorder.store.types.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column("order_lines", sa.Column("checked_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("checked_status")
        batch_op.drop_column("checked_at")

    with op.batch_alter_table("delay_notices", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_delay_notices_pending",
            sqlite_where=sa.text("outcome = 'pending'"),
            postgresql_where=sa.text("outcome = 'pending'"),
        )
        batch_op.drop_index("ix_delay_notices_order")

    op.drop_table("delay_notices")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tasks_open_kind_sku",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    op.drop_table("tasks")
    op.drop_table("reviews")
    op.drop_table("incidents")
