"""What an API process publishes with: one connection, made at the first delivery in the
server's event loop (and made again if it was closed), the stream ensured once."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError

from backorder.broker.jetstream import connect, ensure_stream
from backorder.config import Settings
from backorder.services.broker_intake import Outgoing

log = logging.getLogger(__name__)

# The stream's refusals when it is at a limit (JetStream error codes).
STREAM_FULL = {10077, 10047, 10028}  # maximum messages / insufficient resources / storage


class BrokerUnavailable(Exception):
    """The stream did not take the delivery (unreachable, no leader, no answer in time)."""


class StreamFull(BrokerUnavailable):
    """The stream is at its limit: new deliveries are refused until consumers catch up."""


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        # One attempt at a time, shared by every request waiting for it: with the broker
        # away, they all fail together instead of each waiting its own turn.
        self._connecting: asyncio.Future[tuple[Client, JetStreamContext]] | None = None

    async def _jetstream(self) -> JetStreamContext:
        if self._js is not None and self._client is not None and not self._client.is_closed:
            return self._js
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
        client, js = await asyncio.shield(self._connecting)
        self._client, self._js = client, js
        return js

    async def _connect(self) -> tuple[Client, JetStreamContext]:
        client = await connect(self.settings, "serve")
        js = client.jetstream(timeout=self.settings.broker_timeout_seconds)
        try:
            await ensure_stream(js, self.settings)
        except BaseException:
            await client.close()
            raise
        return client, js

    async def publish(self, message: Outgoing) -> PubAck:
        """The delivery in the stream, acknowledged by it (by a majority of a cluster's
        replicas); BrokerUnavailable (StreamFull) when it is not."""
        try:
            js = await self._jetstream()
            if self._client is None or not self._client.is_connected:
                raise BrokerUnavailable("not connected (reconnecting)")
            return await js.publish(
                message.subject,
                message.data,
                timeout=self.settings.broker_timeout_seconds,
                stream=self.settings.broker_stream,
                headers=message.headers,
            )
        except APIError as error:
            if error.err_code in STREAM_FULL:
                raise StreamFull(error.description or "the stream is full") from None
            raise BrokerUnavailable(error.description or str(error)) from None
        except (nats.errors.Error, OSError, TimeoutError) as error:
            raise BrokerUnavailable(str(error) or type(error).__name__) from None

    async def ready(self) -> str | None:
        """None when connected and the stream is there; else what is wrong, in words."""
        try:
            js = await self._jetstream()
            if self._client is None or not self._client.is_connected:
                return "broker: not connected (reconnecting)"
            await js.stream_info(self.settings.broker_stream)
        except (nats.errors.Error, OSError, TimeoutError) as error:
            return f"broker: {str(error) or type(error).__name__}"
        return None
