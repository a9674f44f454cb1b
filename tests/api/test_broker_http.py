"""Channel intake through NATS JetStream (BACKORDER_BROKER_URL): the endpoints publish and
answer 202, a consumer stores, places and acks after its commit. A real `backorder serve`
and a nats-server of the test's own per module and backend."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from backorder.broker.jetstream import connect, consumer_config, ensure_stream, stream_key
from backorder.config import Settings
from backorder.intake.signatures import HEADERS as SIGNATURE_HEADERS
from backorder.intake.signatures import sign
from backorder.services.broker_intake import DURABLE, SUBJECTS, Incoming, Verdict, take_message
from backorder.services.context import Backorder
from backorder.services.products import add_product
from backorder.services.worker import _steps
from backorder.store.tables import broker_messages, intake_payloads, orders
from tests.api.live import make_keys, serving
from tests.broker import NatsServer, consume_all, nats_server
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
SECRET = "hush"


@dataclass(frozen=True)
class Setup:
    base: str
    key: str
    nats: NatsServer
    app: Backorder  # this process's, for consuming as `backorder intake consume` does


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("broker")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), folder / "b.db")
        url = f"sqlite:///{folder / 'b.db'}"
    else:
        url = request.getfixturevalue("postgres_databases").create()
    with nats_server(folder) as nats:
        app = Backorder.open(Settings(database_url=url, broker_url=nats.url))
        add_product(app, product("WIDGET-BLUE", name="Blue widget"))
        env = {
            "BACKORDER_BROKER_URL": nats.url,
            "BACKORDER_BROKER_TIMEOUT_SECONDS": "2",
            "BACKORDER_WEBHOOK_SECRETS": json.dumps({"shopify": SECRET}),
        }
        try:
            with serving(url, env) as base:
                yield Setup(base, make_keys(url)["channel"], nats, app)
        finally:
            app.close()


def order(external_id: str, sku: str = "WIDGET-BLUE", quantity: int = 1) -> bytes:
    return json.dumps(
        {
            "channel": "web",
            "external_id": external_id,
            "placed_at": "2026-01-05T10:00:00Z",
            "customer": {"id": "c-1", "email": "c@example.com"},
            "lines": [{"sku": sku, "quantity": quantity}],
        }
    ).encode()


def post(setup: Setup, body: bytes, channel: str = "canonical") -> httpx.Response:
    return httpx.post(
        f"{setup.base}/api/v1/channels/{channel}/orders",
        content=body,
        headers={"Authorization": f"Bearer {setup.key}", "Content-Type": "application/json"},
        timeout=30,
    )


def count(app: Backorder, query: object) -> int:
    with app.db.read() as uow:
        return int(uow.connection.execute(query).scalar_one())  # type: ignore[call-overload]


def placed(app: Backorder, ref: str) -> int:
    channel, external_id = ref.split(":")
    same = (orders.c.channel == channel) & (orders.c.external_id == external_id)
    return count(app, select(func.count()).select_from(orders).where(same))


def test_a_delivery_is_answered_202_once_in_the_stream_and_placed_by_the_consumer(
    setup: Setup,
) -> None:
    first = post(setup, order("b-1"))
    assert first.status_code == 202, first.text
    assert first.json()["queued"]["duplicate"] is False
    assert first.json()["pending"] == [] and first.json()["accepted"] == []
    assert placed(setup.app, "web:b-1") == 0  # in the stream, not yet in the database
    again = post(setup, order("b-1"))  # the channel sends it again: the stream keeps one
    assert again.json()["queued"] == first.json()["queued"] | {"duplicate": True}
    changed = post(setup, order("b-1", quantity=3))  # the same order, sent otherwise
    assert changed.json()["queued"]["duplicate"] is False
    states = [o.state for t in consume_all(setup.app) for o in t.outcomes]
    assert states == ["accepted", "duplicate"]  # placed once; the copy is known
    assert placed(setup.app, "web:b-1") == 1
    # Refused before publishing, as without a broker: nothing goes to the stream.
    bad = post(setup, b"\xff\xfe")
    assert (bad.status_code, bad.json()["type"]) == (400, "/problems/not-utf-8")
    assert post(setup, b"{}", channel="fax").status_code == 422


def test_a_signed_webhook_goes_through_the_stream_and_a_worker_pass_takes_it(setup: Setup) -> None:
    body = (FIXTURES / "shopify_order.json").read_bytes()
    headers = {SIGNATURE_HEADERS["shopify"]: sign(SECRET, body), "X-Shopify-Topic": "orders/create"}
    hook = httpx.post(
        f"{setup.base}/api/v1/channels/shopify/webhooks", content=body, headers=headers, timeout=30
    )
    assert hook.status_code == 202, hook.text
    forged = httpx.post(
        f"{setup.base}/api/v1/channels/shopify/webhooks",
        content=body,
        headers=headers | {SIGNATURE_HEADERS["shopify"]: sign("guess", body)},
        timeout=30,
    )
    assert forged.status_code == 401
    step = dict(_steps())["consumed"]  # the worker's step, as each of its passes runs it
    assert step(setup.app) == {"consumed": 1}
    # its SKUs have no alias here: a dead letter, kept whole, as without a broker
    with setup.app.db.read() as uow:
        (row,) = uow.connection.execute(
            select(intake_payloads).where(intake_payloads.c.channel == "shopify")
        ).all()
    assert (row.state, row.topic, row.external_id) == ("dead", "orders/create", "450789469")


def test_a_bad_message_is_a_dead_letter_and_the_consumer_goes_on(setup: Setup) -> None:
    assert post(setup, b'{"channel": "web", "external_id": "b-bad"').status_code == 202
    assert post(setup, order("b-unknown", sku="NO-SUCH-SKU")).status_code == 202
    assert post(setup, order("b-2")).status_code == 202
    taken = consume_all(setup.app)
    assert [t.verdict for t in taken] == [Verdict.ACK] * 3
    states = [o.state for t in taken for o in t.outcomes]
    assert states == ["dead", "dead", "accepted"]
    assert placed(setup.app, "web:b-2") == 1


def test_a_message_delivered_again_after_its_commit_is_stored_once(setup: Setup) -> None:
    assert post(setup, order("b-3")).status_code == 202

    async def crash_before_ack() -> None:
        """Take the message as the consumer does, then die before the ack: JetStream
        delivers it again (at once, here, instead of after the ack wait)."""
        client = await connect(setup.app.settings, "test")
        try:
            js = client.jetstream()
            key = stream_key(await ensure_stream(js, setup.app.settings))
            sub = await js.pull_subscribe(
                f"{SUBJECTS}.>", durable=DURABLE, config=consumer_config(setup.app.settings)
            )
            (message,) = await sub.fetch(1, timeout=5)
            incoming = Incoming(
                key, message.metadata.sequence.stream, dict(message.headers or {}), message.data
            )
            taken = await asyncio.to_thread(take_message, setup.app, incoming)
            assert taken.verdict is Verdict.ACK
            await message.nak()
        finally:
            await client.close()

    asyncio.run(crash_before_ack())
    again = consume_all(setup.app)
    assert [(t.verdict, [o.state for o in t.outcomes]) for t in again] == [
        (Verdict.ACK, ["accepted"])  # what became of the payload stored the first time
    ]
    stored = select(func.count()).where(intake_payloads.c.external_id == "b-3")
    assert count(setup.app, stored) == 1
    assert placed(setup.app, "web:b-3") == 1


def test_the_broker_away_is_not_ready_and_deliveries_are_refused_with_retry_after(
    setup: Setup,
) -> None:
    setup.nats.stop()
    try:
        ready = httpx.get(f"{setup.base}/readyz", timeout=30)
        assert ready.status_code == 503 and "broker" in ready.json()["detail"]
        refused = post(setup, order("b-4"))
        assert refused.status_code == 503
        assert refused.json()["type"] == "/problems/broker-unavailable"
        assert refused.headers["Retry-After"] == "5"
    finally:
        setup.nats.start()
    deadline = time.monotonic() + 20
    while httpx.get(f"{setup.base}/readyz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "not ready again after the broker came back"
        time.sleep(0.2)
    assert post(setup, order("b-4")).status_code == 202
    consume_all(setup.app)
    assert placed(setup.app, "web:b-4") == 1


def test_a_consumer_forgets_the_messages_the_stream_no_longer_holds(setup: Setup) -> None:
    assert post(setup, order("b-5")).status_code == 202
    consume_all(setup.app)  # stored, acked: the work queue lets it go
    name = setup.app.settings.broker_stream
    with setup.app.db.write() as uow:
        uow.connection.execute(
            insert(broker_messages),
            [
                {"stream": stream, "sequence": 1, "payload_ids": [], "received_at": setup.app.now()}
                for stream in (f"{name}@an-earlier-stream", "ANOTHER_STREAM@x")
            ],
        )
        uow.commit()
    consume_all(setup.app)  # nothing to take; it tidies first
    with setup.app.db.read() as uow:
        left = uow.connection.execute(select(broker_messages.c.stream)).scalars().all()
    assert left == ["ANOTHER_STREAM@x"]  # another stream's record is not this consumer's
    assert placed(setup.app, "web:b-5") == 1
