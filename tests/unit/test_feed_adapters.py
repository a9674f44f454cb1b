"""Feed adapters read each sender's format (fixtures written from the specifications: X12
846 and 944, Shopify's inventory_levels/update, our CSV and JSON shapes) to one document."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backorder.intake import FEEDS, Payload, Unreadable
from backorder.intake.feeds import Count, Receipt, Snapshot, Units

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def read_all(channel: str, name: str) -> list[tuple[Payload, object]]:
    adapter = FEEDS[channel]
    payloads = adapter.split((FIXTURES / name).read_text())
    return [(payload, adapter.read(payload)) for payload in payloads]


def test_an_846_is_a_snapshot_of_on_hand_preferring_qty_17_to_33() -> None:
    [(payload, document)] = read_all("x12-3pl", "846_inventory_advice.x12")
    assert document == Snapshot(
        "SB-EAST",
        datetime(2026, 1, 10, 7, 0, tzinfo=UTC),
        (Count("BOLT", 7), Count("NUT", 40)),
    )
    assert payload.external_id == "SHIPBOB3PL.846.INV-20260110.SB-EAST"


def test_a_944_is_a_receipt_with_the_warehouse_receipt_number() -> None:
    [(payload, document)] = read_all("x12-3pl", "944_receipt_advice.x12")
    assert document == Receipt(
        "SB-EAST",
        datetime(2026, 1, 10, tzinfo=UTC),
        "RCPT-5521",
        (Units("BOLT", 6), Units("NUT", 12)),
    )
    assert payload.external_id == "SHIPBOB3PL.944.RCPT-5521.SB-EAST"


def test_an_x12_feed_is_acknowledged_by_a_997_accepting_what_it_could_read() -> None:
    text = (FIXTURES / "846_inventory_advice.x12").read_text()
    ack = FEEDS["x12-3pl"].acknowledge(text, 7, datetime(2026, 1, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    assert "AK2*846*0001~" in ack and "AK5*A~" in ack and "AK9*A*1*1*1~" in ack
    broken = text.replace("QTY*17*7*EA", "QTY*17*-7*EA")
    ack = FEEDS["x12-3pl"].acknowledge(broken, 7, datetime(2026, 1, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    assert "AK5*R" in ack


def test_a_negative_846_quantity_is_unreadable_with_the_reason() -> None:
    text = (FIXTURES / "846_inventory_advice.x12").read_text().replace("QTY*33*40", "QTY*33*-4")
    [payload] = FEEDS["x12-3pl"].split(text)
    with pytest.raises(Unreadable, match="not a count of units"):
        FEEDS["x12-3pl"].read(payload)


def test_an_order_850_is_not_read_as_a_feed() -> None:
    text = (FIXTURES / "944_receipt_advice.x12").read_text().replace("ST*944", "ST*850")
    [payload] = FEEDS["x12-3pl"].split(text)
    with pytest.raises(Unreadable, match="'850'"):
        FEEDS["x12-3pl"].read(payload)


def test_a_csv_snapshot_is_one_payload_per_location_and_time() -> None:
    found = read_all("stock-csv", "snapshot.csv")
    assert [payload.external_id.split("#")[0] for payload, _ in found] == [  # type: ignore[union-attr]
        "SB-EAST@2026-01-10T07:00:00Z",
        "main@2026-01-10T06:00:00Z",
    ]
    assert found[1][1] == Snapshot(
        "main", datetime(2026, 1, 10, 6, tzinfo=UTC), (Count("BOLT", 3),)
    )


def test_a_csv_receipt_is_read_by_its_header() -> None:
    [(payload, document)] = read_all("stock-csv", "receipt.csv")
    assert isinstance(document, Receipt) and document.reference == "ASN-1001"
    assert document.lines == (Units("BOLT", 6), Units("NUT", 12))
    assert payload.external_id == "SB-EAST:ASN-1001"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sku,where,on_hand,as_of\nBOLT,x,1,2026-01-01\n", "CSV header"),
        ("sku,location,on_hand,as_of\nBOLT,x,-1,2026-01-01\n", "negative"),
        ("sku,location,on_hand,as_of\nBOLT,x,1.5,2026-01-01\n", "whole number"),
        ("sku,location,on_hand,as_of\nBOLT,x,1,yesterday\n", "ISO 8601"),
        ("sku,location,units,received_at,reference\nBOLT,x,0,2026-01-01,R1\n", "no units"),
    ],
)
def test_bad_csv_is_unreadable_with_the_reason(text: str, reason: str) -> None:
    [payload] = FEEDS["stock-csv"].split(text)
    with pytest.raises(Unreadable, match=reason):
        FEEDS["stock-csv"].read(payload)


def test_the_json_shapes_are_a_snapshot_and_a_receipt() -> None:
    [(_, snapshot)] = read_all("stock-json", "snapshot_3pl.json")
    assert snapshot == Snapshot(
        "SB-EAST", datetime(2026, 1, 10, 7, tzinfo=UTC), (Count("BOLT", 7), Count("NUT", 40))
    )
    [(payload, receipt)] = read_all("stock-json", "receipt_3pl.json")
    assert isinstance(receipt, Receipt) and receipt.lines == (Units("BOLT", 6),)
    assert payload.external_id == "SB-EAST:ASN-1001"


def test_two_snapshots_of_one_location_and_time_are_two_documents() -> None:
    first = (
        '{"location": "E", "as_of": "2026-01-10T07:00:00Z", "items": [{"sku": "A", "on_hand": 1}]}'
    )
    other = first.replace('"A"', '"B"')
    [one], [two] = FEEDS["stock-json"].split(first), FEEDS["stock-json"].split(other)
    assert one.external_id != two.external_id
    assert one.external_id == FEEDS["stock-json"].split(first)[0].external_id


def test_shopify_inventory_level_is_a_snapshot_of_one_inventory_item() -> None:
    [(payload, document)] = read_all("shopify-inventory", "shopify_inventory_levels_update.json")
    assert document == Snapshot(
        "655441491",
        datetime(2026, 1, 10, 7, 0, tzinfo=UTC),
        (Count("inventory_item:808950810", 6),),
    )
    assert payload.external_id == "808950810@655441491@2026-01-10T02:00:00-05:00"


def test_shopify_negative_available_is_refused() -> None:
    text = (FIXTURES / "shopify_inventory_levels_update.json").read_text()
    [payload] = FEEDS["shopify-inventory"].split(text.replace('"available": 6', '"available": -2'))
    with pytest.raises(Unreadable, match="negative"):
        FEEDS["shopify-inventory"].read(payload)
