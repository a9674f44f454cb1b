"""Stock feeds as files and plain JSON: what a 3PL without EDI (or a spreadsheet) sends.

CSV (`stock-csv`), by its header:
- a snapshot: `sku,location,on_hand,as_of`; one file may hold several locations and times:
  each (location, as_of) is its own payload, a Snapshot;
- a receipt: `sku,location,units,received_at,reference`; each (location, reference) is its
  own payload, a Receipt.

JSON (`stock-json`, e.g. a ShipBob or ShipHero webhook relayed), one document or an array:
- a snapshot: `{"location": "SB-EAST", "as_of": "2026-12-06T08:00:00Z",
  "items": [{"sku": "TEE-M", "on_hand": 12}]}`;
- a receipt: `{"location": "SB-EAST", "received_at": "…", "reference": "ASN-1001",
  "lines": [{"sku": "TEE-M", "units": 24}]}`.

The external id names the document: a snapshot's `location@as_of#<content hash>` (two
snapshots of one location and time that count other SKUs are two documents), a receipt's
`location:reference`; the same document delivered again is a duplicate."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from backorder.intake.base import Payload, Unreadable, load_json, split_json
from backorder.intake.feed_fields import moment, name_of, sku_of, units
from backorder.intake.feeds import Count, FeedDocument, Receipt, Snapshot
from backorder.intake.feeds import Units as Moved

SNAPSHOT = ("sku", "location", "on_hand", "as_of")
RECEIPT = ("sku", "location", "units", "received_at", "reference")
MAX_ROWS = 100_000


def _table(text: str) -> tuple[tuple[str, ...], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise Unreadable("an empty CSV")
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header not in (SNAPSHOT, RECEIPT):
        raise Unreadable(
            f"CSV header {','.join(header)[:80]!r}: a snapshot is {','.join(SNAPSHOT)}, "
            f"a receipt {','.join(RECEIPT)}"
        )
    if len(rows) > MAX_ROWS:
        raise Unreadable(f"at most {MAX_ROWS:,} rows in one file")
    return header, rows[1:]


def _group_key(header: tuple[str, ...], row: list[str]) -> tuple[str, str] | None:
    if len(row) != len(header):
        return None
    cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
    if header == SNAPSHOT:
        return cells["location"], cells["as_of"]
    return cells["location"], cells["reference"]


class StockCsv:
    channel = "stock-csv"

    def split(self, text: str) -> list[Payload]:
        try:
            header, rows = _table(text)
        except (Unreadable, csv.Error):
            return [Payload(text, None)]
        groups: dict[tuple[str, str] | None, list[list[str]]] = {}
        for row in rows:
            groups.setdefault(_group_key(header, row), []).append(row)
        payloads = []
        for key, members in groups.items():
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(members)
            text_ = out.getvalue()
            ident = None if key is None else _ident(header == SNAPSHOT, key, text_)
            payloads.append(Payload(text_, ident))
        return payloads or [Payload(text, None)]

    def read(self, payload: Payload) -> FeedDocument:
        try:
            header, rows = _table(payload.text)
        except csv.Error as error:
            raise Unreadable(f"not CSV: {error}") from None
        if not rows:
            raise Unreadable("a CSV with a header and no rows")
        items = []
        for number, row in enumerate(rows, start=2):
            if len(row) != len(header):
                raise Unreadable(f"row {number}: {len(row)} fields, the header has {len(header)}")
            items.append(dict(zip(header, (cell.strip() for cell in row), strict=True)))
        keys = {_group_key(header, row) for row in rows}
        if len(keys) != 1:
            what = "location and as_of" if header == SNAPSHOT else "location and reference"
            raise Unreadable(f"one payload is one {what}; this holds {len(keys)}")
        if header == SNAPSHOT:
            return snapshot(items[0]["location"], items[0]["as_of"], items, "row")
        return receipt(items[0], items, "row")


def snapshot(location: Any, as_of: Any, items: list[Any], what: str) -> Snapshot:
    """A snapshot from its fields; each item a mapping with `sku` and `on_hand`."""
    counts = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise Unreadable(f"{what} {number}: not an object")
        where = f"{what} {number}"
        sku = sku_of(item.get("sku"), f"{where} sku")
        counts.append(Count(sku, units(item.get("on_hand"), f"{where} on_hand")))
    if not counts:
        raise Unreadable("a snapshot counts at least one SKU")
    return Snapshot(name_of(location, "location"), moment(as_of, "as_of"), tuple(counts))


def receipt(head: dict[str, Any], lines: list[Any], what: str) -> Receipt:
    """A receipt from its fields; each line a mapping with `sku` and `units`."""
    moved = []
    for number, item in enumerate(lines, start=1):
        if not isinstance(item, dict):
            raise Unreadable(f"{what} {number}: not an object")
        where = f"{what} {number}"
        sku = sku_of(item.get("sku"), f"{where} sku")
        moved.append(Moved(sku, units(item.get("units"), f"{where} units", positive=True)))
    if not moved:
        raise Unreadable("a receipt has at least one line")
    reference = str(head.get("reference") or "").strip()
    if not reference or len(reference) > 100:
        raise Unreadable("reference: the sender's receipt number, 1 to 100 characters")
    return Receipt(
        name_of(head.get("location"), "location"),
        moment(head.get("received_at"), "received_at"),
        reference,
        tuple(moved),
    )


def _ident(is_snapshot: bool, key: tuple[str, str], text: str) -> str:
    """A snapshot's `location@as_of#hash`, a receipt's `location:reference`."""
    if is_snapshot:
        return f"{key[0]}@{key[1]}#{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return f"{key[0]}:{key[1]}"


def _json_key(item: dict[str, Any]) -> str | None:
    """What split_json records until the payload's text is known (see StockJson.split)."""
    location = item.get("location")
    if "items" in item and item.get("as_of"):
        return json.dumps(["snapshot", str(location), str(item["as_of"])])
    if "lines" in item and item.get("reference"):
        return json.dumps(["receipt", str(location), str(item["reference"])])
    return None


class StockJson:
    channel = "stock-json"

    def split(self, text: str) -> list[Payload]:
        payloads = []
        for payload in split_json(text, _json_key):
            ident = None
            if payload.external_id is not None:
                kind, location, name = json.loads(payload.external_id)
                ident = _ident(kind == "snapshot", (location, name), payload.text)
            payloads.append(Payload(payload.text, ident))
        return payloads

    def read(self, payload: Payload) -> FeedDocument:
        document = load_json(payload.text)
        if not isinstance(document, dict):
            raise Unreadable("a stock document is a JSON object")
        if "items" in document:
            items = document["items"]
            if not isinstance(items, list):
                raise Unreadable("items must be a list")
            return snapshot(document.get("location"), document.get("as_of"), items, "item")
        if "lines" in document:
            lines = document["lines"]
            if not isinstance(lines, list):
                raise Unreadable("lines must be a list")
            return receipt(document, lines, "line")
        raise Unreadable("neither a snapshot (items) nor a receipt (lines)")


CSV_ADAPTER = StockCsv()
JSON_ADAPTER = StockJson()
