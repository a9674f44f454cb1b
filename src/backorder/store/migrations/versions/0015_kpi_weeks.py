"""The triggers forget a rolled-up day's week too (whole weeks are rolled up, as months
are), and a product's new supplier or SKU forgets the grouping's months and weeks as well as
its days (migration 0014 forgot only the days: a month rolled up before the change kept the
old supplier's counts)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 02:00:00.000000
"""

import importlib
from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0014's triggers, built again with what a change forgets: its tables and columns are the
# same.
kpi_days = importlib.import_module("backorder.store.migrations.versions.0014_kpi_days")


def _week(dialect: str, day: str) -> str:
    """The Monday of a day's ISO week, where a week's roll-up is kept."""
    if dialect == "sqlite":
        return f"date({day}, 'weekday 0', '-6 days')"
    return f"CAST(date_trunc('week', CAST({day} AS TIMESTAMP)) AS DATE)"


def _rekeyed(dimension: str) -> str:
    return f"(dimension = '{dimension}' OR dimension LIKE '{dimension}/%')"


def _create(
    dialect: str, starts: tuple[Callable[[str, str], str], ...], rekeyed: Callable[[str], str]
) -> None:
    made = kpi_days._sqlite_triggers if dialect == "sqlite" else kpi_days._postgresql_triggers
    for statement in made(starts, rekeyed):
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    kpi_days._drop_triggers(dialect)
    _create(dialect, (kpi_days._month, _week), _rekeyed)
    # A month that 0014 summed may hold a product's old supplier or SKU: the worker sums
    # them again from their days (which the change forgot, and rolled up again).
    op.execute("DELETE FROM kpi_days WHERE dimension IN ('sku/month', 'supplier/month')")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    kpi_days._drop_triggers(dialect)
    _create(dialect, (kpi_days._month,), kpi_days._rekeyed)
    for table in ("kpi_day_reasons", "kpi_day_facts", "kpi_days"):
        op.execute(f"DELETE FROM {table} WHERE dimension LIKE '%/week'")
