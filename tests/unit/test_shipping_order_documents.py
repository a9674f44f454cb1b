"""The shipping orders we send: an X12 940 our own X12 reader takes apart cleanly, and JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from backorder.intake.x12 import parse
from backorder.notify.shipping_orders import OrderLine, ShippingOrder, json_order, x12_940
from backorder.services.shipping_orders import short_ref

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
    assert ["W05", "N", "shopify:1001-east-2", "shopify:1001"] in rows  # W05-02, W05-03
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


def test_w05_holds_at_most_22_characters_each() -> None:
    """X12 4010 allows W05-02 and W05-03 22 characters: a long reference goes as the short
    one; an order reference that does not fit W05-03 is left out."""
    long_ref = "edifact:ACME-EUROPE:ORD-2026-000123456"
    number = f"{long_ref}-east-1"
    assert short_ref(number, 812) == "BO812"
    assert short_ref("web:1001-east-1", 812) == "web:1001-east-1"
    assert short_ref("web:10*1-east-1", 812) == "BO812"  # a separator: never in W05
    long = replace(ORDER, number=number, order_ref=long_ref, short_ref="BO812")
    [w05] = [
        s for s in parse(x12_940(long, 1, NOW))[0].groups[0].sets[0].segments if s.tag == "W05"
    ]
    assert w05.elements == ["W05", "N", "BO812"]


def test_a_cancellation_is_a_940_with_status_f_and_in_json_a_cancel() -> None:
    cancel = replace(ORDER, cancel=True, replaced_by="shopify:1001-east-3")
    [tset] = parse(x12_940(cancel, 4712, NOW))[0].groups[0].sets
    assert not tset.problems
    assert ["W05", "F", "shopify:1001-east-2", "shopify:1001"] in [
        s.elements for s in tset.segments
    ]
    document = json.loads(json_order(cancel, NOW))
    assert (document["type"], document["number"], document["replaced_by"]) == (
        "cancel",
        "shopify:1001-east-2",
        "shopify:1001-east-3",
    )
    assert [(x["sku"], x["units"]) for x in document["lines"]] == [("BOLT-M8", 3), ("NUT-M8", 12)]
