"""The shipping orders we send: an X12 940 our own X12 reader takes apart cleanly, and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from backorder.intake.x12 import parse
from backorder.notify.shipping_orders import OrderLine, ShippingOrder, json_order, x12_940

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
ORDER = ShippingOrder(
    number="shopify:1001-east-2",
    order_ref="shopify:1001",
    location="east",
    customer="Ada ~Lovelace*",  # separators in a name are dropped, not read as structure
    country="GB",
    ship_complete=True,
    lines=(OrderLine(1, "BOLT-M8", 3), OrderLine(3, "NUT-M8", 12)),
)


def test_a_940_round_trips_through_our_x12_reader() -> None:
    text = x12_940(ORDER, 4711, NOW)
    [interchange] = parse(text)
    assert not interchange.notes and interchange.isa.get(13) == "000004711"
    assert interchange.isa.get(8) == "EAST"
    [group] = interchange.groups
    assert not group.notes and (group.gs.get(1), group.gs.get(6)) == ("OW", "4711")
    [tset] = group.sets
    assert tset.kind == "940" and not tset.problems  # SE01 counts the set's segments
    rows = [s.elements for s in tset.segments]
    assert ["W05", "N", "shopify:1001", "shopify:1001-east-2"] in rows
    assert ["N1", "ST", "Ada Lovelace"] in rows
    assert ["N9", "ZZ", "SHIP COMPLETE"] in rows
    assert [r for r in rows if r[0] == "W01"] == [
        ["W01", "3", "EA", "", "SK", "BOLT-M8"],
        ["W01", "12", "EA", "", "SK", "NUT-M8"],
    ]
    assert ["W76", "15", "2"] in rows
    assert x12_940(ORDER, 4711, NOW) == text  # the same numbers make the same document


def test_the_json_shipping_order_says_the_same() -> None:
    document = json.loads(json_order(ORDER, NOW))
    assert document["number"] == "shopify:1001-east-2"
    assert document["ship_to"] == {"name": "Ada ~Lovelace*", "country": "GB"}
    assert [(x["sku"], x["units"]) for x in document["lines"]] == [("BOLT-M8", 3), ("NUT-M8", 12)]
