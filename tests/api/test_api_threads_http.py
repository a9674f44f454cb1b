"""How one API process spends its threads: at most BACKORDER_API_THREADS of them wait on the
database, and on SQLite orders are placed one at a time, each answered with its own view."""

from __future__ import annotations

import asyncio

import httpx
from anyio import to_thread
from fastapi.testclient import TestClient

from backorder.api.app import create_app
from backorder.config import Settings
from backorder.domain.access import Role
from backorder.services.apikeys import create_key
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.stock import set_stock
from backorder.store.db import Database
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

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/orders",
                        headers={"Authorization": f"Bearer {key}"},
                        json={
                            "channel": "shop",
                            "external_id": f"burst-{n}",
                            "placed_at": f"2026-01-05T10:00:{n:02d}Z",
                            "customer": {"id": f"c{n}"},
                            "lines": [{"sku": "SPIKE", "quantity": 1}],
                        },
                    )
                    for n in range(24)
                )
            )

    answers = asyncio.run(burst())
    assert [a.status_code for a in answers] == [201] * 24, [a.text for a in answers]
    assert sorted(a.json()["ref"] for a in answers) == sorted(f"shop:burst-{n}" for n in range(24))
    lines = [a.json()["lines"][0] for a in answers]
    assert sum(line["allocated"] for line in lines) == 10
    assert sum(line["backordered"] for line in lines) == 14
