"""The approval policy and the documents sent to suppliers, pure: which limit applies (the
supplier's own, else the SKU's class's, lowest of a multi-SKU order's, else the general
one), under / at / over it, none set or a price unknown; the X12 850 segment by segment
with its counts; a cancellation's BEG01; the JSON round trip and the CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backorder.domain.po_approval import Limits, decide
from backorder.intake.x12 import parse
from backorder.notify.purchase_orders import (
    PoLine,
    PurchaseOrder,
    as_csv,
    as_json,
    from_json,
    x12_850,
)

CLASSES = {"A": Decimal("200"), "B": Decimal("400")}


@pytest.mark.parametrize(
    ("value", "limits", "classes", "automatic", "said"),
    [
        (Decimal("500"), Limits(Decimal("500"), CLASSES, Decimal("50")), ["A"], True,
         "rule:auto_approve_limit supplier FilterCo 500.00"),
        (Decimal("500.01"), Limits(Decimal("500"), CLASSES, Decimal("9000")), ["A"], False,
         "value 500.01 is over the supplier FilterCo limit 500.00"),
        (Decimal("150"), Limits(None, CLASSES, Decimal("50")), ["B", "A"], True,
         "rule:auto_approve_limits class A 200.00"),
        (Decimal("300"), Limits(None, CLASSES, Decimal("9000")), ["B", "A"], False,
         "value 300.00 is over the class A limit 200.00"),
        (Decimal("300"), Limits(None, CLASSES, Decimal("300")), ["C"], True,
         "rule:auto_approve_limit general 300.00"),
        (Decimal("300"), Limits(None, {}, Decimal("299.99")), [], False,
         "value 300.00 is over the general limit 299.99"),
        (Decimal("1"), Limits(None, {}, None), ["A"], False,
         "no auto-approve limit is set: a person approves"),
        (None, Limits(Decimal("500"), {}, None), [], False,
         "a line has no price, its value is unknown: a person approves"),
    ],
)  # fmt: skip
def test_the_limit_that_applies_decides(
    value: Decimal | None, limits: Limits, classes: list[str], automatic: bool, said: str
) -> None:
    verdict = decide(value, "FilterCo", classes, limits)
    assert verdict.automatic is automatic
    assert (verdict.rule if automatic else verdict.reason) == said


NOW = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
PO = PurchaseOrder(
    ref="R-2026-000042",
    supplier="FILTERCO",
    supplier_name="FilterCo*Ltd",  # a separator in a value is dropped
    location="main",
    currency="USD",
    lines=(
        PoLine("FILTER-10", "Filter 10in", 144, Decimal("2.50"), date(2026, 1, 14)),
        PoLine("FILTER-20", "Filter 20in", 12, None, date(2026, 1, 20)),
    ),
)


def segments(document: str) -> list[list[str]]:
    [interchange] = parse(document)
    [group] = interchange.groups
    [tset] = group.sets
    assert not tset.problems and not group.notes and not interchange.notes
    assert group.gs.get(1) == "PO" and interchange.isa.get(13) == "000000007"
    return [s.elements for s in tset.segments]


def test_the_850_names_each_line_its_date_and_counts() -> None:
    found = segments(x12_850(PO, 7, NOW))
    assert found == [
        ["ST", "850", "0001"],
        ["BEG", "00", "SA", "R-2026-000042", "", "20260110"],
        ["CUR", "BY", "USD"],
        ["N1", "ST", "main", "92", "main"],
        ["N1", "SE", "FilterCoLtd", "92", "FILTERCO"],
        ["PO1", "1", "144", "EA", "2.50", "PE", "BP", "FILTER-10"],
        ["DTM", "002", "20260114"],
        ["PO1", "2", "12", "EA", "", "", "BP", "FILTER-20"],  # no price known
        ["DTM", "002", "20260120"],
        ["CTT", "2", "156"],
        ["SE", "11", "0001"],
    ]


def test_a_cancellation_is_beg01_01_and_a_long_ref_goes_whole_in_ref() -> None:
    long = PurchaseOrder(**{**PO.__dict__, "ref": "R-2026-000042-EXTRA-LONG", "cancel": True})
    found = segments(x12_850(long, 7, NOW))
    assert found[1] == ["BEG", "01", "SA", "R-2026-000042-EXTRA-LO", "", "20260110"]
    assert found[2] == ["REF", "PO", "R-2026-000042-EXTRA-LONG"]
    assert found[-1] == ["SE", str(len(found)), "0001"]


def test_json_round_trips_and_the_csv_has_a_row_per_line() -> None:
    assert from_json(as_json(PO, NOW)) == (PO, NOW)
    assert as_csv(PO).splitlines() == [
        "po,line,sku,name,units,unit_cost,currency,expected_on",
        "R-2026-000042,1,FILTER-10,Filter 10in,144,2.50,USD,2026-01-14",
        "R-2026-000042,2,FILTER-20,Filter 20in,12,,USD,2026-01-20",
    ]
