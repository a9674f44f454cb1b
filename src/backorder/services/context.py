"""What every use case needs: the database, the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backorder.config import Settings
from backorder.store.db import Database
from backorder.store.migrate import ensure_schema


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Backorder:
    db: Database
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def open(cls, settings: Settings, url: str | None = None) -> Backorder:
        """Connect, upgrading an empty database on first use."""
        app = cls(Database(url or settings.database_url), settings)
        ensure_schema(app.db)
        return app

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.db.dispose()
