"""Routes for transfers: units moving between locations, inbound supply for the one they
arrive at."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from backorder.api.responses import TransferOut
from backorder.api.routes import ERRORS, App, Reader, Stocker
from backorder.api.schemas import TransferIn, TransferReceiptIn
from backorder.services import transfers

router = APIRouter(prefix="/api/v1")

TransferPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="the transfer's id")]


@router.post(
    "/transfers", status_code=201, tags=["transfers"], response_model=TransferOut, responses=ERRORS
)
def post_transfer(body: TransferIn, app: App, _: Stocker) -> dict[str, Any]:
    """Plan to move units of a SKU from one location to another, expected on a date; the
    receiving location counts them as inbound supply at once."""
    return transfers.create(
        app,
        transfers.TransferIn(
            body.sku, body.quantity, body.from_location, body.to_location, body.expected_on
        ),
    )


@router.get("/transfers", tags=["transfers"], response_model=list[TransferOut], responses=ERRORS)
def get_transfers(
    app: App,
    _: Reader,
    state: Annotated[Literal["planned", "shipped", "received", "cancelled"] | None, Query()] = None,
    sku: Annotated[str | None, Query(pattern=r"^[^\x00-\x20\x7f]+$", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Transfers, newest first."""
    return transfers.listing(app, state, sku, limit)


@router.get(
    "/transfers/{transfer}", tags=["transfers"], response_model=TransferOut, responses=ERRORS
)
def get_transfer(transfer: TransferPath, app: App, _: Reader) -> dict[str, Any]:
    """A transfer: where from, where to, how many, in transit, received."""
    return transfers.get(app, transfer)


@router.post(
    "/transfers/{transfer}/ship", tags=["transfers"], response_model=TransferOut, responses=ERRORS
)
def post_ship(transfer: TransferPath, app: App, _: Stocker) -> dict[str, Any]:
    """The units leave the source location (only units not allocated there may; 409
    otherwise, and nothing changes)."""
    return transfers.ship(app, transfer)


@router.post(
    "/transfers/{transfer}/receive",
    tags=["transfers"],
    response_model=TransferOut,
    responses=ERRORS,
)
def post_receive(
    transfer: TransferPath, app: App, _: Stocker, body: TransferReceiptIn | None = None
) -> dict[str, Any]:
    """Units arrive at the receiving location (all in transit, or `units`) and serve the
    waiting queue in rank order among the lines that location can serve."""
    return transfers.receive(app, transfer, body.units if body else None)


@router.post(
    "/transfers/{transfer}/cancel",
    tags=["transfers"],
    response_model=TransferOut,
    responses=ERRORS,
)
def post_cancel(transfer: TransferPath, app: App, _: Stocker) -> dict[str, Any]:
    """A planned transfer will not happen (a shipped one cannot be cancelled: 409)."""
    return transfers.cancel(app, transfer)
