"""Transfers between locations, purchase orders that name where they arrive, and stock
movements that say where on hand changed. Purchase orders and movements from before are
put at the location `main` (the one 0025 made for a database from before).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = "state IN ('planned', 'shipped')"


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", Id, nullable=False),
        sa.Column("product_id", Id, nullable=False),
        sa.Column("from_location_id", Id, nullable=False),
        sa.Column("to_location_id", Id, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("shipped_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('planned', 'shipped', 'received', 'cancelled')",
            name=op.f("ck_transfers_state_known"),
        ),
        sa.CheckConstraint(
            "quantity > 0 AND received >= 0 AND received <= quantity",
            name=op.f("ck_transfers_quantities"),
        ),
        sa.CheckConstraint(
            "from_location_id <> to_location_id", name=op.f("ck_transfers_two_places")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_transfers_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["locations.id"],
            name=op.f("fk_transfers_from_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["locations.id"], name=op.f("fk_transfers_to_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(
        "ix_transfers_open",
        "transfers",
        ["product_id", "expected_on", "id"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    # plain ADD COLUMN on both backends, as 0025 did
    op.add_column("purchase_orders", sa.Column("location_id", Id, nullable=True))
    op.add_column("stock_movements", sa.Column("location_id", Id, nullable=True))
    main = "(SELECT id FROM locations WHERE code = 'main')"
    op.execute(f"UPDATE purchase_orders SET location_id = {main}")
    op.execute(f"UPDATE stock_movements SET location_id = {main}")


def downgrade() -> None:
    op.drop_column("stock_movements", "location_id")
    op.drop_column("purchase_orders", "location_id")
    op.drop_index("ix_transfers_open", table_name="transfers")
    op.drop_table("transfers")
