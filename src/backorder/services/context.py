"""What every use case needs: the database, the settings and the clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.model import QueueStrategy
from backorder.domain.ranking import Ranking
from backorder.store.db import Database, unavailable
from backorder.store.migrate import ensure_schema

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _waiting(attempt: RetryCallState) -> None:
    error = attempt.outcome.exception() if attempt.outcome else None
    log.warning("database unavailable at start (%s); waiting for it", str(error).splitlines()[0])


@dataclass
class Backorder:
    db: Database
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now
    _rankings: dict[QueueStrategy, Ranking] = field(default_factory=dict, repr=False)
    # Live API keys this process has checked: key digest -> (trusted until, key id, role).
    known_keys: dict[str, tuple[datetime, int, Role]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, settings: Settings, url: str | None = None, wait_seconds: float = 0) -> Backorder:
        """Connect, upgrading an empty database on first use. A process that runs until it is
        stopped (a server, a worker) waits up to `wait_seconds` for a database it cannot reach
        yet (starting, restarting), saying so in its log, instead of exiting at once: started
        together with the database, or while it restarts, it would be gone for good."""
        app = cls(Database(url or settings.database_url, settings.read_database_url), settings)
        for attempt in Retrying(
            retry=retry_if_exception(unavailable),
            wait=wait_random_exponential(multiplier=0.5, max=5),
            stop=stop_after_delay(wait_seconds),
            before_sleep=_waiting,
            reraise=True,
        ):
            with attempt:
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
