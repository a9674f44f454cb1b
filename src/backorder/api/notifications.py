"""Routes for notifications: webhook subscriptions, failed messages, the message log of an
order, staff alerts and customer preferences."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from backorder.api.auth import need
from backorder.api.paths import Segment
from backorder.api.responses import (
    AlertOut,
    DeliveryOut,
    PreferencesOut,
    QueuedOut,
    ReplannedOut,
    RetriedOut,
    SkippedEventOut,
    WebhookCreatedOut,
    WebhookOut,
)
from backorder.api.routes import ERRORS, App, Reader, Ref
from backorder.api.schemas import MAX_SAFE_INTEGER, PreferenceIn, WebhookIn
from backorder.domain.access import Permission, Role
from backorder.services.alerts import alert_list
from backorder.services.notifications import failed as failed_notifications
from backorder.services.notifications import log as notification_log
from backorder.services.notifications import retry as retry_notifications
from backorder.services.notifications import retry_all
from backorder.services.planning import replan
from backorder.services.planning import skipped as skipped_events
from backorder.services.preferences import CHANNELS, preferences, set_preference
from backorder.services.subscriptions import add_subscription, remove_subscription, subscriptions

router = APIRouter(prefix="/api/v1")

Notifier = Annotated[Role, Depends(need(Permission.NOTIFY))]
Subscriber = Annotated[Role, Depends(need(Permission.WEBHOOKS))]
RowId = Annotated[int, Path(ge=1, le=MAX_SAFE_INTEGER)]


@router.get("/webhooks", tags=["notifications"], response_model=list[WebhookOut], responses=ERRORS)
def get_webhooks(app: App, _: Subscriber) -> list[dict[str, Any]]:
    """Active webhook subscriptions (their secrets are shown only when made)."""
    return subscriptions(app)


@router.post(
    "/webhooks",
    tags=["notifications"],
    status_code=201,
    response_model=WebhookCreatedOut,
    responses=ERRORS,
)
def post_webhook(body: WebhookIn, app: App, _: Subscriber) -> dict[str, Any]:
    """Subscribe a URL to the events from now on, signed the Standard Webhooks way with the
    secret in the answer."""
    return add_subscription(app, body.url, body.event_types, body.description, format=body.format)


@router.delete(
    "/webhooks/{subscription}", tags=["notifications"], status_code=204, responses=ERRORS
)
def delete_webhook(subscription: RowId, app: App, _: Subscriber) -> Response:
    """Stop a subscription; messages not yet sent to it are withdrawn."""
    remove_subscription(app, subscription)
    return Response(status_code=204)


@router.get(
    "/notifications/failed",
    tags=["notifications"],
    response_model=list[DeliveryOut],
    responses=ERRORS,
)
def get_failed_notifications(app: App, _: Notifier) -> list[dict[str, Any]]:
    """Messages that used up their attempts."""
    return failed_notifications(app)


@router.post(
    "/notifications/retry", tags=["notifications"], response_model=RetriedOut, responses=ERRORS
)
def post_retry_all(app: App, _: Notifier) -> dict[str, Any]:
    """Send every failed message again, and send now what waits on a retry's backoff (after
    an outage is fixed): `failed` and `waiting` say how many of each, `queued` both."""
    done = retry_all(app)
    return {"queued": done.queued, "failed": done.failed, "waiting": done.waiting}


@router.post(
    "/notifications/{delivery}/retry",
    tags=["notifications"],
    response_model=QueuedOut,
    responses=ERRORS,
)
def post_retry(delivery: RowId, app: App, _: Notifier) -> dict[str, Any]:
    """Send one message again: a failed one, or a sent one (redelivery, same webhook-id)."""
    return {"queued": retry_notifications(app, delivery)}


@router.get(
    "/orders/{ref}/notifications",
    tags=["notifications"],
    response_model=list[DeliveryOut],
    responses=ERRORS,
)
def get_order_notifications(ref: Ref, app: App, _: Notifier) -> list[dict[str, Any]]:
    """Every message about an order: to whom, when, the outcome. Who messages go to is
    personal data (or a subscriber's URL): the roles that handle failed messages see it."""
    return notification_log(app, ref)


@router.get("/alerts", tags=["notifications"], response_model=list[AlertOut], responses=ERRORS)
def get_alerts(
    app: App,
    _: Reader,
    state: Annotated[
        Literal["open", "resolved", "notice", "all"],
        Query(description="open (default): problems not yet gone; notice: told once"),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Staff alerts, newest first: stock arrived for waiting orders, SKUs sold out while
    orders keep coming, low stock, costly backorders."""
    return alert_list(app, None if state == "all" else state, limit)


CustomerId = Annotated[
    str, Path(min_length=1, max_length=128, description="the customer's id"), Segment
]
ChannelName = Annotated[str, Path(pattern="^(" + "|".join(CHANNELS) + ")$")]


@router.get(
    "/customers/{customer}/preferences",
    tags=["notifications"],
    response_model=PreferencesOut,
    responses=ERRORS,
)
def get_preferences(customer: CustomerId, app: App, _: Notifier) -> dict[str, Any]:
    """What the customer chose per channel: in, out, or default (e-mail goes out; texts only
    with the consent given with the order)."""
    return {"customer": customer, "channels": preferences(app, customer)}


@router.put(
    "/customers/{customer}/preferences/{channel}",
    tags=["notifications"],
    response_model=PreferencesOut,
    responses=ERRORS,
)
def put_preference(
    customer: CustomerId, channel: ChannelName, body: PreferenceIn, app: App, _: Notifier
) -> dict[str, Any]:
    """Record the customer's choice for a channel (opting in to SMS is consent to texts about
    their orders); opting out withdraws their messages not yet sent there."""
    set_preference(app, customer, channel, opted_out=body.opted_out)
    return {"customer": customer, "channels": preferences(app, customer)}


@router.get(
    "/notifications/skipped",
    tags=["notifications"],
    response_model=list[SkippedEventOut],
    responses=ERRORS,
)
def get_skipped_events(app: App, _: Notifier) -> list[dict[str, Any]]:
    """Events whose messages could not be planned (a payload the code cannot read): each was
    recorded with its error and stepped over, its webhooks planned, the events after it
    planned as usual."""
    return skipped_events(app)


@router.post(
    "/notifications/skipped/{event}/replan",
    tags=["notifications"],
    response_model=ReplannedOut,
    responses=ERRORS,
)
def post_replan(event: RowId, app: App, _: Notifier) -> dict[str, Any]:
    """Plan a skipped event's messages and alerts again, after a fix; one that fails again
    stays skipped with the new error (422)."""
    return {"event_id": event, "planned": replan(app, event)}
