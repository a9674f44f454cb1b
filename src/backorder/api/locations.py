"""Routes for locations: the places that hold stock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from backorder.api.paths import Segment
from backorder.api.responses import LocationOut, LocationSavedOut, QueueSourcesOut
from backorder.api.routes import CONFLICT, ERRORS, App, Cataloguer, Reader, SkuPath, _problem
from backorder.api.schemas import LocationIn, LocationPatch
from backorder.domain.errors import InvalidRequest
from backorder.services import locations
from backorder.services.next_units import queue_sources

router = APIRouter(prefix="/api/v1")

LocationPath = Annotated[
    str,
    Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="the location's code"),
    Segment,
]
EXISTS: dict[int | str, dict[str, Any]] = {CONFLICT: _problem("It exists already")}
REQUIRED = ("name", "kind", "priority", "transit_days", "accepts_backorders", "active")


@router.get("/locations", tags=["locations"], response_model=list[LocationOut], responses=ERRORS)
def get_locations(app: App, _: Reader) -> list[dict[str, Any]]:
    """Every location, in sourcing order (priority, then transit days)."""
    return locations.listing(app)


@router.post(
    "/locations",
    status_code=201,
    tags=["locations"],
    response_model=LocationSavedOut,
    responses=ERRORS | EXISTS,
)
def post_location(body: LocationIn, app: App, _: Cataloguer) -> dict[str, Any]:
    """Add a location; a 3pl or fba one may take shipping orders (`orders_url`), signed with
    the secret in the answer, shown this once."""
    return locations.add(
        app,
        locations.LocationIn(
            code=body.code,
            name=body.name,
            kind=body.kind,
            ships_to=tuple(body.ships_to) if body.ships_to else None,
            priority=body.priority,
            transit_days=body.transit_days,
            accepts_backorders=body.accepts_backorders,
            orders_url=body.orders_url,
            orders_format=body.orders_format,
        ),
    )


@router.get("/locations/{code}", tags=["locations"], response_model=LocationOut, responses=ERRORS)
def get_location(code: LocationPath, app: App, _: Reader) -> dict[str, Any]:
    """A location and what it holds."""
    return locations.show(app, code)


@router.patch(
    "/locations/{code}", tags=["locations"], response_model=LocationSavedOut, responses=ERRORS
)
def patch_location(
    code: LocationPath, body: LocationPatch, app: App, _: Cataloguer
) -> dict[str, Any]:
    """Change a location; `active: false` deactivates it (refused while it holds allocated
    units); `ships_to: null` lets it ship anywhere. `orders_url` (3pl and fba only) is where
    its shipping orders go, `null` stops them; the first one makes the signing secret, in
    this answer only."""
    given = body.model_dump(exclude_unset=True)
    for required in REQUIRED:
        if required in given and given[required] is None:
            raise InvalidRequest(f"{required} cannot be cleared")
    return locations.update_location(app, code, given)


@router.get(
    "/queues/{sku}/sources", tags=["stock"], response_model=QueueSourcesOut, responses=ERRORS
)
def get_queue_sources(sku: SkuPath, app: App, _: Reader) -> dict[str, Any]:
    """Where a SKU's queue gets its next units: each location that can serve some of its
    waiting lines (ships there, takes backorders, a ship-complete order's home), with what
    is free there and the purchase orders on their way there."""
    return queue_sources(app, sku)
