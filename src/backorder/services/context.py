"""What every use case needs: the database, the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.model import QueueStrategy
from backorder.domain.ranking import Ranking
from backorder.store.db import Database
from backorder.store.migrate import ensure_schema


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Backorder:
    db: Database
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now
    _rankings: dict[QueueStrategy, Ranking] = field(default_factory=dict, repr=False)
    # Live API keys this process has checked: key digest -> (trusted until, key id, role).
    known_keys: dict[str, tuple[datetime, int, Role]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, settings: Settings, url: str | None = None) -> Backorder:
        """Connect, upgrading an empty database on first use."""
        app = cls(Database(url or settings.database_url), settings)
        ensure_schema(app.db)
        return app

    def ranking(self, strategy: QueueStrategy) -> Ranking:
        """The ranking of a queue strategy under these settings (built once)."""
        if strategy not in self._rankings:
            self._rankings[strategy] = self.settings.ranking(strategy)
        return self._rankings[strategy]

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.db.dispose()
