"""CSV: one row per order line, rows of one order sharing its `order_id` (they need not be
next to each other). Headers, in any order:

    order_id, placed_at, customer_id, sku, quantity          required
    customer_name, email, phone, tier, currency, shipping,   optional; order fields are read
    preference, payment_timing, expedite, unit_price,        from the order's first row
    display_number, language, variant

`placed_at` is ISO 8601 with a time zone; `shipping` is standard or expedited; `expedite` is
true/false (also yes/no, 1/0); `unit_price` a decimal such as 19.99; `display_number` the
order's number as the customer knows it; `language` the customer's (en-GB, de, fr-CA);
`variant` the line's, as the shop names it."""

from __future__ import annotations

import csv
import io
from typing import Any

from backorder.intake.base import (
    Converted,
    Payload,
    Unreadable,
    language_of,
    money,
    text_of,
    words_of,
)

REQUIRED = ("order_id", "placed_at", "customer_id", "sku", "quantity")
ORDER_FIELDS = (
    "placed_at", "customer_id", "customer_name", "email", "phone", "tier", "currency",
    "shipping", "preference", "payment_timing", "expedite", "display_number", "language",
)  # fmt: skip
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
        rows = [
            row
            for row in reader
            if any(isinstance(value, str) and value.strip() for value in row.values())
        ]
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise Unreadable(f"not CSV: {error}") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise Unreadable(f"CSV header lacks {', '.join(missing)}")
    # Cells beyond the header (DictReader keeps them as a list under None) are ignored.
    clean = [
        {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)} for row in rows
    ]
    for number, row in enumerate(clean, start=2):
        if not row.get("order_id"):
            raise Unreadable(f"row {number}: no order_id")
    return header, clean


class CsvAdapter:
    channel = "csv"

    def split(self, text: str) -> list[Payload]:
        try:
            header, rows = _rows(text)
        except Unreadable:
            return [Payload(text, None)]
        if not rows:
            return [Payload(text, None)]
        orders: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            orders.setdefault(row["order_id"], []).append(row)
        payloads = []
        for order_id, lines in orders.items():
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(lines)
            payloads.append(Payload(out.getvalue(), order_id[:128]))
        return payloads

    def convert(self, payload: Payload) -> Converted:
        _, rows = _rows(payload.text)
        if not rows:
            raise Unreadable("no rows")
        first, warnings = rows[0], []
        if len({row["order_id"] for row in rows}) > 1:
            raise Unreadable("rows of more than one order")
        for name in ORDER_FIELDS:
            if len({row.get(name, "") for row in rows}) > 1:
                warnings.append(f"{name} differs between the order's rows; the first row's is used")
        expedite = first.get("expedite", "").lower()
        if expedite not in TRUE | FALSE:
            raise Unreadable(f"expedite {first['expedite']!r} is not true or false")
        order: dict[str, Any] = {
            "channel": self.channel,
            "external_id": first["order_id"],
            "display_number": words_of(first.get("display_number"), 64, "display_number", warnings),
            "placed_at": first["placed_at"],
            "customer": {
                "id": first["customer_id"],
                "name": first.get("customer_name", ""),
                "email": text_of(first.get("email")),
                "phone": text_of(first.get("phone")),
                "tier": first.get("tier") or "standard",
                "language": language_of(first.get("language"), "language", warnings),
            },
            "currency": first.get("currency") or "USD",
            "shipping": {
                "method": first.get("shipping") or "standard",
                "preference": first.get("preference") or "ship_available",
            },
            "payment_timing": first.get("payment_timing") or "at_order",
            "expedite": expedite in TRUE,
            "lines": [
                self._line(row, number, warnings) for number, row in enumerate(rows, start=1)
            ],
        }
        return Converted(order, warnings)

    @staticmethod
    def _line(row: dict[str, str], number: int, warnings: list[str]) -> dict[str, Any]:
        try:
            quantity: Any = int(row["quantity"])
        except ValueError:
            quantity = row["quantity"]  # the order's validation names it
        return {
            "sku": row["sku"],
            "quantity": quantity,
            "unit_price": money(row.get("unit_price"), f"line {number} unit_price"),
            "variant": words_of(row.get("variant"), 200, f"line {number} variant", warnings),
        }


ADAPTER = CsvAdapter()
