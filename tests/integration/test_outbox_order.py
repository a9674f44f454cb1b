"""Event ids are taken in commit order by every writer of events, so a reader that resumes
"after id N" (the dispatcher, an integration) never skips one. The staff alerts the
dispatcher raises write events too: one committing before an order that drew a lower id
made the dispatcher step over that order's events for good (found by tests/faults)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from backorder.domain.alerts import Raise
from backorder.domain.events import ProductAdded
from backorder.services.alerts import raise_alert
from backorder.store.db import Database
from backorder.store.repos import Outbox
from backorder.store.tables import events
from tests.conftest import PostgresDatabases
from tests.factories import product

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_an_alert_waits_for_an_earlier_writer_of_events_to_commit(
    postgres_databases: PostgresDatabases,
) -> None:
    database = Database(postgres_databases.create())
    raised = threading.Event()

    def alert() -> None:
        with database.write() as uow:
            raise_alert(uow.connection, Raise("stock_low", "low", {}, sku="WIDGET-BLUE"), NOW)
            uow.commit()
        raised.set()

    try:
        with database.write() as first:
            Outbox(first.connection).append([ProductAdded("WIDGET-BLUE", product())], NOW)
            writer = threading.Thread(target=alert, daemon=True)
            writer.start()
            assert not raised.wait(1.0)  # it waits its turn: the first holds the next ids
            first.commit()
        assert raised.wait(10)
        with database.read() as uow:
            kinds = (
                uow.connection.execute(
                    select(events.c.type).where(events.c.id > 0).order_by(events.c.id)
                )
                .scalars()
                .all()
            )
            assert uow.connection.execute(select(func.count()).select_from(events)).scalar() == 2
        assert kinds[-2:] == ["product_added", "alert_raised"]  # ids follow the commits
    finally:
        database.dispose()
