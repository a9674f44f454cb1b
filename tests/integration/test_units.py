"""Orders in cases: a line in a unit other than single units is counted in single units by
its pack (the buyer's first, then the catalogue's), its price per unit divided out, and the
order keeps what the buyer ordered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from backorder.canonical import parse_orders
from backorder.domain.errors import InvalidRequest
from backorder.domain.units import NoPackSize
from backorder.services.context import Backorder
from backorder.services.ingest import ingest
from backorder.services.intake import place_order
from backorder.services.products import add_product, parse_packs, set_packs
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from tests.factories import product


def _order(external_id: str, line: dict[str, object]) -> str:
    return json.dumps(
        {
            "channel": "edi",
            "external_id": external_id,
            "placed_at": datetime(2026, 12, 1, tzinfo=UTC).isoformat(),
            "customer": {"id": "acme", "email": "buyer@acme.example"},
            "lines": [{"sku": "24776"} | line],
        }
    )


@pytest.fixture
def catalogue(app: Backorder) -> Backorder:
    add_product(app, product("24776", unit_price=Decimal("2.50")))
    receive_stock(app, "24776", 100)
    return app


def test_cases_are_counted_in_units_by_the_catalogues_pack(catalogue: Backorder) -> None:
    set_packs(catalogue, "24776", {"CA": 12})
    line = {"quantity": 12, "unit": "CA", "unit_price": "30.00"}
    (request,) = parse_orders(_order("PO-1", line))
    place_order(catalogue, request)
    view = order_view(catalogue, "edi:PO-1")
    (placed,) = view["lines"]
    assert placed["quantity"] == 144
    assert placed["allocated"] == 100 and placed["backordered"] == 44
    assert placed["unit_price"] == "2.50"
    assert placed["ordered"] == {"quantity": 12, "unit": "CA", "pack": 12}


def test_the_buyers_pack_wins_and_a_single_unit_stays_as_it_is(catalogue: Backorder) -> None:
    set_packs(catalogue, "24776", {"CA": 12})
    (request,) = parse_orders(_order("PO-2", {"quantity": 2, "unit": "CA", "pack": 6}))
    place_order(catalogue, request)
    (request,) = parse_orders(_order("PO-3", {"quantity": 5, "unit": "PCE"}))
    place_order(catalogue, request)
    assert order_view(catalogue, "edi:PO-2")["lines"][0]["quantity"] == 12
    single = order_view(catalogue, "edi:PO-3")["lines"][0]
    assert single["quantity"] == 5 and single["ordered"] is None


def test_a_unit_without_a_pack_is_refused_naming_the_unit_and_the_fix(
    catalogue: Backorder,
) -> None:
    (request,) = parse_orders(_order("PO-4", {"quantity": 3, "unit": "PL"}))
    with pytest.raises(NoPackSize, match="unit PL has no pack size for SKU 24776: "):
        place_order(catalogue, request)
    outcomes = ingest(catalogue, "canonical", _order("PO-5", {"quantity": 3, "unit": "PL"}))
    assert outcomes[0].state == "dead"
    assert "backorder product update 24776 --pack PL=N" in outcomes[0].reasons[0]
    set_packs(catalogue, "24776", {"PL": 480})
    outcomes = ingest(catalogue, "canonical", _order("PO-6", {"quantity": 1, "unit": "PL"}))
    assert outcomes[0].state == "accepted"


def test_pack_sizes_are_written_unit_equals_n_and_cleared_with_nothing(
    catalogue: Backorder,
) -> None:
    assert parse_packs(["ca=12", "PL=480"]) == {"CA": 12, "PL": 480}
    assert set_packs(catalogue, "24776", parse_packs(["CA=12", "PL=480"])) == {
        "CA": 12,
        "PL": 480,
    }
    assert set_packs(catalogue, "24776", parse_packs(["CA="])) == {"PL": 480}
    for bad in ("CA", "CA=x", "CA=1", "EA=12", "C A=3", "CA=0"):
        with pytest.raises(InvalidRequest):
            parse_packs([bad])


def test_an_unknown_sku_in_cases_is_named_once_as_unknown(catalogue: Backorder) -> None:
    text = _order("PO-7", {"quantity": 2, "unit": "CA"}).replace('"24776"', '"NOPE"')
    (outcome,) = ingest(catalogue, "canonical", text)
    assert outcome.state == "dead"
    assert outcome.reasons == ["unknown SKU 'NOPE' (no product, and no alias for canonical)"]
