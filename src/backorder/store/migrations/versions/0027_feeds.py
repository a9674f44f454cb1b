"""3PL feeds: location aliases (a sender's own name for one of our locations), the feed
documents applied (so a repeated delivery is a duplicate), the `as_of` of the last snapshot
applied per SKU and location, and an index on the location of stock movements (0026 gave
them one), which a snapshot reads what moved after its as_of by.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "location_aliases",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_location_aliases_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_location_aliases")),
    )
    op.create_index(
        "ix_location_aliases_location", "location_aliases", ["location_id"], unique=False
    )
    op.create_table(
        "feed_documents",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("document_key", sa.String(200), nullable=False),
        sa.Column("payload_id", Id, nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "channel", "account", "document_key", name=op.f("pk_feed_documents")
        ),
    )
    # plain ADD COLUMN on both backends (SQLite's copy of a table would trip its triggers)
    op.add_column("stock_levels", sa.Column("counted_as_of", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_stock_movements_location",
        "stock_movements",
        ["location_id", "moved_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_stock_movements_location", table_name="stock_movements")
    op.drop_column("stock_levels", "counted_as_of")
    op.drop_table("feed_documents")
    op.drop_index("ix_location_aliases_location", table_name="location_aliases")
    op.drop_table("location_aliases")
