"""ANSI X12 945 warehouse shipping advice: a 3PL says an order (ours: the shipping order we
sent it as a 940) left its warehouse.

Read from the 945: `W06-02` depositor order number (our order reference, as the 940's
`W05-02` carried it), `W06-03` the shipment date (CCYYMMDD; a `G62*11` shipped-on date and
time, when present, is used instead), `W06-04` the warehouse's shipment id (a second
confirmation of it ships nothing), `N1*SF` ship-from (`N104` the warehouse's code, else
`N102` its name, else the interchange sender `ISA06`): the location the intake resolves
through the location's code or an alias, `W27-02` the carrier (SCAC), the tracking from
`N9` with qualifier `2I` (tracking number), else `CN` (carrier's PRO), else `BM` (bill of
lading), and each `W12` detail: `W12-03` units shipped, `W12-05` unit (each: `EA` or `UN`;
a pack unit is refused, as units a shipment cannot be read in), `W12-08` the SKU (else
`W12-06`, the UPC, as `upc:<code>` for the alias table). A W12 with nothing shipped is
skipped; `W03-01`, when present, must total the units shipped. The 997 answering a 945
checks each set with this reader."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

from backorder.intake.base import Payload, Unreadable
from backorder.intake.confirmations import Ignored
from backorder.intake.feeds import ShipmentConfirmation, Units
from backorder.intake.x12 import (
    Interchange,
    Segment,
    SegmentError,
    SetError,
    TransactionSet,
    acknowledgement,
    one_set,
    parse,
    split_sets,
)

EACH = {"EA", "UN", ""}
TRACKING = ("2I", "CN", "BM")  # N9 qualifiers, in the order a tracking number is taken


def _ident(interchange: Interchange, tset: TransactionSet) -> str | None:
    w06 = next((s for s in tset.segments if s.tag == "W06"), None)
    if w06 is None or not w06.get(2):
        return None
    return f"{w06.get(2)}/{w06.get(4)}" if w06.get(4) else w06.get(2)


def _date(text: str, time: str = "") -> datetime:
    """CCYYMMDD (and HHMM) as UTC; ValueError when it is none."""
    if not (len(text) == 8 and text.isascii() and text.isdigit()):
        raise ValueError(text)
    day = datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    if len(time) >= 4 and time[:4].isascii() and time[:4].isdigit():
        day = day.replace(hour=int(time[:2]), minute=int(time[2:4]))
    return day


def read_945(interchange: Interchange, tset: TransactionSet) -> ShipmentConfirmation:
    """The shipment one 945 confirms."""
    if tset.kind != "945":
        raise SetError(f"transaction set {tset.kind or '(none)'} is not a shipping advice (945)", 1)
    segments = tset.segments
    where = {id(s): n for n, s in enumerate(segments, start=1)}

    def fault(segment: Segment, element: int, code: int, message: str) -> SegmentError:
        return SegmentError(message, segment.tag, where[id(segment)], 8, element, code)

    def first(tag: str, qualifier: str | None = None) -> Segment | None:
        return next(
            (s for s in segments if s.tag == tag and (qualifier is None or s.get(1) == qualifier)),
            None,
        )

    w06 = first("W06")
    if w06 is None:
        raise SegmentError("no W06 segment (the shipment's identification)", "W06", 2, 3)
    order_ref = w06.get(2)
    if not order_ref:
        raise fault(w06, 2, 1, "W06-02: no depositor order number (our order reference)")
    g62 = first("G62", "11")
    try:
        shipped_at = _date(g62.get(2), g62.get(4)) if g62 else _date(w06.get(3))
    except ValueError:
        raise fault(w06, 3, 8, f"W06-03 {w06.get(3)!r} is not a date (CCYYMMDD)") from None
    ship_from = first("N1", "SF")
    location = (ship_from.get(4) or ship_from.get(2)) if ship_from else ""
    location = location or interchange.isa.get(6)
    if not location:
        raise SegmentError("no N1*SF ship-from warehouse, and no ISA sender", "N1", 3, 3)
    tracking = next(
        (
            s.get(2)
            for q in TRACKING
            for s in segments
            if s.tag == "N9" and s.get(1) == q and s.get(2)
        ),
        None,
    )
    w27 = first("W27")
    lines: list[Units] = []
    for w12 in (s for s in segments if s.tag == "W12"):
        units_text = w12.get(3) or "0"
        if not (units_text.isascii() and units_text.isdigit()):
            raise fault(w12, 3, 6, f"W12-03 {units_text!r} is not a whole number of units")
        if w12.get(5).upper() not in EACH:
            raise fault(w12, 5, 7, f"W12-05 {w12.get(5)!r}: shipments are confirmed in each (EA)")
        sku = w12.get(8) or (f"upc:{w12.get(6)}" if w12.get(6) else "")
        if not sku:
            raise fault(w12, 8, 1, "W12-08: no SKU (and no UPC in W12-06)")
        if int(units_text):
            lines.append(Units(sku, int(units_text)))
    if not [s for s in segments if s.tag == "W12"]:
        raise SegmentError("no W12 detail lines", "W12", len(segments), 3)
    w03 = first("W03")
    total = sum(line.units for line in lines)
    if w03 is not None and w03.get(1) and w03.get(1) != str(total):
        raise fault(w03, 1, 7, f"W03-01 totals {w03.get(1)} units; the W12 lines ship {total}")
    if not lines:
        raise Ignored(f"945 for {order_ref}: no units shipped")
    return ShipmentConfirmation(
        location=location,
        shipped_at=shipped_at,
        order_ref=order_ref,
        lines=tuple(lines),
        tracking=tracking,
        carrier=(w27.get(2) or None) if w27 else None,
        reference=w06.get(4) or None,
    )


def _check(interchange: Interchange, tset: TransactionSet) -> None:
    """A set as its 997 judges it: one that ships nothing was read, and is accepted."""
    with suppress(Ignored):
        read_945(interchange, tset)


class X12ShippingAdvice:
    channel = "x12-945"

    def split(self, text: str) -> list[Payload]:
        return split_sets(text, _ident)

    def read(self, payload: Payload) -> ShipmentConfirmation:
        interchange, tset = one_set(payload.text)
        return read_945(interchange, tset)

    def acknowledge(self, text: str, control: int, now: datetime) -> str | None:
        """The 997 answering a delivery of 945s, or None when it has no readable ISA."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return None
        answers = [acknowledgement(i, control + n, now, _check) for n, i in enumerate(interchanges)]
        return "".join(answers) or None


ADAPTER = X12ShippingAdvice()
