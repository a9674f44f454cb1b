"""Automatic purchase orders: where a purchase order came from (by hand or an accepted
recommendation), its approval (pending, approved, rejected; by whom or which rule) and when
the supplier got it; the price of each line; a supplier's own auto-approve limit and how
its purchase orders reach it (X12 850, e-mail, signed webhook, or by hand); and the
documents sent to suppliers, kept as made so every attempt sends the same bytes.

Revision ID: 0037
Revises: 0035
Create Date: 2026-12-06 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import Money, UtcDateTime

revision: str = "0037"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("suppliers", sa.Column("auto_approve_limit", Money(), nullable=True))
    op.add_column("suppliers", sa.Column("po_format", sa.String(16), nullable=True))
    op.add_column("suppliers", sa.Column("po_address", sa.String(2000), nullable=True))
    op.add_column("suppliers", sa.Column("po_secret", sa.String(200), nullable=True))
    op.add_column(
        "purchase_orders",
        sa.Column("origin", sa.String(16), nullable=False, server_default="manual"),
    )
    op.add_column(
        "purchase_orders",
        sa.Column("approval", sa.String(16), nullable=False, server_default="approved"),
    )
    op.add_column("purchase_orders", sa.Column("approved_by", sa.String(120), nullable=True))
    op.add_column("purchase_orders", sa.Column("approved_at", UtcDateTime(), nullable=True))
    op.add_column("purchase_orders", sa.Column("sent_at", UtcDateTime(), nullable=True))
    op.add_column("po_lines", sa.Column("unit_cost", Money(), nullable=True))
    op.create_table(
        "po_documents",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("po_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(2000), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('order', 'cancel')", name="kind_known"),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name="fk_po_documents_po_id_purchase_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_po_documents"),
        sa.UniqueConstraint("message_id", name="uq_po_documents_message_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_po_documents_po_id", "po_documents", ["po_id"])


def downgrade() -> None:
    op.drop_index("ix_po_documents_po_id", table_name="po_documents")
    op.drop_table("po_documents")
    # (SQLite drops a column in place: a copy of purchase_orders, which others refer to,
    # could not be swapped in under their foreign keys)
    op.drop_column("po_lines", "unit_cost")
    for name in ("sent_at", "approved_at", "approved_by", "approval", "origin"):
        op.drop_column("purchase_orders", name)
    for name in ("po_secret", "po_address", "po_format", "auto_approve_limit"):
        op.drop_column("suppliers", name)
