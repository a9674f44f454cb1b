"""Adobe Commerce (magento) and Walmart Marketplace orders, from hand-written fixtures: each
stockable unit counted once (a configurable by its parent, a bundle by its parts), what holds
no stock or was cancelled left out with a warning, and the customer, time, shipping and
payment read as each platform says them; Commerce's webhook signature checked with its
public key."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from backorder.intake import ADAPTERS, Converted, Payload, Unreadable
from backorder.intake.events import (
    Event,
    cancel_word,
    event_of,
    known_number,
    shop_state,
    topic_of,
)
from backorder.intake.signatures import authentic, sign
from tests.unit.test_intake_adapters import JSON, mutate, survive

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
MAGENTO = ADAPTERS["magento"]
WALMART = ADAPTERS["walmart"]


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def document(name: str) -> Any:
    return json.loads(text(name))


def converted(channel: str, body: Any) -> list[Converted]:
    adapter = ADAPTERS[channel]
    raw = body if isinstance(body, str) else json.dumps(body)
    return [adapter.convert(payload) for payload in adapter.split(raw)]


def lines(result: Converted) -> list[tuple[str, int, str | None]]:
    return [(line["sku"], line["quantity"], line["unit_price"]) for line in result.order["lines"]]


def test_a_magento_rest_order_counts_a_configurable_once_by_its_parent() -> None:
    (result,) = converted("magento", text("magento_order.json"))
    order = result.order
    assert (order["external_id"], order["display_number"]) == ("3120", "000000412")
    assert order["placed_at"] == "2026-11-30T22:15:07Z"  # Commerce keeps UTC without a zone
    assert order["customer"] == {
        "id": "17",
        "name": "Veronica Costello",
        "email": "roni.costello@example.com",
        "phone": "(555) 229-3326",
        "tier": "standard",
    }
    # The hoodie is one unit (the parent line, with the child's SKU and the price), not two;
    # "2.0000" is 2; the watch's 5.00 discount on two units takes 2.50 off each.
    assert lines(result) == [("MH01-M-BLUE", 1, "52"), ("24-WG02", 2, "40.75")]
    assert order["lines"][0]["variant"] == "Blue / M"
    assert order["shipping"]["method"] == "standard"  # flatrate_flatrate
    assert order["payment_timing"] == "at_ship"  # check / money order: paid later
    assert result.warnings == []


def test_a_bundle_is_counted_by_its_parts_and_a_virtual_item_is_left_out() -> None:
    (result,) = converted("magento", text("magento_bundle_webhook.json"))
    order = result.order
    # Two kits: each part once, with its own quantity (already times the kit's) and price.
    assert lines(result) == [("24-WG080", 2, "5"), ("24-WG084", 2, "19"), ("24-WG088", 4, "11.25")]
    assert result.warnings == ["item 5 (WARRANTY-2Y): virtual, holds no stock: left out"]
    # A guest is known by the e-mail; the names come from the billing address.
    assert order["customer"]["id"] == "guest.shopper@example.net"
    assert order["customer"]["name"] == "Ines Garnier"
    assert order["currency"] == "EUR"  # the order's currency, not the base currency
    assert order["shipping"]["method"] == "expedited"  # ups_1DA, Next Day Air
    assert order["payment_timing"] == "at_order"  # total_paid covers grand_total


def test_a_page_of_orders_is_one_payload_each_and_a_fixed_price_bundles_parts_have_no_price() -> (
    None
):
    payloads = MAGENTO.split(text("magento_orders_page.json"))
    assert [p.external_id for p in payloads] == ["3130", "3131"]
    wholesale = MAGENTO.convert(payloads[0]).order
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in wholesale["lines"]] == [
        ("24-WG080", 10, None),
        ("24-WG084", 5, None),
    ]
    assert wholesale["customer"]["tier"] == "wholesale"  # customer group 2, Wholesale
    assert wholesale["payment_timing"] == "at_ship"  # purchase order
    # The second arrived cancelled: no backorder, whatever its lines say.
    assert shop_state("magento", payloads[1].text).cancelled == "canceled"
    assert shop_state("magento", text("magento_bundle_webhook.json")).cancelled is None
    complete = document("magento_order.json") | {"state": "complete"}
    assert shop_state("magento", json.dumps(complete)).fulfilled
    assert shop_state("magento", json.dumps({"data": {"order": complete}})).fulfilled


def test_a_webhook_sent_before_the_order_was_saved_links_items_by_their_embedded_parent() -> None:
    parent = {"product_type": "configurable", "sku": "MH01-M-BLUE", "qty_ordered": 1, "price": 52}
    child = {"product_type": "simple", "sku": "MH01-M-BLUE", "qty_ordered": 1, "price": 0}
    order = document("magento_order.json") | {"items": [parent, child | {"parent_item": parent}]}
    del order["entity_id"]
    (result,) = converted(
        "magento", {"eventName": "sales_order_place_after", "data": {"order": order}}
    )
    assert lines(result) == [("MH01-M-BLUE", 1, "52")]
    assert result.order["external_id"] == "000000412"
    assert "increment_id 000000412 is the reference" in result.warnings[0]


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        (
            [{"sku": "A", "qty_ordered": "1.5000"}],
            "item 1 qty_ordered: '1.5000' is not a whole number",
        ),
        ([{"sku": "A", "qty_ordered": "lots"}], "item 1 qty_ordered: 'lots' is not a number"),
        ([{"sku": "A"}], "missing qty_ordered"),
        ([{"sku": "E-BOOK", "qty_ordered": 1, "product_type": "downloadable"}], "no item to stock"),
        ([{"sku": "A", "qty_ordered": 2, "qty_canceled": 2}], "no item to stock"),
        ([], "items must be a non-empty list"),
    ],
)
def test_magento_items_that_cannot_be_counted_say_why(items: list[Any], reason: str) -> None:
    order = document("magento_order.json") | {"items": items}
    (payload,) = MAGENTO.split(json.dumps(order))
    with pytest.raises(Unreadable, match=reason):
        MAGENTO.convert(payload)


def test_a_bundle_sent_without_its_parts_is_one_line_with_a_warning() -> None:
    bundle = {"item_id": 1, "product_type": "bundle", "sku": "KIT", "qty_ordered": 1, "price": 9}
    (result,) = converted("magento", document("magento_order.json") | {"items": [bundle]})
    assert lines(result) == [("KIT", 1, "9")]
    assert result.warnings == ["item 1 (KIT): a bundle without its parts"]


def test_a_walmart_order_wrapped_or_bare_leaves_out_its_cancelled_line() -> None:
    wrapped = document("walmart_order.json")
    for body in (wrapped, wrapped["order"], [wrapped["order"]]):
        (result,) = converted("walmart", body)
        order = result.order
        assert (order["external_id"], order["display_number"]) == ("1796277083022", "5281956426648")
        assert order["placed_at"] == "2026-12-05T10:30:00Z"  # orderDate, milliseconds UTC
        assert lines(result) == [("24-WG02", 2, "79.99")]  # the PRODUCT charge over 2 units
        assert result.warnings == ["order line 2 (24-WG084): cancelled at Walmart, left out"]
        assert order["customer"]["name"] == "Kathryn Cole"
        assert order["customer"]["id"].endswith("@relay.walmart.com")
        assert order["shipping"]["method"] == "expedited"  # methodCode Express
        assert order["payment_timing"] == "at_ship"  # Walmart charges at shipment


def test_released_orders_are_one_payload_each_and_a_case_keeps_its_unit() -> None:
    payloads = WALMART.split(text("walmart_released.json"))
    assert [p.external_id for p in payloads] == ["1796277083101", "1796277083102", "1796277083103"]
    value = WALMART.convert(payloads[0]).order
    assert value["shipping"]["method"] == "standard"  # Value
    cases = WALMART.convert(payloads[1]).order
    # Two cases at 108.00: 54.00 a case; counted in single units by the catalogue's pack.
    assert cases["lines"] == [{"sku": "24-WG080", "quantity": 2, "unit_price": "54", "unit": "CA"}]
    assert shop_state("walmart", payloads[2].text).cancelled == "cancelled"
    with pytest.raises(Unreadable, match="every order line is cancelled"):
        WALMART.convert(payloads[2])
    assert shop_state("walmart", payloads[0].text) == shop_state("walmart", "{}")


def test_walmart_part_cancelled_lines_shipped_orders_and_bad_fields() -> None:
    order = document("walmart_order.json")["order"]
    first = order["orderLines"]["orderLine"][0]
    part = {
        "orderLineStatus": [
            {"status": "Acknowledged", "statusQuantity": {"amount": "1"}},
            {"status": "Cancelled", "statusQuantity": {"amount": "1"}},
        ]
    }
    body = order | {"orderLines": {"orderLine": [first | {"orderLineStatuses": part}]}}
    (result,) = converted("walmart", body)
    assert lines(result) == [("24-WG02", 1, "79.99")]
    assert result.warnings == ["order line 1 (24-WG02): 1 of 2 cancelled at Walmart"]
    shipped = {"orderLineStatus": [{"status": "Shipped"}]}
    body = order | {"orderLines": {"orderLine": [first | {"orderLineStatuses": shipped}]}}
    assert shop_state("walmart", json.dumps(body)).fulfilled
    for bad, reason in (
        ({"orderDate": "yesterday"}, "orderDate: 'yesterday' is not a number"),
        ({"orderDate": -1}, "orderDate: -1 is no time"),
        ({"purchaseOrderId": None}, "missing purchaseOrderId"),
        ({"orderLines": {"orderLine": []}}, "non-empty list"),
    ):
        (payload,) = WALMART.split(json.dumps(order | bad))
        with pytest.raises(Unreadable, match=reason):
            WALMART.convert(payload)
    dozen = first | {"orderLineQuantity": {"unitOfMeasurement": "Case of a dozen", "amount": "1"}}
    (payload,) = WALMART.split(json.dumps(order | {"orderLines": {"orderLine": [dozen]}}))
    with pytest.raises(Unreadable, match="is no unit code"):
        WALMART.convert(payload)


def test_an_empty_page_is_one_unreadable_payload() -> None:
    for channel, body in (
        ("magento", {"items": [], "total_count": 0}),
        ("walmart", {"list": {"elements": {"order": []}, "meta": {"totalCount": 0}}}),
    ):
        (payload,) = ADAPTERS[channel].split(json.dumps(body))
        assert payload == Payload(json.dumps(body), None)
        with pytest.raises(Unreadable):
            ADAPTERS[channel].convert(payload)


SAMPLES = {
    "magento": [document(n) for n in ("magento_order.json", "magento_bundle_webhook.json")],
    "walmart": [document(n) for n in ("walmart_order.json", "walmart_released.json")],
}


@pytest.mark.parametrize("channel", sorted(SAMPLES))
@settings(max_examples=200, deadline=None)
@given(
    which=st.integers(min_value=0, max_value=1),
    path=st.lists(st.integers(min_value=0, max_value=50), max_size=6),
    value=JSON,
)
def test_a_real_order_with_any_part_replaced(
    channel: str, which: int, path: list[int], value: Any
) -> None:
    survive(channel, json.dumps(mutate(SAMPLES[channel][which], path, value)))


def test_adobe_commerce_signatures_are_checked_with_commerces_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    body = text("magento_bundle_webhook.json").encode()
    signed = private.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
    signature = base64.b64encode(signed).decode()
    assert authentic("magento", public, body, signature)
    assert not authentic("magento", public, body + b"\n", signature)
    assert not authentic("magento", public, body, signature[:-8] + "AAAAAAA=")
    assert not authentic("magento", public, body, None)
    assert not authentic("magento", public, body, "é")
    assert not authentic("magento", "hush", body, signature)  # an HMAC secret is no public key
    assert not authentic("magento", public, body, sign("hush", body))
    assert authentic("shopify", "hush", body, sign("hush", body))  # the others stay HMAC


def test_a_walmart_line_that_orders_nothing_or_a_cancellation_without_a_count() -> None:
    order = document("walmart_order.json")["order"]
    first = order["orderLines"]["orderLine"][0]
    nothing = first | {"orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": "0"}}
    (payload,) = WALMART.split(json.dumps(order | {"orderLines": {"orderLine": [nothing]}}))
    with pytest.raises(
        Unreadable, match=r"order line 1: orderLineQuantity\.amount 0 orders nothing"
    ):
        WALMART.convert(payload)
    whole = {"orderLineStatus": [{"status": "Cancelled"}]}  # no statusQuantity: the whole line
    second = first | {"lineNumber": "2", "orderLineStatuses": whole}
    (result,) = converted("walmart", order | {"orderLines": {"orderLine": [first, second]}})
    assert lines(result) == [("24-WG02", 2, "79.99")]
    assert result.warnings == ["order line 2 (24-WG02): cancelled at Walmart, left out"]


def test_grouped_items_are_lines_of_their_own_and_any_virtual_item_is_left_out() -> None:
    items = [
        {"item_id": 1, "product_type": "grouped", "sku": "24-WG080", "qty_ordered": 3, "price": 5},
        {"item_id": 2, "product_type": "grouped", "sku": "24-WG084", "qty_ordered": 1, "price": 19},
        {
            "item_id": 3,
            "product_type": "giftcard",
            "sku": "GIFT-25",
            "qty_ordered": 1,
            "is_virtual": 1,
        },
    ]
    (result,) = converted("magento", document("magento_order.json") | {"items": items})
    assert lines(result) == [("24-WG080", 3, "5"), ("24-WG084", 1, "19")]
    assert result.warnings == ["item 3 (GIFT-25): giftcard, holds no stock: left out"]


def test_a_part_cancelled_item_keeps_its_discount_per_unit_ordered() -> None:
    watch = {"sku": "24-WG02", "qty_ordered": "2.0000", "qty_canceled": "1.0000"}
    watch |= {"price": "43.2500", "discount_amount": "5.0000"}
    (result,) = converted("magento", document("magento_order.json") | {"items": [watch]})
    assert lines(result) == [("24-WG02", 1, "40.75")]  # 5.00 off the two ordered: 2.50 each
    (payload,) = MAGENTO.split(
        json.dumps(document("magento_order.json") | {"order_currency_code": None})
    )
    with pytest.raises(Unreadable, match="missing order_currency_code"):
        MAGENTO.convert(payload)


def commerce_hook(event: str | None, state: str = "processing", **order: Any) -> str:
    """An Adobe Commerce webhook body as its Webhooks module sends one on an order event
    (`{"eventName", "data": {"order"}}`, written by hand from Adobe's webhook reference)."""
    body = {
        "entity_id": 3150,
        "increment_id": "000000450",
        "created_at": "2026-12-02 09:00:00",
        "state": state,
        "customer_email": "ana@example.com",
        "customer_id": 77,
        "order_currency_code": "USD",
        "items": [{"item_id": 1, "sku": "24-WG02", "qty_ordered": 1, "price": 92}],
    } | order
    return json.dumps({"eventName": event, "data": {"order": body}} if event else body)


@pytest.mark.parametrize(
    ("name", "state", "event"),
    [
        ("observer.sales_order_place_after", "new", Event.PLACE),
        ("sales_order_place_after", "processing", Event.PLACE),  # as Adobe's examples name it
        ("plugin.sales.api.order_management.place", "new", Event.PLACE),  # as a Cloud Service
        ("plugin.magento.sales.api.order_management.place", "new", Event.PLACE),  # on premises
        ("observer.order_cancel_after", "canceled", Event.CANCEL),
        ("observer.sales_order_save_after", "new", Event.PLACE),  # just placed
        ("observer.sales_order_save_commit_after", "NEW", Event.PLACE),
        ("plugin.magento.sales.api.order_repository.save", "new", Event.PLACE),
        ("observer.sales_order_save_after", "processing", Event.RECORD),
        ("observer.sales_order_save_after", "canceled", Event.RECORD),  # cancels one held
        ("observer.sales_order_save_commit_after", "closed", Event.RECORD),
        ("observer.sales_order_save_after", "", Event.RECORD),
        ("observer.catalog_product_save_after", "new", Event.OTHER),
        ("observer.sales_order_invoice_pay", "processing", Event.OTHER),
    ],
)
def test_a_commerce_webhook_names_its_event_as_the_payloads_topic(
    name: str, state: str, event: Event
) -> None:
    (payload,) = MAGENTO.split(commerce_hook(name, state))
    assert (payload.topic, payload.external_id) == (name, "3150")
    topic = topic_of("magento", payload.topic)
    assert event_of("magento", topic, payload.text) is event
    assert known_number("magento", payload.text) == "000000450"


def test_a_rest_order_and_a_page_of_orders_name_no_topic_and_place() -> None:
    (rest,) = MAGENTO.split(commerce_hook(None))
    assert rest.topic is None and event_of("magento", rest.topic, rest.text) is Event.PLACE
    assert all(p.topic is None for p in MAGENTO.split(text("magento_orders_page.json")))
    unnamed = json.dumps({"eventName": " ", "data": {"order": json.loads(commerce_hook(None))}})
    assert MAGENTO.split(unnamed)[0].topic is None
    assert MAGENTO.split('{"eventName": 7, "data": {}}')[0].topic is None  # kept; says why
    assert cancel_word("magento", "observer.order_cancel_after") == "canceled"
    assert cancel_word("magento", None) is None and known_number("shopify", "{}") is None


def test_an_order_walmart_fulfils_holds_no_stock_of_ours() -> None:
    """Walmart Fulfillment Services: the purchase order's ship node names Walmart's own
    fulfilment centres (`shipNode.type` WFSFulfilled), whose stock is not ours."""
    order = document("walmart_order.json")["order"]
    wfs = json.dumps({"order": order | {"shipNode": {"type": "WFSFulfilled"}}})
    assert shop_state("walmart", wfs).elsewhere == "fulfilled by Walmart (WFS)"
    for node in ("SellerFulfilled", "3PLFulfilled"):  # the seller's stock, at home or a 3PL
        mine = json.dumps(order | {"shipNode": {"type": node}})
        assert shop_state("walmart", mine).elsewhere is None
        assert len(converted("walmart", mine)[0].order["lines"]) == 1

    first, second = order["orderLines"]["orderLine"]
    second = second | {"orderLineStatuses": first["orderLineStatuses"]}  # not cancelled
    by_walmart = {"shipNode": {"type": "wfsfulfilled"}}
    mixed = order | {"orderLines": {"orderLine": [first, second | by_walmart]}}
    (result,) = converted("walmart", mixed)
    assert lines(result) == [("24-WG02", 2, "79.99")]  # only the line the seller fulfils
    assert result.warnings == ["order line 2 (24-WG084): fulfilled by Walmart (WFS), left out"]
    assert shop_state("walmart", json.dumps(mixed)).elsewhere is None

    every = order | {"orderLines": {"orderLine": [first | by_walmart, second | by_walmart]}}
    assert shop_state("walmart", json.dumps(every)).elsewhere == "fulfilled by Walmart (WFS)"
    (payload,) = WALMART.split(json.dumps(every))
    with pytest.raises(Unreadable, match=r"fulfilled by Walmart \(WFS\)"):
        WALMART.convert(payload)
