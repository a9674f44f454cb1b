"""A 3PL's X12 stock documents (channel `x12-3pl`), read with the X12 envelope of `x12`
and acknowledged by its 997:

- **846** Inventory Inquiry/Advice, a Snapshot: `BIA` (BIA03 the report's reference, BIA04
  and BIA05 its date and time), `DTM` (qualifier 405 or 007, the time the stock was counted,
  else BIA04/BIA05), `N1` (the warehouse: N104 its code, else N102 its name), then per item
  `LIN` (the SKU: the first id qualified VP, VN or SK; else a UPC `UP` or buyer's part `BP`
  as `upc:<id>` or `bp:<id>`, mapped by a SKU alias) and `QTY` (17 quantity on hand, else 33
  quantity available for sale).
- **944** Warehouse Stock Transfer Receipt Advice, a Receipt: `W17` (W1702 the date, W1703
  the warehouse receipt number), `DTM` (else that date), `N1` (the warehouse), and per line
  `W07` (W0701 units received, W0703 the UPC, W0704/W0705 a qualified id: VN, VP or SK is
  our SKU).

Dates are taken as UTC (a time in DTM03 or BIA05 as HHMM). The external id is
`<ISA06 sender>.<846|944>.<BIA03 or W1703>.<warehouse>`: the same report or receipt is applied
once."""

from __future__ import annotations

from datetime import UTC, datetime

from backorder.intake.base import Payload, Unreadable
from backorder.intake.feeds import Count, FeedDocument, Receipt, Snapshot, Units
from backorder.intake.x12 import (
    ADAPTER as ORDERS,
)
from backorder.intake.x12 import (
    Interchange,
    Reader,
    Segment,
    SegmentError,
    TransactionSet,
    acknowledgement,
    one_set,
    parse,
    split_sets,
)
from backorder.intake.x12_lines import OUR_PART, THEIR_PART

COUNTED = ("405", "007", "036")  # DTM01: as of, effective, report date
ON_HAND, AVAILABLE = "17", "33"


def _date(segment: Segment, date_at: int, time_at: int) -> datetime:
    date, clock = segment.get(date_at), segment.get(time_at)[:4]
    try:
        day = datetime.strptime(date, "%Y%m%d" if len(date) == 8 else "%y%m%d")
        if clock:
            day = day.replace(hour=int(clock[:2]), minute=int(clock[2:4] or 0))
    except ValueError:
        raise SegmentError(
            f"{segment.tag}{date_at:02d}: {date!r} is no date (CCYYMMDD)", segment.tag, 0, 8
        ) from None
    return day.replace(tzinfo=UTC)


def _find(tset: TransactionSet, tag: str) -> tuple[int, Segment] | None:
    for position, segment in enumerate(tset.segments, start=1):
        if segment.tag == tag:
            return position, segment
    return None


def _need(tset: TransactionSet, tag: str) -> tuple[int, Segment]:
    found = _find(tset, tag)
    if found is None:
        raise SegmentError(f"no {tag} segment", tag, 0, 3)
    return found


def _warehouse(tset: TransactionSet) -> str:
    position, n1 = _need(tset, "N1")
    name = n1.get(4) or n1.get(2)
    if not name:
        raise SegmentError("N1 names no warehouse (N104 or N102)", "N1", position, 8, 2, 1)
    return name


def _when(tset: TransactionSet, fallback: tuple[Segment, int, int]) -> datetime:
    for segment in tset.segments:
        if segment.tag == "DTM" and segment.get(1) in COUNTED and segment.get(2):
            return _date(segment, 2, 3)
    return _date(*fallback)


def _count(segment: Segment, element: int, position: int) -> int:
    text = segment.get(element)
    try:
        exact = float(text)
    except ValueError:
        raise SegmentError(
            f"{segment.tag}{element:02d}: {text!r} is no quantity", segment.tag, position, 8
        ) from None
    if exact < 0 or not exact.is_integer():
        raise SegmentError(
            f"{segment.tag}{element:02d}: {text} is not a count of units (whole, not negative)",
            segment.tag,
            position,
            8,
        )
    return int(exact)


def _sku(pairs: list[tuple[str, str]], where: str) -> str:
    for qualifier, ident in pairs:
        if qualifier in OUR_PART and ident:
            return ident
    for qualifier, ident in pairs:
        if qualifier in THEIR_PART and ident:
            return f"{THEIR_PART[qualifier]}:{ident}"
    raise Unreadable(f"{where} names no SKU (VP, VN or SK; or UP, BP)")


def read_846(interchange: Interchange, tset: TransactionSet) -> Snapshot:
    _, bia = _need(tset, "BIA")
    counts: list[Count] = []
    sku: str | None = None
    quantities: dict[str, int] = {}

    def close() -> None:
        if sku is None:
            return
        if ON_HAND not in quantities and AVAILABLE not in quantities:
            raise Unreadable(f"LIN {sku}: no QTY 17 (on hand) or 33 (available)")
        counts.append(Count(sku, quantities.get(ON_HAND, quantities.get(AVAILABLE, 0))))

    for position, segment in enumerate(tset.segments, start=1):
        if segment.tag == "LIN":
            close()
            pairs = [(segment.get(n), segment.get(n + 1)) for n in range(2, 31, 2)]
            sku, quantities = _sku(pairs, f"LIN {position}"), {}
        elif segment.tag == "QTY" and sku is not None:
            quantities[segment.get(1)] = _count(segment, 2, position)
    close()
    if not counts:
        raise SegmentError("an 846 with no LIN item", "LIN", 0, 3)
    return Snapshot(_warehouse(tset), _when(tset, (bia, 4, 5)), tuple(counts))


def read_944(interchange: Interchange, tset: TransactionSet) -> Receipt:
    position, w17 = _need(tset, "W17")
    number = w17.get(3)
    if not number:
        raise SegmentError("W1703: no warehouse receipt number", "W17", position, 8, 3, 1)
    lines = []
    for at, segment in enumerate(tset.segments, start=1):
        if segment.tag == "W07":
            pairs = [(segment.get(4), segment.get(5)), ("UP", segment.get(3))]
            received = _count(segment, 1, at)
            if received == 0:
                raise SegmentError("W0701: no units received", "W07", at, 8, 1, 6)
            lines.append(Units(_sku(pairs, f"W07 {at}"), received))
    if not lines:
        raise SegmentError("a 944 with no W07 line", "W07", 0, 3)
    return Receipt(_warehouse(tset), _when(tset, (w17, 2, 99)), number, tuple(lines))


READERS: dict[str, Reader] = {"846": read_846, "944": read_944}


def read_set(interchange: Interchange, tset: TransactionSet) -> FeedDocument:
    reader = READERS.get(tset.kind)
    if reader is None:
        raise Unreadable(
            f"transaction set {tset.kind!r}: this channel reads {', '.join(sorted(READERS))}"
        )
    found = reader(interchange, tset)
    assert isinstance(found, Snapshot | Receipt)
    return found


def _external_id(interchange: Interchange, tset: TransactionSet) -> str | None:
    try:
        document = read_set(interchange, tset)
    except Unreadable:
        return None
    number = document.reference if isinstance(document, Receipt) else _bia03(tset)
    if not number:
        return None
    return f"{interchange.isa.get(6)}.{tset.kind}.{number}.{document.location}"[:128]


def _bia03(tset: TransactionSet) -> str:
    found = _find(tset, "BIA")
    return found[1].get(3) if found else ""


class X12Feeds:
    channel = "x12-3pl"

    def split(self, text: str) -> list[Payload]:
        return split_sets(text, _external_id)

    def read(self, payload: Payload) -> FeedDocument:
        return read_set(*one_set(payload.text))

    def envelope_notes(self, text: str) -> list[str]:
        return ORDERS.envelope_notes(text)

    def acknowledge(self, text: str, control: int, now: datetime) -> str | None:
        """The 997 answering a delivery (each 846 or 944 accepted when it can be read)."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return None
        answers = [
            acknowledgement(i, control + n, now, read_set) for n, i in enumerate(interchanges)
        ]
        return "".join(answers) or None


ADAPTER = X12Feeds()
