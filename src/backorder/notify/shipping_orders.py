"""Shipping orders sent to a 3PL or FBA location: an X12 940 warehouse shipping order, or
the same in JSON. Pure: the caller gives the numbers (the control number is the shipping
order's id, so every attempt sends the same document).

The 940 (version 004010): ISA/GS (GS01 `OW`) around one ST 940 set: `W05*N*<our order
ref>*<shipping order number>` (N: original), `N1*ST*<customer>` and `N4` with the order's
country (an order holds no street address: the 3PL has it from the shop), `N9*ZZ*<ship
complete or available>`, `G62*10*<date>` (requested ship date: the day it was made),
`W66*<PP>*<M>` (prepaid, motor), then per line `LX*<n>` and `W01*<units>*EA**SK*<SKU>`
(each, by our SKU), `W76*<total units>*<lines>` and the trailers with their counts. The
separators are `*`, `>` and `~`; a value holding one of them loses it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

FORMATS = ("x12-940", "json")
SENDER = "BACKORDER"
MEDIA = {"x12-940": "application/edi-x12", "json": "application/json"}


@dataclass(frozen=True)
class OrderLine:
    line: int
    sku: str
    units: int


@dataclass(frozen=True)
class ShippingOrder:
    number: str  # <order ref>-<location>-<n>
    order_ref: str
    location: str  # our location's code (the receiver)
    customer: str
    country: str | None
    ship_complete: bool
    lines: tuple[OrderLine, ...]


def _clean(value: str) -> str:
    return "".join(c for c in value if c.isprintable() and c not in "*>~^").strip()


def x12_940(order: ShippingOrder, control: int, now: datetime) -> str:
    """The 940 for one shipping order, numbered `control` (ISA13, GS06)."""
    number = f"{control % 10**9:09d}"
    receiver = _clean(order.location.upper())[:15]
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", SENDER.ljust(15), "ZZ", receiver.ljust(15),
        now.strftime("%y%m%d"), now.strftime("%H%M"), "U", "00401", number, "0", "P", ">",
    ]  # fmt: skip
    gs = ["GS", "OW", SENDER, receiver, now.strftime("%Y%m%d"), now.strftime("%H%M"),
          str(control % 10**9), "X", "004010"]  # fmt: skip
    body = [
        ["ST", "940", "0001"],
        ["W05", "N", _clean(order.order_ref), _clean(order.number)[:30]],
        ["N1", "ST", _clean(order.customer)[:60] or "(no name)"],
    ]
    if order.country:
        body.append(["N4", "", "", "", _clean(order.country)])
    body += [
        ["N9", "ZZ", "SHIP COMPLETE" if order.ship_complete else "SHIP AVAILABLE"],
        ["G62", "10", now.strftime("%Y%m%d")],
        ["W66", "PP", "M"],
    ]
    for n, line in enumerate(order.lines, start=1):
        body += [["LX", str(n)], ["W01", str(line.units), "EA", "", "SK", _clean(line.sku)]]
    body.append(["W76", str(sum(line.units for line in order.lines)), str(len(order.lines))])
    body.append(["SE", str(len(body) + 1), "0001"])
    segments = [isa, gs, *body, ["GE", "1", str(control % 10**9)], ["IEA", "1", number]]
    return "".join("*".join(segment) + "~\n" for segment in segments)


def json_order(order: ShippingOrder, now: datetime) -> str:
    """The same shipping order as JSON."""
    return json.dumps(
        {
            "type": "shipping_order",
            "number": order.number,
            "order_ref": order.order_ref,
            "location": order.location,
            "created_at": now.isoformat(),
            "ship_to": {"name": order.customer, "country": order.country},
            "ship_complete": order.ship_complete,
            "lines": [{"line": x.line, "sku": x.sku, "units": x.units} for x in order.lines],
        },
        separators=(",", ":"),
    )


def document(order: ShippingOrder, fmt: str, control: int, now: datetime) -> str:
    return x12_940(order, control, now) if fmt == "x12-940" else json_order(order, now)
