"""`backorder intake consume`: the consumer of the broker's intake stream."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from backorder.cli.common import out, state_of
from backorder.domain.errors import InvalidRequest

if TYPE_CHECKING:
    from backorder.services.broker_intake import Taken


def consume_command(
    ctx: typer.Context,
    batch: Annotated[
        int, typer.Option(min=1, max=1000, help="Messages pulled from the stream at once.")
    ] = 50,
    seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop after this long (default: until stopped).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per payload, as each is done.")
    ] = False,
) -> None:
    """Take channel deliveries from the broker's stream (BACKORDER_BROKER_URL): store and
    process each as the channel endpoints do without a broker, and ack it after the commit,
    until stopped (Ctrl-C, SIGTERM) or for --seconds. Run as many as you like: they share
    the stream's durable consumer and split the work. --json prints one line per payload."""
    app = state_of(ctx).app(wait=True)
    if not app.settings.broker_url:
        raise InvalidRequest("no broker: set BACKORDER_BROKER_URL (e.g. nats://127.0.0.1:4222)")
    from backorder.broker.consumer import Until, consume  # nats-py: loaded only with a broker

    def report(taken: Taken) -> None:
        for o in taken.outcomes:
            if as_json:  # one JSON document per line, as each payload is done
                line = {"id": o.id, "state": o.state, "ref": o.ref, "reasons": o.reasons}
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()
            else:
                out.print(f"{o.state:<10} {o.ref or f'payload {o.id}'}", markup=False)

    async def run() -> int:
        until = Until(deadline=None if seconds is None else time.monotonic() + seconds)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, until.stop.set)
        return await consume(app, batch, until, report)

    taken = asyncio.run(run())
    if not as_json:
        out.print(f"consumed {taken} message(s)", markup=False)
