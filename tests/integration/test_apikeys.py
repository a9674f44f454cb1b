"""API keys: checked against the database, trusted for a few seconds by the process."""

from __future__ import annotations

from backorder.domain.access import Role
from backorder.services.apikeys import authenticate, create_key, revoke_key, trusted
from backorder.services.context import Backorder
from backorder.store.db import Database
from tests.conftest import Clock


def test_a_key_revoked_by_another_process_stops_working_within_the_cache_time(
    app: Backorder, clock: Clock
) -> None:
    new = create_key(app, Role.OPS, "shop")
    assert authenticate(app, new.key) is Role.OPS
    elsewhere = Backorder(Database(app.db.url), app.settings, clock)  # e.g. the CLI
    revoke_key(elsewhere, new.id)
    elsewhere.close()
    assert authenticate(app, new.key) is Role.OPS  # still trusted for a moment
    clock.advance(seconds=app.settings.api_key_cache_seconds)
    assert authenticate(app, new.key) is None


def test_a_key_revoked_by_this_process_stops_at_once_and_unknown_keys_are_never_trusted(
    app: Backorder,
) -> None:
    new = create_key(app, Role.VIEWER)
    assert authenticate(app, new.key) is Role.VIEWER
    revoke_key(app, new.id)
    assert authenticate(app, new.key) is None
    assert authenticate(app, "bo_unknown") is None
    assert app.known_keys == {}


def test_the_event_loop_trusts_only_a_key_checked_lately(app: Backorder, clock: Clock) -> None:
    new = create_key(app, Role.CHANNEL, "shop")
    assert trusted(app, new.key) is None  # not checked yet: the database is asked
    assert authenticate(app, new.key) is Role.CHANNEL
    assert trusted(app, new.key) == (new.id, Role.CHANNEL)
    clock.advance(seconds=app.settings.api_key_cache_seconds)
    assert trusted(app, new.key) is None
    assert authenticate(app, new.key) is Role.CHANNEL
    revoke_key(app, new.id)
    assert trusted(app, new.key) is None
    assert trusted(app, "not-a-key") is None
