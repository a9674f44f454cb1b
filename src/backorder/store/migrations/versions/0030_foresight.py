"""Foresight: demand history imported for a new install, the current forecast of each SKU
(per location, or the whole network) with its periods, safety stock and reorder point, the
backorder-risk models (versioned, with their metrics) and each SKU's latest risk score.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from backorder.store.types import UtcDateTime

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Payload = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "demand_history",
        sa.Column("id", Id, nullable=False),
        sa.Column("product_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("period_kind", sa.String(8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("imported_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "period_kind IN ('day', 'week', 'month')", name=op.f("ck_demand_history_period_kind")
        ),
        sa.CheckConstraint("units >= 0", name=op.f("ck_demand_history_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_demand_history_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_demand_history_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_history")),
    )
    op.create_index(
        "ix_demand_history_product",
        "demand_history",
        ["product_id", "location_id", "period_start"],
        unique=False,
    )
    op.create_table(
        "forecasts",
        sa.Column("id", Id, nullable=False),
        sa.Column("product_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("period", sa.String(8), server_default=sa.text("'week'"), nullable=False),
        sa.Column("first_period", sa.Date(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("demand_class", sa.String(16), nullable=False),
        sa.Column("adi", sa.Float(), nullable=True),
        sa.Column("cv2", sa.Float(), nullable=True),
        sa.Column("history_periods", sa.Integer(), nullable=False),
        sa.Column("backtest_mae", sa.Float(), nullable=True),
        sa.Column("backtest_mase", sa.Float(), nullable=True),
        sa.Column("mean_demand", sa.Float(), nullable=False),
        sa.Column("error_sd", sa.Float(), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=True),
        sa.Column("safety_stock", sa.Integer(), nullable=True),
        sa.Column("reorder_point", sa.Integer(), nullable=True),
        sa.Column("inputs", Payload, nullable=False),
        sa.CheckConstraint("period IN ('week')", name=op.f("ck_forecasts_period")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_forecasts_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_forecasts_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
    )
    op.create_index(
        "ix_forecasts_network",
        "forecasts",
        ["product_id"],
        unique=True,
        sqlite_where=sa.text("location_id IS NULL"),
        postgresql_where=sa.text("location_id IS NULL"),
    )
    op.create_index(
        "ix_forecasts_location",
        "forecasts",
        ["product_id", "location_id"],
        unique=True,
        sqlite_where=sa.text("location_id IS NOT NULL"),
        postgresql_where=sa.text("location_id IS NOT NULL"),
    )
    op.create_table(
        "forecast_periods",
        sa.Column("forecast_id", Id, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("point", sa.Float(), nullable=False),
        sa.Column("lo80", sa.Float(), nullable=False),
        sa.Column("hi80", sa.Float(), nullable=False),
        sa.Column("lo95", sa.Float(), nullable=False),
        sa.Column("hi95", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forecast_id"],
            ["forecasts.id"],
            name=op.f("fk_forecast_periods_forecast_id_forecasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("forecast_id", "period_start", name=op.f("pk_forecast_periods")),
    )
    op.create_table(
        "risk_models",
        sa.Column("id", Id, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("algorithm", sa.String(64), nullable=False),
        sa.Column("features", Payload, nullable=False),
        sa.Column("metrics", Payload, nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_models")),
    )
    op.create_table(
        "risk_scores",
        sa.Column("product_id", Id, nullable=False),
        sa.Column("model_id", Id, nullable=False),
        sa.Column("scored_at", UtcDateTime(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("features", Payload, nullable=False),
        sa.Column("reasons", Payload, nullable=False),
        sa.CheckConstraint(
            "probability >= 0 AND probability <= 1", name=op.f("ck_risk_scores_probability")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_risk_scores_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["risk_models.id"], name=op.f("fk_risk_scores_model_id_risk_models")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_risk_scores")),
    )


def downgrade() -> None:
    op.drop_table("risk_scores")
    op.drop_table("risk_models")
    op.drop_table("forecast_periods")
    op.drop_index("ix_forecasts_location", table_name="forecasts")
    op.drop_index("ix_forecasts_network", table_name="forecasts")
    op.drop_table("forecasts")
    op.drop_index("ix_demand_history_product", table_name="demand_history")
    op.drop_table("demand_history")
