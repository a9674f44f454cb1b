"""The intake consumer: pulls batches from the stream's durable consumer (shared by every
consuming process, which split the work), stores and processes each message in its own
database transaction, and acks it after the commit. Nothing is kept in the process: the
position is the durable consumer's, what was stored is the database's.

A message fails alone: one that cannot be processed yet is delivered again later (a nak
with a delay growing with its deliveries); the database being away pauses the consumer
instead of working through the stream for nothing. Every wait is bounded and cut short by
a stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from backorder.broker.jetstream import connect, consumer_config, ensure_stream, stream_key
from backorder.services.broker_intake import (
    DURABLE,
    SUBJECTS,
    Incoming,
    Taken,
    Verdict,
    forget_gone,
    take_message,
)
from backorder.services.context import Backorder
from backorder.store.db import unavailable

log = logging.getLogger(__name__)

MAX_DELAY = 30.0  # seconds before a message failing again and again is delivered again
FETCH_SECONDS = 1.0  # a pull waits at most this long for messages
FORGET_SECONDS = 300.0  # how often a consumer drops its record of messages gone from the stream


@dataclass
class Until:
    """When consuming stops: a stop asked for (a signal), a deadline (time.monotonic()),
    or, for a worker's pass, the stream found empty (`idle_ends`)."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    deadline: float | None = None
    idle_ends: bool = False

    def over(self) -> bool:
        return self.stop.is_set() or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    def left(self, most: float) -> float:
        """A wait of at most `most` seconds, cut at the deadline."""
        if self.deadline is None:
            return most
        return max(0.0, min(most, self.deadline - time.monotonic()))

    async def pause(self, seconds: float) -> None:
        """Wait, cut short by a stop or the deadline."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), self.left(seconds))


Report = Callable[[Taken], None]


async def consume(app: Backorder, batch: int, until: Until, report: Report) -> int:
    """Take messages until `until` says so; how many were taken (acked or not)."""
    client = await _connected(app, until)
    if client is None:
        return 0
    try:
        js = client.jetstream(timeout=app.settings.broker_timeout_seconds)
        stream = await ensure_stream(js, app.settings)
        key = stream_key(stream)
        await _forget_gone(app, js, key, stream.state.first_seq)
        subscription = await js.pull_subscribe(
            f"{SUBJECTS}.>",
            durable=DURABLE,
            stream=app.settings.broker_stream,
            config=consumer_config(app.settings),
        )
        return await _loop(app, (js, subscription), key, (batch, until, report))
    finally:
        await client.close()  # acks sent are flushed first


async def _connected(app: Backorder, until: Until) -> Client | None:
    """A connection, tried again (a wait growing up to MAX_DELAY) while the broker is away
    and `until` allows; None when it never came. A worker's pass tries once."""
    tries = 0
    while True:
        try:
            return await connect(app.settings, "consume")
        except (nats.errors.Error, OSError, TimeoutError) as error:
            if until.idle_ends:
                raise
            tries += 1
            log.warning("broker unreachable (%s); trying again", error or type(error).__name__)
            await until.pause(min(MAX_DELAY, 0.5 * 2**tries))
            if until.over():
                return None


async def _loop(
    app: Backorder,
    pulling: tuple[JetStreamContext, JetStreamContext.PullSubscription],
    key: str,
    how: tuple[int, Until, Report],
) -> int:
    (js, subscription), (batch, until, report) = pulling, how
    taken, failures = 0, 0
    forget_at = time.monotonic() + FORGET_SECONDS  # the first tidy came with the stream
    while not until.over():
        if time.monotonic() >= forget_at:
            await _forget_gone(app, js, key)
            forget_at = time.monotonic() + FORGET_SECONDS
        wait = until.left(0.2 if until.idle_ends else FETCH_SECONDS)
        try:
            messages = await subscription.fetch(batch, timeout=max(wait, 0.05))
        except nats.errors.TimeoutError:  # nothing there
            if until.idle_ends:
                return taken
            continue
        except (nats.errors.Error, OSError) as error:  # the server away, a leader moving
            failures += 1
            log.warning("broker: pull failed (%s); trying again", error or type(error).__name__)
            await until.pause(min(MAX_DELAY, 0.5 * 2 ** min(failures, 6)))
            continue
        failures = 0
        taken += await _take_batch(app, messages, key, until, report)
    return taken


async def _forget_gone(
    app: Backorder, js: JetStreamContext, key: str, first: int | None = None
) -> None:
    """Drop the database's record of the messages the stream no longer holds, before its
    first sequence `first` (asked of the stream when not given): the record only tells a
    message delivered again, which those never are. A failure is logged and tried again
    later: it never stops the consumer."""
    try:
        if first is None:
            first = (await js.stream_info(app.settings.broker_stream)).state.first_seq
        gone = await asyncio.to_thread(forget_gone, app, key, first)
    except (nats.errors.Error, OSError, TimeoutError) as error:
        log.warning("broker: stream info failed (%s); tidying later", error or type(error))
        return
    except Exception as error:
        if not unavailable(error):
            raise
        log.warning("database unavailable (%s); tidying later", type(error).__name__)
        return
    if gone:
        log.info("forgot %d delivered messages the stream no longer holds", gone)


async def _take_batch(
    app: Backorder, messages: list[Msg], key: str, until: Until, report: Report
) -> int:
    """Each message stored and processed in turn, then acked; what is left when a stop
    comes (or while the database is away) goes back to the stream at once."""
    done = 0
    for n, message in enumerate(messages):
        if until.stop.is_set():
            await _give_back(messages[n:], 0)
            break
        metadata = message.metadata
        incoming = Incoming(
            key,
            metadata.sequence.stream,
            dict(message.headers or {}),
            message.data,
            metadata.num_delivered or 1,
        )
        result = await asyncio.to_thread(take_message, app, incoming)
        delay = _delay(message)
        await _settle(message, result, delay)
        report(result)
        done += 1
        if result.verdict is Verdict.WAIT:
            log.warning("database unavailable (%s); pausing %.1f s", result.reason, delay)
            await _give_back(messages[n + 1 :], delay)
            await until.pause(delay)
            break
    return done


def _delay(message: Msg) -> float:
    """Before a failed message comes again: growing with its deliveries, with jitter."""
    delivered = message.metadata.num_delivered or 1
    return random.uniform(0.5, 1.0) * min(MAX_DELAY, 2.0 ** min(delivered, 5))


async def _settle(message: Msg, result: Taken, delay: float) -> None:
    try:
        if result.verdict is Verdict.ACK:
            await message.ack()
        elif result.verdict is Verdict.DROP:
            await message.term()
        else:
            await message.nak(delay=delay)
    except (nats.errors.Error, OSError) as error:  # it comes again, and is recognised
        log.warning("broker: could not settle message (%s)", error or type(error).__name__)


async def _give_back(messages: list[Msg], delay: float) -> None:
    for message in messages:
        try:
            await message.nak(delay=delay or None)
        except (nats.errors.Error, OSError):
            return  # they come again once their ack wait passes


def consume_pass(app: Backorder, batch: int, seconds: float) -> int:
    """What a worker's pass does: take what the stream holds, for at most `seconds`."""
    until = Until(deadline=time.monotonic() + seconds, idle_ends=True)
    return asyncio.run(consume(app, batch, until, lambda _: None))
