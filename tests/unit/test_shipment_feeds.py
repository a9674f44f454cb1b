"""Shipment confirmations read from a 3PL's X12 945 and Amazon MCF's fulfilment order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backorder.intake.base import Unreadable
from backorder.intake.confirmations import Ignored
from backorder.intake.feeds import Units
from backorder.intake.shipment_feeds import CONFIRMATION_ADAPTERS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"
X12 = CONFIRMATION_ADAPTERS["x12-945"]
MCF = CONFIRMATION_ADAPTERS["mcf"]


def edi() -> str:
    return (FIXTURES / "945_two_lines.edi").read_text()


def test_a_945_confirms_its_lines_from_the_ship_from_warehouse() -> None:
    [payload] = X12.split(edi())
    assert payload.external_id == "web:1001/SHP-88231"
    shipped = X12.read(payload)
    assert shipped.order_ref == "web:1001"
    assert shipped.location == "SB-EAST"
    assert shipped.lines == (Units("BOLT", 3), Units("NUT", 1))  # WASHER shipped none
    assert (shipped.carrier, shipped.tracking, shipped.reference) == (
        "UPSN",
        "1Z999AA10123456784",
        "SHP-88231",
    )
    assert shipped.shipped_at == datetime(2026, 12, 5, 17, 15, tzinfo=UTC)


def test_a_945_whose_totals_disagree_is_refused_and_its_997_says_where() -> None:
    text = edi().replace("W03*4*", "W03*5*")
    [payload] = X12.split(text)
    with pytest.raises(Unreadable, match="W03-01 totals 5 units; the W12 lines ship 4"):
        X12.read(payload)
    ack = X12.acknowledge(text, 7, datetime(2026, 12, 6, tzinfo=UTC))  # type: ignore[attr-defined]
    assert "AK2*945*0001~" in ack and "AK3*W03*15**8~" in ack and "AK5*R*5~" in ack
    good = X12.acknowledge(edi(), 7, datetime(2026, 12, 6, tzinfo=UTC))  # type: ignore[attr-defined]
    assert "AK5*A~" in good and "AK9*A*1*1*1~" in good


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("W06*F*web:1001*", "W06*F**"), "W06-02: no depositor order number"),
        (("*EA**SK*BOLT", "*CA**SK*BOLT"), "shipments are confirmed in each"),
        (("W12*CC*3*3*", "W12*CC*3*x*"), "W12-03 'x' is not a whole number"),
        (("ST*945*", "ST*940*"), "not a shipping advice"),
    ],
)
def test_a_945_that_cannot_be_read_says_why(change: tuple[str, str], words: str) -> None:
    [payload] = X12.split(edi().replace(*change))
    with pytest.raises(Unreadable, match=words):
        X12.read(payload)


def test_a_945_that_ships_nothing_is_ignored() -> None:
    text = edi().replace("W12*CC*3*3*", "W12*CC*3*0*").replace("W12*CP*2*1*", "W12*CP*2*0*")
    [payload] = X12.split(text.replace("W03*4*", "W03*0*"))
    with pytest.raises(Ignored):
        X12.read(payload)


def test_an_mcf_order_confirms_each_shipped_shipment_and_ignores_the_pending_one() -> None:
    text = (FIXTURES / "mcf_order.json").read_text()
    shipped, pending = MCF.split(text)
    assert (shipped.external_id, pending.external_id) == (
        "web:1002/Dk3nZ8LpQ",
        "web:1002/Tq7wB2xYc",
    )
    confirmed = MCF.read(shipped)
    assert confirmed.order_ref == "web:1002"
    assert confirmed.location == "mcf"
    assert confirmed.lines == (Units("BOLT", 3), Units("NUT", 1))
    assert confirmed.tracking == "1Z999AA10123456784, 1Z999AA10123456795"
    assert (confirmed.carrier, confirmed.reference) == ("UPS", "Dk3nZ8LpQ")
    assert confirmed.shipped_at == datetime(2026, 12, 5, 17, 40, tzinfo=UTC)
    with pytest.raises(Ignored, match="PENDING, not shipped"):
        MCF.read(pending)


def test_an_mcf_notification_is_ignored_and_a_broken_order_is_unreadable() -> None:
    note = {"NotificationType": "FULFILLMENT_ORDER_STATUS", "Payload": {}}
    [payload] = MCF.split(json.dumps(note))
    with pytest.raises(Ignored, match="fetch the order"):
        MCF.read(payload)
    [broken] = MCF.split('{"payload": {"fulfillmentShipments": []}}')
    with pytest.raises(Unreadable, match="sellerFulfillmentOrderId"):
        MCF.read(broken)
    document = json.loads((FIXTURES / "mcf_order.json").read_text())
    document["payload"]["fulfillmentShipments"][0]["shippingDate"] = "yesterday"
    first = MCF.split(json.dumps(document))[0]
    with pytest.raises(Unreadable, match="not an ISO 8601 time"):
        MCF.read(first)
