"""Purchase orders sent to suppliers: an X12 850, the same as JSON (a signed webhook's body,
and what an e-mail's PDF and CSV are made from), a CSV and the e-mail itself. Pure: the
caller gives the numbers (the control number is the document's id, so every attempt sends
the same bytes).

The 850 (version 004010): ISA/GS (GS01 `PO`) around one ST 850 set: `BEG*<purpose>*SA*<PO
number>**<date>`: BEG01 `00` (original) or `01` (cancellation: the whole purchase order is
withdrawn), BEG02 `SA` (stand-alone order), BEG03 our purchase order's reference (22
characters at most in X12 4010; a longer one goes whole in `REF*PO`), BEG05 the day it was
made; `CUR*BY*<currency>`; `N1*ST*<location>*92*<code>` (ship to, by our code) and
`N1*SE*<supplier>*92*<id>` (the seller, by our id for it); then per line `PO1*<n>*<units>*EA*
<unit price>*PE*BP*<SKU>` (the buyer's part number is our SKU; the price is left out when we
do not know it) and `DTM*002*<date>` (delivery requested: the line's expected date);
`CTT*<lines>*<total units>` and the trailers with their counts. The separators are `*`, `>`
and `~`; a value holding one of them loses it.

In JSON a purchase order is `{"type": "purchase_order" | "purchase_order_cancel", "po",
"supplier": {id, name}, "ship_to", "currency", "created_at", "lines": [{line, sku, name,
units, unit_cost, expected_on}], "total"}`."""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from backorder.notify import email as mail

FORMATS = ("x12-850", "email", "webhook", "none")
REF_MAX = 22  # BEG03 in X12 004010
SENDER = "BACKORDER"
MEDIA = {"x12-850": "application/edi-x12", "webhook": "application/json"}


@dataclass(frozen=True)
class PoLine:
    sku: str
    name: str
    units: int
    unit_cost: Decimal | None
    expected_on: date


@dataclass(frozen=True)
class PurchaseOrder:
    ref: str
    supplier: str  # our id for it
    supplier_name: str
    location: str  # our code of where it arrives
    currency: str
    lines: tuple[PoLine, ...]
    cancel: bool = False  # a cancellation of the whole purchase order

    @property
    def total(self) -> Decimal | None:
        if any(line.unit_cost is None for line in self.lines):
            return None
        return sum((line.units * (line.unit_cost or Decimal(0)) for line in self.lines), Decimal(0))


def _clean(value: str) -> str:
    return "".join(c for c in value if c.isprintable() and c not in "*>~^").strip()


def x12_850(po: PurchaseOrder, control: int, now: datetime) -> str:
    """The 850 of one purchase order (or its cancellation), numbered `control`."""
    number = f"{control % 10**9:09d}"
    receiver = _clean(po.supplier.upper())[:15]
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", SENDER.ljust(15), "ZZ", receiver.ljust(15),
        now.strftime("%y%m%d"), now.strftime("%H%M"), "U", "00401", number, "0", "P", ">",
    ]  # fmt: skip
    gs = ["GS", "PO", SENDER, receiver, now.strftime("%Y%m%d"), now.strftime("%H%M"),
          str(control % 10**9), "X", "004010"]  # fmt: skip
    ref = _clean(po.ref)
    body = [
        ["ST", "850", "0001"],
        ["BEG", "01" if po.cancel else "00", "SA", ref[:REF_MAX], "", now.strftime("%Y%m%d")],
    ]
    if len(ref) > REF_MAX:
        body.append(["REF", "PO", ref])
    body += [
        ["CUR", "BY", _clean(po.currency)],
        ["N1", "ST", _clean(po.location)[:60], "92", _clean(po.location)],
        ["N1", "SE", _clean(po.supplier_name)[:60] or "(no name)", "92", _clean(po.supplier)],
    ]
    for n, line in enumerate(po.lines, start=1):
        price = f"{line.unit_cost:.2f}" if line.unit_cost is not None else ""
        basis = "PE" if price else ""
        body.append(["PO1", str(n), str(line.units), "EA", price, basis, "BP", _clean(line.sku)])
        body.append(["DTM", "002", line.expected_on.strftime("%Y%m%d")])
    body.append(["CTT", str(len(po.lines)), str(sum(line.units for line in po.lines))])
    body.append(["SE", str(len(body) + 1), "0001"])
    segments = [isa, gs, *body, ["GE", "1", str(control % 10**9)], ["IEA", "1", number]]
    return "".join("*".join(segment) + "~\n" for segment in segments)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def as_json(po: PurchaseOrder, now: datetime) -> str:
    return json.dumps(
        {
            "type": "purchase_order_cancel" if po.cancel else "purchase_order",
            "po": po.ref,
            "supplier": {"id": po.supplier, "name": po.supplier_name},
            "ship_to": po.location,
            "currency": po.currency,
            "created_at": now.isoformat(),
            "lines": [
                {
                    "line": n,
                    "sku": line.sku,
                    "name": line.name,
                    "units": line.units,
                    "unit_cost": _money(line.unit_cost),
                    "expected_on": line.expected_on.isoformat(),
                }
                for n, line in enumerate(po.lines, start=1)
            ],
            "total": _money(po.total),
        },
        separators=(",", ":"),
    )


def from_json(text: str) -> tuple[PurchaseOrder, datetime]:
    """The purchase order a JSON document (as_json) holds, and when it was made."""
    data: dict[str, Any] = json.loads(text)
    lines = tuple(
        PoLine(
            sku=line["sku"],
            name=line["name"],
            units=int(line["units"]),
            unit_cost=Decimal(line["unit_cost"]) if line["unit_cost"] is not None else None,
            expected_on=date.fromisoformat(line["expected_on"]),
        )
        for line in data["lines"]
    )
    po = PurchaseOrder(
        ref=data["po"],
        supplier=data["supplier"]["id"],
        supplier_name=data["supplier"]["name"],
        location=data["ship_to"],
        currency=data["currency"],
        lines=lines,
        cancel=data["type"] == "purchase_order_cancel",
    )
    return po, datetime.fromisoformat(data["created_at"])


def as_csv(po: PurchaseOrder) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["po", "line", "sku", "name", "units", "unit_cost", "currency", "expected_on"])
    for n, line in enumerate(po.lines, start=1):
        writer.writerow(
            [
                po.ref,
                n,
                line.sku,
                line.name,
                line.units if not po.cancel else 0,
                _money(line.unit_cost) or "",
                po.currency,
                line.expected_on.isoformat(),
            ]
        )
    return out.getvalue()


def text_body(po: PurchaseOrder, shop: str) -> tuple[str, str]:
    """The e-mail's subject and plain text."""
    if po.cancel:
        subject = f"Cancelled: purchase order {po.ref}"
        lead = f"Please cancel our purchase order {po.ref} in full; nothing more of it is wanted."
    else:
        subject = f"Purchase order {po.ref}"
        lead = f"Please deliver to {po.location}, as below (also attached as PDF and CSV)."
    rows = [
        f"- {line.sku} {line.name}: {line.units} units"
        + (f" at {po.currency} {line.unit_cost:.2f}" if line.unit_cost is not None else "")
        + f", by {line.expected_on.isoformat()}"
        for line in po.lines
    ]
    total = po.total
    money = f"\nTotal: {po.currency} {total:.2f}" if total is not None and not po.cancel else ""
    return subject, f"{lead}\n\n" + "\n".join(rows) + f"{money}\n\n{shop}\n"


def message(
    po: PurchaseOrder, parts: tuple[str, str, bytes], addresses: tuple[str, str], message_id: str
) -> EmailMessage:
    """The e-mail to the supplier: plain text, the PDF and the CSV attached. `parts` is
    (shop name, CSV, PDF); `addresses` (from, to)."""
    shop, csv_text, pdf = parts
    sender, to = addresses
    subject, text = text_body(po, shop)
    page = f'<pre style="font-family: sans-serif">{html.escape(text)}</pre>'
    made = mail.compose(sender, to, subject, text, page, message_id, mail.message_domain(sender))
    stem = f"{_clean(po.ref)}{'-cancel' if po.cancel else ''}"
    made.add_attachment(pdf, "application", "pdf", filename=f"{stem}.pdf")
    made.add_attachment(csv_text.encode(), "text", "csv", filename=f"{stem}.csv")
    return made
