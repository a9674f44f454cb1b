"""Routes for the substitutes of a SKU: the SKUs a customer who waited too long may be
offered instead, best first. The same permissions as the SKU's suppliers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from backorder.api.paths import Segment
from backorder.api.responses import Out
from backorder.api.routes import ERRORS, App, Cataloguer, SkuPath, Stocker
from backorder.api.schemas import Body
from backorder.api.supply import EXISTS
from backorder.canonical import TOKEN
from backorder.services import substitutes as service

router = APIRouter(prefix="/api/v1")

SubstitutePath = Annotated[
    str,
    Path(
        description="the substitute's SKU, percent-encoded as one segment",
        pattern=TOKEN,
        max_length=64,
        examples=["FLT-12"],
    ),
    Segment,
]


class SubstituteIn(Body):
    rank: Annotated[
        int | None,
        Field(
            ge=1,
            le=service.MAX_SUBSTITUTES,
            description="1 is offered first; the others move down. Omitted: a new one goes "
            "last, one named already keeps its place",
        ),
    ] = None


class SubstituteOut(Out):
    rank: int = Field(description="1 is offered first")
    sku: str
    name: str
    available: int = Field(description="on hand less allocated, now")
    backordered: int = Field(description="units its own queue waits for (they come first)")


class SubstitutesOut(Out):
    sku: str
    substitutes: list[SubstituteOut]


@router.get(
    "/products/{sku}/substitutes",
    tags=["supply"],
    response_model=SubstitutesOut,
    responses=ERRORS,
)
def get_substitutes(sku: SkuPath, app: App, _: Stocker) -> dict[str, Any]:
    """The substitutes of a SKU, best first, with the stock each has now."""
    return service.list_substitutes(app, sku)


@router.put(
    "/products/{sku}/substitutes/{substitute}",
    tags=["supply"],
    response_model=SubstitutesOut,
    responses=ERRORS | EXISTS,
)
def put_substitute(
    sku: SkuPath,
    substitute: SubstitutePath,
    app: App,
    _: Cataloguer,
    body: SubstituteIn | None = None,
) -> dict[str, Any]:
    """Name a substitute of the SKU, or move one named already (`rank`). A SKU cannot stand
    in for itself; both must exist. The SKU's substitutes, as they now stand."""
    return service.put_substitute(app, sku, substitute, body.rank if body else None)


@router.delete(
    "/products/{sku}/substitutes/{substitute}",
    tags=["supply"],
    response_model=SubstitutesOut,
    responses=ERRORS,
)
def delete_substitute(
    sku: SkuPath, substitute: SubstitutePath, app: App, _: Cataloguer
) -> dict[str, Any]:
    """The substitute no longer stands in for the SKU (offers made stand until answered).
    The SKU's substitutes, as they now stand."""
    return service.remove_substitute(app, sku, substitute)
