"""A channel's events honoured, on each backend: Shopify's and WooCommerce's topics place,
update or cancel an order; an order that arrives cancelled or fulfilled in the shop is no
backorder; other topics are kept and counted, never dead-lettered; an inbound X12 997 is
recorded against the group it acknowledges, never acknowledged in its turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.ingest import (
    acknowledge,
    dead_letters,
    drain,
    health,
    ingest,
    receive,
    replay,
    summary,
)
from backorder.services.orders import ship_order
from backorder.services.products import add_product
from backorder.services.signed_intake import take_in_signed
from backorder.services.stock import receive_stock
from backorder.services.views import order_view, stock_view
from backorder.store.tables import cancellations, events, intake_payloads, orders
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def shopify(number: int = 1001, **fields: Any) -> str:
    """A Shopify order of 3 WIDGET-BLUE, as its order webhooks send it."""
    document = {
        "id": number,
        "created_at": "2026-03-13T16:09:54-04:00",
        "currency": "USD",
        "email": "bob@example.com",
        "customer": {"id": 207119551, "first_name": "Bob"},
        "cancelled_at": None,
        "cancel_reason": None,
        "fulfillment_status": None,
        "line_items": [{"id": 1, "sku": "WIDGET-BLUE", "quantity": 3, "price": "19.99"}],
    }
    return json.dumps(document | fields)


def woo(number: int = 727, status: str = "processing") -> str:
    """A WooCommerce order of 3 WIDGET-BLUE, as its order webhooks send it."""
    return json.dumps(
        {
            "id": number,
            "status": status,
            "currency": "USD",
            "date_created_gmt": "2026-03-22T19:28:02",
            "customer_id": 12,
            "billing": {"email": "john@example.com"},
            "line_items": [{"id": 1, "sku": "WIDGET-BLUE", "quantity": 3, "total": "59.97"}],
        }
    )


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    add_product(app, product())
    receive_stock(app, "WIDGET-BLUE", 2)  # 2 of each order's 3 allocated, 1 waits
    return app


def count(app: Backorder, table: Any, *where: Any) -> int:
    with app.db.read() as uow:
        query = select(func.count()).select_from(table).where(*where)
        return int(uow.connection.execute(query).scalar_one())


def reasons(app: Backorder) -> list[str]:
    with app.db.read() as uow:
        query = select(cancellations.c.reason).order_by(cancellations.c.id)
        return list(uow.connection.execute(query).scalars())


def test_shopify_create_update_and_cancel_one_order(shop: Backorder) -> None:
    (placed,) = ingest(shop, "shopify", shopify(), topic="orders/create")
    assert (placed.state, placed.ref, placed.outcome) == ("accepted", "shopify:1001", None)

    (updated,) = ingest(shop, "shopify", shopify(note="gift"), topic="orders/updated")
    assert (updated.state, updated.ref) == ("accepted", "shopify:1001")
    assert updated.outcome == "recorded: nothing to change on an order held"
    assert count(shop, orders) == 1  # no duplicate order

    cancelled = shopify(cancelled_at="2026-03-14T10:00:00-04:00", cancel_reason="customer")
    (first,) = ingest(shop, "shopify", cancelled, topic="orders/cancelled")
    assert first.outcome == "cancelled 3 units not shipped (shop:customer)"
    assert summary([first])["applied"] == [
        {"ref": "shopify:1001", "topic": "orders/cancelled", "outcome": first.outcome}
    ]
    (again,) = ingest(shop, "shopify", cancelled, topic="orders/cancelled")  # sent again
    assert (
        again.outcome == "nothing left to cancel: all shipped or cancelled before (shop:customer)"
    )
    assert reasons(shop) == ["shop:customer"]  # cancelled once
    stock = stock_view(shop, "WIDGET-BLUE")
    assert (stock["allocated"], stock["backordered"], stock["available"]) == (0, 0, 2)
    # with its event, in the same transaction: the customer hears, the queue moves
    assert count(shop, events, events.c.type == "units_cancelled") == 1


def test_a_cancellation_leaves_what_shipped_and_frees_stock_for_the_queue(shop: Backorder) -> None:
    ingest(shop, "shopify", shopify(1001), topic="orders/create")  # 2 allocated, 1 waits
    ship_order(shop, "shopify:1001")  # the 2 ship
    ingest(shop, "shopify", shopify(1002), topic="orders/create")  # 3 wait
    receive_stock(shop, "WIDGET-BLUE", 1)  # goes to 1001's waiting unit, first in the queue
    update = shopify(1001, cancelled_at="2026-03-14T10:00:00Z", cancel_reason="inventory")
    (done,) = ingest(shop, "shopify", update, topic="orders/updated")
    assert done.outcome == "cancelled 1 unit not shipped (shop:inventory)"
    line = order_view(shop, "shopify:1001")["lines"][0]
    assert (line["shipped"], line["cancelled"]) == (2, 1)
    assert order_view(shop, "shopify:1002")["lines"][0]["allocated"] == 1  # the queue moved


def test_an_update_to_an_order_not_held_places_it(shop: Backorder) -> None:
    (placed,) = ingest(shop, "shopify", shopify(2001), topic="orders/updated")
    assert (placed.state, placed.ref, placed.outcome) == ("accepted", "shopify:2001", None)
    assert count(shop, orders) == 1
    unknown = shopify(2002, line_items=[{"sku": "WIDGET-RED", "quantity": 1}])
    (dead,) = ingest(shop, "shopify", unknown, topic="orders/updated")
    assert dead.state == "dead" and dead_letters(shop)[0]["topic"] == "orders/updated"
    add_product(shop, product("WIDGET-RED"))
    (again,) = replay(shop, dead.id)  # under its topic again: not held, so placed
    assert (again.state, again.ref) == ("accepted", "shopify:2002")


def test_orders_arriving_cancelled_or_fulfilled_are_no_backorders(shop: Backorder) -> None:
    gone = shopify(3001, cancelled_at="2026-03-14T10:00:00Z", cancel_reason="fraud")
    fulfilled = shopify(3002, fulfillment_status="fulfilled")
    every_line = shopify(
        3003, line_items=[{"sku": "WIDGET-BLUE", "quantity": 3, "fulfillment_status": "fulfilled"}]
    )
    outcomes = ingest(shop, "shopify", f"[{gone}, {fulfilled}, {every_line}]")  # no topic
    outcomes += ingest(shop, "woocommerce", woo(3004, "completed"), topic="order.created")
    outcomes += ingest(shop, "woocommerce", woo(3005, "refunded"), topic="order.updated")
    outcomes += ingest(shop, "shopify", gone, topic="orders/cancelled")  # never held here
    assert [(o.state, o.ref, o.outcome) for o in outcomes] == [
        ("accepted", None, "ignored: already cancelled in the shop"),
        ("accepted", None, "ignored: already fulfilled in the shop"),
        ("accepted", None, "ignored: already fulfilled in the shop"),
        ("accepted", None, "ignored: already fulfilled in the shop"),
        ("accepted", None, "ignored: already cancelled in the shop"),
        ("accepted", None, "ignored: already cancelled in the shop"),
    ]
    assert count(shop, orders) == 0
    stock = stock_view(shop, "WIDGET-BLUE")
    assert (stock["allocated"], stock["backordered"]) == (0, 0)
    assert summary(outcomes)["accepted"] == [] and len(summary(outcomes)["ignored"]) == 6


def test_a_cancellation_that_comes_before_its_order_stands(shop: Backorder) -> None:
    """Shops do not promise the order of their webhooks."""
    gone = shopify(4001, cancelled_at="2026-03-14T10:00:00Z", cancel_reason="customer")
    ingest(shop, "shopify", gone, topic="orders/cancelled")
    (late,) = ingest(shop, "shopify", shopify(4001), topic="orders/create")
    assert (late.ref, late.outcome) == (
        None,
        "ignored: already cancelled in the shop (its cancellation came first)",
    )
    (other,) = ingest(shop, "shopify", shopify(4002), topic="orders/create")
    assert other.ref == "shopify:4002"  # another order is placed
    assert count(shop, orders) == 1


def test_other_topics_are_kept_and_counted_not_dead_lettered(shop: Backorder) -> None:
    product_update = json.dumps({"id": 632910392, "title": "IPod Nano", "variants": []})
    (kept,) = ingest(shop, "shopify", product_update, topic="products/update")
    assert (kept.state, kept.reasons) == ("accepted", [])
    assert kept.outcome == "ignored: products/update is not an order event"
    ingest(
        shop, "shopify", json.dumps({"id": 5, "email": "x@example.com"}), topic="Customers/Create"
    )
    ingest(shop, "woocommerce", json.dumps({"id": 93, "name": "Woo"}), topic="product.updated")
    ingest(shop, "shopify", shopify(), topic="orders/create")
    sources = {(s["channel"], s["account"]): s for s in health(shop)}
    assert sources[("shopify", "default")]["ignored"] == {
        "customers/create": 1,
        "products/update": 1,
    }
    assert sources[("shopify", "default")]["counts"]["dead"] == 0
    assert sources[("woocommerce", "default")]["ignored"] == {"product.updated": 1}


def test_woocommerce_updates_cancel_with_the_shops_status(shop: Backorder) -> None:
    (placed,) = ingest(shop, "woocommerce", woo(727), topic="order.created")
    assert placed.ref == "woocommerce:727"
    (held,) = ingest(shop, "woocommerce", woo(727, "on-hold"), topic="order.updated")
    assert held.outcome == "recorded: nothing to change on an order held"
    (done,) = ingest(shop, "woocommerce", woo(727, "cancelled"), topic="order.updated")
    assert done.outcome == "cancelled 3 units not shipped (shop:cancelled)"
    ingest(shop, "woocommerce", woo(728), topic="order.created")
    (refund,) = ingest(shop, "woocommerce", woo(728, "failed"), topic="order.updated")
    assert refund.outcome == "cancelled 3 units not shipped (shop:failed)"
    ingest(shop, "woocommerce", woo(729), topic="order.created")
    (binned,) = ingest(shop, "woocommerce", json.dumps({"id": 729}), topic="order.deleted")
    assert binned.outcome == "cancelled 3 units not shipped (shop:deleted)"
    assert reasons(shop) == ["shop:cancelled", "shop:failed", "shop:deleted"]


def test_a_stored_payload_keeps_its_topic_for_the_worker(shop: Backorder) -> None:
    ingest(shop, "shopify", shopify(), topic="orders/create")
    cancelled = shopify(cancelled_at="2026-03-14T10:00:00Z", cancel_reason="declined")
    (stored,) = receive(shop, "shopify", cancelled, topic="orders/cancelled")
    (done,) = drain(shop)
    assert (done.id, done.outcome) == (stored, "cancelled 3 units not shipped (shop:declined)")
    with shop.db.read() as uow:
        row = uow.connection.execute(
            select(intake_payloads).where(intake_payloads.c.id == stored)
        ).one()
    assert (row.topic, row.outcome, row.order_ref) == ("orders/cancelled", done.outcome, done.ref)


def test_one_signed_body_under_two_topics_is_two_deliveries(shop: Backorder) -> None:
    """Shopify sends an order's body as orders/create and again as orders/updated: the
    second is no replay of the first."""
    first = take_in_signed(shop, "shopify", shopify(), "default", "orders/create")
    second = take_in_signed(shop, "shopify", shopify(), "default", "orders/updated")
    replayed = take_in_signed(shop, "shopify", shopify(), "default", "orders/updated")
    assert summary(first.outcomes)["accepted"] == ["shopify:1001"]
    assert summary(second.outcomes)["applied"][0]["outcome"].startswith("recorded")
    assert summary(replayed.outcomes) == summary(second.outcomes)
    assert count(shop, intake_payloads) == 2


def test_a_topic_is_refused_where_the_channel_has_none(shop: Backorder) -> None:
    with pytest.raises(InvalidRequest, match="x12 deliveries have no topic"):
        ingest(shop, "x12", "ISA", topic="850")
    assert count(shop, intake_payloads) == 0


ACK = (
    "ISA*00*          *00*          *ZZ*ACMEBUYER      *ZZ*OURSHOP        *261121*0930*U*00401"
    "*000000042*0*P*>~GS*FA*ACMEBUYER*OURSHOP*20261121*0930*42*X*004010~ST*997*0001~"
    "AK1*PO*1234~AK2*850*0001~AK5*A~AK2*850*0002~AK3*PO1*4**8~AK5*R*5~AK9*P*2*2*1~"
    "SE*8*0001~GE*1*42~IEA*1*000000042~"
)


def test_an_inbound_997_is_recorded_and_never_acknowledged(app: Backorder) -> None:
    (kept,) = ingest(app, "x12", ACK, "acme")
    assert (kept.state, kept.ref, kept.topic) == ("accepted", None, "997")
    assert kept.outcome == (
        "acknowledgement of group 1234 (PO): partially accepted; AK9 P 2 2 1; "
        "set 850 0001: AK5 A; set 850 0002, AK3 PO1 4 8: AK5 R 5"
    )
    assert acknowledge(app, "x12", ACK, [kept.id]) is None  # no 997 for a 997
    both = (FIXTURES / "x12_850.edi").read_text().strip() + "\n" + ACK
    answer = acknowledge(app, "x12", both, [kept.id]) or ""
    assert answer.count("ST*997*") == 1 and "AK1*PO*" in answer and "AK1*FA" not in answer
    orders_in = (FIXTURES / "x12_850.edi").read_text()
    assert acknowledge(app, "x12", orders_in, [kept.id]) is not None  # 850s are answered
    assert {s["channel"]: s["ignored"] for s in health(app)} == {"x12": {"997": 1}}
