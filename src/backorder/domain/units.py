"""Units of measure: a buyer may order in cases, boxes or pallets; stock, queues and
allocation count single units (each). A line ordered in another unit is turned into single
units by its pack size: the one the buyer gave on the order (X12 `PO4`), else the
catalogue's pack for that unit, else the unit's standard pack when it has one (a dozen is
12, a gross 144), else the line cannot be taken. The price per pack is
divided by the pack for the price per unit. The order keeps what the buyer ordered, so
that what we say back speaks their unit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import LineRequest, OrderedAs

# Codes for one single unit: X12 (EA each, UN unit, PC piece) and UN/ECE Recommendation 20
# as EDIFACT uses it (PCE piece, C62 one, NAR number of articles, EA).
SINGLE_UNITS = frozenset({"EA", "UN", "PC", "PCE", "C62", "NAR", "H87"})
UNIT_CODE = re.compile(r"^[A-Z0-9]{1,8}$")
MAX_PACK = 1_000_000
PRICE_STEP = Decimal("0.0001")  # money is kept to 1/10,000 of the currency unit

# Units whose size is fixed by their name, whatever the product: X12 DZ/GR and UN/ECE
# Recommendation 20 DZN/GRO. Used only when neither the buyer nor the catalogue gives a pack.
STANDARD_PACKS = {"DZ": 12, "DZN": 12, "GR": 144, "GRO": 144}


def is_single(unit: str | None) -> bool:
    """Whether a line in this unit is counted in single units as it is."""
    return unit is None or unit.upper() in SINGLE_UNITS


def unit_code(text: str) -> str:
    """A unit code as the catalogue keeps it ("CA"), or InvalidRequest saying what one is."""
    code = text.strip().upper()
    if not UNIT_CODE.fullmatch(code):
        raise InvalidRequest(f"unit {text!r}: a unit code is 1 to 8 letters or digits, as CA")
    if code in SINGLE_UNITS:
        raise InvalidRequest(f"unit {code} is a single unit: it has no pack size")
    return code


def pack_size(value: int, unit: str) -> int:
    """A pack size: how many single units one `unit` holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 < value <= MAX_PACK:
        raise InvalidRequest(
            f"pack {unit}={value}: a pack holds 2 to {MAX_PACK:,} single units"
            if value != 1
            else f"pack {unit}=1 is a single unit: leave the pack out"
        )
    return value


class NoPackSize(InvalidRequest):
    """A line in a unit whose pack size neither the buyer nor the catalogue gives."""

    def __init__(self, sku: str, unit: str) -> None:
        super().__init__(
            f"unit {unit} has no pack size for SKU {sku}: "
            f"backorder product update {sku} --pack {unit}=N"
        )
        self.sku, self.unit = sku, unit


def in_single_units(line: LineRequest, packs: Mapping[str, int]) -> LineRequest:
    """The line counted in single units. `line.quantity` and `line.unit_price` are in the
    unit the buyer ordered (`line.ordered.unit`); `packs` are the catalogue's pack sizes
    for the line's SKU, by unit. The buyer's own pack wins over the catalogue's."""
    ordered = line.ordered
    if ordered is None or is_single(ordered.unit):
        return replace(line, ordered=None)
    pack = ordered.pack or packs.get(ordered.unit) or STANDARD_PACKS.get(ordered.unit.upper())
    if pack is None:
        raise NoPackSize(line.sku, ordered.unit)
    price = None
    if line.unit_price is not None:
        price = (line.unit_price / pack).quantize(PRICE_STEP, ROUND_HALF_EVEN)
    return replace(
        line,
        quantity=line.quantity * pack,
        unit_price=price,
        ordered=OrderedAs(line.quantity, ordered.unit, pack),
    )


UNIT_NAMES = {
    "CA": ("case", "cases"),
    "CS": ("case", "cases"),
    "CT": ("carton", "cartons"),
    "BX": ("box", "boxes"),
    "BG": ("bag", "bags"),
    "PK": ("pack", "packs"),
    "PA": ("packet", "packets"),
    "PL": ("pallet", "pallets"),
    "PF": ("pallet", "pallets"),
    "PX": ("pallet", "pallets"),
    "DZ": ("dozen", "dozen"),
    "DZN": ("dozen", "dozen"),
    "GR": ("gross", "gross"),
    "GRO": ("gross", "gross"),
    "RL": ("roll", "rolls"),
    "RO": ("roll", "rolls"),
    "BE": ("bundle", "bundles"),
    "BD": ("bundle", "bundles"),
    "DR": ("drum", "drums"),
    "TU": ("tube", "tubes"),
}


def unit_name(unit: str, quantity: int) -> str:
    """A unit in words (English), for a quantity: "case"/"cases"; the code when we have no
    name for it."""
    names = UNIT_NAMES.get(unit.upper())
    if names is None:
        return unit
    return names[0] if quantity == 1 else names[1]


def _packs_in_words(quantity: int, unit: str, pack: int) -> str:
    """ "12 cases of 12"; "12 dozen" (a dozen says its own size)."""
    named = f"{quantity:,} {unit_name(unit, quantity)}"
    if STANDARD_PACKS.get(unit.upper()) == pack:
        return named
    return f"{named} of {pack:,}"


def ordered_in_words(quantity: int, ordered: OrderedAs | None) -> str:
    """What was ordered as the buyer said it: "12 cases of 12 (144 units)", "12 dozen (144
    units)", or "144" for a line in single units."""
    if ordered is None or ordered.pack is None:
        return f"{quantity:,}"
    return f"{_packs_in_words(ordered.quantity, ordered.unit, ordered.pack)} ({quantity:,} units)"


def part_in_words(units: int, ordered: OrderedAs | None) -> str:
    """Some units of a line (waiting, ready, shipped, cancelled) as the buyer would count
    them: "3 cases of 12 (36 units)" when they make whole packs, else in units with what was
    ordered beside them: "44 of 144 units (12 cases of 12)". A line in single units: "44"."""
    if ordered is None or not ordered.pack:
        return str(units)
    if units and units % ordered.pack == 0:
        packs = _packs_in_words(units // ordered.pack, ordered.unit, ordered.pack)
        return f"{packs} ({units:,} units)"
    whole = ordered.quantity * ordered.pack
    of = _packs_in_words(ordered.quantity, ordered.unit, ordered.pack)
    return f"{units:,} of {whole:,} units ({of})"


def ordered_as(value: object) -> OrderedAs | None:
    """What a line was ordered as, from its stored form ({"quantity": 12, "unit": "CA",
    "pack": 12}, as views and events carry it); None for anything else (a line in single
    units, or an event written before lines said it)."""
    if not isinstance(value, dict):
        return None
    quantity, unit, pack = value.get("quantity"), value.get("unit"), value.get("pack")
    if not (isinstance(quantity, int) and isinstance(unit, str) and isinstance(pack, int)):
        return None
    if isinstance(quantity, bool) or isinstance(pack, bool) or pack < 1:
        return None
    return OrderedAs(quantity, unit, pack)


__all__ = [
    "MAX_PACK",
    "SINGLE_UNITS",
    "STANDARD_PACKS",
    "NoPackSize",
    "OrderedAs",
    "in_single_units",
    "is_single",
    "ordered_as",
    "ordered_in_words",
    "pack_size",
    "part_in_words",
    "unit_code",
    "unit_name",
]
