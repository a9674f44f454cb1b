"""Adobe Commerce and Walmart orders through the governed intake on each backend: placed once
(a redelivery is a duplicate), an order that arrives cancelled kept and ignored, a line in
cases counted by the catalogue's pack, and what cannot be placed kept as a dead letter that
says why in words."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from backorder.services.context import Backorder
from backorder.services.ingest import dead_letters, ingest, replay
from backorder.services.products import add_product, set_packs
from backorder.services.stock import receive_stock
from backorder.services.views import order_view, stock_view
from tests.factories import product

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.fixture
def store(app: Backorder) -> Backorder:
    for sku, price in (
        ("MH01-M-BLUE", "52.00"),
        ("24-WG02", "92.00"),
        ("24-WG080", "5.00"),
        ("24-WG084", "19.00"),
        ("24-WG088", "12.50"),
    ):
        add_product(app, product(sku, unit_price=Decimal(price)))
    receive_stock(app, "24-WG02", 1)
    receive_stock(app, "24-WG080", 20)
    return app


def test_a_magento_order_is_placed_once_with_its_configurable_counted_once(
    store: Backorder,
) -> None:
    (first,) = ingest(store, "magento", fixture("magento_order.json"))
    assert (first.state, first.ref) == ("accepted", "magento:3120")
    order = order_view(store, "magento:3120")
    assert order["display_number"] == "000000412"
    assert order["placed_at"] == "2026-11-30T22:15:07+00:00"
    assert order["payment_timing"] == "at_ship"
    hoodie, watch = order["lines"]
    assert (hoodie["sku"], hoodie["quantity"], hoodie["backordered"]) == ("MH01-M-BLUE", 1, 1)
    assert hoodie["variant"] == "Blue / M"
    assert (watch["quantity"], watch["allocated"], watch["backordered"]) == (2, 1, 1)
    assert watch["unit_price"] == "40.75"

    (again,) = ingest(store, "magento", fixture("magento_order.json"))
    assert (again.state, again.ref) == ("duplicate", "magento:3120")


def test_a_magento_bundle_webhook_and_a_page_with_an_order_cancelled_in_the_shop(
    store: Backorder,
) -> None:
    (bundle,) = ingest(store, "magento", fixture("magento_bundle_webhook.json"))
    assert (bundle.state, bundle.ref) == ("accepted", "magento:3121")
    assert bundle.warnings == ["item 5 (WARRANTY-2Y): virtual, holds no stock: left out"]
    order = order_view(store, "magento:3121")
    assert [(x["sku"], x["quantity"]) for x in order["lines"]] == [
        ("24-WG080", 2),
        ("24-WG084", 2),
        ("24-WG088", 4),
    ]
    assert order["shipping"]["method"] == "expedited"

    wholesale, cancelled = ingest(store, "magento", fixture("magento_orders_page.json"))
    assert (wholesale.state, wholesale.ref) == ("accepted", "magento:3130")
    assert order_view(store, "magento:3130")["customer"]["tier"] == "wholesale"
    assert (cancelled.state, cancelled.outcome) == (
        "accepted",
        "ignored: already cancelled in the shop",
    )
    assert dead_letters(store) == []


def test_a_magento_item_not_in_the_catalogue_is_a_dead_letter_in_words(store: Backorder) -> None:
    text = fixture("magento_order.json").replace('"24-WG02"', '"24-WG99"')
    (dead,) = ingest(store, "magento", text)
    assert dead.state == "dead"
    assert dead.reasons == ["unknown SKU '24-WG99' (no product, and no alias for magento)"]
    half = '{"increment_id": "1", "items": [{"sku": "A", "qty_ordered": "0.5"}]}'
    (unreadable,) = ingest(store, "magento", half)
    assert unreadable.state == "dead"
    assert unreadable.reasons == ["no customer: neither customer_id nor customer_email"]


def test_walmart_orders_released_and_wrapped(store: Backorder) -> None:
    (single,) = ingest(store, "walmart", fixture("walmart_order.json"))
    assert (single.state, single.ref) == ("accepted", "walmart:1796277083022")
    assert single.warnings == ["order line 2 (24-WG084): cancelled at Walmart, left out"]
    order = order_view(store, "walmart:1796277083022")
    assert order["display_number"] == "5281956426648"
    assert order["payment_timing"] == "at_ship"
    (watch,) = order["lines"]
    assert (watch["quantity"], watch["allocated"], watch["backordered"]) == (2, 1, 1)
    (again,) = ingest(store, "walmart", fixture("walmart_order.json"))
    assert again.state == "duplicate"

    plain, cases, cancelled = ingest(store, "walmart", fixture("walmart_released.json"))
    assert (plain.state, plain.ref) == ("accepted", "walmart:1796277083101")
    assert (cancelled.state, cancelled.outcome) == (
        "accepted",
        "ignored: already cancelled in the shop",
    )
    # Two cases of a brick the catalogue has no case size for: kept, with the fix in words.
    assert cases.state == "dead"
    assert cases.reasons == [
        "unit CA has no pack size for SKU 24-WG080: backorder product update 24-WG080 --pack CA=N"
    ]
    set_packs(store, "24-WG080", {"CA": 12})
    (placed,) = replay(store, cases.id)
    assert (placed.state, placed.ref) == ("accepted", "walmart:1796277083102")
    (line,) = order_view(store, "walmart:1796277083102")["lines"]
    assert (line["quantity"], line["unit_price"]) == (24, "4.50")
    assert line["ordered"] == {"quantity": 2, "unit": "CA", "pack": 12}


def test_a_walmart_fulfilled_order_is_kept_and_ignored(store: Backorder) -> None:
    """WFS: Walmart ships from its own stock. Nothing of ours is taken or queued; an order
    whose lines are partly Walmart's places only the seller's lines."""
    body = json.loads(fixture("walmart_order.json"))
    wfs = body | {"order": body["order"] | {"shipNode": {"type": "WFSFulfilled"}}}
    (kept,) = ingest(store, "walmart", json.dumps(wfs))
    assert (kept.state, kept.ref) == ("accepted", None)
    assert kept.outcome == "ignored: fulfilled by Walmart (WFS)"
    assert stock_view(store, "24-WG02")["allocated"] == 0

    order = body["order"] | {"purchaseOrderId": "1796277083999"}
    first, second = order["orderLines"]["orderLine"]
    second = second | {"orderLineStatuses": first["orderLineStatuses"], "shipNode": wfs_node()}
    mixed = order | {"orderLines": {"orderLine": [first, second]}}
    (placed,) = ingest(store, "walmart", json.dumps(mixed))
    assert (placed.state, placed.ref) == ("accepted", "walmart:1796277083999")
    assert placed.warnings == ["order line 2 (24-WG084): fulfilled by Walmart (WFS), left out"]
    assert [x["sku"] for x in order_view(store, "walmart:1796277083999")["lines"]] == ["24-WG02"]
    assert dead_letters(store) == []


def wfs_node() -> dict[str, str]:
    return {"type": "WFSFulfilled"}
