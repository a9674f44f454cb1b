"""Amazon Multi-Channel Fulfillment: the SP-API Fulfillment Outbound `getFulfillmentOrder`
response (`{"payload": {...}}`, or its payload alone) read into shipment confirmations.

`fulfillmentOrder.sellerFulfillmentOrderId` is our order reference (we name MCF orders by
it); each of `fulfillmentShipments[]` is one payload (id `<order>/<amazonShipmentId>`), and
one with `fulfillmentShipmentStatus` `SHIPPED` confirms its `fulfillmentShipmentItem[]`
(`sellerSku`, `quantity`, summed per SKU) as shipped on `shippingDate`, with the first
package's `carrierCode` and the packages' `trackingNumber`s. A shipment PENDING or
cancelled, and a `FULFILLMENT_ORDER_STATUS` notification (it lists no items: fetch the
order), are `Ignored`. Amazon names fulfilment centres, not our locations: every MCF
confirmation names the location `mcf`, which the intake resolves through a location coded
`mcf` or an alias `mcf` of the seller's FBA location."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backorder.intake.base import Payload, Unreadable, load_json, need, split_json, text_of
from backorder.intake.confirmations import Ignored
from backorder.intake.feeds import ShipmentConfirmation, Units

LOCATION = "mcf"
MAX_SHIPMENTS = 1_000


def _order(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise Unreadable("an MCF fulfilment order is a JSON object")
    if "NotificationType" in document or "notificationType" in document:
        kind = document.get("NotificationType") or document.get("notificationType")
        raise Ignored(f"{kind} notification: it lists no items; fetch the order instead")
    inner = document.get("payload", document)
    if not isinstance(inner, dict):
        raise Unreadable("payload must be a JSON object")
    return inner


def _shipments(inner: dict[str, Any]) -> list[Any]:
    found = inner.get("fulfillmentShipments") or []
    if not isinstance(found, list):
        raise Unreadable("fulfillmentShipments must be a list")
    return found[:MAX_SHIPMENTS]


def _time(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(f"{where} {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Unreadable(f"{where} {value!r} has no time zone")
    return moment


class McfAdapter:
    channel = "mcf"

    def split(self, text: str) -> list[Payload]:
        """One payload per shipment of the order (all of them: the ignored ones are kept
        too); an order with none, or text that is no order, is one payload."""
        parts = split_json(text, lambda _: None)
        if len(parts) != 1:
            return parts
        try:
            inner = _order(load_json(text))
            ref = text_of(need(inner, "fulfillmentOrder", "sellerFulfillmentOrderId"))
            ids = [text_of(s.get("amazonShipmentId")) for s in _shipments(inner)]
        except (Unreadable, AttributeError):
            return [Payload(text, None)]
        if not ids or None in ids:
            return [Payload(text, ref)]
        return [Payload(text, f"{ref}/{shipment}") for shipment in ids]

    def read(self, payload: Payload) -> ShipmentConfirmation:
        inner = _order(load_json(payload.text))
        ref = text_of(need(inner, "fulfillmentOrder", "sellerFulfillmentOrderId"))
        if ref is None:
            raise Unreadable("missing fulfillmentOrder.sellerFulfillmentOrderId")
        shipments = [s for s in _shipments(inner) if isinstance(s, dict)]
        wanted = (payload.external_id or "").partition("/")[2]
        if wanted:
            shipments = [s for s in shipments if text_of(s.get("amazonShipmentId")) == wanted]
        if len(shipments) != 1:
            raise Ignored(f"MCF order {ref}: {len(shipments)} shipments; one confirms at a time")
        shipment = shipments[0]
        ident = text_of(shipment.get("amazonShipmentId"))
        status = text_of(shipment.get("fulfillmentShipmentStatus"))
        if status != "SHIPPED":
            raise Ignored(
                f"MCF order {ref}, shipment {ident}: {status or 'no status'}, not shipped"
            )
        units: dict[str, int] = {}
        for n, item in enumerate(shipment.get("fulfillmentShipmentItem") or []):
            where = f"fulfillmentShipmentItem[{n}]"
            sku = text_of(need(item, "sellerSku"))
            quantity = need(item, "quantity")
            if sku is None or type(quantity) is not int or quantity < 0:
                raise Unreadable(f"{where}: a sellerSku and a whole quantity")
            if quantity:
                units[sku] = units.get(sku, 0) + quantity
        if not units:
            raise Unreadable(f"MCF order {ref}, shipment {ident}: shipped, but lists no units")
        packages = [
            p for p in shipment.get("fulfillmentShipmentPackage") or [] if isinstance(p, dict)
        ]
        tracking = ", ".join(t for p in packages if (t := text_of(p.get("trackingNumber")))) or None
        carrier = text_of(packages[0].get("carrierCode")) if packages else None
        return ShipmentConfirmation(
            location=LOCATION,
            shipped_at=_time(need(shipment, "shippingDate"), "shippingDate"),
            order_ref=ref,
            lines=tuple(Units(sku, n) for sku, n in units.items()),
            tracking=tracking[:128] if tracking else None,
            carrier=carrier,
            reference=ident,
        )


ADAPTER = McfAdapter()
