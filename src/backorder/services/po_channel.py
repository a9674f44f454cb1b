"""A supplier's settings for automatic purchase orders: its own auto-approve limit, and how
its purchase orders reach it (`po_format`: x12-850 or webhook, POSTed signed to the URL
`po_address`; email, to `po_address` or else the supplier's e-mail; none: placed by hand).
A signing secret is made when the first URL channel is set, and shown once."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, RowMapping, update

from backorder.canonical import is_address
from backorder.domain.errors import InvalidRequest
from backorder.notify.purchase_orders import FORMATS
from backorder.notify.webhooks import new_secret
from backorder.store.tables import suppliers

PO_CHANNEL_FIELDS = ("auto_approve_limit", "po_format", "po_address")
URL = re.compile(r"^https?://[^\s]{1,1990}$")
MAX_LIMIT = Decimal("999999999999.99")


def po_channel_view(row: RowMapping) -> dict[str, Any]:
    limit = row["auto_approve_limit"]
    return {
        "auto_approve_limit": None if limit is None else f"{limit:.2f}",
        "po_format": row["po_format"] or "none",
        "po_address": row["po_address"],
    }


def _check(merged: dict[str, Any], email: str | None) -> None:
    limit, fmt, address = (merged[k] for k in PO_CHANNEL_FIELDS)
    if limit is not None and not Decimal(0) <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"an auto-approve limit lies between 0 and {MAX_LIMIT}")
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown PO format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt in ("x12-850", "webhook") and not (address and URL.match(address)):
        raise InvalidRequest(f"{fmt} purchase orders go to an http(s) URL: give --po-to URL")
    if fmt == "email":
        to = address or email
        if not to or not is_address(to):
            raise InvalidRequest("e-mailed purchase orders need an address: give --po-to EMAIL")


def po_channel_changes(
    conn: Connection, current: RowMapping, changes: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Save a supplier's channel changes (checked together with what stays); the new
    signing secret, when one was made (shown once)."""
    if not changes:
        return {}
    merged = {k: current[k] for k in PO_CHANNEL_FIELDS} | changes
    merged["po_format"] = merged["po_format"] or "none"
    _check(merged, current["email"])
    values = dict(changes)
    made: dict[str, Any] = {}
    if merged["po_format"] in ("x12-850", "webhook") and not current["po_secret"]:
        values["po_secret"] = made["po_secret"] = new_secret()
    conn.execute(
        update(suppliers).where(suppliers.c.id == current["id"]).values(**values, updated_at=now)
    )
    return made
