"""3PL feeds applied through the governed intake, on SQLite and PostgreSQL: snapshots set
on hand per location (older ones skipped, movements after as_of on top, allocations taken
back lowest-ranked first), receipts serve the queue once, bad input is a dead letter that
replays after the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backorder.domain.errors import InvalidRequest
from backorder.intake.feeds import ShipmentConfirmation, Units
from backorder.services.context import Backorder
from backorder.services.fulfilment import confirm_shipment
from backorder.services.ingest import acknowledge, health, ingest, replay
from backorder.services.ingest import add_alias as add_sku_alias
from backorder.services.intake import place_order
from backorder.services.location_aliases import add_alias, aliases, remove_alias, resolve
from backorder.services.locations import LocationIn, add, stock_by_location
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.stock import receive_stock, set_stock
from backorder.store.tables import intake_payloads, order_lines, stock_movements
from tests.conftest import Clock
from tests.factories import jan, order, product
from tests.integration.invariants import assert_invariants

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def at(app: Backorder, sku: str) -> dict[str, tuple[int, int]]:
    view = stock_by_location(app, sku)
    return {p["location"]: (p["on_hand"], p["allocated"]) for p in view["locations"]}


def snapshot_json(as_of: str, *counts: tuple[str, int], location: str = "SB-EAST") -> str:
    items = ", ".join(f'{{"sku": "{sku}", "on_hand": {n}}}' for sku, n in counts)
    return f'{{"location": "{location}", "as_of": "{as_of}", "items": [{items}]}}'


def east(app: Backorder) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    add_alias(app, "east", "stock", "SB-EAST")


def test_a_snapshot_sets_on_hand_at_the_aliased_location(app: Backorder) -> None:
    east(app)
    [outcome] = ingest(app, "stock-json", (FIXTURES / "snapshot_3pl.json").read_text())
    assert outcome.state == "accepted" and outcome.topic == "snapshot"
    assert outcome.outcome is not None and "2 SKU(s) set" in outcome.outcome
    assert at(app, "BOLT")["east"] == (7, 0) and at(app, "NUT")["east"] == (40, 0)
    assert aliases(app, "east") == [{"location": "east", "channel": "stock", "id": "SB-EAST"}]
    assert_invariants(app.db)


def test_a_snapshot_below_allocated_takes_back_the_lowest_ranked_there(
    app: Backorder, clock: Clock
) -> None:
    east(app)
    set_stock(app, "BOLT", 5, location="east")
    place_order(app, order("early", ("BOLT", 3), placed_at=jan(1)))
    place_order(app, order("late", ("BOLT", 2), placed_at=jan(2)))
    [outcome] = ingest(app, "stock-json", snapshot_json("2026-01-10T09:00:00Z", ("BOLT", 3)))
    assert outcome.outcome is not None and "2 allocated unit(s) taken back" in outcome.outcome
    with app.db.read() as uow:
        held = dict(
            uow.connection.execute(select(order_lines.c.order_id, order_lines.c.allocated)).all()
        )
    assert sorted(held.values()) == [0, 3]  # the later order gave its units back
    assert at(app, "BOLT")["east"] == (3, 3)
    assert_invariants(app.db)


def test_an_older_snapshot_is_skipped_for_the_skus_a_newer_one_set(app: Backorder) -> None:
    east(app)
    ingest(app, "stock-json", snapshot_json("2026-01-10T08:00:00Z", ("BOLT", 9)))
    [outcome] = ingest(
        app, "stock-json", snapshot_json("2026-01-10T07:00:00Z", ("BOLT", 1), ("NUT", 4))
    )
    assert outcome.state == "accepted"
    assert outcome.outcome is not None and "1 skipped, a newer snapshot is applied (BOLT)" in (
        outcome.outcome
    )
    assert at(app, "BOLT")["east"] == (9, 0) and at(app, "NUT")["east"] == (4, 0)
    assert_invariants(app.db)


def test_receipts_and_shipments_after_as_of_are_applied_on_top(
    app: Backorder, clock: Clock
) -> None:
    east(app)
    clock.current = jan(10, 9)
    receive_stock(app, "BOLT", 10, ref="asn", location="east")  # at 09:00
    place_order(app, order("1", ("BOLT", 4)))
    ship_order(app, "web:1", location="east")  # 4 leave east at 09:00
    # the 3PL counted at 08:30, before both: 2 + 10 received - 4 shipped
    [outcome] = ingest(app, "stock-json", snapshot_json("2026-01-10T08:30:00Z", ("BOLT", 2)))
    assert at(app, "BOLT")["east"] == (8, 0)
    assert outcome.outcome is not None and "+6 unit(s)" in outcome.outcome
    # counted after both: taken as it is
    ingest(app, "stock-json", snapshot_json("2026-01-10T09:30:00Z", ("BOLT", 2)))
    assert at(app, "BOLT")["east"] == (2, 0)
    assert_invariants(app.db)


def test_a_receipt_serves_the_queue_once_however_often_it_comes(app: Backorder) -> None:
    east(app)
    add_alias(app, "east", "x12-3pl", "SB-EAST")
    place_order(app, order("1", ("BOLT", 4)))
    text = (FIXTURES / "944_receipt_advice.x12").read_text()
    [first] = ingest(app, "x12-3pl", text)
    assert first.state == "accepted" and first.topic == "receipt"
    assert at(app, "BOLT")["east"] == (6, 4) and at(app, "NUT")["east"] == (12, 0)
    [again] = ingest(app, "x12-3pl", text)
    assert (again.state, again.topic) == ("duplicate", "receipt")
    assert again.outcome == f"duplicate of payload {first.id}"
    assert at(app, "BOLT")["east"] == (6, 4)
    with app.db.read() as uow:
        moves = uow.connection.execute(
            select(stock_movements.c.ref, stock_movements.c.location_id, stock_movements.c.units)
            .where(stock_movements.c.kind == "receipt")
            .order_by(stock_movements.c.id)
        ).all()
    assert [(ref, units) for ref, _, units in moves] == [("RCPT-5521", 6), ("RCPT-5521", 12)]
    assert len({loc for _, loc, _ in moves}) == 1 and moves[0][1] is not None
    assert_invariants(app.db)


def test_an_unknown_location_is_a_dead_letter_that_replays_after_an_alias(
    app: Backorder,
) -> None:
    add_product(app, product("BOLT"))
    add_product(app, product("NUT"))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    [dead] = ingest(app, "x12-3pl", (FIXTURES / "846_inventory_advice.x12").read_text())
    assert dead.state == "dead"
    assert "unknown location 'SB-EAST'" in dead.reasons[0]
    assert at(app, "BOLT").get("east", (0, 0)) == (0, 0)
    add_alias(app, "east", "x12", "SB-EAST")
    [replayed] = replay(app)
    assert replayed.state == "accepted"
    assert at(app, "BOLT")["east"] == (7, 0)
    source = next(s for s in health(app) if s["channel"] == "x12-3pl")
    assert source["counts"]["accepted"] == 1 and source["counts"]["dead"] == 0
    assert source["ignored"] == {}
    assert_invariants(app.db)


def test_unknown_skus_and_negative_counts_are_dead_letters_changing_nothing(
    app: Backorder,
) -> None:
    east(app)
    [unknown] = ingest(
        app, "stock-json", snapshot_json("2026-01-10T08:00:00Z", ("BOLT", 3), ("GHOST", 1))
    )
    assert unknown.state == "dead" and "unknown SKU(s) 'GHOST'" in unknown.reasons[0]
    [negative] = ingest(app, "stock-json", snapshot_json("2026-01-10T08:00:00Z", ("BOLT", -3)))
    assert negative.state == "dead" and "negative" in negative.reasons[0]
    [garbage] = ingest(app, "stock-csv", "hello")
    assert garbage.state == "dead"
    assert at(app, "BOLT").get("east", (0, 0)) == (0, 0)
    with app.db.read() as uow:
        states = uow.connection.execute(select(intake_payloads.c.state)).scalars().all()
    assert states == ["dead", "dead", "dead"]


def test_shopify_levels_map_location_and_inventory_item_through_aliases(
    app: Backorder,
) -> None:
    add_product(app, product("TEE-M"))
    add(app, LocationIn("store", "Shop", "store", priority=1))
    add_alias(app, "store", "shopify", "655441491")
    add_sku_alias(app, "shopify", "inventory_item:808950810", "TEE-M")
    text = (FIXTURES / "shopify_inventory_levels_update.json").read_text()
    [outcome] = ingest(app, "shopify-inventory", text)
    assert outcome.state == "accepted", outcome.reasons
    assert at(app, "TEE-M")["store"] == (6, 0)
    remove_alias(app, "store", "shopify", "655441491")
    assert aliases(app) == []


def test_a_csv_drop_sets_several_locations(app: Backorder) -> None:
    east(app)
    outcomes = ingest(app, "stock-csv", (FIXTURES / "snapshot.csv").read_text())
    assert [o.state for o in outcomes] == ["accepted", "accepted"]
    assert at(app, "BOLT") == {"east": (7, 0), "main": (3, 0)}
    assert_invariants(app.db)


def test_a_shipment_confirmation_ships_what_the_order_holds_at_that_location(
    app: Backorder,
) -> None:
    east(app)
    receive_stock(app, "BOLT", 5, location="east")
    place_order(app, order("1", ("BOLT", 3)))
    with app.db.read() as uow:
        east_id = resolve(uow.connection, "stock-json", "SB-EAST")
    too_many = ShipmentConfirmation("SB-EAST", jan(10), "web:1", (Units("BOLT", 4),), "1Z")
    with app.db.write() as uow, pytest.raises(InvalidRequest, match="holds 3 there"):
        confirm_shipment(uow, east_id, too_many, jan(10))
    shipped = ShipmentConfirmation("SB-EAST", jan(10), "web:1", (Units("BOLT", 3),), "1Z9")
    with app.db.write() as uow:
        said = confirm_shipment(uow, east_id, shipped, jan(10))
        uow.commit()
    assert said.startswith("shipped 3 units of web:1 from east"), said
    assert at(app, "BOLT")["east"] == (2, 0)
    assert_invariants(app.db)


def test_a_945_through_the_feed_intake_ships_and_a_second_delivery_is_a_duplicate(
    app: Backorder,
) -> None:
    for sku in ("BOLT", "NUT", "WASHER"):
        add_product(app, product(sku))
    add(app, LocationIn("east", "ShipBob East", "3pl", priority=1))
    add_alias(app, "east", "x12", "SB-EAST")
    for sku in ("BOLT", "NUT", "WASHER"):
        receive_stock(app, sku, 3, location="east")
    place_order(app, order("1001", ("BOLT", 3), ("NUT", 2), ("WASHER", 1)))
    text = (FIXTURES / "945_two_lines.edi").read_text()
    [first] = ingest(app, "x12-945", text)
    assert (first.state, first.topic) == ("accepted", "shipment"), first.reasons
    assert first.outcome == "shipped 4 units of web:1001 from east (UPSN 1Z999AA10123456784)"
    assert at(app, "BOLT")["east"] == (0, 0) and at(app, "NUT")["east"] == (2, 1)
    [again] = ingest(app, "x12-945", text)
    assert again.state == "duplicate"
    assert at(app, "NUT")["east"] == (2, 1)
    assert_invariants(app.db)


def test_an_mcf_status_ships_what_shipped_and_keeps_a_pending_shipment_ignored(
    app: Backorder,
) -> None:
    add(app, LocationIn("mcf", "Amazon MCF", "fba", priority=1))  # MCF names it `mcf`
    for sku in ("BOLT", "NUT"):
        add_product(app, product(sku))
        receive_stock(app, sku, 3, location="mcf")
    place_order(app, order("1002", ("BOLT", 3), ("NUT", 2)))
    outcomes = ingest(app, "mcf", (FIXTURES / "mcf_order.json").read_text())
    assert [(o.state, o.topic) for o in outcomes] == [("accepted", "shipment"), ("accepted", None)]
    assert outcomes[1].outcome is not None and outcomes[1].outcome.startswith("ignored: ")
    assert at(app, "BOLT")["mcf"] == (0, 0) and at(app, "NUT")["mcf"] == (2, 1)
    source = next(s for s in health(app) if s["channel"] == "mcf")
    assert sum(source["ignored"].values()) == 1  # the pending shipment, counted as ignored
    assert_invariants(app.db)


WAREHOUSE_ACK = (
    "ISA*00*          *00*          *ZZ*SHIPBOBEAST    *ZZ*BACKORDER      *261206*0930*U*00401"
    "*000000077*0*P*>~GS*FA*SHIPBOBEAST*BACKORDER*20261206*0930*77*X*004010~ST*997*0001~"
    "AK1*OW*12~AK2*940*0001~AK5*A~AK9*A*1*1*1~SE*6*0001~GE*1*77~IEA*1*000000077~"
)


def test_a_3pls_997_for_our_shipping_orders_is_recorded_not_dead_and_not_answered(
    app: Backorder,
) -> None:
    (kept,) = ingest(app, "x12-3pl", WAREHOUSE_ACK)
    assert (kept.state, kept.topic) == ("accepted", "997")
    assert kept.outcome == (
        "acknowledgement of group 12 (OW): accepted; AK9 A 1 1 1; set 940 0001: AK5 A"
    )
    assert acknowledge(app, "x12-3pl", WAREHOUSE_ACK, [kept.id]) is None  # no 997 for a 997
    (again,) = ingest(app, "x12-945", WAREHOUSE_ACK.replace("*77*", "*78*"))
    assert (again.state, again.topic) == ("accepted", "997")
