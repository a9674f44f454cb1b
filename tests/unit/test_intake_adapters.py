"""Channel adapters are pure: any bytes in, a canonical order or a reason out, never an
exception of another kind. Fuzzed with random text, random JSON, and the real fixtures with
parts replaced by anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backorder.intake import ADAPTERS, Converted, Unreadable

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
SAMPLES = {
    "amazon": json.loads((FIXTURES / "amazon_order.json").read_text()),
    "shopify": json.loads((FIXTURES / "shopify_order.json").read_text()),
    "woocommerce": json.loads((FIXTURES / "woocommerce_order.json").read_text()),
    "canonical": {
        "channel": "web",
        "external_id": "1",
        "placed_at": "2026-01-01T00:00:00Z",
        "customer": {"id": "c"},
        "lines": [{"sku": "A", "quantity": 1}],
    },
}
PARTNER_CSV = (FIXTURES / "partner_orders.csv").read_text()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def survive(channel: str, text: str) -> None:
    adapter = ADAPTERS[channel]
    for payload in adapter.split(text):
        try:
            assert isinstance(adapter.convert(payload), Converted)
        except Unreadable as error:
            assert str(error)


def mutate(document: Any, path: list[Any], value: Any) -> Any:
    """The document with the value at `path` (as far as it leads) replaced."""
    if not path or not isinstance(document, dict | list):
        return value
    copy = dict(document) if isinstance(document, dict) else list(document)
    keys = list(copy) if isinstance(copy, dict) else list(range(len(copy)))
    if not keys:
        return value
    key = keys[path[0] % len(keys)]
    copy[key] = mutate(copy[key], path[1:], value)
    return copy


@pytest.mark.parametrize("channel", sorted(ADAPTERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text(channel: str, text: str) -> None:
    survive(channel, text)


@pytest.mark.parametrize("channel", sorted(ADAPTERS))
@settings(max_examples=150, deadline=None)
@given(document=JSON)
def test_any_json(channel: str, document: Any) -> None:
    survive(channel, json.dumps(document))


@pytest.mark.parametrize("channel", sorted(SAMPLES))
@settings(max_examples=300, deadline=None)
@given(path=st.lists(st.integers(min_value=0, max_value=50), max_size=4), value=JSON)
def test_a_real_order_with_any_part_replaced(channel: str, path: list[int], value: Any) -> None:
    survive(channel, json.dumps(mutate(SAMPLES[channel], path, value)))


@settings(max_examples=300, deadline=None)
@given(
    row=st.integers(min_value=0, max_value=3),
    column=st.integers(min_value=0, max_value=10),
    cell=st.text(max_size=30),
)
def test_a_real_csv_with_any_cell_replaced(row: int, column: int, cell: str) -> None:
    rows = [line.split(",") for line in PARTNER_CSV.splitlines()]
    rows[row][column % len(rows[row])] = cell
    survive("csv", "\n".join(",".join(r) for r in rows))


@pytest.mark.parametrize("channel", sorted(SAMPLES))
def test_the_samples_convert(channel: str) -> None:
    adapter = ADAPTERS[channel]
    (payload,) = adapter.split(json.dumps(SAMPLES[channel]))
    assert adapter.convert(payload).order["lines"]


def test_each_channel_gives_the_number_the_customer_knows_their_language_and_variants() -> None:
    def converted(channel: str, document: Any) -> Converted:
        (payload,) = ADAPTERS[channel].split(json.dumps(document))
        return ADAPTERS[channel].convert(payload)

    shopify = converted("shopify", SAMPLES["shopify"]).order
    assert shopify["display_number"] == "#1001"  # `name`, not the id 450789469
    assert shopify["customer"]["language"] == "fr-CA"  # customer_locale
    assert [line["variant"] for line in shopify["lines"]] == ["green", "red"]
    woo = converted("woocommerce", SAMPLES["woocommerce"]).order
    assert woo["display_number"] == "727"
    assert woo["customer"]["language"] == "es"  # meta_data wpml_language
    amazon = converted("amazon", SAMPLES["amazon"]).order
    assert amazon["display_number"] == "902-3159896-1390916"  # the buyer knows Amazon's id

    # What a shop leaves out, or sends that we have no words for, is left out with a warning:
    # the order is still taken, and speaks the shop's language.
    odd = SAMPLES["shopify"] | {"customer_locale": "xx-Nowhere", "name": None}
    odd["line_items"] = [SAMPLES["shopify"]["line_items"][0] | {"variant_title": "x" * 201}]
    result = converted("shopify", odd)
    assert result.order["display_number"] is None and result.order["customer"]["language"] is None
    assert result.order["lines"][0]["variant"] is None
    assert any("customer_locale 'xx-Nowhere'" in warning for warning in result.warnings)
    assert any("variant_title left out" in warning for warning in result.warnings)
    plain = SAMPLES["woocommerce"] | {"meta_data": [{"key": "_billing_vat", "value": "x"}]}
    assert converted("woocommerce", plain).order["customer"]["language"] is None
    lang = SAMPLES["woocommerce"] | {"meta_data": [{"key": "language", "value": "de_AT"}]}
    assert converted("woocommerce", lang).order["customer"]["language"] == "de-AT"  # as BCP 47


def test_csv_rows_are_grouped_into_orders_by_order_id() -> None:
    adapter = ADAPTERS["csv"]
    first, second = adapter.split(PARTNER_CSV)
    assert (first.external_id, second.external_id) == ("PO-7781", "PO-7782")
    order = adapter.convert(first).order
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [
        ("IPOD-GREEN", 12),
        ("BP-4471", 3),
    ]
    assert order["customer"]["tier"] == "wholesale" and order["shipping"]["method"] == "expedited"
    assert order["lines"][0]["unit_price"] == "150"
    assert order["display_number"] is None and order["customer"]["language"] is None
    named = "order_id,placed_at,customer_id,sku,quantity,display_number,language,variant\n"
    named += "9,2026-03-02T09:15:00Z,C,MUG,1,#9001,en-GB,Blue / L\n"
    (payload,) = adapter.split(named)
    order = adapter.convert(payload).order
    assert (order["display_number"], order["customer"]["language"]) == ("#9001", "en-GB")
    assert order["lines"][0]["variant"] == "Blue / L"
    (broken,) = adapter.split("sku,quantity\nA,1\n")
    with pytest.raises(Unreadable, match="lacks order_id, placed_at, customer_id"):
        adapter.convert(broken)
