"""A product's pack sizes as operators write them: `CA=12` on the command line (`CA=` clears
CA), `CA=12 PL=480` in a CSV cell, `{"CA": 12, "PL": null}` in the API. Each is checked
here, in words that say what a pack looks like, before anything is written; what a change
does to a product's packs (before, after) is what the `product_changed` event carries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backorder.domain.errors import InvalidRequest
from backorder.domain.units import pack_size, unit_code

MAX_PACKS = 32  # pack sizes of one product (case, inner, carton, layer, pallet... and then some)
CELL_SEPARATOR = re.compile(r"[\s;]+")  # "CA=12 PL=480" or "CA=12;PL=480" in a CSV cell
FIX = "write UNIT=N, as CA=12 (CA= clears it)"


def parse_packs(texts: Iterable[str]) -> dict[str, int | None]:
    """Pack sizes as written on the command line: "CA=12", "PL=480"; "CA=" clears CA's
    pack. InvalidRequest says what a pack looks like; a unit given twice is refused."""
    packs: dict[str, int | None] = {}
    for text in texts:
        unit, sep, size = text.partition("=")
        if not sep:
            raise InvalidRequest(f"pack {text!r}: {FIX}")
        code = unit_code(unit)
        if code in packs:
            raise InvalidRequest(f"pack {code} is given twice: give each unit once")
        size = size.strip()
        if not size:
            packs[code] = None
            continue
        if not (size.isascii() and size.isdigit()):
            raise InvalidRequest(f"pack {text!r}: N is a whole number of single units")
        packs[code] = pack_size(int(size), code)
    return packs


def parse_cell(cell: str) -> dict[str, int]:
    """A CSV `packs` cell: the product's complete list of packs, separated by spaces or
    semicolons ("CA=12 PL=480"); an empty cell is no packs at all."""
    texts = [text for text in CELL_SEPARATOR.split(cell.strip()) if text]
    return {unit: units for unit, units in parse_packs(texts).items() if units is not None}


def checked(packs: Mapping[str, int | None]) -> dict[str, int | None]:
    """Pack sizes by unit as a caller gave them (None clears one), each unit code and size
    checked; a unit given twice (`ca` and `CA`) is refused."""
    found: dict[str, int | None] = {}
    for unit, units in packs.items():
        code = unit_code(unit)
        if code in found:
            raise InvalidRequest(f"pack {code} is given twice: give each unit once")
        found[code] = None if units is None else pack_size(units, code)
    return found


def in_order(packs: Mapping[str, int]) -> dict[str, int]:
    """Smallest pack first (CA 12, then PL 480), then by unit code."""
    return dict(sorted(packs.items(), key=lambda item: (item[1], item[0])))


@dataclass(frozen=True)
class PackChange:
    """A product's packs before and after a change."""

    sku: str
    before: dict[str, int]
    after: dict[str, int]

    @classmethod
    def of(cls, sku: str, before: Mapping[str, int], given: Mapping[str, int | None]) -> PackChange:
        """`given` applied to `before`: a unit with a size sets it, with None clears it."""
        after = dict(before)
        for unit, units in checked(given).items():
            if units is None:
                after.pop(unit, None)
            else:
                after[unit] = units
        if len(after) > MAX_PACKS:
            raise InvalidRequest(
                f"product {sku} would have {len(after)} pack sizes: at most {MAX_PACKS}; "
                "clear one with UNIT= first"
            )
        return cls(sku, in_order(before), in_order(after))

    @classmethod
    def complete(cls, sku: str, before: Mapping[str, int], wanted: Mapping[str, int]) -> PackChange:
        """`wanted` is the whole list: units of `before` it leaves out are cleared."""
        return cls.of(sku, before, {unit: None for unit in before} | dict(wanted))

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def writes(self) -> dict[str, int | None]:
        """What to write: each unit whose size changed, None for one cleared."""
        units = {**self.before, **self.after}
        return {u: self.after.get(u) for u in units if self.before.get(u) != self.after.get(u)}

    def change(self) -> dict[str, dict[str, int]]:
        """As a `product_changed` event tells it: {"from": {...}, "to": {...}}."""
        return {"from": self.before, "to": self.after}


def in_words(packs: Mapping[str, int], space: str = " ") -> str:
    """In words: "CA 12, PL 1200" (no thousands separator in a list the commas separate),
    `space` between a unit and its size; "none" for a product in single units only."""
    return ", ".join(f"{unit}{space}{units}" for unit, units in packs.items()) or "none"


__all__ = [
    "MAX_PACKS",
    "PackChange",
    "checked",
    "in_order",
    "in_words",
    "parse_cell",
    "parse_packs",
]
