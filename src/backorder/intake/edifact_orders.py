"""A UN/EDIFACT ORDERS purchase order (directories D93A, D96A, D01A, D01B and the others
between and after: the segments read here kept their layout), read into the canonical order.

Mapped: `BGM` the document name (220 order, 105 purchase order, 226 call-off order; 224 a
rush order: expedite), its number (the display number; the reference is `<UNB sender>.
<number>`) and its function (9 original, 7 duplicate, 43 additional transmission; 6
confirmation, taken with a warning; anything else, e.g. 1 cancellation or 5 replace, is
refused); `DTM+137` the order date (format 102 CCYYMMDD, 203 CCYYMMDDHHMM or 204 with
seconds, taken as UTC); `DTM+2` the requested delivery date, which an order here does not
hold: said in a warning; `NAD+BY` the buyer (its id, a GLN, else its name, else the sender)
with the `CTA` contact's name and `COM` e-mail (`EM`) and phone (`TE`) of its group; `CUX`
the currency (else USD, with a warning when the order has prices); each `LIN` group: the
item number of `LIN` and `PIA` (the supplier's article number `SA` is our SKU; the buyer's
item number `IN`, an EAN/GTIN `EN` or `SRV`, a UPC `UP` or the buyer's part number `BP`
goes through the alias table as `in:…`, `upc:…`, `bp:…`), `QTY+21` the ordered quantity
in its unit (`PCE`, `EA`, `C62` and other single units as they are; any other unit, e.g.
`CT` or `BG`, kept with the line as `unit` for the intake to count in single units by its
pack: `QTY+59` or `QTY+52` when the buyer gives it, else the catalogue's), `PRI+AAA` (net,
else `AAB` gross) the price, divided by its unit price basis and brought to the line's unit;
`UNS` must separate the lines from the summary, and `CNT+2` (lines) and `CNT+1` (total
quantity), when present, must agree with the lines. The buyer is a business: wholesale,
paying on invoice (at shipment)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from backorder.canonical import is_address
from backorder.domain.units import UNIT_CODE, is_single
from backorder.intake.base import Converted, Unreadable, money
from backorder.intake.edifact_syntax import Interchange, Message, MessageProblem, Segment, number

DOCUMENTS = {"": "order", "220": "order", "105": "purchase order", "224": "rush order",
             "226": "call-off order"}  # fmt: skip
FUNCTIONS = {"": "original", "9": "original", "7": "duplicate", "43": "additional transmission",
             "6": "confirmation"}  # fmt: skip
OUR_ITEM = "SA"
THEIR_ITEM = {"IN": "in", "EN": "upc", "SRV": "upc", "UP": "upc", "BP": "bp"}
DATE_FORMATS = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S"}
DATE_WIDTHS = {"102": 8, "203": 12, "204": 14}
PACK_QUANTITIES = ("59", "52")  # consumer units in the traded unit; quantity per pack
PARTY_GROUP = {"NAD", "LOC", "FII", "RFF", "DTM", "DOC", "CTA", "COM"}  # SG2 and its groups
CURRENCY = re.compile(r"^[A-Z]{3}$")


class SegmentFault(Unreadable):
    """A message that cannot be read, with where (for the CONTRL's UCS and UCD): the
    segment's position in the message (UNH is 1), the error code (0085), and the data
    element and component when one is at fault."""

    def __init__(
        self,
        words: str,
        position: int,
        code: int,
        element: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(words)
        self.position, self.code, self.element = position, code, element


class _Reader:
    def __init__(self, message: Message) -> None:
        self.segments = message.segments
        self.where = {id(s): n for n, s in enumerate(self.segments, start=1)}
        self.warnings: list[str] = []

    def fault(self, segment: Segment, at: tuple[int, int], code: int, words: str) -> SegmentFault:
        return SegmentFault(words, self.where[id(segment)], code, at)

    def amount(self, segment: Segment, at: tuple[int, int], what: str) -> Decimal:
        text = number(segment.get(*at))
        try:
            value = Decimal(text)
            if not value.is_finite() or abs(value) >= 10**15:
                raise InvalidOperation
        except InvalidOperation:
            words = f"{what} {segment.get(*at)!r} is not a number"
            raise self.fault(segment, at, 12, words) from None
        return value


def read_orders(interchange: Interchange, message: Message) -> Converted:
    """The canonical order in one ORDERS message; Unreadable (a SegmentFault or a
    MessageProblem, saying where) when it cannot be read."""
    if message.kind != "ORDERS":
        kind = message.kind or "(none)"
        raise MessageProblem(f"message {kind} is not a purchase order (ORDERS)", 14, "UNH")
    read = _Reader(message)
    segments = message.segments
    uns = next((n for n, s in enumerate(segments) if s.tag == "UNS"), None)
    first_lin = next((n for n, s in enumerate(segments) if s.tag == "LIN"), None)
    if uns is None:
        cnt = next((n for n, s in enumerate(segments) if s.tag == "CNT"), len(segments) - 1)
        raise SegmentFault(
            "no UNS segment (the section control between the lines and the summary)",
            cnt + 1,
            13,
        )
    head_end = min(uns, first_lin) if first_lin is not None else uns
    header, body, summary = segments[:head_end], segments[head_end:uns], segments[uns + 1 :]
    bgm = next((s for s in header if s.tag == "BGM"), None)
    if bgm is None:
        raise SegmentFault("no BGM segment (the order's beginning)", 2, 13)
    document, function = bgm.get(1), bgm.get(3)
    if document not in DOCUMENTS:
        raise read.fault(
            bgm, (1, 1), 14,
            f"BGM document {document!r}: only orders (220, 105, 224 rush, 226 call-off) are taken",
        )  # fmt: skip
    doc_number = bgm.get(2)
    if not doc_number:
        raise read.fault(bgm, (2, 1), 13, "BGM: no document number")
    if function not in FUNCTIONS:
        raise read.fault(
            bgm, (3, 1), 14,
            f"BGM message function {function!r}: only original (9), duplicate (7), additional "
            "transmission (43) and confirmation (6) orders are orders",
        )  # fmt: skip
    if FUNCTIONS[function] == "confirmation":
        read.warnings.append("BGM function 6: a confirmation of an order placed by other means")
    placed = _order_date(read, header)
    _requested_delivery(read, header)
    customer = _buyer(read, header, interchange.sender)
    lines = _lines(read, body)
    if not lines:
        raise SegmentFault("no LIN line items", uns + 1, 13)
    _check_counts(read, summary, lines)
    currency = _currency(read, header, any(line["unit_price"] for line in lines))
    return Converted(
        {
            "channel": "edifact",
            "external_id": f"{interchange.sender}.{doc_number}",
            "display_number": doc_number if len(doc_number) <= 64 else None,
            "placed_at": placed.isoformat() + "Z",
            "customer": customer,
            "currency": currency,
            "shipping": {"method": "standard", "preference": "ship_available"},
            "payment_timing": "at_ship",
            "expedite": document == "224",
            "lines": [{k: v for k, v in line.items() if not k.startswith("_")} for line in lines],
        },
        read.warnings,
    )


def _date(read: _Reader, dtm: Segment, what: str) -> datetime:
    form = dtm.get(1, 3) or "102"
    if form not in DATE_FORMATS:
        raise read.fault(
            dtm, (1, 3), 14, f"{what} format {form}: only 102, 203 and 204 dates are read"
        )
    value = dtm.get(1, 2)
    try:
        if len(value) != DATE_WIDTHS[form] or not (value.isascii() and value.isdigit()):
            raise ValueError
        return datetime.strptime(value, DATE_FORMATS[form])
    except ValueError:
        raise read.fault(
            dtm, (1, 2), 12, f"{what} {value!r} is not a date in format {form}"
        ) from None


def _order_date(read: _Reader, header: list[Segment]) -> datetime:
    dtm = next((s for s in header if s.tag == "DTM" and s.get(1) == "137"), None)
    if dtm is None:
        raise SegmentFault("no DTM+137 (the order date)", 3, 13)
    return _date(read, dtm, "DTM+137")


def _requested_delivery(read: _Reader, header: list[Segment]) -> None:
    dtm = next((s for s in header if s.tag == "DTM" and s.get(1) == "2"), None)
    if dtm is None:
        return
    try:
        when = _date(read, dtm, "DTM+2")
    except SegmentFault as fault:
        read.warnings.append(f"{fault}: the requested delivery date is left out")
        return
    read.warnings.append(
        f"requested delivery {when:%Y-%m-%d} (DTM+2) is not kept: an order here holds no "
        "delivery date"
    )


def _buyer(read: _Reader, header: list[Segment], sender: str) -> dict[str, Any]:
    party = ""
    buyer: Segment | None = None
    contact, email, phone = "", None, None
    for segment in header:
        if segment.tag == "NAD":
            party = segment.get(1)
            if party == "BY" and buyer is None:
                buyer = segment
        elif segment.tag not in PARTY_GROUP:
            party = ""
        elif party == "BY" and segment.tag == "CTA":
            contact = contact or segment.get(2, 2)
        elif party == "BY" and segment.tag == "COM":
            value, kind = segment.get(1, 1), segment.get(1, 2)
            if kind == "EM" and email is None and value:
                email = _contact(read, value, is_address(value), "e-mail")
            elif kind == "TE" and phone is None and value:
                phone = _contact(read, value, len(value) <= 32, "phone")
    ident = name = ""
    if buyer is not None:
        ident = buyer.get(2)
        name = " ".join(p for p in (buyer.get(4, n) for n in range(1, 6)) if p)
        name = name or " ".join(p for p in (buyer.get(3, n) for n in range(1, 6)) if p)
    name = (name or contact)[:200]
    return {
        "id": ident or name or sender,
        "name": name,
        "email": email or None,
        "phone": phone or None,
        "tier": "wholesale",
    }


def _contact(read: _Reader, value: str, fits: bool, what: str) -> str:
    if fits and "\x00" not in value:
        return value
    read.warnings.append(f"the buyer's {what} {value[:40]!r} cannot be kept: left out")
    return ""


def _currency(read: _Reader, header: list[Segment], priced: bool) -> str:
    cux = next((s for s in header if s.tag == "CUX" and s.get(1, 1) in ("2", "")), None)
    cux = cux or next((s for s in header if s.tag == "CUX"), None)
    if cux is None or not cux.get(1, 2):
        if priced:
            read.warnings.append("no CUX currency: prices taken as USD")
        return "USD"
    currency = cux.get(1, 2).upper()
    if not CURRENCY.fullmatch(currency):
        raise read.fault(cux, (1, 2), 12, f"CUX currency {cux.get(1, 2)!r} is not a currency code")
    return currency


def _groups(body: list[Segment]) -> list[list[Segment]]:
    groups: list[list[Segment]] = []
    for segment in body:
        if segment.tag == "LIN" or not groups:
            groups.append([segment])
        else:
            groups[-1].append(segment)
    return groups


def _lines(read: _Reader, body: list[Segment]) -> list[dict[str, Any]]:
    return [_line(read, group) for group in _groups(body) if group[0].tag == "LIN"]


def _item(read: _Reader, group: list[Segment], name: str) -> str:
    lin = group[0]
    ids = [(lin.get(3, 2), lin.get(3, 1))]
    for pia in (s for s in group if s.tag == "PIA"):
        ids += [(pia.get(n, 2), pia.get(n, 1)) for n in range(2, 7)]
    ids = [(kind.upper(), value) for kind, value in ids if value]
    ours = next((value for kind, value in ids if kind == OUR_ITEM), None)
    if ours is not None:
        return ours
    theirs = next((f"{THEIR_ITEM[k]}:{v}" for k, v in ids if k in THEIR_ITEM), None)
    if theirs is None:
        raise read.fault(lin, (3, 1), 13, f"{name}: no item number (SA, IN, EN, SRV, UP or BP)")
    return theirs


def _line(read: _Reader, group: list[Segment]) -> dict[str, Any]:
    lin = group[0]
    name = f"LIN {lin.get(1) or '?'}"
    sku = _item(read, group, name)
    qty = next((s for s in group if s.tag == "QTY" and s.get(1, 1) == "21"), None)
    if qty is None:
        after = read.where[id(group[-1])] + 1
        raise SegmentFault(f"{name}: no QTY+21 (the ordered quantity)", after, 13)
    amount = read.amount(qty, (1, 2), f"{name}: quantity")
    if amount != amount.to_integral_value() or amount <= 0:
        words = f"{name}: quantity {qty.get(1, 2)} is not a whole number above 0"
        raise read.fault(qty, (1, 2), 12, words)
    unit = qty.get(1, 3).upper() or None
    if unit is not None and not UNIT_CODE.fullmatch(unit):
        raise read.fault(qty, (1, 3), 12, f"{name}: unit {qty.get(1, 3)!r} is not a unit code")
    single = is_single(unit)
    pack = None
    for segment in (s for s in group if s.tag == "QTY" and s.get(1, 1) in PACK_QUANTITIES):
        size = read.amount(segment, (1, 2), f"{name}: pack quantity")
        if size < 1 or size != size.to_integral_value():
            raise read.fault(segment, (1, 2), 12, f"{name}: pack {segment.get(1, 2)} is no pack")
        pack = pack or int(size)
    line: dict[str, Any] = {
        "sku": sku,
        "quantity": int(amount),
        "unit_price": _price(read, group, name, (unit, pack)),
        "_quantity": amount,
    }
    if not single:
        line["unit"] = unit
        if pack is not None:
            line["pack"] = pack
    return line


def _price(
    read: _Reader, group: list[Segment], name: str, ordered: tuple[str | None, int | None]
) -> str | None:
    """The price of one of the line's units: PRI's price over its basis quantity, brought
    from the price's unit to the line's (by the buyer's pack when they differ)."""
    prices = {s.get(1, 1): s for s in reversed(group) if s.tag == "PRI"}
    pri = prices.get("AAA") or prices.get("AAB")
    if pri is None or not pri.get(1, 2):
        return None
    per = read.amount(pri, (1, 2), f"{name}: price")
    if per < 0:
        raise read.fault(pri, (1, 2), 12, f"{name}: price {pri.get(1, 2)} is below 0")
    if pri.get(1, 5):
        basis = read.amount(pri, (1, 5), f"{name}: price basis")
        if basis <= 0:
            raise read.fault(pri, (1, 5), 12, f"{name}: price basis {pri.get(1, 5)} is not above 0")
        per = per / basis
    unit, pack = ordered
    price_unit = pri.get(1, 6).upper() or unit
    if price_unit != unit and not (is_single(price_unit) and is_single(unit)):
        if is_single(price_unit) and pack is not None:
            per = per * pack  # a price per piece on a line in packs of `pack`
        else:
            read.warnings.append(
                f"{name}: a price per {price_unit} on a line in {unit or 'PCE'}, with no pack "
                "to bring one to the other: the price is left out"
            )
            return None
    try:
        return money(per, f"{name} price")
    except Unreadable as error:
        raise read.fault(pri, (1, 2), 12, str(error)) from None


def _check_counts(read: _Reader, summary: list[Segment], lines: list[dict[str, Any]]) -> None:
    for cnt in (s for s in summary if s.tag == "CNT"):
        kind = cnt.get(1, 1)
        if kind == "2":
            declared = read.amount(cnt, (1, 2), "CNT+2")
            if declared != len(lines):
                raise read.fault(
                    cnt, (1, 2), 12,
                    f"CNT+2 counts {cnt.get(1, 2)} lines; the order has {len(lines)}",
                )  # fmt: skip
        elif kind == "1":
            declared = read.amount(cnt, (1, 2), "CNT+1")
            total = sum((line["_quantity"] for line in lines), Decimal(0))
            if declared != total:
                raise read.fault(
                    cnt, (1, 2), 12,
                    f"CNT+1 totals {cnt.get(1, 2)}; the lines' quantities total {total}",
                )  # fmt: skip


__all__ = ["SegmentFault", "read_orders"]
