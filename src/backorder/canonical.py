"""The canonical order JSON: the one shape every channel's order is turned into.

{"channel": "web", "external_id": "100", "display_number": "#100",
 "placed_at": "2026-01-05T10:00:00Z",
 "customer": {"id": "c-1", "name": "Ada", "email": "ada@example.com",
              "phone": "+15550100", "tier": "standard", "sms_consent": true,
              "language": "en-GB"},
 "currency": "USD", "shipping": {"method": "standard", "preference": "ship_available"},
 "payment_timing": "at_order", "expedite": false,
 "lines": [{"sku": "WIDGET-BLUE", "quantity": 5, "unit_price": "19.99", "variant": "Blue"},
           {"sku": "24776", "quantity": 12, "unit": "CA", "pack": 12, "unit_price": "30.00"}]}

A line in a unit other than single units (12 CA) is counted in single units when it is
placed: by its `pack` when the buyer gave one, else by the catalogue's pack for the unit.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderedAs,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Preference,
    ShippingMethod,
    Tier,
)
from backorder.domain.units import is_single
from backorder.words import LANGUAGES, knows_language, language_tag

# The schema a client reads must be the rule the server applies, so: no silent stripping, no
# coercion of booleans to numbers or numbers to dates, and patterns spelled the same way in
# JSON Schema and in pydantic (explicit ranges, not `\s`, whose meaning differs by engine).
# Text of an order holds no NUL: PostgreSQL keeps none, so neither backend takes one.
KEEPABLE = r"^[^\x00]*$"
VISIBLE = r"^[^\x00]*[^\x00-\x20\x7f][^\x00]*$"  # something visible (and no NUL)
TOKEN = r"^[^\x00-\x20\x7f]+$"  # no spaces or control characters at all
REF_PART = r"^[^:\x00-\x20\x7f]+$"  # a token without the reference separator
# One mailbox, local@domain: no spaces, control characters (a CR/LF would write mail
# headers of its own), brackets, quotes or list separators; "" says there is none.
_MAILBOX = r'[^\x00-\x20\x7f<>()\[\],;:\\"@]+'
ADDRESS = f"^{_MAILBOX}@{_MAILBOX}$"
EMAIL = f"^(|{_MAILBOX}@{_MAILBOX})$"


def is_address(text: str) -> bool:
    """One mailbox that can go in a mail header as it is."""
    return re.fullmatch(ADDRESS, text) is not None


def number_only(value: Any) -> Any:
    """Before an int's own validation: refuse true/false and numeric strings ("5"), which
    pydantic would coerce but JSON Schema calls another type. Put it after the bounds in
    `Annotated`, or the bounds drop out of the JSON Schema.

    A JSON number is a whole number when its value is (1.0 is, as JSON Schema's "integer"
    says), however it was read: a float from an HTTP body, a Decimal from a channel payload
    or an `order place` file, so every way in gives the same answer."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("expected a whole number")
    if isinstance(value, Decimal):  # exact; past 19 digits read as the float it is anyway
        whole = value.is_finite() and value == value.to_integral_value()
        return int(value) if whole and value.adjusted() < 19 else float(value)
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 string")
    return value


Quantity = Annotated[int, Field(gt=0, le=1_000_000), BeforeValidator(number_only)]
Flag = Annotated[bool, Strict()]
Day = Annotated[date, BeforeValidator(_text)]
Moment = Annotated[AwareDatetime, BeforeValidator(_text)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=VISIBLE)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN)]
MONEY = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,4})?$")


class JsonFloat(Decimal):
    """A JSON number written with a fraction or an exponent (19.99, 1e3), read exactly. Where
    a quantity may be one (1.0 is whole), money may not: an HTTP body reads it as a float,
    which money refuses, and an `order place` file must get the same answer."""


def exact_money(value: Any) -> Decimal:
    """Exact money only: a decimal string ("19.99") or a whole number, never a float. Every
    way in (an HTTP body, an `order place` file, `product add --price`, a product CSV) asks
    here, so each refuses the same amounts with the same words."""
    if isinstance(value, JsonFloat):
        value = float(value)  # as the HTTP body would have read it
    if isinstance(value, Decimal) and value.is_finite():
        value = format(value, "f")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 19.0 is an integer to JSON Schema
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**10:
        return Decimal(value)
    if isinstance(value, str) and MONEY.fullmatch(value):
        return Decimal(value)
    raise ValueError(
        'money must be a decimal string such as "19.99" (up to 10 digits and 4 decimals), '
        "not a float"
    )


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(exact_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": MONEY.pattern},
                {"type": "integer", "minimum": 0, "maximum": 10**10 - 1},
            ],
            "examples": ["19.99"],
        }
    ),
]


def _email(value: str) -> str:
    if value and not is_address(value):
        raise ValueError(
            "not one e-mail address: local@domain, without spaces, line breaks, quotes or brackets"
        )
    return value


Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "maxLength": 320, "pattern": EMAIL}),
]


def _language(value: str) -> str:
    """A language we have words for (`knows_language`), written as BCP 47 writes it, so the
    schema's list is the rule: "fr-CA", not "fr_ca"."""
    if not knows_language(value):
        raise ValueError(
            "not a language we have words for: a BCP 47 tag such as en, en-GB, de or fr-CA"
        )
    if language_tag(value) != value:
        raise ValueError(f"write the language as {language_tag(value)!r}")
    return value


Language = Annotated[
    str,
    AfterValidator(_language),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(LANGUAGES),
            "description": "the customer's language (BCP 47: en, en-GB, de, fr-CA): their "
            "messages and order page speak it; none: the shop's language",
            "examples": ["en-GB"],
        }
    ),
]
DisplayNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=VISIBLE),
    Field(
        description="the order's number as the customer knows it (the shop's own: \"#9001\", "
        "a PO number); none: the external id",
        examples=["#9001"],
    ),
]
Variant = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=VISIBLE),
    Field(description="the variant, as the shop names it to the customer", examples=["Blue / L"]),
]
Channel = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=REF_PART)]
RefPart = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=REF_PART)]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Name
    name: Annotated[str, StringConstraints(max_length=200, pattern=KEEPABLE)] = ""
    email: Email | None = None  # its pattern has no control characters, NUL included
    phone: Annotated[str, StringConstraints(max_length=32, pattern=KEEPABLE)] | None = None
    tier: Tier = Tier.STANDARD
    sms_consent: Flag = False
    language: Language | None = None


class ShippingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: ShippingMethod = ShippingMethod.STANDARD
    preference: Preference = Preference.SHIP_AVAILABLE
    country: Annotated[
        str | None,
        Field(
            pattern=r"^[A-Z]{2}$",
            description="ISO 3166-1 alpha-2 country the order ships to; none: any location "
            "may serve it",
            examples=["US"],
        ),
    ] = None


UnitCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{1,8}$"),
    Field(
        description="the unit the line is ordered in (X12 or UN/ECE Rec. 20 code: CA case, "
        "PL pallet, CT carton); quantity and unit_price are then per that unit, and the line "
        "is counted in single units by its pack. None, EA, PCE or C62: single units",
        examples=["CA"],
    ),
]
Pack = Annotated[
    int,
    Field(
        gt=0,
        le=1_000_000,
        description="single units in one `unit`, as the buyer said (X12 PO4); none: the "
        "catalogue's pack for that unit",
        examples=[12],
    ),
    BeforeValidator(number_only),
]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: Quantity
    unit_price: MoneyIn | None = None
    variant: Variant | None = None
    unit: UnitCode | None = None
    pack: Pack | None = None

    def to_request(self) -> LineRequest:
        ordered = None
        if not is_single(self.unit) and self.unit is not None:
            ordered = OrderedAs(self.quantity, self.unit, self.pack)
        return LineRequest(self.sku, self.quantity, self.unit_price, self.variant, ordered)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    external_id: RefPart
    display_number: DisplayNumber | None = None
    placed_at: Moment
    customer: CustomerIn
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    shipping: ShippingIn = ShippingIn()
    payment_timing: PaymentTiming = PaymentTiming.AT_ORDER
    expedite: Flag = False
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
            lines=tuple(line.to_request() for line in self.lines),
            display_number=self.display_number,
            ship_country=self.shipping.country,
        )


_orders = TypeAdapter(list[OrderIn])


def unreadable_number(digits: str) -> str | None:
    """Why a JSON integer cannot be read: Python reads at most `sys.get_int_max_str_digits()`
    digits (4,300 by default), JSON has no limit. None when it can be."""
    limit, length = sys.get_int_max_str_digits(), len(digits.lstrip("-"))
    return (
        f"a number of {length:,} digits (at most {limit:,} are read)"
        if limit and length > limit
        else None
    )


def _whole(digits: str) -> int:
    why = unreadable_number(digits)
    if why:
        raise InvalidRequest(why)
    return int(digits)


def _json(text: str) -> Any:
    """JSON with exact decimals; a number too long to read or nesting too deep is refused."""
    try:
        return json.loads(text, parse_float=JsonFloat, parse_int=_whole)
    except RecursionError:
        raise InvalidRequest("the JSON is nested too deeply") from None


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
        whole = _json(stripped)
        documents = [("order", whole)] if isinstance(whole, dict) else [("orders", whole)]
    except json.JSONDecodeError:
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append((f"line {number}", _json(line)))
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
