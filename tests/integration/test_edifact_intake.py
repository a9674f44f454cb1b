"""EDIFACT ORDERS through the governed intake on each backend: placed with their units
counted by pack (the buyer's, else the catalogue's), a message that cannot be read kept as a
dead letter with its reason, a CONTRL for every delivery, and an inbound CONTRL recorded,
never answered."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backorder.services.context import Backorder
from backorder.services.ingest import acknowledge, add_alias, health, ingest, replay
from backorder.services.products import add_product, set_packs
from backorder.services.stock import receive_stock
from backorder.services.views import order_view
from tests.factories import product
from tests.unit.test_edifact import CONTRL

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"
ORDERS = (FIXTURES / "edifact_orders.edi").read_text()


@pytest.fixture
def partner(app: Backorder) -> Backorder:
    for sku, price in (("IPOD-GREEN", "199"), ("IPOD-RED", "199"), ("CARTON", "35"),
                       ("BAG", "9.5")):  # fmt: skip
        add_product(app, product(sku, unit_price=Decimal(price)))
    receive_stock(app, "CARTON", 100)
    add_alias(app, "edifact", "upc:4006381333948", "CARTON")
    add_alias(app, "edifact", "upc:4006381333955", "BAG", "obrien")
    add_alias(app, "edifact", "in:ART-889", "IPOD-RED")
    return app


def test_orders_are_placed_in_single_units_and_the_unreadable_one_is_a_dead_letter(
    partner: Backorder,
) -> None:
    first, rush, no_uns = ingest(partner, "edifact", ORDERS, "obrien")
    assert (first.state, first.reasons) == (
        "dead",
        ["unit BG has no pack size for SKU BAG: backorder product update BAG --pack BG=N"],
    )
    assert (rush.state, rush.ref) == ("accepted", "edifact.obrien:5412345000013.PO-4712")
    assert no_uns.state == "dead" and no_uns.reasons == [
        "no UNS segment (the section control between the lines and the summary)"
    ]

    set_packs(partner, "BAG", {"BG": 5})
    (again,) = replay(partner, first.id)
    assert again.state == "accepted" and again.warnings == [
        "requested delivery 2026-12-01 (DTM+2) is not kept: an order here holds no delivery date"
    ]
    view = order_view(partner, "edifact.obrien:5412345000013.PO-4711")
    assert view["customer"]["name"] == "O'Brien Hardware GmbH"
    lines = [(x["sku"], x["quantity"], x["unit_price"], x["ordered"]) for x in view["lines"]]
    assert lines == [
        ("IPOD-GREEN", 12, "150.00", None),
        ("CARTON", 36, "30.00", {"quantity": 3, "unit": "CT", "pack": 12}),  # the buyer's pack
        ("BAG", 10, "9.10", {"quantity": 2, "unit": "BG", "pack": 5}),  # the catalogue's
    ]
    carton = next(x for x in view["lines"] if x["sku"] == "CARTON")
    assert carton["allocated"] == 36

    ack = acknowledge(partner, "edifact", ORDERS, [first.id]) or ""
    assert "UCI+IC4711+5412345000013:14+5400000000005:14+7'" in ack
    assert "UCM+3+ORDERS:D:93A:UN+4'\nUCS+7+13'" in ack
    # a message dead only for the business (its pack) was read: acknowledged, not rejected
    assert "UCM+1+ORDERS:D:96A:UN:EAN008+7'" in ack and ack.count("UCM+") == 3


def test_an_inbound_contrl_is_recorded_and_never_acknowledged(app: Backorder) -> None:
    (kept,) = ingest(app, "edifact", CONTRL, "acme")
    assert (kept.state, kept.ref, kept.topic) == ("accepted", None, "CONTRL")
    assert kept.outcome is not None
    assert kept.outcome.startswith("acknowledgement of interchange IC4711 (5400000000005)")
    assert acknowledge(app, "edifact", CONTRL, [kept.id]) is None  # no CONTRL for a CONTRL
    assert acknowledge(app, "edifact", ORDERS, [kept.id]) is not None  # orders are answered
    assert {s["channel"]: s["ignored"] for s in health(app)} == {"edifact": {"CONTRL": 1}}
