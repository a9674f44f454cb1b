"""Routes for 3PL feeds and location aliases: a location's own stock documents (snapshots,
receipts, shipment confirmations) pushed with an API key, and the names senders give our
locations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from backorder.api.locations import LocationPath
from backorder.api.responses import IntakeOut, LocationAliasOut
from backorder.api.routes import (
    ERRORS,
    INTAKE_RESPONSES,
    Account,
    App,
    Cataloguer,
    Reader,
    Stocker,
    _take_in,
    _take_in_unsigned,
)
from backorder.intake import DEFAULT_ACCOUNT, FEEDS, SENDERS
from backorder.services import location_aliases

router = APIRouter(prefix="/api/v1")

FeedChannel = Annotated[
    str,
    Path(
        pattern="^(" + "|".join(sorted(FEEDS)) + ")$",
        description="the feed channel whose format the body is in",
        examples=["x12-3pl"],
    ),
]
Sender = Annotated[
    str,
    Path(pattern="^(" + "|".join(SENDERS) + ")$", description="the sender", examples=["shopify"]),
]
SenderId = Annotated[
    str, Path(min_length=1, max_length=128, description="the sender's id for the location")
]
FEED_BODY = {
    "required": True,
    "description": "x12-3pl: an X12 interchange of 846s and 944s; stock-csv: a CSV "
    "(sku,location,on_hand,as_of or sku,location,units,received_at,reference); stock-json: a "
    "snapshot or receipt document, or an array of them; shopify-inventory: Shopify's "
    "inventory_levels/update body",
    "content": {"application/json": {"schema": {}}, "text/plain": {"schema": {"type": "string"}}},
}


@router.post(
    "/channels/{channel}/feeds",
    tags=["intake"],
    response_model=IntakeOut,
    openapi_extra={"requestBody": FEED_BODY},
    responses=INTAKE_RESPONSES,
)
async def post_channel_feed(
    channel: FeedChannel,
    request: Request,
    response: Response,
    app: App,
    _: Stocker,
    account: Account = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """Take in a location's stock documents, pushed by an integration with an API key that
    may change stock. Every payload is stored first; each is applied (`feeds`, with what it
    did in words), a duplicate of a document applied before, or a dead letter with its
    reason (an unknown location or SKU, a negative count). X12 is answered with its 997."""
    body = await request.body()
    return await _take_in(app, (channel, account, None), body, response, _take_in_unsigned)


@router.get(
    "/locations/{code}/aliases",
    tags=["locations"],
    response_model=list[LocationAliasOut],
    responses=ERRORS,
)
def get_location_aliases(code: LocationPath, app: App, _: Reader) -> list[dict[str, Any]]:
    """The names senders give this location."""
    return location_aliases.aliases(app, code)


@router.put(
    "/locations/{code}/aliases/{channel}/{sender_id}",
    tags=["locations"],
    response_model=LocationAliasOut,
    responses=ERRORS,
)
def put_location_alias(
    code: LocationPath, channel: Sender, sender_id: SenderId, app: App, _: Cataloguer
) -> dict[str, Any]:
    """Let a sender name this location by its own id (Shopify's location_id, a 3PL's
    warehouse code); a feed naming it so is applied here. Then replay the dead letters."""
    return location_aliases.add_alias(app, code, channel, sender_id)


@router.delete(
    "/locations/{code}/aliases/{channel}/{sender_id}",
    tags=["locations"],
    status_code=204,
    responses=ERRORS,
)
def delete_location_alias(
    code: LocationPath, channel: Sender, sender_id: SenderId, app: App, _: Cataloguer
) -> Response:
    """Remove an alias."""
    location_aliases.remove_alias(app, code, channel, sender_id)
    return Response(status_code=204)
