"""A substitute offer as the customer's order page says it: "2 x Filter FLT-10 is still on
its way (expected by Friday 24 January). We can send 2 x Filter FLT-12 now instead, at the
same price." Only offers the customer can still take are shown."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from backorder import words
from backorder.domain.units import ordered_as, part_in_words

TIMES = "\u00d7"


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def offer_rows(
    offers: list[dict[str, Any]], view: dict[str, Any], locale: str, now: datetime
) -> list[dict[str, Any]]:
    """The open offers of the order, in words, for lines that still wait."""
    waiting = {line["line"]: line for line in view["lines"] if line["backordered"]}
    today = now.date()
    rows = []
    for offer in offers:
        line = waiting.get(offer["line"])
        if offer["state"] != "offered" or line is None:
            continue
        if datetime.fromisoformat(offer["expires_at"]) <= now:
            continue
        units = min(offer["units"], line["backordered"])
        expected = _day(line.get("told") or line.get("eta"))
        name = line.get("name") or line["sku"]
        price = Decimal(str(line.get("unit_price") or 0))
        rows.append(
            {
                "line": offer["line"],
                "item": f"{part_in_words(units, ordered_as(line.get('ordered')))} {TIMES} {name}",
                "name": name,
                "eta": words.day(expected, locale, today) if expected else None,
                "substitute": f"{units} {TIMES} {offer['substitute_name']}",
                "substitute_name": offer["substitute_name"],
                "price": words.money(price, view["currency"], locale),
                "until": words.day(_day(offer["expires_at"]) or today, locale, today),
            }
        )
    return rows


def answered(offers: list[dict[str, Any]], view: dict[str, Any], line: str) -> str | None:
    """What the customer just answered (the redirect after the form names the line)."""
    offer = next((o for o in offers if str(o["line"]) == line), None)
    if offer is None:
        return None
    lines = {ln["line"]: ln for ln in view["lines"]}
    name = (lines.get(offer["line"]) or {}).get("name") or "it"
    if offer["state"] == "accepted":
        new = lines.get(offer["new_line"]) or {}
        units = new.get("quantity", offer["units"])
        return (
            f"Done: we will send {units} {TIMES} {offer['substitute_name']} instead of {name}, "
            "at the same price."
        )
    if offer["state"] == "declined":
        return f"No problem: {name} stays on order, and ships as soon as it arrives."
    return None
