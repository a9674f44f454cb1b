"""Locations: stock per SKU and location, what each line holds where, and the location of
every allocation and shipment. A database from before gets one location `main` (own)
holding today's stock, and every allocation and holding is put at it.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from backorder.store.types import UtcDateTime

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ships_to", sa.JSON(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("transit_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "accepts_backorders", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('own', '3pl', 'fba', 'store')", name=op.f("ck_locations_kind")
        ),
        sa.CheckConstraint(
            "transit_days >= 0", name=op.f("ck_locations_transit_days_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_locations_code")),
    )
    op.create_table(
        "stock_levels",
        sa.Column("product_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("on_hand", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("allocated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= on_hand", name=op.f("ck_stock_levels_no_oversell")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_stock_levels_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_stock_levels_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", "location_id", name=op.f("pk_stock_levels")),
    )
    op.create_index(
        "ix_stock_levels_location", "stock_levels", ["location_id", "product_id"], unique=False
    )
    op.create_table(
        "line_holdings",
        sa.Column("line_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.CheckConstraint("allocated >= 0", name=op.f("ck_line_holdings_allocated_not_negative")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_line_holdings_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_line_holdings_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("line_id", "location_id", name=op.f("pk_line_holdings")),
    )
    op.create_index(
        "ix_line_holdings_location", "line_holdings", ["location_id", "line_id"], unique=False
    )
    # plain ADD COLUMN on both backends (SQLite's copy of a table would trip its triggers)
    op.add_column("allocations", sa.Column("location_id", Id, nullable=True))
    op.add_column("allocations", sa.Column("sourcing", sa.String(200), nullable=True))
    op.add_column("shipments", sa.Column("location_id", Id, nullable=True))
    op.add_column("orders", sa.Column("ship_country", sa.String(2), nullable=True))

    # The data: one location holding today's stock, allocations and holdings.
    now = datetime.now(UTC)
    locations = sa.table(
        "locations",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("priority", sa.Integer),
        sa.column("transit_days", sa.Integer),
        sa.column("accepts_backorders", sa.Boolean),
        sa.column("active", sa.Boolean),
        sa.column("created_at", UtcDateTime),
        sa.column("updated_at", UtcDateTime),
    )
    op.bulk_insert(
        locations,
        [
            {
                "code": "main",
                "name": "Main warehouse",
                "kind": "own",
                "priority": 100,
                "transit_days": 0,
                "accepts_backorders": True,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    main = "(SELECT id FROM locations WHERE code = 'main')"
    op.execute(
        f"INSERT INTO stock_levels (product_id, location_id, on_hand, allocated) "
        f"SELECT id, {main}, on_hand, allocated FROM products"
    )
    op.execute(
        f"INSERT INTO line_holdings (line_id, location_id, allocated) "
        f"SELECT id, {main}, allocated FROM order_lines WHERE allocated > 0"
    )
    op.execute(f"UPDATE allocations SET location_id = {main}")
    op.execute(f"UPDATE shipments SET location_id = {main}")


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+), as upgrade added them
    op.drop_column("orders", "ship_country")
    op.drop_column("shipments", "location_id")
    op.drop_column("allocations", "sourcing")
    op.drop_column("allocations", "location_id")
    op.drop_index("ix_line_holdings_location", table_name="line_holdings")
    op.drop_table("line_holdings")
    op.drop_index("ix_stock_levels_location", table_name="stock_levels")
    op.drop_table("stock_levels")
    op.drop_table("locations")
