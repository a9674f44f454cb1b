"""The channel endpoints with a broker (BACKORDER_BROKER_URL): a delivery checked as always
is published to the stream as received, and answered 202 once the stream has it; the
consumer stores and places it. The broker away or its stream full: 503 with Retry-After,
and nothing stored anywhere (the channel sends it again; the database is not used as a
second queue, which would make two places to look for a delivery and lose the stream's
order and deduplication). Imported only when a broker is configured (it loads nats-py)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from backorder.api.problems import ApiProblem
from backorder.broker.publisher import BrokerUnavailable, Publisher, StreamFull
from backorder.intake import Acknowledging, Noting, adapter_for
from backorder.services.broker_intake import Outgoing, Via, outgoing
from backorder.services.context import Backorder
from backorder.services.ingest import Source, acknowledge, envelope_notes, summary

RETRY_UNAVAILABLE = "5"  # seconds: a cluster elects a new leader within a few
RETRY_FULL = "30"  # seconds: consumers need time to catch up


def publisher_of(app: FastAPI, settings: Any) -> Publisher:
    """The process's publisher (made at the first delivery)."""
    publisher: Publisher | None = getattr(app.state, "broker", None)
    if publisher is None:
        publisher = app.state.broker = Publisher(settings)
    return publisher


async def queue(
    request: Request, app: Backorder, source: tuple[str, str, str | None], text: str, via: Via
) -> dict[str, Any]:
    """Publish a checked delivery; the answer the endpoint gives (202)."""
    channel, account, topic = source
    checked = Source.of(channel, account, topic)
    message: Outgoing = await run_in_threadpool(outgoing, checked, text, via)
    publisher = publisher_of(request.app, app.settings)
    try:
        ack = await publisher.publish(message)
    except StreamFull as full:
        raise ApiProblem(
            503, "intake-full", "Intake stream full", str(full), {"Retry-After": RETRY_FULL}
        ) from None
    except BrokerUnavailable as away:
        raise ApiProblem(
            503,
            "broker-unavailable",
            "Broker unavailable",
            f"the intake stream did not take the delivery ({away}); nothing was stored: send "
            "it again",
            {"Retry-After": RETRY_UNAVAILABLE},
        ) from None
    answer, notes = None, []
    if isinstance(adapter_for(channel), Acknowledging | Noting):
        # numbered by the stream sequence, unique as a payload id is without a broker
        answer = await run_in_threadpool(acknowledge, app, channel, text, [ack.seq])
        notes = await run_in_threadpool(envelope_notes, channel, text)
    queued = {"stream": ack.stream, "sequence": ack.seq, "duplicate": bool(ack.duplicate)}
    return summary([]) | {"acknowledgement": answer, "envelope": notes, "queued": queued}


async def ready(app: FastAPI, backorder: Backorder) -> str | None:
    """None when the broker answers and the stream is there; else what is wrong."""
    return await publisher_of(app, backorder.settings).ready()
