"""Routes under /api/v1. Handlers translate HTTP to use cases and nothing more."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import StringConstraints
from pydantic.json_schema import SkipJsonSchema
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from backorder.api import metrics
from backorder.api.auth import current_app, need
from backorder.api.group_commit import GroupCommit
from backorder.api.negotiation import prefers_html
from backorder.api.paths import Segment
from backorder.api.problems import ApiProblem
from backorder.api.responses import (
    BackordersOut,
    CancelOut,
    ConsumerOut,
    CustomerCancelOut,
    CustomerLinkOut,
    CustomerOrderOut,
    DeadLetterRecordOut,
    EventOut,
    IntakeOut,
    OrderOut,
    ParkedRecordOut,
    Problem,
    ProductOut,
    QueueOut,
    RuleSettingOut,
    RulesOut,
    ShipOut,
    SourceHealthOut,
    StockChangeOut,
    StockChangesOut,
    StockDetailOut,
    UnsubscribedOut,
)
from backorder.api.schemas import (
    MAX_SAFE_INTEGER,
    CancelIn,
    DiscardIn,
    PositionIn,
    ProductIn,
    ProductPatch,
    ReceiptAtIn,
    ReceiptsIn,
    RuleSettingIn,
    ShipIn,
    StockLevelAtIn,
    StockLevelsIn,
)
from backorder.canonical import TOKEN, OrderIn, Sku
from backorder.domain.access import Permission, Role
from backorder.domain.errors import InvalidRequest, UnknownSku
from backorder.domain.events import EVENT_TYPES
from backorder.domain.model import Policy, Product, Tier
from backorder.intake import ACCOUNT, ADAPTERS, DEFAULT_ACCOUNT
from backorder.intake.events import TOPIC, TOPIC_HEADERS
from backorder.intake.rules import RULES
from backorder.intake.signatures import HEADERS as SIGNATURE_HEADERS
from backorder.intake.signatures import authentic, secret_for
from backorder.services.broker_intake import Via
from backorder.services.consumers import (
    NAME as CONSUMER,
)
from backorder.services.consumers import (
    commit_position,
    consumers_view,
    forget_consumer,
    position_of,
)
from backorder.services.context import Backorder
from backorder.services.customer_links import (
    customer_cancel,
    customer_unsubscribe,
    customer_view,
    mint_link,
)
from backorder.services.ingest import (
    Delivery,
    IntakeFull,
    Source,
    dead_letters,
    discard,
    replay,
    summary,
    take_in,
)
from backorder.services.ingest import (
    health as intake_health,
)
from backorder.services.intake_rules import reset_rule, rules_view, set_rule
from backorder.services.links import segment
from backorder.services.locations import stock_by_location
from backorder.services.orders import cancel_order, ship_order
from backorder.services.parked import parked
from backorder.services.placing_answer import place_and_view
from backorder.services.products import add_product, update_product
from backorder.services.signed_intake import take_in_signed
from backorder.services.stock import (
    receive_stock,
    receive_stock_many,
    set_stock,
    set_stock_many,
)
from backorder.services.views import (
    BackorderFilter,
    backorders_view,
    events_view,
    newest_event_id,
    order_view,
    product_view,
    queue_view,
)

router = APIRouter(prefix="/api/v1")

App = Annotated[Backorder, Depends(current_app)]
Reader = Annotated[Role, Depends(need(Permission.READ))]
OrderReader = Annotated[Role, Depends(need(Permission.READ_ORDERS))]
Placer = Annotated[Role, Depends(need(Permission.PLACE_ORDERS))]
OrderChanger = Annotated[Role, Depends(need(Permission.CHANGE_ORDERS))]
Stocker = Annotated[Role, Depends(need(Permission.STOCK))]
Cataloguer = Annotated[Role, Depends(need(Permission.CATALOG))]
LinkMaker = Annotated[Role, Depends(need(Permission.CUSTOMER_LINKS))]
Tracker = Annotated[Role, Depends(need(Permission.TRACK_EVENTS))]
Ref = Annotated[
    str,
    Path(
        description="the order's reference, CHANNEL:EXTERNAL_ID, percent-encoded as one "
        "segment (`x12:PO%2F2026%2F0042`)",
        pattern=r"^[^:\x00-\x20\x7f]{1,64}:[^:\x00-\x20\x7f]{1,128}$",
        examples=["web:100"],
    ),
    Segment,
]
SkuPath = Annotated[
    str,
    Path(
        description="the SKU, percent-encoded as one segment",
        pattern=TOKEN,
        max_length=64,
        examples=["WIDGET-BLUE"],
    ),
    Segment,
]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


# Every error is a problem document; app.py files them under application/problem+json.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem("The body is not JSON"),
    401: _problem("No API key, or an unknown or revoked one"),
    403: _problem("The key's role may not do this"),
    404: _problem("Unknown order or SKU"),
    422: _problem("Invalid request, with the field errors; nothing was changed"),
    503: _problem("The database did not answer; retry after `Retry-After` seconds"),
}
CONFLICT = 409


@router.post(
    "/orders",
    status_code=201,
    tags=["orders"],
    response_model=OrderOut,
    responses=ERRORS
    | {
        200: {
            "model": OrderOut,
            "description": "The reference was known: the existing order, nothing changed",
        }
    },
)
async def post_order(
    body: OrderIn, app: App, _: Placer, http: Request, response: Response
) -> dict[str, Any]:
    """Place a canonical order; each line is split at once into what ships now and what
    waits. Placing the same `CHANNEL:EXTERNAL_ID` again changes nothing and answers 200."""
    request = body.to_request()
    group: GroupCommit | None = http.app.state.placing
    try:
        # The one hand-off to a worker thread (on SQLite, one for a group of orders): the
        # checks before and the answer's validation after run on the event loop, each hop
        # costing a thread switch.
        placed, view = await (
            group.place(request)
            if group is not None
            else to_thread.run_sync(place_and_view, app, request)
        )
    except UnknownSku as error:
        raise InvalidRequest(f"{error}; the order was not placed") from None
    if not placed.created:
        response.status_code = 200
    return view


@router.get("/orders/{ref}", tags=["orders"], response_model=OrderOut, responses=ERRORS)
def get_order(ref: Ref, app: App, _: OrderReader) -> dict[str, Any]:
    """An order, its lines, and why each line got stock when it did."""
    return order_view(app, ref)


@router.post(
    "/orders/{ref}/cancel",
    tags=["orders"],
    response_model=CancelOut,
    responses=ERRORS | {CONFLICT: _problem("Nothing (or not that much) is left open to cancel")},
)
def post_cancel(ref: Ref, body: CancelIn, app: App, _: OrderChanger) -> dict[str, Any]:
    """Cancel the whole order, a line, or part of a line, before shipment. Released units
    go to the next in the queue in the same transaction."""
    result = cancel_order(app, ref, body.line, body.qty, body.reason)
    return {"cancel": asdict(result), "order": order_view(app, ref)}


@router.post(
    "/orders/{ref}/ship",
    tags=["orders"],
    response_model=ShipOut,
    responses=ERRORS
    | {CONFLICT: _problem("Nothing allocated, or a ship-complete order still waits")},
)
def post_ship(ref: Ref, body: ShipIn, app: App, _: OrderChanger) -> dict[str, Any]:
    """Ship the order's allocated units."""
    result = ship_order(app, ref, body.tracking, body.location)
    return {"shipment": asdict(result), "order": order_view(app, ref)}


@router.post(
    "/orders/{ref}/customer-link",
    tags=["customers"],
    response_model=CustomerLinkOut,
    responses=ERRORS,
)
def post_customer_link(ref: Ref, app: App, _: LinkMaker) -> dict[str, Any]:
    """A signed, expiring link that lets the customer see and cancel this order."""
    link = mint_link(app, ref)
    return {"url": link.url, "token": link.token, "expires_at": link.expires_at.isoformat()}


Token = Annotated[str, Query(min_length=1, max_length=1000, description="from the link")]
CUSTOMER_ERRORS: dict[int | str, dict[str, Any]] = {
    403: _problem("Forged, expired, or for another order"),
    404: ERRORS[404],
    422: ERRORS[422],
    503: ERRORS[503],
}


@router.get(
    "/customer/orders/{ref}",
    tags=["customers"],
    response_model=CustomerOrderOut,
    responses=CUSTOMER_ERRORS,
)
def get_customer_order(ref: Ref, token: Token, app: App, request: Request) -> Any:
    """The customer's own order, with expected dates (authenticated by the link's token).
    A browser (Accept preferring text/html) is sent to the order's page instead."""
    if prefers_html(request.headers.get("accept")):
        page = f"/customer/orders/{segment(ref)}?{urlencode({'token': token})}"
        return RedirectResponse(page, status_code=303, headers={"Cache-Control": "no-store"})
    return customer_view(app, ref, token)


@router.post(
    "/customer/orders/{ref}/cancel",
    tags=["customers"],
    response_model=CustomerCancelOut,
    responses=CUSTOMER_ERRORS | {CONFLICT: _problem("Nothing left to cancel")},
)
def post_customer_cancel(ref: Ref, token: Token, app: App) -> dict[str, Any]:
    """The customer cancels everything that has not shipped."""
    result = customer_cancel(app, ref, token)
    return {"cancel": asdict(result), "order": customer_view(app, ref, token)}


@router.post(
    "/customer/orders/{ref}/unsubscribe",
    tags=["customers"],
    response_model=UnsubscribedOut,
    responses=CUSTOMER_ERRORS,
)
def post_customer_unsubscribe(ref: Ref, token: Token, app: App) -> dict[str, Any]:
    """The customer stops our e-mail (every message's List-Unsubscribe, one click, RFC 8058);
    messages already planned are withdrawn."""
    return {"customer": customer_unsubscribe(app, ref, token), "email": "opted out"}


@router.post(
    "/products",
    status_code=201,
    tags=["catalogue"],
    response_model=ProductOut,
    responses=ERRORS | {CONFLICT: _problem("The SKU exists")},
)
def post_product(body: ProductIn, app: App, _: Cataloguer) -> dict[str, Any]:
    """Add a product with its backorder policy and its pack sizes, in one go."""
    add_product(
        app,
        Product(
            sku=body.sku,
            name=body.name,
            unit_price=body.price,
            policy=body.policy,
            queue=body.queue or app.settings.default_queue,
            lead_time_days=body.lead_time_days,
            max_per_customer=body.max_per_customer,
            discontinued=body.discontinued,
            backorder_cap=body.backorder_cap,
            backorder_until=body.backorder_until,
            supplier=body.supplier,
            require_known_date=body.require_known_date,
            max_lead_days=body.max_lead_days,
            min_on_time_percent=body.min_on_time_percent,
        ),
        body.packs,
    )
    return product_view(app, body.sku)


@router.get("/products/{sku}", tags=["catalogue"], response_model=ProductOut, responses=ERRORS)
def get_product(sku: SkuPath, app: App, _: Reader) -> dict[str, Any]:
    """A product and its backorder policy."""
    return product_view(app, sku)


@router.patch("/products/{sku}", tags=["catalogue"], response_model=ProductOut, responses=ERRORS)
def patch_product(sku: SkuPath, body: ProductPatch, app: App, _: Cataloguer) -> dict[str, Any]:
    """Change fields; an explicit null clears an optional limit. Queues are re-ranked when
    the queue strategy changes. `packs` sets pack sizes by unit: a unit given null loses its
    pack size, a unit left out keeps it."""
    given = body.model_dump(exclude_unset=True)
    for required in ("name", "price", "policy", "queue", "discontinued", "require_known_date"):
        if required in given and given[required] is None:
            raise InvalidRequest(f"{required} cannot be cleared")
    if "packs" in given and given["packs"] is None:
        raise InvalidRequest('packs cannot be null: clear a unit\'s pack with {"CA": null}')
    if "price" in given:
        given["unit_price"] = given.pop("price")
    if "policy" in given:
        given["policy"] = Policy(given["policy"])
    if not given:
        raise InvalidRequest("nothing to change")
    update_product(app, sku, given)
    return product_view(app, sku)


@router.put("/stock", tags=["stock"], response_model=StockChangesOut, responses=ERRORS)
def put_stock_levels(body: StockLevelsIn, app: App, _: Stocker) -> dict[str, Any]:
    """Set many counted levels in one transaction (ERP/WMS sync): all or nothing."""
    levels = [(item.sku, item.on_hand, item.ref) for item in body.levels]
    changes = set_stock_many(app, levels, body.location)
    return {"changes": [asdict(change) for change in changes]}


@router.post("/stock/receipts", tags=["stock"], response_model=StockChangesOut, responses=ERRORS)
def post_receipts(body: ReceiptsIn, app: App, _: Stocker) -> dict[str, Any]:
    """Receive stock for many SKUs in one transaction: all or nothing."""
    receipts = [(item.sku, item.qty, item.ref) for item in body.receipts]
    changes = receive_stock_many(app, receipts, body.location)
    return {"changes": [asdict(change) for change in changes]}


@router.get("/stock/{sku}", tags=["stock"], response_model=StockDetailOut, responses=ERRORS)
def get_stock(sku: SkuPath, app: App, _: Reader) -> dict[str, Any]:
    """On hand, allocated, available and backordered units of a SKU, in total and at each
    location."""
    return stock_by_location(app, sku)


@router.put("/stock/{sku}", tags=["stock"], response_model=StockChangeOut, responses=ERRORS)
def put_stock(sku: SkuPath, body: StockLevelAtIn, app: App, _: Stocker) -> dict[str, Any]:
    """Set on hand to a counted level (ERP/WMS sync). A count below what is allocated takes
    back the lowest-ranked allocations; a count above it serves the queue."""
    return asdict(set_stock(app, sku, body.on_hand, body.ref, body.location))


@router.post(
    "/stock/{sku}/receipts", tags=["stock"], response_model=StockChangeOut, responses=ERRORS
)
def post_receipt(sku: SkuPath, body: ReceiptAtIn, app: App, _: Stocker) -> dict[str, Any]:
    """Receive stock at a location; the network queue is served in rank order from it."""
    return asdict(receive_stock(app, sku, body.qty, body.ref, body.location))


@router.get("/queues/{sku}", tags=["stock"], response_model=QueueOut, responses=ERRORS)
def get_queue(
    sku: SkuPath, app: App, _: Reader, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> dict[str, Any]:
    """The backorder queue of a SKU, head first, with the rule that ranks each line."""
    return queue_view(app, sku, limit)


@router.get("/backorders", tags=["orders"], response_model=BackordersOut, responses=ERRORS)
def get_backorders(
    app: App,
    _: OrderReader,
    sku: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    tier: Tier | None = None,
    status: Annotated[Literal["waiting", "partial"] | None, Query()] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_SAFE_INTEGER, description="next_after of the last page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Waiting lines across SKUs, filtered, oldest intake first; page with `after`."""
    wanted = BackorderFilter(sku, tier.value if tier else None, status, min_age_days)
    return backorders_view(app, wanted, after, limit)


@router.get("/events", tags=["events"], response_model=list[EventOut], responses=ERRORS)
def get_events(
    app: App,
    _: Reader,
    after: Annotated[int | None, Query(ge=0, le=MAX_SAFE_INTEGER, description="default 0")] = None,
    consumer: Annotated[
        str | None,
        Query(
            pattern=CONSUMER.pattern,
            description="start after this consumer's committed position (when `after` is "
            "not given)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The outbox in id order; poll with `after` = the last id seen, or keep a named
    position: read with `consumer=NAME`, then commit with PUT /events/consumers/{name}."""
    if after is None:
        after = position_of(app, consumer) if consumer else 0
    return events_view(app, after, limit)


STREAM_BATCH = 500


# Filters of the stream: known event types (and well-formed SKUs) only: a typo is an error,
# not a stream that stays silent.
EventTypeName = Annotated[str, StringConstraints(pattern="^(" + "|".join(EVENT_TYPES) + ")$")]

SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "the event id"},
        "event": {"type": "string", "description": "the event type"},
        "data": {"type": "string", "description": "the event as JSON"},
    },
    "required": ["id", "event", "data"],
}


@router.get(
    "/events/stream",
    tags=["events"],
    response_class=EventSourceResponse,
    responses=ERRORS
    | {
        200: {
            "description": "Server-Sent Events: `id` the event id, `event` its type, `data` "
            "the event as GET /events gives it; a comment line every 15 s keeps it open",
            # Before OpenAPI 3.2 (itemSchema), an event stream's schema describes each event.
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        }
    },
)
async def stream_events(
    request: Request,
    app: App,
    _: Reader,
    # Optional lists, published as plain arrays: `null` is no value a query string can carry
    # (and schemathesis, shown `anyOf: [array, null]`, takes the text "false" for a boolean).
    types: Annotated[
        list[EventTypeName] | SkipJsonSchema[None],
        Query(alias="type", max_length=50, description="only these types"),
    ] = None,
    skus: Annotated[
        list[Sku] | SkipJsonSchema[None],
        Query(alias="sku", max_length=200, description="only these SKUs"),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_SAFE_INTEGER, description="start after this id (default: now)"),
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="resume after this id")
    ] = None,
) -> EventSourceResponse:
    """Each event as soon as it is committed, as Server-Sent Events. A client that reconnects
    with `Last-Event-ID` (browsers do) gets what it missed; without it, or `after`, the
    stream starts with the next event."""
    if after is None and last_event_id is not None:
        if (
            not (last_event_id.isascii() and last_event_id.isdigit())
            or int(last_event_id) > MAX_SAFE_INTEGER
        ):
            raise InvalidRequest("Last-Event-ID is an event id (a whole number)")
        after = int(last_event_id)
    start = after if after is not None else await run_in_threadpool(newest_event_id, app)
    wanted_types, wanted_skus = set(types or ()), set(skus or ())
    poll = app.settings.stream_poll_seconds

    async def produce() -> AsyncIterator[dict[str, str]]:
        position = start
        while not await request.is_disconnected():
            batch = await run_in_threadpool(events_view, app, position, STREAM_BATCH)
            for event in batch:
                position = event["id"]
                if wanted_types and event["type"] not in wanted_types:
                    continue
                if wanted_skus and event["sku"] not in wanted_skus:
                    continue
                yield {"id": str(event["id"]), "event": event["type"], "data": json.dumps(event)}
            if len(batch) < STREAM_BATCH:
                await asyncio.sleep(poll)

    return EventSourceResponse(produce(), ping=15, sep="\n")


ConsumerName = Annotated[
    str, Path(pattern=CONSUMER.pattern, description="the reader's name", examples=["erp-sync"])
]


@router.get(
    "/events/consumers", tags=["events"], response_model=list[ConsumerOut], responses=ERRORS
)
def get_consumers(app: App, _: Reader) -> list[dict[str, Any]]:
    """Every named reader of the events, with its position and how far it trails."""
    return consumers_view(app)


@router.put(
    "/events/consumers/{name}", tags=["events"], response_model=ConsumerOut, responses=ERRORS
)
def put_consumer(name: ConsumerName, body: PositionIn, app: App, _: Tracker) -> dict[str, Any]:
    """Commit a reader's position: it has handled every event up to `position`."""
    return commit_position(app, name, body.position)


@router.delete("/events/consumers/{name}", tags=["events"], status_code=204, responses=ERRORS)
def delete_consumer(name: ConsumerName, app: App, _: Tracker) -> Response:
    """Stop tracking a retired reader, so its lag no longer counts."""
    forget_consumer(app, name)
    return Response(status_code=204)


ChannelName = Annotated[
    str,
    Path(
        pattern="^(" + "|".join(sorted(ADAPTERS)) + ")$",
        description="the channel whose format the body is in",
        examples=["shopify"],
    ),
]
Account = Annotated[str, Query(pattern=ACCOUNT.pattern, description="the store it came from")]
Topic = Annotated[
    str | None,
    Query(
        pattern=TOPIC.pattern,
        description="shopify, woocommerce, bigcommerce: the webhook topic the payload came "
        "under (orders/create, orders/updated, orders/cancelled; order.created, order.updated, "
        "…); else the channel's own header (X-Shopify-Topic, X-WC-Webhook-Topic) or "
        "BigCommerce's scope in the body; none places",
        examples=["orders/cancelled"],
    ),
]
INTAKE_RESPONSES = ERRORS | {
    202: {
        "model": IntakeOut,
        "description": "Stored; the intake worker will process it (with a broker: in its "
        "stream, `queued`; the consumer will)",
    },
    503: _problem(
        "The intake backlog (with a broker: its stream) is full, or the broker is "
        "unreachable; retry after `Retry-After` seconds"
    ),
}
INTAKE_BODY = {
    "required": True,
    "description": "the channel's own order document: one order, or a JSON array of them; "
    "for csv a CSV file, for x12 or edifact an interchange (any content type: the body is "
    "read as UTF-8)",
    "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {"type": "string"}}},
}


@router.post(
    "/channels/{channel}/orders",
    tags=["intake"],
    response_model=IntakeOut,
    openapi_extra={"requestBody": INTAKE_BODY},
    responses=INTAKE_RESPONSES,
)
async def post_channel_orders(
    channel: ChannelName,
    request: Request,
    response: Response,
    app: App,
    _: Placer,
    account: Account = DEFAULT_ACCOUNT,
    topic: Topic = None,
) -> dict[str, Any]:
    """Take in orders in a channel's own format, pushed by an integration with an API key.
    Every payload is stored first; each becomes an order, a duplicate, or a dead letter with
    its reasons (answered 200); under a topic, a cancellation or update applied to an order
    held, or an event kept and ignored. Past the soft backlog limit the payloads are stored
    and answered 202 for the worker; past the hard limit nothing is stored and the answer is
    503."""
    topic = topic or topic_header(request, channel)
    body = await request.body()
    source = (channel, account, topic)
    if app.settings.broker_url:
        return await _queue(app, source, body, (request, response), Via.ORDERS)
    return await _take_in(app, source, body, response, _take_in_unsigned)


@router.post(
    "/channels/{channel}/webhooks",
    tags=["intake"],
    response_model=IntakeOut,
    openapi_extra={"requestBody": INTAKE_BODY},
    responses=INTAKE_RESPONSES
    | {401: _problem("No signature, a wrong one, or no secret set for this channel")},
)
async def post_channel_webhook(
    channel: Annotated[
        str,
        Path(
            pattern="^(" + "|".join(sorted(SIGNATURE_HEADERS)) + ")$",
            description="a channel that signs its webhooks",
        ),
    ],
    request: Request,
    response: Response,
    app: App,
    account: Account = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A channel's webhook, authenticated by its signature instead of an API key: Shopify's
    `X-Shopify-Hmac-Sha256` or WooCommerce's `X-WC-Webhook-Signature`, checked against the
    secret set for the channel (and account) in `BACKORDER_WEBHOOK_SECRETS`, or Adobe
    Commerce's `X-Adobe-Commerce-Webhook-Signature`, against its public key set there;
    BigCommerce, which signs nothing, sends that secret itself in the
    `X-Backorder-Webhook-Secret` header set on its hook. The topic is the channel's own header
    (`X-Shopify-Topic`, `X-WC-Webhook-Topic`), or BigCommerce's `scope` in the body. Answers as
    POST /channels/{channel}/orders does."""
    body = await request.body()
    secret = secret_for(app.settings.webhook_secrets, channel, account)
    header = SIGNATURE_HEADERS[channel]
    if secret is None or not authentic(channel, secret, body, request.headers.get(header)):
        metrics.BAD_SIGNATURES.labels(channel, account).inc()
        raise ApiProblem(
            401,
            "bad-signature",
            "Bad webhook signature",
            f"{header} is missing or wrong" if secret else f"no webhook secret for {channel}",
        )
    source = (channel, account, topic_header(request, channel))
    if app.settings.broker_url:
        report = await _queue(app, source, body, (request, response), Via.WEBHOOK)
    else:
        report = await _take_in(app, source, body, response, take_in_signed)
    return report | ({"op": "success"} if channel == "magento" else {})  # Commerce's terms


def topic_header(request: Request, channel: str) -> str | None:
    """The topic a channel names in its own header, if it has one."""
    header = TOPIC_HEADERS.get(channel)
    return request.headers.get(header) if header else None


def _take_in_unsigned(
    app: Backorder, channel: str, text: str, account: str, topic: str | None
) -> Delivery:
    return take_in(app, Source.of(channel, account, topic), text)


def _text(body: bytes) -> str:
    """A delivery's body as text: UTF-8, not empty."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "not-utf-8", "Not UTF-8", "the body must be UTF-8 text") from None
    if not text.strip():
        raise ApiProblem(422, "empty-body", "Empty body", "send the channel's order document")
    return text


async def _queue(
    app: Backorder,
    source: tuple[str, str, str | None],
    body: bytes,
    exchange: tuple[Request, Response],
    via: Via,
) -> dict[str, Any]:
    """With a broker: checked, published, answered 202 (api.broker)."""
    from backorder.api import broker  # nats-py: loaded only with a broker

    text = _text(body)
    request, response = exchange
    response.status_code = 202
    return await broker.queue(request, app, source, text, via)


async def _take_in(
    app: Backorder,
    source: tuple[str, str, str | None],
    body: bytes,
    response: Response,
    take: Callable[[Backorder, str, str, str, str | None], Delivery],
) -> dict[str, Any]:
    channel, account, topic = source
    text = _text(body)
    try:
        delivery = await run_in_threadpool(take, app, channel, text, account, topic)
    except IntakeFull as full:
        raise ApiProblem(
            503, "intake-full", "Intake backlog full", str(full), {"Retry-After": "30"}
        ) from None
    if delivery.stored_only:
        response.status_code = 202
    return summary(delivery.outcomes) | {
        "acknowledgement": delivery.acknowledgement,
        "envelope": delivery.envelope,
    }


@router.get(
    "/intake/health", tags=["intake"], response_model=list[SourceHealthOut], responses=ERRORS
)
def get_intake_health(app: App, _: Reader) -> list[dict[str, Any]]:
    """Each source (channel and account): payloads by state, error rate, backlog, the oldest
    waiting and the last accepted."""
    return intake_health(app)


Operator = Annotated[Role, Depends(need(Permission.INTAKE))]
PayloadId = Annotated[int, Path(ge=1, le=MAX_SAFE_INTEGER, description="a dead letter's id")]
RuleName = Annotated[
    str, Path(pattern="^(" + "|".join(RULES) + ")$", description="the rule", examples=["currency"])
]
Scope = Annotated[str | None, Query(pattern="^(" + "|".join(sorted(ADAPTERS)) + ")$")]
AccountScope = Annotated[str | None, Query(pattern=ACCOUNT.pattern)]


@router.get("/intake/rules", tags=["intake"], response_model=RulesOut, responses=ERRORS)
def get_intake_rules(
    app: App, _: Reader, channel: Scope = None, account: AccountScope = None
) -> dict[str, Any]:
    """The validation rules in force for a channel's account (each an error, a warning or
    off, and where that was set), and every stored setting."""
    return rules_view(app, channel, account)


@router.put(
    "/intake/rules/{rule}", tags=["intake"], response_model=RuleSettingOut, responses=ERRORS
)
def put_intake_rule(rule: RuleName, body: RuleSettingIn, app: App, _: Operator) -> dict[str, Any]:
    """Set a rule for every channel or one, every account or one; the most specific setting
    wins. Dead letters are tried again under it with POST /intake/dead-letters/replay."""
    return set_rule(
        app,
        rule,
        body.severity,
        body.channel,
        body.account,
        body.currencies,
        body.max_deviation_percent,
    )


@router.delete("/intake/rules/{rule}", tags=["intake"], status_code=204, responses=ERRORS)
def delete_intake_rule(
    rule: RuleName, app: App, _: Operator, channel: Scope = None, account: AccountScope = None
) -> Response:
    """Remove a setting: the more general one, or the default, applies again."""
    reset_rule(app, rule, channel, account)
    return Response(status_code=204)


@router.get(
    "/intake/dead-letters",
    tags=["intake"],
    response_model=list[DeadLetterRecordOut],
    responses=ERRORS,
)
def get_dead_letters(
    app: App, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Payloads that could not become orders, highest impact first: order value, then the
    buyer's tier, then age."""
    return dead_letters(app, limit)


@router.get(
    "/intake/parked", tags=["intake"], response_model=list[ParkedRecordOut], responses=ERRORS
)
def get_parked(
    app: App, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Parts of orders waiting for the whole order, oldest first: a BigCommerce webhook,
    which carries only the order's id, or an order without its products. The order, when
    it comes, settles them."""
    return parked(app, limit)


@router.post(
    "/intake/dead-letters/replay", tags=["intake"], response_model=IntakeOut, responses=ERRORS
)
def post_replay_all(app: App, _: Operator) -> dict[str, Any]:
    """Try every dead letter again, oldest first, after a fix (an alias, a product, a rule)."""
    return summary(replay(app))


@router.post(
    "/intake/dead-letters/{payload}/replay",
    tags=["intake"],
    response_model=IntakeOut,
    responses=ERRORS,
)
def post_replay(payload: PayloadId, app: App, _: Operator) -> dict[str, Any]:
    """Try one dead letter again."""
    return summary(replay(app, payload))


@router.post(
    "/intake/dead-letters/{payload}/discard",
    tags=["intake"],
    status_code=204,
    responses=ERRORS,
)
def post_discard(payload: PayloadId, body: DiscardIn, app: App, _: Operator) -> Response:
    """Give up on a dead letter, saying why; it stays in the store with the reason."""
    discard(app, payload, body.reason)
    return Response(status_code=204)
