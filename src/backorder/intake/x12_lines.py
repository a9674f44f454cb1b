"""An X12 850's line items: each `PO1` loop (the `PO1` and what follows it up to the next
`PO1` or the summary) as a canonical line.

`PO102` is the quantity in the unit `PO103`, `PO104` the price, and the item ids: the
vendor's part number `VP`, `VN` or `SK` is our SKU; the buyer's part number `BP`, a UPC
`UP`/`UK`/`UA` or `EN`, or the buyer's item number `IN` go to the alias table as `bp:…`,
`upc:…`, `in:…`.

Units: `EA`, `UN` and `PC` are single units. A line in any other unit (`CA` case, `BX` box,
`DZ` dozen) is passed on in that unit, with the price per that unit, and counted in single
units when it is placed: by the `PO4` pack in its PO1 loop when the partner gives one, else
the catalogue's pack for the unit, else the unit's standard pack (DZ 12, GR 144), else it is
dead-lettered naming the unit and the SKU. `PO401` (pack) counts the inner containers, or
the single units when there are none, in one outer unit; `PO414` (inner pack), when given,
the single units in each inner container, so the pack is `PO401` x `PO414`. `PO402`/`PO403`
(size, e.g. 12 OZ) measure an inner unit's contents, not a count, and are not used. A PO4
pack of 1 says nothing about the outer unit (partners send it to mean "one case"): the
catalogue's pack is used. `PO401` or `PO414` that is not a whole number from 1 to 999999
rejects the set (AK4 names the element).

`PO105`, the basis of the price: a price per each (`PE`, and the catalogue, quoted, retail,
contract and wholesale prices per each) on a line in cases is a price per single unit, made
per case with the `PO4` or standard pack; a price per dozen, hundred or thousand is divided
down to a price per single unit. Where that needs a pack the partner did not give, or the
basis is a measure (per pound, ounce, yard, foot, ton), the partner's price is left out with
a warning and the catalogue's price is used. Any other basis (contract, quoted, none) is a
price per `PO103` unit, as sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from backorder.domain.units import STANDARD_PACKS, is_single
from backorder.intake.base import Unreadable, money

if TYPE_CHECKING:
    from backorder.intake.x12 import Segment

# Where an element is wrong, for the 997: (segment, element, AK4 code, message) -> the error
Fault = Callable[["Segment", int, int, str], Exception]

OUR_PART = ("VP", "VN", "SK")
THEIR_PART = {"BP": "bp", "UP": "upc", "UK": "upc", "UA": "upc", "EN": "upc", "IN": "in"}
UNIT = re.compile(r"^[A-Z0-9]{2}$")  # X12 element 355: an ID of two characters
PER_EACH = {"PE", "LE", "QE", "RE", "TE", "WE"}  # PO105: price per each (catalogue, quoted …)
PER_SINGLES = {"PD": 12, "LD": 12, "RD": 12, "TD": 12, "WD": 12, "HP": 100, "LC": 100}
PER_SINGLES |= {"QH": 100, "RC": 100, "TC": 100, "WC": 100, "LM": 1000, "QS": 1000}
PER_SINGLES |= {"RM": 1000, "TM": 1000, "TP": 1000, "WM": 1000}
PER_MEASURE = {"HF", "PA", "PO", "PP", "PT", "PY", "TF"}  # per feet, ounce, pound, ton, yard
LOOP_ENDS = {"PO1", "CTT", "AMT", "SE"}  # what closes a PO1 loop


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def po1_loops(segments: list[Segment]) -> list[list[Segment]]:
    """Each PO1 with the segments of its loop (PID, PO4, …), up to the next PO1 or the
    summary (CTT, AMT, SE)."""
    loops: list[list[Segment]] = []
    inside = False
    for segment in segments:
        if segment.tag == "PO1":
            loops.append([segment])
            inside = True
        elif segment.tag in LOOP_ENDS:
            inside = False
        elif inside:
            loops[-1].append(segment)
    return loops


def _count(segment: Segment, element: int, number: int, fault: Fault) -> int | None:
    """A PO4 count (pack, inner pack): a whole number above 0, or None when absent."""
    text = segment.get(element)
    if not text:
        return None
    if not _digits(text) or len(text) > 6 or int(text) == 0:
        name = "pack" if element == 1 else "inner pack"
        raise fault(
            segment,
            element,
            6,
            f"PO1 line {number}: PO4{element:02d} {name} {text!r} is not a whole number "
            "from 1 to 999999",
        )
    return int(text)


def _pack(loop: list[Segment], number: int, fault: Fault) -> int | None:
    """Single units in one outer unit, as the partner's PO4 says (PO401 x PO414); None when
    no PO4 gives more than one."""
    found = None
    for po4 in (s for s in loop if s.tag == "PO4"):
        pack, inner = _count(po4, 1, number, fault), _count(po4, 14, number, fault)
        if found is None and pack is not None and pack * (inner or 1) > 1:
            found = pack * (inner or 1)
    return found


def _price(
    po1: Segment, number: int, unit: str, pack: int | None, warnings: list[str]
) -> str | None:
    """The price per `unit` from PO104 and its basis PO105, or None with a warning when it
    cannot be had without a pack the partner did not give."""
    price, basis = po1.get(4), po1.get(5)
    if not price:
        return None
    amount = Decimal(price)
    singles = 1 if basis in PER_EACH else PER_SINGLES.get(basis)
    if basis in PER_MEASURE:
        warnings.append(
            f"PO1 line {number}: price {price} is per a measure (PO105 {basis}), not per "
            f"{unit}: the catalogue's price is used"
        )
        return None
    if singles is None:
        return price  # a price per the line's own unit
    per_unit = 1 if is_single(unit) else (pack or STANDARD_PACKS.get(unit))
    if per_unit is None:
        warnings.append(
            f"PO1 line {number}: price {price} is per {singles} single unit"
            f"{'s' if singles > 1 else ''} (PO105 {basis}) and no PO4 says how many are in "
            f"one {unit}: the catalogue's price is used"
        )
        return None
    return str(amount * per_unit / singles)


def read_line(
    loop: list[Segment], number: int, fault: Fault, warnings: list[str]
) -> dict[str, Any]:
    po1 = loop[0]
    try:
        amount = Decimal(po1.get(2))
    except InvalidOperation:
        raise fault(
            po1, 2, 6, f"PO1 line {number}: quantity {po1.get(2)!r} is not a number"
        ) from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise fault(po1, 2, 6, f"PO1 line {number}: quantity {po1.get(2)} is not a whole number")
    unit = po1.get(3) or "EA"
    if not UNIT.fullmatch(unit):
        raise fault(po1, 3, 7, f"PO1 line {number}: unit {unit!r} is not a unit code (as CA)")
    pack = _pack(loop, number, fault)
    where = f"PO1 line {number} unit price"
    try:
        money(po1.get(4), where)  # the price as sent, before any pack is counted in
        price = money(_price(po1, number, unit, pack, warnings), where)
    except Unreadable as error:
        raise fault(po1, 4, 6, str(error)) from None
    ids = {po1.get(at): po1.get(at + 1) for at in range(6, len(po1.elements), 2) if po1.get(at + 1)}
    sku = next((ids[q] for q in OUR_PART if q in ids), None)
    if sku is None:
        sku = next((f"{THEIR_PART[q]}:{v}" for q, v in ids.items() if q in THEIR_PART), None)
    if sku is None:
        raise fault(po1, 7, 1, f"PO1 line {number}: no item id (VP, VN, SK, BP, UP, EN or IN)")
    line: dict[str, Any] = {"sku": sku, "quantity": int(amount), "unit_price": price}
    if not is_single(unit):
        line["unit"] = unit
        if pack is not None:
            line["pack"] = pack
    return line


__all__ = ["po1_loops", "read_line"]
