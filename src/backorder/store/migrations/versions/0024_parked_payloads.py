"""A stored payload can be parked: a part of an order (a BigCommerce webhook, which carries
only the order's id; an order without its products) kept, waiting for the whole order,
which settles it; and an index that finds the parts an order settles

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "state IN ('pending', 'accepted', 'duplicate', 'dead', 'discarded')"
NEW = "state IN ('pending', 'accepted', 'duplicate', 'dead', 'discarded', 'parked')"
# The table's partial indexes, made again by hand around SQLite's copy of the table (a copy
# made from reflection need not keep an index's WHERE).
PARTIAL = (
    ("ix_intake_payloads_waiting", ["state", "id"], "state IN ('pending', 'dead')"),
    (
        "ix_intake_payloads_ignored",
        ["channel", "account", "topic"],
        "outcome IS NOT NULL AND order_ref IS NULL",
    ),
)


def _states(rule: str) -> None:
    """Let the state column take the states `rule` names. PostgreSQL alters the constraint
    in place; SQLite cannot, so the table is copied (intake_payloads has no triggers, and no
    table refers to it by a foreign key)."""
    name = op.f("ck_intake_payloads_state")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(name, "intake_payloads", type_="check")
        op.create_check_constraint(name, "intake_payloads", rule)
        return
    for index, _, _ in PARTIAL:
        op.drop_index(index, table_name="intake_payloads")
    with op.batch_alter_table("intake_payloads", recreate="always") as batch:
        batch.drop_constraint(name, type_="check")
        batch.create_check_constraint(name, rule)
    for index, columns, where in PARTIAL:
        op.create_index(index, "intake_payloads", columns, sqlite_where=sa.text(where))


def upgrade() -> None:
    _states(NEW)
    parked = sa.text("state = 'parked'")
    op.create_index(
        "ix_intake_payloads_parked",
        "intake_payloads",
        ["channel", "account", "external_id"],
        sqlite_where=parked,
        postgresql_where=parked,
    )


def downgrade() -> None:
    op.drop_index("ix_intake_payloads_parked", table_name="intake_payloads")
    # A parked payload has no place in the old states: it goes back to dead, with its words.
    op.execute("UPDATE intake_payloads SET state = 'dead' WHERE state = 'parked'")
    _states(OLD)
