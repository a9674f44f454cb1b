"""A product's pack sizes in the catalogue: added with the product in one transaction,
changed one unit at a time, imported as the whole list in a CSV cell, and every change told
as a `product_changed` event. Stock and queues stay in single units."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backorder.domain.errors import InvalidRequest
from backorder.domain.model import OrderedAs
from backorder.services.context import Backorder
from backorder.services.ingest import ingest, replay
from backorder.services.intake import place_order
from backorder.services.packs import MAX_PACKS, parse_cell, parse_packs
from backorder.services.products import (
    add_product,
    import_products,
    read_product_csv,
    set_packs,
    update_product,
)
from backorder.services.stock import receive_stock
from backorder.services.views import order_view, product_view, queue_view, stock_view
from backorder.store.tables import product_packs, products
from tests.factories import order, product
from tests.integration.test_engine import event_types, payloads


def _packs(app: Backorder, sku: str) -> dict[str, int]:
    packs: dict[str, int] = product_view(app, sku)["packs"]
    return packs


def _count(app: Backorder) -> tuple[int, int]:
    with app.db.read() as uow:
        conn = uow.connection
        return (
            conn.execute(select(func.count()).select_from(products)).scalar_one(),
            conn.execute(select(func.count()).select_from(product_packs)).scalar_one(),
        )


def test_a_product_is_added_with_its_packs_in_one_transaction(app: Backorder) -> None:
    add_product(app, product("24776"), {"PL": 480, "CA": 12})
    assert _packs(app, "24776") == {"CA": 12, "PL": 480}  # smallest first
    assert list(_packs(app, "24776")) == ["CA", "PL"]
    (added,) = payloads(app, "product_added")
    assert added["packs"] == {"CA": 12, "PL": 480}
    for bad in ({"CA": 1}, {"EA": 12}, {"C A": 12}, {"CA": 2_000_000}, {"ca": 12, "CA": 6}):
        with pytest.raises(InvalidRequest):
            add_product(app, product("24777"), bad)
    assert _count(app) == (1, 2)  # a bad pack added nothing, not even the product
    assert event_types(app) == ["product_added"]


def test_an_update_sets_and_clears_one_unit_at_a_time_and_tells_it(app: Backorder) -> None:
    add_product(app, product("24776"), {"CA": 12, "PL": 480})
    update_product(app, "24776", {"packs": {"CA": None, "BX": 6}, "name": "Tomatoes"})
    assert _packs(app, "24776") == {"BX": 6, "PL": 480}
    (changed,) = payloads(app, "product_changed")
    assert changed["changes"]["packs"] == {
        "from": {"CA": 12, "PL": 480},
        "to": {"BX": 6, "PL": 480},
    }
    assert changed["changes"]["name"]["to"] == "Tomatoes"
    # the same packs again, or clearing a unit without a pack: nothing changed, nothing told
    update_product(app, "24776", {"packs": {"BX": 6, "CA": None}})
    assert event_types(app) == ["product_added", "product_changed"]
    # a bad pack beside a good change changes nothing at all
    with pytest.raises(InvalidRequest, match="a pack holds 2 to 1,000,000 single units"):
        update_product(app, "24776", {"name": "Other", "packs": {"PL": 0}})
    assert product_view(app, "24776")["name"] == "Tomatoes"
    assert set_packs(app, "24776", {"PL": None}) == {"BX": 6}  # set_packs is told too
    assert payloads(app, "product_changed")[-1]["changes"] == {
        "packs": {"from": {"BX": 6, "PL": 480}, "to": {"BX": 6}}
    }


def test_a_product_has_at_most_so_many_packs(app: Backorder) -> None:
    many = {f"U{n}": n + 2 for n in range(MAX_PACKS)}
    add_product(app, product("24776"), many)
    with pytest.raises(InvalidRequest, match=f"at most {MAX_PACKS}; clear one with UNIT= first"):
        update_product(app, "24776", {"packs": {"CA": 12}})
    assert len(_packs(app, "24776")) == MAX_PACKS


def test_stock_and_queues_stay_in_single_units(app: Backorder) -> None:
    add_product(app, product("24776"), {"CA": 12})
    receive_stock(app, "24776", 30)
    assert stock_view(app, "24776")["on_hand"] == 30  # not 30 cases
    cases = order("PO-1", ("24776", 3))
    cases = replace(cases, lines=(replace(cases.lines[0], ordered=OrderedAs(3, "CA")),))
    place_order(app, cases)
    (line,) = order_view(app, "web:PO-1")["lines"]
    assert (line["quantity"], line["allocated"], line["backordered"]) == (36, 30, 6)
    (waiting,) = queue_view(app, "24776")["entries"]
    assert waiting["backordered"] == 6  # the queue waits for units, not half a case


def test_packs_are_written_unit_equals_n_and_a_cell_is_the_whole_list() -> None:
    assert parse_packs(["ca=12", " PL = 480 "]) == {"CA": 12, "PL": 480}
    assert parse_packs(["CA="]) == {"CA": None}
    assert parse_cell("CA=12 PL=480") == parse_cell(" CA=12;PL=480 ") == {"CA": 12, "PL": 480}
    assert parse_cell("") == parse_cell("  ") == {}
    for bad, says in (
        ("CA", "write UNIT=N, as CA=12"),
        ("CA=x", "N is a whole number"),
        ("CA=12 CA=6", "pack CA is given twice"),
        ("EA=12", "unit EA is a single unit"),
        ("CA=1", "pack CA=1 is a single unit: leave the pack out"),
        ("CA=-3", "N is a whole number"),
        ("CA=12,PL=480", "N is a whole number"),
    ):
        with pytest.raises(InvalidRequest, match=says):
            parse_cell(bad)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "products.csv"
    path.write_text(text)
    return path


def test_the_csv_packs_column_is_the_whole_list_and_an_absent_column_keeps_them(
    app: Backorder, tmp_path: Path
) -> None:
    add_product(app, product("A"), {"CA": 12, "PL": 480})
    add_product(app, product("B"), {"CA": 6})
    add_product(app, product("C"), {"CA": 24})
    rows = "sku,name,price,packs\nA,A,1.00,CA=10\nB,B,1.00,\nC,C,1.00,CA=24\nN,New,2.00,BX=4;CA=8\n"
    result = import_products(app, read_product_csv(_csv(tmp_path, rows)))
    assert (result.added, result.updated) == (1, 3)
    assert _packs(app, "A") == {"CA": 10}  # PL left out of the cell: cleared
    assert _packs(app, "B") == {}  # an empty cell: no packs
    assert _packs(app, "C") == {"CA": 24}
    assert _packs(app, "N") == {"BX": 4, "CA": 8}
    told = {p["sku"]: p["changes"] for p in payloads(app, "product_changed")}
    assert told["A"]["packs"] == {"from": {"CA": 12, "PL": 480}, "to": {"CA": 10}}
    assert told["B"]["packs"] == {"from": {"CA": 6}, "to": {}}
    assert "packs" not in told["C"]  # the same list: unchanged
    assert payloads(app, "product_added")[-1]["packs"] == {"BX": 4, "CA": 8}

    import_products(app, read_product_csv(_csv(tmp_path, "sku,name,price\nA,A,3.00\n")))
    assert _packs(app, "A") == {"CA": 10}  # no packs column: kept
    assert product_view(app, "A")["price"] == "3.00"


def test_a_bad_packs_cell_names_its_row_and_nothing_is_imported(
    app: Backorder, tmp_path: Path
) -> None:
    add_product(app, product("A"), {"CA": 12})
    rows = "sku,name,price,packs\nA,A,1.00,\nB,B,1.00,CA=twelve\nC,C,1.00,EA=6\n"
    with pytest.raises(InvalidRequest) as refused:
        import_products(app, read_product_csv(_csv(tmp_path, rows)))
    said = str(refused.value)
    assert "row 3: pack 'CA=twelve': N is a whole number of single units" in said
    assert "row 4: unit EA is a single unit: it has no pack size" in said
    assert _packs(app, "A") == {"CA": 12} and _count(app) == (1, 1)


def _order(external_id: str, **line: object) -> str:
    return json.dumps(
        {
            "channel": "edi",
            "external_id": external_id,
            "placed_at": datetime(2026, 12, 1, tzinfo=UTC).isoformat(),
            "customer": {"id": "acme", "email": "buyer@acme.example"},
            "lines": [{"sku": "24776", "unit_price": "30.00"} | line],
        }
    )


def test_an_order_in_cases_waits_for_the_pack_then_is_placed_on_replay(app: Backorder) -> None:
    add_product(app, product("24776", unit_price=Decimal("2.50")))
    receive_stock(app, "24776", 100)
    (dead,) = ingest(app, "canonical", _order("PO-7", quantity=12, unit="CA"))
    assert dead.state == "dead"
    assert dead.reasons == [
        "unit CA has no pack size for SKU 24776: backorder product update 24776 --pack CA=N"
    ]
    update_product(app, "24776", {"packs": parse_packs(["CA=12"])})
    (placed,) = replay(app, dead.id)
    assert (placed.state, placed.ref) == ("accepted", "edi:PO-7")
    (line,) = order_view(app, "edi:PO-7")["lines"]
    assert (line["quantity"], line["allocated"], line["backordered"]) == (144, 100, 44)
    assert line["ordered"] == {"quantity": 12, "unit": "CA", "pack": 12}
    assert line["unit_price"] == "2.50"
