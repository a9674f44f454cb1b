"""Units of measure in words and the standard packs: a line in cases is told in cases, a
dozen says its own size, and a dozen or a gross needs no pack from anyone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backorder.domain.model import LineRequest, OrderedAs
from backorder.domain.units import (
    NoPackSize,
    in_single_units,
    ordered_as,
    ordered_in_words,
    part_in_words,
)

CASES = OrderedAs(12, "CA", 12)


def test_a_line_in_cases_is_told_in_cases_and_parts_of_it_in_units_beside_them() -> None:
    assert ordered_in_words(144, CASES) == "12 cases of 12 (144 units)"
    assert ordered_in_words(144, None) == "144"
    assert part_in_words(36, CASES) == "3 cases of 12 (36 units)"
    assert part_in_words(12, CASES) == "1 case of 12 (12 units)"
    assert part_in_words(44, CASES) == "44 of 144 units (12 cases of 12)"
    assert part_in_words(44, None) == "44"
    assert ordered_in_words(24, OrderedAs(2, "DZ", 12)) == "2 dozen (24 units)"
    assert part_in_words(2400, OrderedAs(200, "XY", 12)) == "200 XY of 12 (2,400 units)"


def test_what_was_ordered_is_read_back_from_its_stored_form_or_not_at_all() -> None:
    assert ordered_as({"quantity": 12, "unit": "CA", "pack": 12}) == CASES
    for stored in (None, {}, {"quantity": 12, "unit": "CA"}, {"quantity": True, "unit": "CA",
                   "pack": 12}, {"quantity": 1, "unit": "CA", "pack": 0}, "12 CA"):  # fmt: skip
        assert ordered_as(stored) is None


def test_a_dozen_and_a_gross_need_no_pack_but_the_buyers_or_the_catalogues_wins() -> None:
    dozen = LineRequest("MUG", 2, Decimal("18.00"), ordered=OrderedAs(2, "DZ"))
    counted = in_single_units(dozen, {})
    assert (counted.quantity, counted.unit_price) == (24, Decimal("1.5000"))
    assert in_single_units(dozen, {"DZ": 10}).quantity == 20  # the catalogue's, oddly
    gross = LineRequest("MUG", 1, None, ordered=OrderedAs(1, "GR", 100))
    assert in_single_units(gross, {}).quantity == 100  # the buyer's
    with pytest.raises(NoPackSize, match="unit BX has no pack size for SKU MUG"):
        in_single_units(LineRequest("MUG", 1, ordered=OrderedAs(1, "BX")), {})
