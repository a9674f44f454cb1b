"""The connection to NATS, the intake stream and its durable pull consumer, as the
settings describe them. The stream is made (or its limits brought to the settings) by
whichever process connects first: an API process or a consumer."""

from __future__ import annotations

import asyncio
import logging
import os

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.errors import BadRequestError, NotFoundError

from backorder.config import Settings
from backorder.services.broker_intake import DURABLE, SUBJECTS

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2  # each server, at the first connection
MAX_ACK_PENDING = 2_000  # messages out with consumers, unacked, at most


def servers(settings: Settings) -> list[str]:
    """The servers BACKORDER_BROKER_URL names (a comma-separated list for a cluster)."""
    url = settings.broker_url or ""
    return [server.strip() for server in url.split(",") if server.strip()]


async def connect(settings: Settings, role: str) -> Client:
    """A connection that reconnects by itself (to another server of a cluster) for as long as
    the process runs; the first one fails (TimeoutError) after a few seconds per server."""

    client = Client()

    async def said(error: Exception) -> None:
        log.warning("broker: %s", error or type(error).__name__)

    async def lost() -> None:
        if not client.is_closed:  # not a close of our own
            log.warning("broker: disconnected; reconnecting")

    async def back() -> None:
        log.warning("broker: reconnected to %s", client.connected_url)

    named = servers(settings)
    connecting = client.connect(
        servers=named,
        name=f"backorder-{role}-{os.getpid()}",
        connect_timeout=CONNECT_SECONDS,
        reconnect_time_wait=1,
        max_reconnect_attempts=-1,  # once connected: for as long as the process runs
        error_cb=said,
        disconnected_cb=lost,
        reconnected_cb=back,
    )
    try:  # the first connection is bounded: every server tried, about twice
        await asyncio.wait_for(connecting, (CONNECT_SECONDS + 1) * len(named) + 1)
    except BaseException:
        await client.close()
        raise
    return client


def stream_config(settings: Settings) -> StreamConfig:
    """A work queue (a message leaves once a consumer acked it), on disk, replicated as the
    settings say; when full it refuses new messages rather than dropping old ones."""
    return StreamConfig(
        name=settings.broker_stream,
        description="channel deliveries for backorder intake",
        subjects=[f"{SUBJECTS}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        num_replicas=settings.broker_replicas,
        max_age=settings.broker_max_age_seconds,
        max_bytes=settings.broker_max_bytes,
        duplicate_window=settings.broker_duplicate_window_seconds,
    )


def consumer_config(settings: Settings) -> ConsumerConfig:
    """The one durable pull consumer: explicit acks, delivered again without end until
    acked (a database outage loses nothing)."""
    return ConsumerConfig(
        durable_name=DURABLE,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.broker_ack_wait_seconds,
        max_deliver=-1,
        max_ack_pending=MAX_ACK_PENDING,
        filter_subject=f"{SUBJECTS}.>",
    )


async def ensure_stream(js: JetStreamContext, settings: Settings) -> StreamInfo:
    """The stream, made if missing; its limits brought to the settings when they differ."""
    wanted = stream_config(settings)
    try:
        info = await js.stream_info(settings.broker_stream)
    except NotFoundError:
        return await js.add_stream(wanted)
    have = info.config
    if (have.max_age, have.max_bytes, have.duplicate_window, have.num_replicas) != (
        wanted.max_age,
        wanted.max_bytes,
        wanted.duplicate_window,
        wanted.num_replicas,
    ):
        try:
            return await js.update_stream(wanted)
        except BadRequestError as error:  # e.g. replicas on a single server
            log.warning("broker: stream %s kept as it is: %s", settings.broker_stream, error)
    return info


def stream_key(info: StreamInfo) -> str:
    """The stream as the database knows its messages: its name and creation time, as a
    stream deleted and made anew numbers its messages from 1 again."""
    created = info.created.strftime("%Y%m%dT%H%M%S.%fZ") if info.created else "-"
    return f"{info.config.name}@{created}"
