"""Order and product lists (services/search.py): every filter narrows, they hold together,
and keyset paging walks the whole list once, on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.search import OrderFilter, list_orders, list_products
from backorder.services.stock import set_stock
from backorder.store.tables import orders
from tests.factories import jan, order, product


@pytest.fixture
def shop(app: Backorder) -> Backorder:
    """web:1 waits for LAMP; web:2 is ready (MUG); amazon:3 shipped; web:4 cancelled;
    web:5 waits and has MUG ready. The shop numbers web:1 "#9001"."""
    add_product(app, product("LAMP-OAK", name="Oak desk lamp"))
    add_product(app, product("MUG-RED", name="Red mug"))
    set_stock(app, "MUG-RED", 10)
    place_order(app, order("1", ("LAMP-OAK", 2), placed_at=jan(1), customer="ann"))
    place_order(app, order("2", ("MUG-RED", 1), placed_at=jan(2), customer="bob"))
    place_order(app, order("3", ("MUG-RED", 1), placed_at=jan(3), channel="amazon"))
    place_order(app, order("4", ("MUG-RED", 1), placed_at=jan(4), customer="ann"))
    place_order(app, order("5", ("MUG-RED", 1), ("LAMP-OAK", 1), placed_at=jan(5)))
    ship_order(app, "amazon:3")
    cancel_order(app, "web:4")
    with app.db.write() as uow:
        uow.connection.execute(
            update(orders).where(orders.c.external_id == "1").values(display_number="#9001")
        )
        uow.commit()
    return app


def refs(app: Backorder, **chosen: object) -> list[str]:
    return [item["ref"] for item in list_orders(app, OrderFilter(**chosen)).items]  # type: ignore[arg-type]


def test_each_filter_narrows_the_orders_newest_first(shop: Backorder) -> None:
    assert refs(shop) == ["web:5", "web:4", "amazon:3", "web:2", "web:1"]
    assert refs(shop, status="backordered") == ["web:5", "web:1"]
    assert refs(shop, status="allocated") == ["web:2"]
    assert refs(shop, status="shipped") == ["amazon:3"]
    assert refs(shop, status="cancelled") == ["web:4"]
    assert refs(shop, status="open") == ["web:5", "web:2", "web:1"]
    assert refs(shop, sku="LAMP-OAK") == ["web:5", "web:1"]
    assert refs(shop, customer="ann") == ["web:4", "web:1"]
    assert refs(shop, customer="2@EXAMPLE.com") == ["web:2"]  # stored lower case
    assert refs(shop, customer="2@example.com") == ["web:2"]
    assert refs(shop, channel="amazon") == ["amazon:3"]
    assert refs(shop, since=date(2026, 1, 4)) == ["web:5", "web:4"]
    assert refs(shop, customer="ann", status="backordered") == ["web:1"]


def test_a_search_finds_an_order_by_number_address_sku_or_product_name(shop: Backorder) -> None:
    assert refs(shop, q="#9001") == refs(shop, q="9001") == ["web:1"]
    assert refs(shop, q="amazon:3") == refs(shop, q="3") == ["amazon:3"]
    assert refs(shop, q="5@example.com") == ["web:5"]
    assert refs(shop, q="LAMP-OAK") == ["web:5", "web:1"]
    assert refs(shop, q="desk lamp") == ["web:5", "web:1"]  # part of the name, any case
    assert refs(shop, q="100%") == []  # a wildcard is a character


def test_an_order_in_the_list_says_what_it_is(shop: Backorder) -> None:
    first = list_orders(shop, OrderFilter(q="9001")).items[0]
    assert first == {
        "ref": "web:1",
        "display_number": "#9001",
        "channel": "web",
        "status": "backordered",
        "placed_at": "2026-01-01T10:00:00+00:00",
        "customer": {"id": "ann", "name": "Customer 1", "email": "1@example.com"},
        "lines": 1,
        "units": 2,
        "backordered": 2,
        "skus": ["LAMP-OAK"],
    }


def test_pages_walk_the_whole_list_once(shop: Backorder) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = list_orders(shop, OrderFilter(), limit=2, cursor=cursor)
        seen += [item["ref"] for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == refs(shop)
    products = list_products(shop, limit=1)
    assert [p["sku"] for p in products.items] == ["LAMP-OAK"]
    rest = list_products(shop, limit=1, cursor=products.next_cursor)
    assert [p["sku"] for p in rest.items] == ["MUG-RED"] and rest.next_cursor is None


def test_products_by_sku_or_name_with_their_stock(shop: Backorder) -> None:
    assert [p["sku"] for p in list_products(shop, "mug").items] == ["MUG-RED"]
    assert [p["sku"] for p in list_products(shop, "LAMP").items] == ["LAMP-OAK"]
    mug = list_products(shop, "MUG-RED").items[0]
    assert (mug["on_hand"], mug["allocated"], mug["available"]) == (9, 2, 7)
    assert mug["name"] == "Red mug" and mug["price"] == "19.99"


def test_a_bad_filter_is_refused_in_words(shop: Backorder) -> None:
    with pytest.raises(InvalidRequest, match="status must be one of"):
        refs(shop, status="lost")
    with pytest.raises(InvalidRequest, match="not a cursor"):
        list_orders(shop, OrderFilter(), cursor="abc")
    with pytest.raises(InvalidRequest, match="limit must be between 1 and 200"):
        list_orders(shop, OrderFilter(), limit=0)
