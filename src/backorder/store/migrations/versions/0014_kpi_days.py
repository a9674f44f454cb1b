"""The KPI facts of closed days, rolled up per grouping and group, and the triggers that
forget a rolled-up day as soon as a change reaches it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import backorder.store.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "orders",
    "backordered_orders",
    "lines",
    "backordered_lines",
    "converted_units",
    "cancelled_units",
    "shipped_lines",
    "accurate_lines",
    "promised_lines",
    "kept_promises",
    "waits",
    "fills",
)

# Per table the facts come from: the columns whose change alters a day's facts, and the
# days a row's facts fall on (a moment's UTC day, or a date), as SQL over the row ("{row}":
# NEW or OLD). A shipment line's day is its shipment's.
MOMENTS, DATES, SHIPMENT = "moment", "date", "shipment"
TOUCHES: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "orders",
        ("placed_at", "completed_at", "line_count", "waited_lines"),
        ((MOMENTS, "placed_at"), (MOMENTS, "completed_at")),
    ),
    (
        "order_lines",
        ("backordered_at", "filled_at", "withdrawn_at", "promised", "placed_at"),
        ((MOMENTS, "placed_at"), (MOMENTS, "filled_at"), (DATES, "promised")),
    ),
    ("allocations", ("units", "allocated_at", "source"), ((MOMENTS, "allocated_at"),)),
    (
        "cancellations",
        ("units", "from_backordered", "cancelled_at", "reason"),
        ((MOMENTS, "cancelled_at"),),
    ),
    ("shipments", ("shipped_at", "line_count", "exact_lines"), ((MOMENTS, "shipped_at"),)),
    ("shipment_lines", ("units", "allocated"), ((SHIPMENT, "shipment_id"),)),
)
# On PostgreSQL, a change to the facts holds this lock (shared) until it commits, and rolling
# a day up holds it alone: a day is never rolled up from a snapshot that misses a change whose
# trigger ran before the day's row was there to forget.
ROLL_UP_LOCK = 7203
# A product's group keys: a new supplier (or SKU) changes every rolled-up day of that grouping.
REKEYS = (("supplier_id", "supplier"), ("sku", "sku"))


def _day(dialect: str, kind: str, column: str, row: str) -> str:
    value = f"{row}.{column}"
    if kind == SHIPMENT:
        kind, value = MOMENTS, f"(SELECT shipped_at FROM shipments WHERE id = {value})"
    if dialect == "sqlite":
        return f"date({value})"
    return value if kind == DATES else f"CAST(timezone('UTC', {value}) AS DATE)"


def _month(dialect: str, day: str) -> str:
    if dialect == "sqlite":
        return f"date({day}, 'start of month')"
    return f"CAST(date_trunc('month', CAST({day} AS TIMESTAMP)) AS DATE)"


Starts = tuple[Callable[[str, str], str], ...]  # SQL of the first day of a day's month, ...


def _forget(
    dialect: str, days: tuple[tuple[str, str], ...], rows: tuple[str, ...], starts: Starts
) -> str:
    """Forget each day a row's facts fall on, and the month it is in (a month's roll-up is
    kept under its first day; migration 0015 adds the week)."""
    each = [_day(dialect, kind, column, row) for row in rows for kind, column in days]
    listed = ", ".join(each + [start(dialect, day) for start in starts for day in each])
    return f"DELETE FROM kpi_days WHERE day IN ({listed});"


def _rekeyed(dimension: str) -> str:
    """Which roll-ups a product's new key forgets (migration 0015 adds its months and
    weeks)."""
    return f"dimension = '{dimension}'"


def _changed(dialect: str, columns: tuple[str, ...]) -> str:
    differs = "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{column} {differs} NEW.{column}" for column in columns)


def _sqlite_triggers(
    starts: Starts = (_month,), rekeyed: Callable[[str], str] = _rekeyed
) -> list[str]:
    made = []
    for table, columns, days in TOUCHES:
        made += [
            f"CREATE TRIGGER kpi_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {_forget('sqlite', days, ('NEW',), starts)} END",
            f"CREATE TRIGGER kpi_{table}_update AFTER UPDATE ON {table} "
            f"WHEN {_changed('sqlite', columns)} "
            f"BEGIN {_forget('sqlite', days, ('OLD', 'NEW'), starts)} END",
            f"CREATE TRIGGER kpi_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {_forget('sqlite', days, ('OLD',), starts)} END",
        ]
    for column, dimension in REKEYS:
        made.append(
            f"CREATE TRIGGER kpi_products_{column} AFTER UPDATE ON products "
            f"WHEN {_changed('sqlite', (column,))} "
            f"BEGIN DELETE FROM kpi_days WHERE {rekeyed(dimension)}; END"
        )
    return made


def _postgresql_triggers(
    starts: Starts = (_month,), rekeyed: Callable[[str], str] = _rekeyed
) -> list[str]:
    made = []
    for table, columns, days in TOUCHES:
        made += [
            f"CREATE FUNCTION kpi_{table}_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"PERFORM pg_advisory_xact_lock_shared({ROLL_UP_LOCK}); "
            f"IF TG_OP <> 'DELETE' THEN {_forget('postgresql', days, ('NEW',), starts)} END IF; "
            f"IF TG_OP <> 'INSERT' THEN {_forget('postgresql', days, ('OLD',), starts)} END IF; "
            "RETURN NULL; END $$",
            f"CREATE TRIGGER kpi_{table}_insert_delete AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION kpi_{table}_touch()",
            f"CREATE TRIGGER kpi_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({_changed('postgresql', columns)}) EXECUTE FUNCTION kpi_{table}_touch()",
        ]
    for column, dimension in REKEYS:
        made += [
            f"CREATE FUNCTION kpi_products_{column}_touch() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared({ROLL_UP_LOCK}); "
            f"DELETE FROM kpi_days WHERE {rekeyed(dimension)}; RETURN NULL; "
            "END $$",
            f"CREATE TRIGGER kpi_products_{column} AFTER UPDATE ON products FOR EACH ROW "
            f"WHEN ({_changed('postgresql', (column,))}) "
            f"EXECUTE FUNCTION kpi_products_{column}_touch()",
        ]
    return made


def _keyed(name: str, keys: tuple[str, ...], *columns: sa.Column) -> None:  # type: ignore[type-arg]
    """A table of rolled-up facts: per grouping, day and group (and `keys`)."""
    op.create_table(
        name,
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(
            "dimension",
            "day",
            "key",
            *keys,
            name=op.f(f"pk_{name}"),
        ),
    )


def upgrade() -> None:
    op.create_table(
        "kpi_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("rolled_up_at", backorder.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "dimension", name=op.f("pk_kpi_days")),
    )
    _keyed(
        "kpi_day_facts",
        (),
        *(
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in COUNTS
        ),
        sa.Column("wait_days", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("fill_days", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("wait_hours", sa.LargeBinary(), nullable=True),
        sa.Column("fill_hours", sa.LargeBinary(), nullable=True),
    )
    _keyed(
        "kpi_day_reasons",
        ("reason",),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers():
        op.execute(statement)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    for name in ("kpi_day_reasons", "kpi_day_facts", "kpi_days"):
        op.drop_table(name)


def _drop_triggers(dialect: str) -> None:
    for table, _, _ in TOUCHES:
        if dialect == "sqlite":
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER kpi_{table}_{event}")
        else:
            for trigger in (f"kpi_{table}_insert_delete", f"kpi_{table}_update"):
                op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"DROP FUNCTION kpi_{table}_touch()")
    for column, _ in REKEYS:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER kpi_products_{column}")
        else:
            op.execute(f"DROP TRIGGER kpi_products_{column} ON products")
            op.execute(f"DROP FUNCTION kpi_products_{column}_touch()")
