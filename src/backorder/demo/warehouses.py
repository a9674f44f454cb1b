"""The demo's other warehouses, as they speak to us: the East Coast 3PL sends a morning
inventory snapshot (a CSV drop) and an X12 945 for every order it ships; Amazon sends the
MCF fulfilment order of every order its centres ship. All of it comes in through the
governed intake (stored, read, applied, dead-lettered if bad), like a real sender's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

# How the senders name themselves and our locations.
THREE_PL = "3pl-east"
THREE_PL_CODE = "SB-EAST"  # the 3PL's own name for its warehouse (an alias of 3pl-east)
FBA = "fba-us"
MCF_LOCATION = "mcf"  # the MCF adapter names every Amazon shipment's location `mcf`


@dataclass(frozen=True)
class Held:
    """What one order holds at one location: (SKU, units) per line."""

    order_ref: str
    lines: tuple[tuple[str, int], ...]


def snapshot_csv(counts: dict[str, int], as_of: datetime) -> str:
    """The 3PL's count of everything it holds for us, as of its morning cycle count."""
    stamp = as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [f"{sku},{THREE_PL_CODE},{units},{stamp}" for sku, units in sorted(counts.items())]
    return "\n".join(["sku,location,on_hand,as_of", *rows]) + "\n"


def x12_945(held: Held, shipment: str, tracking: str, control: int, when: datetime) -> str:
    """The 3PL's warehouse shipping advice for one order it shipped complete."""
    day, time = when.strftime("%Y%m%d"), when.strftime("%H%M")
    body = [
        f"ST*945*{control % 10000:04d}",
        f"W06*F*{held.order_ref}*{day}*{shipment}",
        f"N1*SF*East Coast 3PL*ZZ*{THREE_PL_CODE}",
        f"N9*2I*{tracking}",
        "W27*M*UPSN*UPS Ground",
    ]
    for number, (sku, units) in enumerate(held.lines, start=1):
        body += [f"LX*{number}", f"W12*CC*{units}*{units}**EA**SK*{sku}"]
    body.append(f"W03*{sum(units for _, units in held.lines)}")
    body.append(f"SE*{len(body) + 1}*{control % 10000:04d}")
    segments = [
        f"ISA*00*          *00*          *ZZ*{THREE_PL_CODE:<15}*ZZ*{'BACKORDER':<15}*"
        f"{when:%y%m%d}*{time}*U*00401*{control:09d}*0*P*>",
        f"GS*SW*{THREE_PL_CODE}*BACKORDER*{day}*{time}*{control}*X*004010",
        *body,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return "~\n".join(segments) + "~\n"


def mcf_order(held: Held, shipment: str, tracking: str, when: datetime) -> str:
    """Amazon's fulfilment order (SP-API getFulfillmentOrder) once its one shipment left."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    items = [
        {"sellerSku": sku, "sellerFulfillmentOrderItemId": str(n), "quantity": units}
        for n, (sku, units) in enumerate(held.lines, start=1)
    ]
    return json.dumps(
        {
            "payload": {
                "fulfillmentOrder": {
                    "sellerFulfillmentOrderId": held.order_ref,
                    "fulfillmentOrderStatus": "COMPLETE",
                    "statusUpdatedDate": stamp,
                },
                "fulfillmentOrderItems": [item | {"unfulfillableQuantity": 0} for item in items],
                "fulfillmentShipments": [
                    {
                        "amazonShipmentId": shipment,
                        "fulfillmentShipmentStatus": "SHIPPED",
                        "shippingDate": stamp,
                        "estimatedArrivalDate": (when + timedelta(days=2)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "fulfillmentShipmentItem": [item | {"packageNumber": 1} for item in items],
                        "fulfillmentShipmentPackage": [
                            {"packageNumber": 1, "carrierCode": "AMZL", "trackingNumber": tracking}
                        ],
                    }
                ],
            }
        }
    )
