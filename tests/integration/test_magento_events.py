"""Adobe Commerce's webhooks name their event (`eventName`), on each backend: an order placed
is placed, a cancellation made in Commerce later cancels what has not shipped of the order
held, an order save is recorded (placing only an order that is new, cancelling an order held
that Commerce cancelled or closed), and any other event is kept and ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder.services.context import Backorder
from backorder.services.ingest import ingest, summary
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.views import order_view, stock_view
from backorder.store.tables import cancellations, intake_payloads, orders
from tests.factories import product


def hook(event: str | None, state: str = "processing", number: int = 3150, **order: Any) -> str:
    """An Adobe Commerce webhook body on an order event, 3 WIDGET-BLUE (written by hand
    from Adobe's webhook reference: `{"eventName", "data": {"order"}}`)."""
    body = {
        "entity_id": number,
        "increment_id": f"{number + 100000:09d}",
        "created_at": "2026-12-02 09:00:00",
        "state": state,
        "customer_email": "ana@example.com",
        "customer_id": 77,
        "order_currency_code": "USD",
        "items": [{"item_id": 1, "sku": "WIDGET-BLUE", "qty_ordered": 3, "price": 19.99}],
    } | order
    return json.dumps({"eventName": event, "data": {"order": body}} if event else body)


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


def test_placed_then_cancelled_in_commerce(shop: Backorder) -> None:
    (placed,) = ingest(shop, "magento", hook("observer.sales_order_place_after", "new"))
    assert (placed.state, placed.ref) == ("accepted", "magento:3150")
    (saved,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "processing"))
    assert (saved.state, saved.ref) == ("accepted", "magento:3150")
    assert saved.outcome == "recorded: nothing to change on an order held"

    cancel = hook("observer.order_cancel_after", "canceled")
    (first,) = ingest(shop, "magento", cancel)
    assert first.outcome == "cancelled 3 units not shipped (shop:canceled)"
    assert summary([first])["applied"] == [
        {"ref": "magento:3150", "topic": "observer.order_cancel_after", "outcome": first.outcome}
    ]
    (again,) = ingest(shop, "magento", cancel)  # Commerce retried
    assert again.outcome == (
        "nothing left to cancel: all shipped or cancelled before (shop:canceled)"
    )
    assert reasons(shop) == ["shop:canceled"]
    stock = stock_view(shop, "WIDGET-BLUE")
    assert (stock["allocated"], stock["backordered"], stock["available"]) == (0, 0, 2)
    assert count(shop, orders) == 1


def test_an_order_save_cancels_places_or_records(shop: Backorder) -> None:
    ingest(
        shop, "magento", hook("sales_order_place_after", number=1)
    )  # unprefixed, as Adobe's examples
    (closed,) = ingest(shop, "magento", hook("observer.sales_order_save_commit_after", "closed", 1))
    assert closed.outcome == "cancelled 3 units not shipped (shop:closed)"

    (new,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "new", 2))
    assert (new.state, new.ref, new.outcome) == ("accepted", "magento:2", None)  # placed
    (complete,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "complete", 2))
    assert complete.outcome == "recorded: fulfilled in the shop; nothing to change on an order held"

    (unheld,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "processing", 3))
    assert (unheld.state, unheld.ref) == ("accepted", None)
    assert unheld.outcome == "recorded: observer.sales_order_save_after names an order not held"
    (gone,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "canceled", 4))
    assert gone.outcome == "ignored: already cancelled in the shop"
    (late,) = ingest(shop, "magento", hook("observer.sales_order_place_after", "new", 4))
    assert late.outcome == "ignored: already cancelled in the shop (its cancellation came first)"
    assert count(shop, orders) == 2 and reasons(shop) == ["shop:closed"]


def test_other_events_are_kept_and_a_rest_order_still_places(shop: Backorder) -> None:
    product_saved = json.dumps(
        {"eventName": "observer.catalog_product_save_after", "data": {"data_object": {"sku": "X"}}}
    )
    (other,) = ingest(shop, "magento", product_saved)
    assert (other.state, other.topic) == ("accepted", "observer.catalog_product_save_after")
    assert other.outcome == "ignored: observer.catalog_product_save_after is not an order event"
    (rest,) = ingest(shop, "magento", hook(None, number=5))
    assert (rest.state, rest.ref) == ("accepted", "magento:5")
    (plugin,) = ingest(shop, "magento", hook("plugin.sales.api.order_management.place", number=6))
    assert (plugin.state, plugin.ref) == ("accepted", "magento:6")
    assert count(shop, intake_payloads, intake_payloads.c.state == "dead") == 0
    assert count(shop, intake_payloads, intake_payloads.c.topic.is_(None)) == 1  # the REST one


def test_an_order_placed_before_commerce_saved_it_is_found_by_its_number(shop: Backorder) -> None:
    """A place webhook sent before Commerce saved the order has no entity_id: the order is
    held under its increment_id. Commerce's later events carry both: they find it so."""
    before = json.loads(hook("observer.sales_order_place_after", "new", 7))
    del before["data"]["order"]["entity_id"]
    (placed,) = ingest(shop, "magento", json.dumps(before))
    assert placed.ref == "magento:000100007"
    (saved,) = ingest(shop, "magento", hook("observer.sales_order_save_after", "new", 7))
    assert (saved.state, saved.ref) == ("duplicate", "magento:000100007")  # no second order
    (cancelled,) = ingest(shop, "magento", hook("observer.order_cancel_after", "canceled", 7))
    assert (cancelled.ref, cancelled.outcome) == (
        "magento:000100007",
        "cancelled 3 units not shipped (shop:canceled)",
    )
    assert count(shop, orders) == 1
    assert order_view(shop, "magento:000100007")["lines"][0]["cancelled"] == 3


def test_an_order_pulled_first_is_not_placed_again_by_its_webhook(shop: Backorder) -> None:
    """The REST order (held under its entity_id) came before the webhook Commerce sent
    before saving it (its increment_id alone): the webhook is a duplicate of it. Another
    order that shares no reference is placed."""
    (pulled,) = ingest(shop, "magento", hook(None, number=8))
    assert pulled.ref == "magento:8"
    before = json.loads(hook("observer.sales_order_place_after", "new", 8))
    del before["data"]["order"]["entity_id"]
    (again,) = ingest(shop, "magento", json.dumps(before))
    assert (again.state, again.ref) == ("duplicate", "magento:8")
    other = json.loads(hook("observer.sales_order_place_after", "new", 9))
    # Another entity with order 8's number (two stores on one account): order 8 is held
    # under its entity_id, not under the number alone, so this is not taken for it.
    other["data"]["order"]["increment_id"] = "000100008"
    (placed,) = ingest(shop, "magento", json.dumps(other))
    assert (placed.state, placed.ref) == ("accepted", "magento:9")
    assert count(shop, orders) == 2
