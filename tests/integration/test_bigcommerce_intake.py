"""BigCommerce on each backend: the v2 order and its products place one order; the
`store/order/created` webhook, which carries only the order's id, is parked (never lost,
never a dead letter, never placed) until the order's body comes and settles it; a body
that came first makes the later webhook a duplicate; a webhook whose body never comes
stays parked, counted and aged, for an operator to see."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backorder.services.context import Backorder
from backorder.services.ingest import (
    add_alias,
    dead_letters,
    discard,
    drain,
    health,
    ingest,
    replay,
    summary,
)
from backorder.services.parked import parked
from backorder.services.products import add_product
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from backorder.store.tables import intake_payloads
from tests.conftest import Clock
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
PAIR = json.loads((FIXTURES / "bigcommerce_order.json").read_text())
WEBHOOK = json.loads((FIXTURES / "bigcommerce_webhook.json").read_text())


def pair(number: int = 250, **changes: Any) -> str:
    """The order and its products (and shipping addresses), side by side."""
    body, items, addresses = PAIR
    return json.dumps(
        [
            body | {"id": number} | changes,
            [item | {"order_id": number} for item in items],
            [address | {"order_id": number} for address in addresses],
        ]
    )


def webhook(number: int = 250, scope: str = "store/order/created", **data: Any) -> str:
    return json.dumps(WEBHOOK | {"scope": scope, "data": {"type": "order", "id": number} | data})


def row(app: Backorder, payload_id: int) -> Any:
    with app.db.read() as uow:
        return uow.connection.execute(
            select(intake_payloads).where(intake_payloads.c.id == payload_id)
        ).one()


def source(app: Backorder) -> dict[str, Any]:
    (found,) = [s for s in health(app) if s["channel"] == "bigcommerce"]
    return found


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    add_product(app, product("IPOD-GREEN", unit_price=Decimal("199.00")))
    add_product(app, product("DOCK", unit_price=Decimal("7.00")))
    add_alias(app, "bigcommerce", "product:79", "DOCK")
    receive_stock(app, "IPOD-GREEN", 1)
    return app


def test_the_order_and_its_products_place_one_order(shop: Backorder) -> None:
    (taken,) = ingest(shop, "bigcommerce", (FIXTURES / "bigcommerce_order.json").read_text())
    assert (taken.state, taken.ref) == ("accepted", "bigcommerce:250")
    assert taken.warnings == [
        "product 2 (IPOD-GUIDE-PDF): digital, nothing to ship from stock; left out"
    ]
    order = order_view(shop, "bigcommerce:250")
    assert order["placed_at"] == "2026-03-05T21:25:03+00:00"
    assert order["shipping"]["method"] == "expedited"
    green, dock = order["lines"]
    assert (green["sku"], green["unit_price"], green["allocated"]) == ("IPOD-GREEN", "194.00", 1)
    assert green["variant"] == "Colour: Green, Engraving: For Ada"
    assert (dock["sku"], dock["backordered"]) == ("DOCK", 1)
    (again,) = ingest(shop, "bigcommerce", pair())
    assert (again.state, again.ref) == ("duplicate", "bigcommerce:250")


def test_a_webhook_before_its_body_waits_parked_then_the_body_places_and_settles_it(
    shop: Backorder, clock: Clock
) -> None:
    (hook,) = ingest(shop, "bigcommerce", webhook())
    assert (hook.state, hook.ref, hook.topic) == ("parked", None, "store/order/created")
    assert summary([hook])["parked"] == [
        {
            "id": hook.id,
            "topic": "store/order/created",
            "waiting_for": [
                "waiting for order 250's body: store/order/created carries only its id; "
                "send GET /v2/orders/250 with its /products"
            ],
        }
    ]
    assert dead_letters(shop) == [] and drain(shop) == []  # not a dead letter, not pending
    clock.advance(minutes=5)
    waiting = source(shop)
    assert waiting["counts"]["parked"] == 1 and waiting["backlog"] == 0
    assert waiting["oldest_parked_seconds"] == 300.0

    (body,) = ingest(shop, "bigcommerce", pair())
    assert (body.state, body.ref) == ("accepted", "bigcommerce:250")
    settled = row(shop, hook.id)
    assert (settled.state, settled.order_ref, settled.reasons) == (
        "accepted",
        "bigcommerce:250",
        None,
    )
    assert settled.outcome == f"settled: the whole order came in payload {body.id}"
    assert parked(shop) == [] and source(shop)["counts"]["parked"] == 0
    assert len(order_view(shop, "bigcommerce:250")["lines"]) == 2  # one order, placed once


def test_a_body_before_its_webhook_makes_the_webhook_a_duplicate(shop: Backorder) -> None:
    (body,) = ingest(shop, "bigcommerce", pair())
    (hook,) = ingest(shop, "bigcommerce", webhook())
    assert body.state == "accepted"
    assert (hook.state, hook.ref) == ("duplicate", "bigcommerce:250")
    assert summary([hook])["duplicates"] == ["bigcommerce:250"]


def test_a_webhook_whose_body_never_comes_stays_parked_and_shows_its_age(
    shop: Backorder, clock: Clock
) -> None:
    (hook,) = ingest(shop, "bigcommerce", webhook(251), account="eu")
    clock.advance(hours=30)
    assert drain(shop) == [] and replay(shop) == []  # nothing retries it, nothing loses it
    (waiting,) = parked(shop)
    assert waiting["id"] == hook.id and waiting["external_id"] == "251"
    assert (waiting["account"], waiting["age_hours"]) == ("eu", 30.0)
    assert source(shop)["oldest_parked_seconds"] == 30 * 3600
    # another store's order 251 settles nothing of this store's
    ingest(shop, "bigcommerce", pair(251))
    assert [p["id"] for p in parked(shop)] == [hook.id]
    (body,) = ingest(shop, "bigcommerce", pair(251), account="eu")
    assert body.ref == "bigcommerce.eu:251" and parked(shop) == []
    assert row(shop, hook.id).order_ref == "bigcommerce.eu:251"


def test_an_order_without_its_products_waits_and_the_pair_settles_it(shop: Backorder) -> None:
    body, _, _ = PAIR
    (alone,) = ingest(shop, "bigcommerce", json.dumps(body))
    assert alone.state == "parked"
    assert alone.reasons == [
        "waiting for the products of order 250: send GET /v2/orders/250/products with the order"
    ]
    (whole,) = ingest(shop, "bigcommerce", pair())
    assert whole.state == "accepted"
    assert row(shop, alone.id).order_ref == "bigcommerce:250"


def test_a_redelivered_webhook_and_a_duplicate_body_settle_every_part(shop: Backorder) -> None:
    first, second = (ingest(shop, "bigcommerce", webhook())[0] for _ in range(2))
    assert (first.state, second.state) == ("parked", "parked")
    ingest(shop, "bigcommerce", pair())
    assert {row(shop, p.id).state for p in (first, second)} == {"accepted"}


def test_a_cancelled_order_takes_no_stock_and_settles_its_webhook(shop: Backorder) -> None:
    (hook,) = ingest(shop, "bigcommerce", webhook())
    (body,) = ingest(shop, "bigcommerce", pair(status_id=5, status="Cancelled"))
    assert (body.state, body.ref, body.outcome) == (
        "accepted",
        None,
        "ignored: already cancelled in the shop",
    )
    settled = row(shop, hook.id)
    assert (settled.state, settled.order_ref) == ("accepted", None)
    assert settled.outcome == (
        f"settled: the whole order came in payload {body.id} "
        "(ignored: already cancelled in the shop)"
    )
    (late,) = ingest(shop, "bigcommerce", webhook())  # a retry of the webhook, after it all
    assert (late.state, late.outcome) == (
        "accepted",
        "ignored: already cancelled in the shop (known before this part of it)",
    )
    assert parked(shop) == []


def test_a_status_update_to_cancelled_cancels_an_order_held(shop: Backorder) -> None:
    ingest(shop, "bigcommerce", pair())
    update = webhook(scope="store/order/statusUpdated", status={"new_status_id": 5})
    (cancel,) = ingest(shop, "bigcommerce", update)
    assert (cancel.state, cancel.ref, cancel.topic) == (
        "accepted",
        "bigcommerce:250",
        "store/order/statusupdated",
    )
    assert cancel.outcome == "cancelled 3 units not shipped (shop:cancelled)"


@pytest.mark.parametrize("scope", ["store/order/updated", "store/order/archived"])
def test_other_order_webhooks_are_recorded_and_kept(shop: Backorder, scope: str) -> None:
    (unknown,) = ingest(shop, "bigcommerce", webhook(252, scope))
    assert (unknown.state, unknown.ref) == ("accepted", None)
    assert unknown.outcome == f"recorded: {scope} names an order not held"
    ingest(shop, "bigcommerce", pair())
    (held,) = ingest(shop, "bigcommerce", webhook(250, scope))
    assert (held.ref, held.outcome) == (
        "bigcommerce:250",
        "recorded: nothing to change on an order held",
    )
    product_hook = json.dumps(WEBHOOK | {"scope": "store/product/updated"})
    (other,) = ingest(shop, "bigcommerce", product_hook)
    assert other.outcome == "ignored: store/product/updated is not an order event"
    assert source(shop)["counts"]["dead"] == 0


def test_a_part_whose_order_will_not_come_can_be_discarded_with_a_reason(
    shop: Backorder,
) -> None:
    (hook,) = ingest(shop, "bigcommerce", webhook(253))
    discard(shop, hook.id, "test order deleted in the shop")
    gone = row(shop, hook.id)
    assert (gone.state, gone.discard_reason) == ("discarded", "test order deleted in the shop")
    assert parked(shop) == []


def test_a_part_parked_while_its_order_was_placed_is_settled_by_the_next_drain(
    shop: Backorder,
) -> None:
    (body,) = ingest(shop, "bigcommerce", pair(), account="eu")
    (hook,) = ingest(shop, "bigcommerce", webhook(), account="eu")  # a duplicate, as it should
    with shop.db.write() as uow:  # as if each had missed the other while both were written
        uow.connection.execute(
            intake_payloads.update()
            .where(intake_payloads.c.id == hook.id)
            .values(state="parked", order_ref=None)
        )
        uow.commit()
    assert [p["id"] for p in parked(shop)] == [hook.id]
    assert drain(shop) == []
    settled = row(shop, hook.id)
    assert (settled.state, settled.order_ref, settled.outcome) == (
        "accepted",
        "bigcommerce.eu:250",
        "settled: order bigcommerce.eu:250 is held",
    )
    assert body.ref == "bigcommerce.eu:250"


def test_an_order_and_its_products_that_come_apart_are_put_together(shop: Backorder) -> None:
    body, items, _ = PAIR
    (hook,) = ingest(shop, "bigcommerce", webhook())
    (alone,) = ingest(shop, "bigcommerce", json.dumps(body))
    assert alone.state == "parked"
    (products,) = ingest(shop, "bigcommerce", json.dumps(items))
    assert (products.state, products.ref) == ("accepted", "bigcommerce:250")
    assert products.outcome is not None and products.outcome.startswith("settled: the whole")
    assert parked(shop) == []
    assert {row(shop, p.id).order_ref for p in (hook, alone)} == {"bigcommerce:250"}
    assert len(order_view(shop, "bigcommerce:250")["lines"]) == 2
    assert summary([products])["applied"] == [
        {"ref": "bigcommerce:250", "topic": None, "outcome": products.outcome}
    ]
