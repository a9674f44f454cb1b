"""BigCommerce's adapter: the v2 order and its /products response paired by order id, the
mapping onto the canonical order, the parts of an order (a webhook carrying only the id, an
order without its products) told apart from a whole one; and its webhook secret. Fixtures
written by hand from BigCommerce's Orders v2 and webhooks documentation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder.intake import ADAPTERS, Converted, Partial, Payload, Unreadable, bigcommerce
from backorder.intake.events import Event, event_of, shop_state, topic_of
from backorder.intake.signatures import authentic, sign

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
PAIR = json.loads((FIXTURES / "bigcommerce_order.json").read_text())
WEBHOOK = json.loads((FIXTURES / "bigcommerce_webhook.json").read_text())
ADAPTER = bigcommerce.ADAPTER
assert ADAPTERS["bigcommerce"] is ADAPTER


def whole(order: dict[str, Any] | None = None, products: list[Any] | None = None) -> Payload:
    body, items, addresses = PAIR
    (payload,) = ADAPTER.split(json.dumps([order or body, products or items, addresses]))
    return payload


def test_the_order_and_its_products_side_by_side_are_one_order() -> None:
    (payload,) = ADAPTER.split((FIXTURES / "bigcommerce_order.json").read_text())
    assert payload.external_id == "250" and payload.topic is None
    converted = ADAPTER.convert(payload)
    order = converted.order
    assert order["external_id"] == order["display_number"] == "250"
    assert order["placed_at"] == "2026-03-05T21:25:03+00:00"  # from RFC 2822
    assert order["customer"] == {
        "id": "11",
        "name": "Jane Doe",
        "email": "janedoe@example.com",
        "phone": "+15125550100",
        "tier": "standard",
        "language": "en",
    }
    assert order["currency"] == "USD" and order["payment_timing"] == "at_order"
    assert order["shipping"] == {"method": "expedited"}  # UPS Next Day Air
    green, dock = order["lines"]
    # 199 less the line's 10.00 coupon over 2 units; the options are the variant
    assert green == {
        "sku": "IPOD-GREEN",
        "quantity": 2,
        "unit_price": "194",
        "variant": "Colour: Green, Engraving: For Ada",
    }
    assert dock["sku"] == "product:79"  # no SKU, no variant: the product id, for an alias
    assert converted.warnings == [
        "product 2 (IPOD-GUIDE-PDF): digital, nothing to ship from stock; left out"
    ]


def test_the_products_may_come_first_and_each_order_takes_its_own() -> None:
    body, items, _ = PAIR
    other = body | {"id": 251}
    mine = [item | {"order_id": 251} for item in items[:1]]
    payloads = ADAPTER.split(json.dumps([items, mine, other, body]))
    assert [p.external_id for p in payloads] == ["251", "250"]
    lines = [len(ADAPTER.convert(p).order["lines"]) for p in payloads]
    assert lines == [1, 2]


def test_one_order_whose_products_are_the_list_itself_is_kept_as_sent() -> None:
    body, items, _ = PAIR
    text = json.dumps(body | {"products": items})
    (payload,) = ADAPTER.split(text)
    assert payload.text == text and ADAPTER.convert(payload).order["external_id"] == "250"


def test_a_guest_is_known_by_the_billing_email_else_by_the_order() -> None:
    body = PAIR[0] | {"customer_id": 0}
    assert ADAPTER.convert(whole(body)).order["customer"]["id"] == "janedoe@example.com"
    billing = body["billing_address"] | {"email": ""}
    guest = ADAPTER.convert(whole(body | {"billing_address": billing})).order["customer"]
    assert guest["id"] == "bigcommerce-guest-250" and guest["email"] is None


@pytest.mark.parametrize(
    ("changes", "tier", "timing"),
    [
        ({"billing_address": {"company": "Acme Wholesale", "email": "a@b.c"}}, "wholesale", None),
        ({"payment_status": "authorized"}, None, "at_ship"),
        ({"payment_status": "", "status_id": 7, "status": "Awaiting Payment"}, None, "at_ship"),
    ],
)
def test_a_company_buys_wholesale_and_an_unpaid_order_pays_at_shipment(
    changes: dict[str, Any], tier: str | None, timing: str | None
) -> None:
    order = ADAPTER.convert(whole(PAIR[0] | changes)).order
    assert order["customer"]["tier"] == (tier or "standard")
    assert order["payment_timing"] == (timing or "at_order")


def test_without_shipping_addresses_the_method_is_standard() -> None:
    body, items, _ = PAIR
    (payload,) = ADAPTER.split(json.dumps([body, items]))
    assert ADAPTER.convert(payload).order["shipping"] == {"method": "standard"}


def test_the_display_currency_gives_way_to_the_one_the_shopper_pays_in() -> None:
    body = PAIR[0] | {"currency_code": "USD", "default_currency_code": "EUR"}
    assert ADAPTER.convert(whole(body)).order["currency"] == "EUR"


def test_an_order_of_digital_products_only_has_nothing_to_ship() -> None:
    items = [item | {"type": "digital"} for item in PAIR[1]]
    with pytest.raises(Unreadable, match="no physical products"):
        ADAPTER.convert(whole(products=items))


def test_a_date_that_is_not_rfc_2822_is_named() -> None:
    with pytest.raises(Unreadable, match="date_created '2026-13-45' is not an RFC 2822"):
        ADAPTER.convert(whole(PAIR[0] | {"date_created": "2026-13-45"}))


def test_the_webhook_is_a_part_of_an_order_naming_its_topic_and_id() -> None:
    assert isinstance(ADAPTER, Partial)
    (payload,) = ADAPTER.split(json.dumps(WEBHOOK))
    assert (payload.external_id, payload.topic) == ("250", "store/order/created")
    assert ADAPTER.waiting_for(payload) == (
        "waiting for order 250's body: store/order/created carries only its id; "
        "send GET /v2/orders/250 with its /products"
    )
    with pytest.raises(Unreadable, match="carries only an id"):
        ADAPTER.convert(payload)


def test_an_order_without_its_products_and_products_without_their_order_wait() -> None:
    (body,) = ADAPTER.split(json.dumps(PAIR[0]))  # products: the resource link
    assert ADAPTER.waiting_for(body) == (
        "waiting for the products of order 250: send GET /v2/orders/250/products with the order"
    )
    (items,) = ADAPTER.split(json.dumps(PAIR[1]))
    assert items.external_id == "250"
    assert (
        ADAPTER.waiting_for(items) == "waiting for order 250's body: its products came without it"
    )
    assert ADAPTER.waiting_for(whole()) is None


def test_an_order_and_its_products_apart_combine_into_the_whole_order() -> None:
    body, items, _ = PAIR
    parts = [json.dumps(WEBHOOK), json.dumps(body), json.dumps(items)]
    combined = ADAPTER.combine(parts)
    assert combined is not None and combined.external_id == "250"
    assert len(ADAPTER.convert(combined).order["lines"]) == 2
    assert ADAPTER.combine(parts[:2]) is None  # a webhook adds nothing but the id
    assert ADAPTER.combine(["not json", parts[2]]) is None


def test_another_resource_webhook_names_no_order() -> None:
    product = WEBHOOK | {"scope": "store/product/updated", "data": {"type": "product", "id": 77}}
    (payload,) = ADAPTER.split(json.dumps(product))
    assert (payload.external_id, payload.topic) == (None, "store/product/updated")
    assert event_of("bigcommerce", topic_of("bigcommerce", payload.topic)) is Event.OTHER


@pytest.mark.parametrize(
    ("scope", "event"),
    [
        ("store/order/created", Event.PLACE),
        ("store/order/updated", Event.UPDATE),
        ("store/order/statusUpdated", Event.UPDATE),
        ("store/order/archived", Event.UPDATE),
        ("store/cart/created", Event.OTHER),
    ],
)
def test_the_scope_is_the_topic(scope: str, event: Event) -> None:
    assert event_of("bigcommerce", topic_of("bigcommerce", scope)) is event


@pytest.mark.parametrize(
    ("status", "cancelled", "fulfilled"),
    [
        (11, None, False),
        (5, "cancelled", False),
        (4, "refunded", False),
        (10, None, True),
        (0, "incomplete", False),
        (6, "declined", False),
        (2, None, True),
        (7, None, False),
    ],
)
def test_the_state_in_the_shop_comes_from_the_status_or_the_status_update(
    status: int, cancelled: str | None, fulfilled: bool
) -> None:
    order = shop_state("bigcommerce", whole(PAIR[0] | {"status_id": status}).text)
    update = WEBHOOK | {
        "scope": "store/order/statusUpdated",
        "data": {
            "type": "order",
            "id": 250,
            "status": {"previous_status_id": 11, "new_status_id": status},
        },
    }
    hook = shop_state("bigcommerce", json.dumps(update))
    assert (order.cancelled, order.fulfilled) == (hook.cancelled, hook.fulfilled)
    assert (order.cancelled, order.fulfilled) == (cancelled, fulfilled)


def test_the_webhook_secret_is_compared_as_sent_not_as_a_signature() -> None:
    assert authentic("bigcommerce", "hush", b"{}", "hush")
    assert authentic("bigcommerce", "hush", b"{}", " hush ")
    assert not authentic("bigcommerce", "hush", b"{}", "hus")
    assert not authentic("bigcommerce", "hush", b"{}", sign("hush", b"{}"))
    assert not authentic("bigcommerce", "hush", b"{}", None)
    assert not authentic("bigcommerce", "hush", b"{}", "hüsh")
    assert authentic("shopify", "hush", b"{}", sign("hush", b"{}"))  # unchanged
    assert not authentic("shopify", "hush", b"{}", "hush")


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 200), st.integers(0, 200), st.integers(0, 200), ANY_JSON)
def test_any_part_of_the_pair_replaced_by_anything_gives_an_order_or_a_reason(
    a: int, b: int, c: int, value: Any
) -> None:
    def mutate(document: Any, path: list[int]) -> Any:
        if not path or not isinstance(document, dict | list) or not document:
            return value
        copy = dict(document) if isinstance(document, dict) else list(document)
        keys = list(copy) if isinstance(copy, dict) else list(range(len(copy)))
        key = keys[path[0] % len(keys)]
        copy[key] = mutate(copy[key], path[1:])
        return copy

    for document in (PAIR, WEBHOOK):
        text = json.dumps(mutate(document, [a, b, c]), default=str)
        for payload in ADAPTER.split(text):
            ADAPTER.waiting_for(payload)
            ADAPTER.combine([payload.text, text])
            shop_state("bigcommerce", payload.text)
            try:
                assert isinstance(ADAPTER.convert(payload), Converted)
            except Unreadable as error:
                assert str(error)
