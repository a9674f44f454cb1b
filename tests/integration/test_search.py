"""Order and product lists (services/search.py): every filter narrows, they hold together,
and keyset paging walks the whole list once, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, text, update

from backorder.domain.errors import InvalidRequest
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.orders import cancel_order, ship_order
from backorder.services.products import add_product
from backorder.services.search import OrderFilter, list_orders, list_products, page_query
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


# Each common filter, and the index that should answer it (None: any, but no full scan).
PLANS = [
    (OrderFilter(sku="LAMP-OAK"), "ix_order_lines_product_order"),
    (OrderFilter(customer="cust-5"), "ix_orders_customer"),
    (OrderFilter(customer="p5@example.com"), "ix_orders_customer_email"),
    (OrderFilter(channel="ebay"), "ix_orders_channel"),
    (OrderFilter(since=date(2026, 1, 4)), None),
    (OrderFilter(q="#100077"), "ix_orders_display_number"),
    (OrderFilter(q="X77"), "ix_orders_external_id"),
    (OrderFilter(q="p5@example.com"), "ix_orders_customer_email"),
    (OrderFilter(q="lamp"), None),
]


def test_no_common_filter_reads_every_order_on_postgresql(shop: Backorder) -> None:
    """With many orders and fresh statistics, PostgreSQL answers each filter from an index
    (migration 0022), not by reading the orders table through."""
    if shop.db.engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    many = [
        {
            "channel": "web" if i % 50 else "ebay",
            "external_id": f"X{i}",
            "display_number": f"#{100000 + i}",
            "placed_at": start + timedelta(hours=i),
            "received_at": start + timedelta(hours=i),
            "customer_id": f"cust-{i % 997}",
            "customer_name": "Someone",
            "customer_email": f"p{i % 997}@example.com",
            "customer_tier": "standard",
            "currency": "USD",
            "shipping_method": "standard",
            "shipping_preference": "ship_available",
            "payment_timing": "at_order",
        }
        for i in range(20_000)
    ]
    with shop.db.write() as uow:
        uow.connection.execute(insert(orders), many)
        uow.connection.execute(  # 200 more products, and a shipped line of one per order
            text(
                "INSERT INTO products (sku, name, unit_price, policy, queue_strategy,"
                " created_at, updated_at) SELECT 'GEN-' || g, 'Made ' || g, 1, 'allow',"
                " 'fifo', now(), now() FROM generate_series(0, 199) AS g"
            )
        )
        uow.connection.execute(
            text(
                "INSERT INTO order_lines (order_id, line_no, product_id, quantity, allocated,"
                " backordered, shipped, cancelled, unit_price, placed_at, base_class,"
                " rank_class) SELECT o.id, 1, p.id, 1, 0, 0, 1, 0, 1, o.placed_at, 0, 0"
                " FROM orders o JOIN products p ON p.sku = 'GEN-' || (o.id % 200)"
                " WHERE o.external_id LIKE 'X%'"
            )
        )
        uow.commit()
    with shop.db.engine.connect() as conn:
        for table in ("orders", "order_lines", "products"):
            conn.execute(text(f"ANALYZE {table}"))
        for chosen, index in PLANS:
            compiled = page_query(chosen, 51).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            sql = str(compiled).replace("%%", "%")
            plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
            assert "Seq Scan on orders" not in plan, (chosen, plan)
            assert index is None or index in plan, (chosen, plan)
