"""Commands of the notifications: webhook subscriptions, failed deliveries, the message log,
and the worker that sends (and drains the intake)."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column

from backorder.cli.common import (
    JsonFlag,
    day_column,
    emit,
    figure,
    moment,
    out,
    state_of,
    stopped_by_signals,
    table,
)
from backorder.domain.errors import InvalidRequest
from backorder.services.alerts import alert_list
from backorder.services.notifications import failed, log, retry, retry_all
from backorder.services.planning import replan, skipped
from backorder.services.preferences import preferences, set_preference
from backorder.services.subscriptions import add_subscription, remove_subscription, subscriptions
from backorder.services.worker import Pass, keep_going, one_pass
from backorder.words import count

customer_app = typer.Typer(no_args_is_help=True, help="What customers want to hear from us.")
webhook_app = typer.Typer(no_args_is_help=True, help="Webhook subscriptions: events, signed.")
notify_app = typer.Typer(no_args_is_help=True, help="Messages sent and failed.")
alert_app = typer.Typer(no_args_is_help=True, help="Staff alerts: what needs someone.")


@alert_app.command("list")
def alert_list_command(
    ctx: typer.Context,
    state: Annotated[
        str, typer.Option(help="open (problems not yet gone), resolved, notice, or all.")
    ] = "open",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Staff alerts, newest first: stock arrived for waiting orders, SKUs sold out while
    orders keep coming, low stock, costly backorders."""
    if state not in ("open", "resolved", "notice", "all"):
        raise InvalidRequest(f"state {state!r}: open, resolved, notice or all")
    found = alert_list(state_of(ctx).app(), None if state == "all" else state, limit)
    if as_json:
        emit(found)
        return
    if not found:
        out.print(f"no {state} alerts" if state != "all" else "no alerts", markup=False)
        return
    grid = table(figure("id"), day_column("opened", 16), Column("state"), Column("what", ratio=1))
    for a in found:
        grid.add_row(str(a["alert_id"]), moment(a["opened_at"]), a["state"], escape(a["summary"]))
    out.print(grid)


@webhook_app.command("add")
def webhook_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST the events (http or https).")],
    events: Annotated[
        str | None, typer.Option(help="Event types, comma-separated (default: every type).")
    ] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    secret: Annotated[
        str | None, typer.Option(help="A whsec_ secret to use (default: a new one).")
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            help='standard: the event as signed JSON; slack: {"text": …} for Slack or Teams '
            "incoming webhooks."
        ),
    ] = "standard",
    as_json: JsonFlag = False,
) -> None:
    """Subscribe a URL to the events from now on. Prints the signing secret, once."""
    types = [t.strip() for t in events.split(",") if t.strip()] if events else None
    made = add_subscription(state_of(ctx).app(), url, types, description, secret, format)
    if as_json:
        emit(made)
    else:
        out.print(f"webhook {made['id']} -> {made['url']}", markup=False)
        out.print(f"secret (shown once): {made['secret']}", markup=False)


@webhook_app.command("list")
def webhook_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Active subscriptions."""
    subs = subscriptions(state_of(ctx).app())
    if as_json:
        emit(subs)
        return
    if not subs:
        out.print("no webhook subscriptions", markup=False)
    for s in subs:
        types = ", ".join(s["event_types"]) or "every event"
        out.print(f"{s['id']:>4} {s['url']}  ({types}) {s['description']}", markup=False)


@webhook_app.command("remove")
def webhook_remove(
    ctx: typer.Context, subscription: Annotated[int, typer.Argument(help="Its id.")]
) -> None:
    """Stop a subscription; what was not yet sent to it is withdrawn."""
    withdrawn = remove_subscription(state_of(ctx).app(), subscription)
    out.print(f"removed webhook {subscription}; {withdrawn} unsent withdrawn", markup=False)


@notify_app.command("failed")
def notify_failed(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Messages that used up their attempts."""
    app = state_of(ctx).app()
    dead = failed(app)
    if as_json:
        emit(dead)
        return
    if not dead:
        out.print("no failed messages", markup=False)
    for d in dead:
        out.print(
            f"{d['id']:>6} {d['channel']} {d['kind'] or d['type']} -> {d['recipient']}: "
            f"{count(d['attempts'], 'attempt')}, {d['last_error']}",
            markup=False,
        )
    if stepped_over := len(skipped(app)):
        out.print(
            f"{count(stepped_over, 'event')} could not be planned: see `backorder notify skipped`",
            markup=False,
        )


@notify_app.command("skipped")
def notify_skipped(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Events whose messages could not be planned: each was recorded with its error and
    stepped over (its webhooks were planned), so the events after it went on."""
    found = skipped(state_of(ctx).app())
    if as_json:
        emit(found)
        return
    if not found:
        out.print("no skipped events", markup=False)
    for e in found:
        about = e["order_ref"] or e["sku"] or ""
        out.print(f"{e['event_id']:>8} {e['type']} {about}: {e['error']}", markup=False)


@notify_app.command("replan")
def notify_replan(
    ctx: typer.Context,
    event: Annotated[int, typer.Argument(help="A skipped event's id (see `notify skipped`).")],
) -> None:
    """Plan a skipped event's messages and alerts again, once the code that failed is fixed."""
    planned = replan(state_of(ctx).app(), event)
    out.print(
        f"event {event}: {count(planned, 'message')} planned; the worker sends them", markup=False
    )


@notify_app.command("retry")
def notify_retry(
    ctx: typer.Context,
    delivery: Annotated[int | None, typer.Argument(help="A failed (or sent) message's id.")] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all", help="Every failed message, and now what waits on a retry's backoff."
        ),
    ] = False,
) -> None:
    """Send again: a failed message, a sent one (redelivery, same webhook-id), or --all: every
    failed message, and at once every message waiting to be tried again after a failure
    (after an outage is fixed)."""
    if (delivery is None) == (not every):
        raise InvalidRequest("give one message's ID, or --all")
    app = state_of(ctx).app()
    if delivery is not None:
        queued = retry(app, delivery)
        out.print(f"{count(queued, 'message')} queued; the worker sends it", markup=False)
        return
    done = retry_all(app)
    out.print(
        f"{count(done.failed, 'failed message')} queued again, "
        f"{count(done.waiting, 'message')} waiting on a retry made due now; "
        "the worker sends them",
        markup=False,
    )


@notify_app.command("log")
def notify_log(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="An order's reference.")],
    as_json: JsonFlag = False,
) -> None:
    """Every message about an order: to whom, when, the outcome."""
    messages = log(state_of(ctx).app(), ref)
    if as_json:
        emit(messages)
        return
    if not messages:
        out.print(f"no messages about {ref}", markup=False)
    for m in messages:
        # An e-mail or text names its kind (which message it is); a webhook, the event it carries.
        what = f"{m['channel']} {m['kind'] or m['type']}"
        error = f", {m['last_error']}" if m["last_error"] else ""
        out.print(
            f"{m['id']:>6} {moment(m['created_at'])} {what} -> "
            f"{m['recipient']}: {m['state']} ({count(m['attempts'], 'attempt')}{error})",
            markup=False,
        )


Channel = Annotated[str, typer.Option(help="email or sms.")]


@customer_app.command("opt-out")
def customer_opt_out(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="The customer's id.")],
    channel: Channel = "email",
) -> None:
    """The customer hears nothing more from us on this channel (what was planned is
    withdrawn)."""
    set_preference(state_of(ctx).app(), customer, channel, opted_out=True)
    out.print(f"{customer}: no {channel}", markup=False)


@customer_app.command("opt-in")
def customer_opt_in(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="The customer's id.")],
    channel: Channel = "email",
) -> None:
    """The customer hears from us on this channel again, from the next message on."""
    set_preference(state_of(ctx).app(), customer, channel, opted_out=False)
    out.print(f"{customer}: {channel} again", markup=False)


@customer_app.command("preferences")
def customer_preferences(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="The customer's id.")],
    as_json: JsonFlag = False,
) -> None:
    """What the customer chose per channel: in, out, or default (e-mail: yes; SMS: only with
    the consent given with the order)."""
    choices = preferences(state_of(ctx).app(), customer)
    if as_json:
        emit({"customer": customer, "channels": choices})
        return
    for channel, choice in choices.items():
        out.print(f"{channel}: {choice}", markup=False)


def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (cron, tests).")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, max=3600, help="Seconds between passes when idle.")
    ] = 1.0,
    seconds: Annotated[
        float | None, typer.Option("--for", min=0, help="Stop after this long.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send notifications, drain the intake, run the daily review (at BACKORDER_REVIEW_AT)
    and publish the weekly report (BACKORDER_REPORT_DAY at BACKORDER_REPORT_AT) until
    stopped (Ctrl-C, SIGTERM). A step that fails is logged and the others go on; while the
    database is away the worker waits and carries on when it is back.
    Several workers may run against PostgreSQL; they share the work."""
    app = state_of(ctx).app(wait=True)

    def report(done: Pass) -> None:
        if not (done.busy or once):
            return
        if as_json:
            sys.stdout.write(json.dumps(done.report()) + "\n")
            sys.stdout.flush()
        elif done.busy:
            counts = done.report()
            out.print(", ".join(f"{k} {v}" for k, v in counts.items() if v), markup=False)

    if once:
        done = one_pass(app)
        report(done)
        if done.failures:
            raise typer.Exit(1)
        return
    with stopped_by_signals() as stop:
        deadline = None if seconds is None else time.monotonic() + seconds
        keep_going(app, stop, interval, deadline, report)
