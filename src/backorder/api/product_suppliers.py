"""Routes for the suppliers of a SKU: their terms and measured performance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from backorder.api.responses import ProductSuppliersOut, SupplierTermsOut
from backorder.api.routes import ERRORS, App, Cataloguer, SkuPath, Stocker
from backorder.api.schemas import Body, LeadDays, SupplierId, Units
from backorder.api.supply import EXISTS, SupplierPath
from backorder.canonical import MoneyIn
from backorder.domain.errors import InvalidRequest
from backorder.services import product_suppliers as terms

router = APIRouter(prefix="/api/v1")

PreferredIn = Annotated[bool, Field(description="make it the SKU's supplier (ETAs use it)")]


class SupplierTermsIn(Body):
    supplier: SupplierId
    cost: MoneyIn
    lead_time_days: LeadDays
    moq: Units = 1
    pack: Units = 1
    preferred: PreferredIn = False


class SupplierTermsPatch(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    cost: MoneyIn | SkipJsonSchema[None] = None
    lead_time_days: LeadDays | SkipJsonSchema[None] = None
    moq: Units | SkipJsonSchema[None] = None
    pack: Units | SkipJsonSchema[None] = None
    preferred: PreferredIn | SkipJsonSchema[None] = None


@router.get(
    "/products/{sku}/suppliers",
    tags=["supply"],
    response_model=ProductSuppliersOut,
    responses=ERRORS,
)
def get_product_suppliers(sku: SkuPath, app: App, _: Stocker) -> dict[str, Any]:
    """The suppliers of a SKU (the preferred one first): terms, and performance on this SKU
    over the last 6 and 12 months."""
    return terms.list_terms(app, sku)


@router.post(
    "/products/{sku}/suppliers",
    status_code=201,
    tags=["supply"],
    response_model=SupplierTermsOut,
    responses=ERRORS | EXISTS,
)
def post_product_supplier(
    sku: SkuPath, body: SupplierTermsIn, app: App, _: Cataloguer
) -> dict[str, Any]:
    """A supplier that can deliver this SKU, on these terms; `preferred` makes it the SKU's
    supplier and re-dates the waiting lines."""
    given = terms.SupplierTerms(body.supplier, body.cost, body.lead_time_days, body.moq, body.pack)
    return terms.add_terms(app, sku, given, body.preferred)


@router.patch(
    "/products/{sku}/suppliers/{supplier}",
    tags=["supply"],
    response_model=SupplierTermsOut,
    responses=ERRORS,
)
def patch_product_supplier(
    sku: SkuPath, supplier: SupplierPath, body: SupplierTermsPatch, app: App, _: Cataloguer
) -> dict[str, Any]:
    """Change a supplier's terms for this SKU; `preferred: true` makes it the SKU's supplier
    (to stop preferring one, prefer another)."""
    given = body.model_dump(exclude_unset=True)
    preferred = given.pop("preferred", False)
    if preferred is None or (preferred is False and "preferred" in body.model_fields_set):
        raise InvalidRequest("preferred can only be set to true: prefer another supplier")
    if any(value is None for value in given.values()):
        raise InvalidRequest(f"cannot clear {sorted(k for k, v in given.items() if v is None)}")
    return terms.update_terms(app, sku, supplier, given, preferred)


@router.delete(
    "/products/{sku}/suppliers/{supplier}",
    tags=["supply"],
    status_code=204,
    responses=ERRORS,
)
def delete_product_supplier(
    sku: SkuPath, supplier: SupplierPath, app: App, _: Cataloguer
) -> Response:
    """The supplier no longer delivers this SKU. The preferred one is refused (422): the
    SKU's ETAs rest on it; prefer another first."""
    terms.remove_terms(app, sku, supplier)
    return Response(status_code=204)
