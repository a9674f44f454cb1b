"""The governed intake flow on each backend: stored first, converted, checked, placed once or
kept as a dead letter, replayed after a fix, discarded with a reason."""

from __future__ import annotations

import json
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.intake import ADAPTERS
from backorder.services.context import Backorder
from backorder.services.ingest import (
    add_alias,
    dead_letters,
    discard,
    drain,
    health,
    ingest,
    receive,
    replay,
)
from backorder.services.products import add_product, set_packs
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from backorder.store.db import Database
from backorder.store.tables import intake_payloads
from tests.conftest import Clock
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def states(app: Backorder) -> list[str]:
    with app.db.read() as uow:
        query = select(intake_payloads.c.state).order_by(intake_payloads.c.id)
        return list(uow.connection.execute(query).scalars())


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    for sku, price in (("IPOD-GREEN", "199.00"), ("IPOD-RED", "199.00"), ("WOO-SINGLE", "3")):
        add_product(app, product(sku, unit_price=Decimal(price)))
    receive_stock(app, "IPOD-GREEN", 1)
    add_alias(app, "shopify", "IPOD2008GREEN", "IPOD-GREEN")
    return app


def test_a_shopify_order_becomes_an_order_once_and_unknown_variants_wait_for_an_alias(
    shop: Backorder,
) -> None:
    (first,) = ingest(shop, "shopify", fixture("shopify_order.json"))
    assert (first.state, first.reasons) == (
        "dead",
        ["unknown SKU 'variant:49148385' (no product, and no alias for shopify)"],
    )
    assert dead_letters(shop)[0]["value"] == "587.00"  # 2 x (199 - 5) + 199
    add_alias(shop, "shopify", "variant:49148385", "IPOD-RED")
    (again,) = replay(shop, first.id)
    assert (again.state, again.ref) == ("accepted", "shopify:450789469")

    order = order_view(shop, "shopify:450789469")
    assert order["currency"] == "EUR" and order["customer"]["tier"] == "wholesale"
    assert order["shipping"]["method"] == "expedited"
    assert order["payment_timing"] == "at_ship"  # authorized, captured at shipment
    assert order["placed_at"] == "2026-03-13T20:09:54+00:00"
    green, red = order["lines"]
    assert (green["sku"], green["unit_price"], green["allocated"]) == ("IPOD-GREEN", "194.00", 1)
    assert (red["sku"], red["backordered"]) == ("IPOD-RED", 1)
    # kept as the customer knows them: the shop's number, their language, the variants
    assert (order["display_number"], order["customer"]["language"]) == ("#1001", "fr-CA")
    assert (green["variant"], red["variant"]) == ("green", "red")

    (twice,) = ingest(shop, "shopify", fixture("shopify_order.json"))
    assert (twice.state, twice.ref) == ("duplicate", "shopify:450789469")
    assert states(shop) == ["accepted", "duplicate"]  # both deliveries kept, one order
    assert dead_letters(shop) == []


def test_a_woocommerce_guest_order_from_a_company_for_another_account(shop: Backorder) -> None:
    add_alias(shop, "woocommerce", "variation:23", "IPOD-RED", account="eu")
    (outcome,) = ingest(shop, "woocommerce", fixture("woocommerce_order.json"), account="eu")
    assert (outcome.state, outcome.ref) == ("accepted", "woocommerce.eu:727")
    order = order_view(shop, "woocommerce.eu:727")
    assert order["customer"]["id"] == "john.doe@example.com"
    assert order["customer"]["tier"] == "wholesale"
    assert (order["display_number"], order["customer"]["language"]) == ("727", "es")
    assert order["shipping"]["method"] == "expedited"  # "Next Day Air"
    assert [line["unit_price"] for line in order["lines"]] == ["2.70", "12.00"]
    assert outcome.warnings == [
        "line 2: price 12 is far from the catalogue's 199.00 (price_deviation)"
    ]
    with shop.db.read() as uow:
        kept = uow.connection.execute(
            select(intake_payloads.c.warnings).where(intake_payloads.c.id == outcome.id)
        ).scalar_one()
    assert kept == outcome.warnings
    # the alias was for account eu only: the default account's order of the same variant waits
    (other,) = ingest(shop, "woocommerce", fixture("woocommerce_order.json"))
    assert other.state == "dead" and "variation:23" in other.reasons[0]


def test_broken_payloads_are_kept_whole_and_can_be_discarded_but_never_deleted(
    shop: Backorder,
) -> None:
    text = fixture("truncated.json")
    (broken,) = ingest(shop, "shopify", text)
    assert broken.state == "dead" and broken.reasons[0].startswith("not JSON")
    with shop.db.read() as uow:
        raw = uow.connection.execute(
            select(intake_payloads.c.raw).where(intake_payloads.c.id == broken.id)
        ).scalar_one()
    assert raw == text
    with pytest.raises(InvalidRequest, match="say why"):
        discard(shop, broken.id, " ")
    discard(shop, broken.id, "test order from the shop's setup")
    assert states(shop) == ["discarded"] and dead_letters(shop) == []
    with pytest.raises(InvalidRequest, match="no dead letter"):
        discard(shop, broken.id, "again")


def test_dead_letters_come_highest_impact_first(shop: Backorder) -> None:
    small = {
        "channel": "web",
        "external_id": "s",
        "placed_at": "2026-01-01T00:00:00Z",
        "customer": {"id": "c"},
        "lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "5"}],
    }
    big = small | {
        "external_id": "b",
        "lines": [{"sku": "NOPE", "quantity": 3, "unit_price": "50"}],
    }
    ingest(shop, "canonical", json.dumps([small, big]))
    assert [d["external_id"] for d in dead_letters(shop)] == ["b", "s"]
    assert dead_letters(shop)[0]["value"] == "150.00"


def test_a_payload_stored_but_not_processed_is_drained_exactly_once(shop: Backorder) -> None:
    """What a crash between acceptance and processing leaves: stored, pending."""
    order = {
        "channel": "web",
        "external_id": "crash-1",
        "placed_at": "2026-01-01T00:00:00Z",
        "customer": {"id": "c", "email": "c@example.com"},
        "lines": [{"sku": "IPOD-RED", "quantity": 1}],
    }
    receive(shop, "canonical", json.dumps(order))
    receive(shop, "canonical", json.dumps(order))  # the channel retried meanwhile
    assert states(shop) == ["pending", "pending"]
    assert [o.state for o in drain(shop)] == ["accepted", "duplicate"]
    assert drain(shop) == []
    with shop.db.read() as uow:
        assert (
            uow.connection.execute(select(func.count()).select_from(intake_payloads)).scalar() == 2
        )


def test_bad_requests_change_nothing(shop: Backorder) -> None:
    with pytest.raises(InvalidRequest, match="unknown channel"):
        ingest(shop, "fax", "{}")
    with pytest.raises(InvalidRequest, match="account"):
        ingest(shop, "shopify", "{}", account="no spaces")
    with pytest.raises(InvalidRequest):
        add_alias(shop, "shopify", " ", "IPOD-RED")
    assert states(shop) == []


@settings(max_examples=60, deadline=None)
@given(
    channel=st.sampled_from(sorted(ADAPTERS)),
    text=st.one_of(
        st.text(max_size=200),
        st.sampled_from(
            [
                "shopify_order.json",
                "woocommerce_order.json",
                "truncated.json",
                "x12_850.edi",
                "edifact_orders.edi",
            ]
        ).map(lambda name: fixture(name)[: len(fixture(name)) // 2]),
    ),
)
def test_any_delivery_is_stored_and_ends_as_an_order_or_a_dead_letter(
    migrated_sqlite: Path, channel: str, text: str
) -> None:
    # Each example on a fresh copy of the migrated file (migrating anew cost 1.5 s each).
    copy = migrated_sqlite.with_name(f"any-delivery-{uuid.uuid4().hex}.db")
    shutil.copyfile(migrated_sqlite, copy)
    app = Backorder(Database(f"sqlite:///{copy}"), Settings())
    try:
        if "\x00" in text:  # no format has a raw NUL, and PostgreSQL keeps none: refused whole
            with pytest.raises(InvalidRequest, match="NUL"):
                ingest(app, channel, text)
            assert states(app) == []
            return
        outcomes = ingest(app, channel, text)
        assert outcomes and {o.state for o in outcomes} <= {"accepted", "duplicate", "dead"}
        assert len(states(app)) == len(outcomes)
    finally:
        app.close()
        copy.unlink()


def test_a_partner_csv_becomes_one_order_per_order_id_with_buyer_part_numbers_mapped(
    shop: Backorder,
) -> None:
    add_alias(shop, "csv", "BP-4471", "WOO-SINGLE", account="acme")
    outcomes = ingest(shop, "csv", fixture("partner_orders.csv"), account="acme")
    assert [(o.state, o.ref) for o in outcomes] == [
        ("accepted", "csv.acme:PO-7781"),
        ("accepted", "csv.acme:PO-7782"),
    ]
    order = order_view(shop, "csv.acme:PO-7781")
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("IPOD-GREEN", 12),
        ("WOO-SINGLE", 3),
    ]
    assert order["customer"]["tier"] == "wholesale"


def test_amazon_orders_with_their_items_or_as_two_responses(shop: Backorder) -> None:
    add_alias(shop, "amazon", "IPOD2008GREEN", "IPOD-GREEN")
    add_alias(shop, "amazon", "asin:B00KX5G1QE", "IPOD-RED")
    (business,) = ingest(shop, "amazon", fixture("amazon_order.json"))
    assert (business.state, business.ref) == ("accepted", "amazon:902-3159896-1390916")
    assert business.warnings == [
        "order item 3 (IPOD-RED): nothing ordered, left out",
        "line 2: price 48 is far from the catalogue's 199.00 (price_deviation)",
    ]
    order = order_view(shop, business.ref)
    assert order["customer"]["tier"] == "wholesale" and order["currency"] == "EUR"
    assert order["shipping"]["method"] == "expedited"
    assert [(x["sku"], x["quantity"], x["unit_price"]) for x in order["lines"]] == [
        ("IPOD-GREEN", 2, "189.00"),
        ("IPOD-RED", 1, "48.00"),
    ]
    (prime,) = ingest(shop, "amazon", fixture("amazon_responses.json"))
    assert (prime.state, prime.warnings) == ("accepted", [])
    order = order_view(shop, prime.ref)
    assert order["shipping"]["method"] == "expedited"  # Prime
    assert order["customer"]["email"] == "h7wq8yz2mt3@marketplace.amazon.com"


def test_health_shows_each_source(shop: Backorder, clock: Clock) -> None:
    ingest(shop, "shopify", fixture("truncated.json"))
    add_alias(shop, "woocommerce", "variation:23", "IPOD-RED")
    ingest(shop, "woocommerce", fixture("woocommerce_order.json"))
    receive(shop, "woocommerce", fixture("woocommerce_order.json"))
    clock.advance(minutes=2)
    shopify, woo = health(shop)
    assert (shopify["channel"], shopify["error_rate"], shopify["last_accepted_at"]) == (
        "shopify",
        1.0,
        None,
    )
    assert woo["counts"] == {
        "pending": 1,
        "accepted": 1,
        "duplicate": 0,
        "dead": 0,
        "discarded": 0,
        "parked": 0,
    }
    assert (woo["backlog"], woo["oldest_waiting_seconds"]) == (1, 120.0)
    assert woo["last_accepted_at"] is not None


def test_an_x12_order_in_cases_is_placed_in_units_and_a_case_without_a_pack_waits_for_one(
    app: Backorder,
) -> None:
    for sku in ("24776", "24777", "24778", "24780"):
        add_product(app, product(sku, unit_price=Decimal("2.50")))
    receive_stock(app, "24776", 1000)
    set_packs(app, "24780", {"CA": 24})
    text = fixture("x12_850_cases.edi")
    ack = ADAPTERS["x12"].acknowledge(text, 1, app.now())
    assert ack is not None and ack.count("AK5*A~") == 3  # the 997 is syntax only

    packed, catalogued, unpacked = ingest(app, "x12", text)
    assert (packed.state, catalogued.state, packed.warnings) == ("accepted", "accepted", [])
    lines = order_view(app, "x12:HARBORSUPPLY.HS-77001")["lines"]
    assert [(x["quantity"], x["unit_price"], x["ordered"]) for x in lines] == [
        (1728, "2.50", {"quantity": 144, "unit": "CA", "pack": 12}),  # 30.00 a case of 12
        (240, "1.25", {"quantity": 10, "unit": "CA", "pack": 24}),  # 1.25 each (PO105 PE)
        (24, "1.50", {"quantity": 2, "unit": "DZ", "pack": 12}),  # 18.00 a dozen
    ]
    assert (lines[0]["allocated"], lines[0]["backordered"]) == (1000, 728)
    (line,) = order_view(app, "x12:HARBORSUPPLY.HS-77002")["lines"]
    assert (line["quantity"], line["unit_price"]) == (120, "1.50")  # the catalogue's CA=24

    assert (unpacked.state, unpacked.reasons) == (
        "dead",
        ["unit CA has no pack size for SKU 24776: backorder product update 24776 --pack CA=N"],
    )
    set_packs(app, "24776", {"CA": 12})
    (again,) = replay(app, unpacked.id)
    assert (again.state, again.ref) == ("accepted", "x12:HARBORSUPPLY.HS-77003")
    (line,) = order_view(app, again.ref)["lines"]
    assert (line["quantity"], line["unit_price"], line["ordered"]["quantity"]) == (36, "2.50", 3)
