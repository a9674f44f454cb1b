"""The canonical order JSON: the one shape every channel's order is turned into.

{"channel": "web", "external_id": "100", "placed_at": "2026-01-05T10:00:00Z",
 "customer": {"id": "c-1", "name": "Ada", "email": "ada@example.com",
              "phone": "+15550100", "tier": "standard"},
 "currency": "USD", "shipping": {"method": "standard", "preference": "ship_available"},
 "payment_timing": "at_order", "expedite": false,
 "lines": [{"sku": "WIDGET-BLUE", "quantity": 5, "unit_price": "19.99"}]}
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Preference,
    ShippingMethod,
    Tier,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Channel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^:\s]+$"),
]
RefPart = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^:\s]+$"),
]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Name
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    tier: Tier = Tier.STANDARD


class ShippingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: ShippingMethod = ShippingMethod.STANDARD
    preference: Preference = Preference.SHIP_AVAILABLE


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: int = Field(gt=0, le=1_000_000)
    unit_price: Decimal | None = Field(default=None, ge=0, decimal_places=4, max_digits=14)

    @field_validator("unit_price", mode="before")
    @classmethod
    def _no_float_money(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('money must be a decimal string such as "19.99", not a float')
        return value


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    external_id: RefPart
    placed_at: AwareDatetime
    customer: CustomerIn
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    shipping: ShippingIn = ShippingIn()
    payment_timing: PaymentTiming = PaymentTiming.AT_ORDER
    expedite: bool = False
    lines: list[LineIn] = Field(min_length=1, max_length=1000)

    def to_request(self) -> OrderRequest:
        return OrderRequest(
            channel=self.channel,
            external_id=self.external_id,
            placed_at=self.placed_at.astimezone(UTC),
            customer=Customer(**self.customer.model_dump()),
            currency=self.currency,
            terms=OrderTerms(
                shipping_method=self.shipping.method,
                preference=self.shipping.preference,
                payment_timing=self.payment_timing,
                expedite=self.expedite,
            ),
            lines=tuple(LineRequest(x.sku, x.quantity, x.unit_price) for x in self.lines),
        )


_orders = TypeAdapter(list[OrderIn])


def _describe(error: ValidationError, where: str) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
    ]
    return f"{where}: invalid order: " + "; ".join(problems[:5])


def parse_orders(text: str) -> list[OrderRequest]:
    """One JSON object, a JSON array of them, or one object per line (JSON Lines). Every
    order is checked before any is returned, so a bad one stops the whole file."""
    stripped = text.strip()
    if not stripped:
        raise InvalidRequest("no order given")
    documents: list[tuple[str, Any]] = []
    try:
        whole = json.loads(stripped, parse_float=Decimal)
        documents = [("order", whole)] if isinstance(whole, dict) else [("orders", whole)]
    except json.JSONDecodeError:
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append((f"line {number}", json.loads(line, parse_float=Decimal)))
            except json.JSONDecodeError as error:
                raise InvalidRequest(f"line {number}: not JSON ({error.msg})") from None
    requests: list[OrderRequest] = []
    for where, document in documents:
        try:
            items = _orders.validate_python(document if isinstance(document, list) else [document])
        except ValidationError as error:
            raise InvalidRequest(_describe(error, where)) from None
        requests.extend(item.to_request() for item in items)
    return requests
