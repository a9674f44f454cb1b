"""How one API process spends its threads: at most BACKORDER_API_THREADS of them wait on the
database, and on SQLite orders that wait for the one writer are placed together (a group
commit, api/group_commit.py), each answered with its own view."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from backorder.api.app import create_app
from backorder.api.group_commit import GroupCommit
from backorder.canonical import OrderIn
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.domain.errors import UnknownOrder
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.intake import Placed
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.services.views import order_view
from backorder.store.db import COMMITS, Commits, Database
from tests.conftest import Clock
from tests.factories import product


def test_the_setting_caps_the_worker_threads_of_a_process(db_url: str, clock: Clock) -> None:
    app = Backorder(Database(db_url), Settings(api_threads=3), clock)
    web = create_app(app)

    @web.get("/test/threads")
    async def threads() -> dict[str, float]:
        return {"tokens": to_thread.current_default_thread_limiter().total_tokens}

    try:
        with TestClient(web) as http:
            assert http.get("/test/threads").json() == {"tokens": 3}
    finally:
        app.close()


def test_orders_sent_at_once_are_each_placed_once_and_answered_with_their_own_view(
    app: Backorder,
) -> None:
    add_product(app, product("SPIKE"))
    set_stock(app, "SPIKE", 10)
    key = create_key(app, Role.CHANNEL).key
    web = create_app(app)

    commits: list[int] = []
    event.listen(app.db.engine, "commit", lambda *_: commits.append(1))
    answers = asyncio.run(_sent_at_once(web, key, [_body(n) for n in range(24)]))
    assert [a.status_code for a in answers] == [201] * 24, [a.text for a in answers]
    if app.db.engine.dialect.name == "sqlite":  # those that waited for the writer, together
        assert len(commits) < 24
    assert sorted(a.json()["ref"] for a in answers) == sorted(f"shop:o-{n}" for n in range(24))
    lines = [a.json()["lines"][0] for a in answers]
    assert sum(line["allocated"] for line in lines) == 10
    assert sum(line["backordered"] for line in lines) == 14


@pytest.fixture
def sqlite_app(migrated_sqlite: Path, tmp_path: Path, clock: Clock) -> Iterator[Backorder]:
    """Groups are SQLite's: PostgreSQL places each order in a thread of its own."""
    shutil.copyfile(migrated_sqlite, tmp_path / "backorder.db")
    app = Backorder(Database(f"sqlite:///{tmp_path / 'backorder.db'}"), Settings(), clock)
    yield app
    app.close()


def _body(n: int, sku: str = "SPIKE") -> dict[str, Any]:
    return {
        "channel": "shop",
        "external_id": f"o-{n}",
        "placed_at": "2026-01-05T10:00:00Z",
        "customer": {"id": f"c{n}"},
        "lines": [{"sku": sku, "quantity": 1}],
    }


async def _sent_at_once(
    web: FastAPI, key: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    """POST every order at once through the ASGI app; the answers in the order sent."""
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(
            *(
                client.post("/api/v1/orders", headers={"Authorization": f"Bearer {key}"}, json=b)
                for b in bodies
            )
        )


def test_keyed_orders_sent_among_others_keep_their_own_answers(sqlite_app: Backorder) -> None:
    """An order with an Idempotency-Key is placed on its own, so that its key is marked
    applied in its transaction: a replay answers what the first request was answered."""
    app = sqlite_app
    add_product(app, product("SPIKE"))
    set_stock(app, "SPIKE", 5)
    key = create_key(app, Role.CHANNEL).key
    web = create_app(app)
    auth = {"Authorization": f"Bearer {key}"}

    def keyed(n: int) -> dict[str, str]:
        return auth | ({"Idempotency-Key": f"k-{n}"} if n % 4 == 0 else {})

    async def burst() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = await asyncio.gather(
                *(client.post("/api/v1/orders", headers=keyed(n), json=_body(n)) for n in range(16))
            )
            replays = await asyncio.gather(
                *(
                    client.post("/api/v1/orders", headers=keyed(n), json=_body(n))
                    for n in range(0, 16, 4)
                )
            )
            return first, replays

    applied: list[str] = []

    def marked(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE idempotency_keys") and "applied" in str(parameters):
            applied.append(statement)

    event.listen(app.db.engine, "before_cursor_execute", marked)
    first, replays = asyncio.run(burst())
    assert len(applied) == 4  # each key marked applied in its order's own transaction
    assert [a.status_code for a in first] == [201] * 16, [a.text for a in first]
    assert [(a.status_code, a.json()) for a in replays] == [
        (201, first[n].json()) for n in range(0, 16, 4)
    ]
    assert sum(a.json()["lines"][0]["allocated"] for a in first) == 5


def test_an_order_whose_request_is_cancelled_while_it_waits_is_not_placed(
    sqlite_app: Backorder,
) -> None:
    app = sqlite_app
    add_product(app, product("SPIKE"))
    set_stock(app, "SPIKE", 5)
    group = GroupCommit(app)
    refs = [f"shop:o-{n}" for n in range(3)]
    requests = [OrderIn.model_validate(_body(n)).to_request() for n in range(3)]

    async def scene() -> list[tuple[Placed, dict[str, Any]]]:
        tally = Commits()
        COMMITS.set(tally)  # as api/problems.py sets it for each request
        await group._turn.acquire()  # the writer is busy
        waiting = [asyncio.ensure_future(group.place(r)) for r in requests]
        await asyncio.sleep(0)
        waiting[1].cancel()
        await asyncio.sleep(0)
        group._turn.release()
        done = [await waiting[0], await waiting[2]]
        assert waiting[1].cancelled()
        assert tally.count == 2  # each placed order counted in its request's commits
        return done

    placed = asyncio.run(scene())
    assert [p.ref for p, _ in placed] == [refs[0], refs[2]]
    assert order_view(app, refs[2]) == placed[1][1]
    with pytest.raises(UnknownOrder):
        order_view(app, refs[1])


def test_an_order_for_an_unknown_sku_sent_among_others_is_refused_alone(
    sqlite_app: Backorder, caplog: pytest.LogCaptureFixture
) -> None:
    app = sqlite_app
    add_product(app, product("SPIKE"))
    set_stock(app, "SPIKE", 5)
    key = create_key(app, Role.CHANNEL).key
    web = create_app(app)

    with caplog.at_level(logging.INFO, logger="backorder.services.placing_answer"):
        bodies = [_body(n, "NO-SUCH" if n == 5 else "SPIKE") for n in range(12)]
        answers = asyncio.run(_sent_at_once(web, key, bodies))
    assert "placing each on its own" in caplog.text  # it came in a group, which failed
    assert [a.status_code for a in answers] == [201] * 5 + [422] + [201] * 6
    assert "NO-SUCH" in answers[5].json()["detail"]
    assert sum(a.json()["lines"][0]["allocated"] for a in answers if a.status_code == 201) == 5
    with pytest.raises(UnknownOrder):
        order_view(app, "shop:o-5")
