"""ANSI X12 850 purchase orders, and the 997 functional acknowledgement that answers them.

A delivery is one or more interchanges (ISA … IEA), each holding functional groups (GS … GE)
of transaction sets (ST … SE). The separators are read from each ISA segment: the element
separator is its fourth character, the component separator its sixteenth element, the
segment terminator the character after that. Every transaction set is its own payload:
the ISA and GS segments around it, its own segments, then the group's and interchange's
trailers, verbatim.

Mapped from the 850: `BEG03` (the PO number; the external id is `<ISA06 sender>.<BEG03>`,
so two partners' PO numbers never collide), `BEG05` (the order date, taken as midnight
UTC), `BEG02` `RU` (a rush order: expedite), `CUR02` (currency, else USD), `N1*BY` (the
buyer: its id `N104`, else its name `N102`, else the sender), `PER` (`EM` e-mail, `TE`
phone), `TD5` (service level `TD512` next day, second day, same day, overnight, A.M. or
express, or air express `TD504` `AE`: expedited shipping), `CSH01` `SC` (ship complete),
and each `PO1` loop, with its unit, `PO4` pack and price basis (see `x12_lines`).
`CTT01`, when present, must count the PO1 lines. Partners are businesses: the buyer is
wholesale and pays on invoice (at shipment). The PO number alone is the order's display
number: the one the buyer knows.

The 997 says whether each transaction set could be read (A) or not (R, with the segment
and element in error); whether the order can be filled is the dead-letter store's business.
Trailer counts or control numbers that disagree are noted (E) without losing the sets that
arrived whole. A group of 997s (GS01 FA) is never acknowledged in its turn; what an
inbound 997 says is read by `x12_997`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from backorder.intake.base import Converted, Payload, Unreadable
from backorder.intake.x12_lines import po1_loops, read_line

FAST_SERVICE = {"ND", "NH", "AM", "PM", "ON", "SE", "SC", "SD", "CX"}
PURPOSES = {"00": "original", "06": "confirmation", "07": "duplicate"}


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


class SegmentError(Unreadable):
    """A transaction set that cannot be read, with where (for the 997's AK3 and AK4)."""

    def __init__(
        self,
        message: str,
        segment: str,
        position: int,
        code: int = 8,
        element: int | None = None,
        element_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.segment, self.position, self.code = segment, position, code
        self.element, self.element_code = element, element_code


class SetError(Unreadable):
    """A transaction set whose own envelope is broken (the 997's AK5 code)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Separators:
    element: str
    component: str
    segment: str


@dataclass
class Segment:
    tag: str
    elements: list[str]  # elements[0] is the tag, so elements[1] is XX01
    text: str  # as received, with its terminator
    start: int = 0  # where it begins in the text it was read from

    def get(self, number: int) -> str:
        return self.elements[number].strip() if number < len(self.elements) else ""


@dataclass
class TransactionSet:
    segments: list[Segment]
    problems: list[SetError] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.segments[0].get(1)

    @property
    def control(self) -> str:
        return self.segments[0].get(2)


@dataclass
class Group:
    gs: Segment
    ge: Segment | None = None
    sets: list[TransactionSet] = field(default_factory=list)
    strays: list[list[Segment]] = field(default_factory=list)  # runs outside ST … SE
    notes: list[tuple[int, str]] = field(default_factory=list)  # AK9 codes, in words


@dataclass
class Interchange:
    separators: Separators
    isa: Segment
    iea: Segment | None = None
    groups: list[Group] = field(default_factory=list)
    strays: list[list[Segment]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _separators(text: str) -> Separators:
    if not text.startswith("ISA") or len(text) < 4:
        raise Unreadable("not an X12 interchange: it does not begin with an ISA segment")
    element = text[3]
    if element.isalnum() or element.isspace():
        raise Unreadable(f"ISA: {element!r} cannot be an element separator")
    cuts = [i for i, c in enumerate(text[:200]) if c == element]
    if len(cuts) < 16:
        raise Unreadable("ISA: fewer than 16 elements; the interchange header is cut short")
    component_at = cuts[15] + 1
    if component_at + 1 >= len(text):
        raise Unreadable("ISA: the interchange header is cut short")
    component, segment = text[component_at], text[component_at + 1]
    if " " in (component, segment):  # the header's fixed-width elements are space-padded
        raise Unreadable("ISA: a space cannot be a separator: the header pads its elements with it")
    if len({element, component, segment}) < 3 or segment.isalnum() or component.isalnum():
        raise Unreadable("ISA: the element, component and segment separators must differ")
    return Separators(element, component, segment)


def _segments(text: str, separators: Separators) -> list[Segment]:
    found, at = [], 0
    for piece in text.split(separators.segment):
        body = piece.strip("\r\n\t ")
        if body:
            elements = body.split(separators.element)
            start = at + piece.index(body[0])
            found.append(Segment(elements[0].strip(), elements, body + separators.segment, start))
        at += len(piece) + 1
    return found


def parse(text: str) -> list[Interchange]:
    """Every interchange in a delivery, with what is wrong with its envelopes; Unreadable
    when the delivery does not begin with an ISA header. Each interchange's own ISA gives
    its separators."""
    rest = text.lstrip("\ufeff\r\n\t ")
    interchanges: list[Interchange] = []
    while rest and len(interchanges) < 10_000:
        try:
            separators = _separators(rest)
        except Unreadable:
            if not interchanges:
                raise
            # Text after an IEA that is no interchange: kept visible, as a stray run.
            interchanges[-1].strays.append(_segments(rest, interchanges[-1].separators))
            break
        segments = _segments(rest, separators)
        interchange = Interchange(separators, segments[0])
        interchanges.append(interchange)
        after = _walk(interchange, segments[1:])
        if after is None:
            break
        rest = rest[after:].lstrip("\r\n\t ")
    return interchanges


class _Walk:
    """Reads one interchange's segments in order, building its groups and sets."""

    def __init__(self, interchange: Interchange) -> None:
        self.interchange = interchange
        self.group: Group | None = None
        self.current: TransactionSet | None = None
        self.stray: list[Segment] = []

    def flush_stray(self) -> None:
        if self.stray:
            owner = self.group.strays if self.group else self.interchange.strays
            owner.append(list(self.stray))
            self.stray.clear()

    def close_set(self, complete: bool) -> None:
        if self.current is not None and self.group is not None:
            if not complete:
                self.current.problems.append(
                    SetError(f"transaction set {self.current.control} has no SE trailer", 2)
                )
            self.group.sets.append(self.current)
        self.current = None

    def close_group(self, ge: Segment | None) -> None:
        self.close_set(False)
        self.flush_stray()
        if self.group is not None:
            self.group.ge = ge
            if ge is None:
                self.group.notes.append((3, "the functional group has no GE trailer"))
            else:
                _check_group(self.group)
        self.group = None

    def take(self, segment: Segment) -> None:
        tag = segment.tag
        if tag == "ST":
            self.close_set(False)
            self.flush_stray()
            if self.group is None:
                self.group = Group(Segment("GS", ["GS"], ""))
                self.group.notes.append((3, "a transaction set outside any GS functional group"))
                self.interchange.groups.append(self.group)
            self.current = TransactionSet([segment])
        elif self.current is not None and tag not in ("GS", "GE"):
            self.current.segments.append(segment)
            if tag == "SE":
                _check_trailer(self.current)
                self.close_set(True)
        elif tag == "GS":
            if self.group is not None:
                self.close_group(None)
            self.flush_stray()
            self.group = Group(segment)
            self.interchange.groups.append(self.group)
        elif tag == "GE" and self.group is not None:
            self.close_group(segment)
        else:
            self.stray.append(segment)


def _opens_interchange(text: str) -> bool:
    """An ISA header, whatever its separators (the next interchange may use others)."""
    return text.startswith("ISA") and len(text) > 3 and not text[3].isalnum()


def _walk(interchange: Interchange, segments: list[Segment]) -> int | None:
    """Fill the interchange from its segments; where the next interchange may begin."""
    walk = _Walk(interchange)
    for segment in segments:
        if _opens_interchange(segment.text):
            segment.tag = "ISA"
        if segment.tag in ("IEA", "ISA"):
            if walk.group is not None:
                walk.close_group(None)
            walk.flush_stray()
            if segment.tag == "ISA":  # the next interchange begins without this one's IEA
                interchange.notes.append("the interchange has no IEA trailer")
                return segment.start
            interchange.iea = segment
            _check_interchange(interchange)
            return segment.start + len(segment.text)
        walk.take(segment)
    if walk.group is not None:
        walk.close_group(None)
    walk.flush_stray()
    interchange.notes.append("the interchange has no IEA trailer")
    return None


def _check_trailer(tset: TransactionSet) -> None:
    se = tset.segments[-1]
    count = se.get(1)
    if not _digits(count) or int(count) != len(tset.segments):
        tset.problems.append(
            SetError(
                f"SE01 counts {count or 'no'} segments; the transaction set has "
                f"{len(tset.segments)}",
                4,
            )
        )
    if se.get(2) != tset.control:
        tset.problems.append(SetError(f"ST02 {tset.control!r} and SE02 {se.get(2)!r} differ", 3))


def _check_group(group: Group) -> None:
    assert group.ge is not None
    declared = group.ge.get(1)
    if not _digits(declared) or int(declared) != len(group.sets):
        group.notes.append(
            (5, f"GE01 counts {declared or 'no'} transaction sets; the group has {len(group.sets)}")
        )
    if group.ge.get(2) != group.gs.get(6):
        group.notes.append((4, f"GS06 {group.gs.get(6)!r} and GE02 {group.ge.get(2)!r} differ"))


def _check_interchange(interchange: Interchange) -> None:
    assert interchange.iea is not None
    declared = interchange.iea.get(1)
    if not _digits(declared) or int(declared) != len(interchange.groups):
        interchange.notes.append(
            f"IEA01 counts {declared or 'no'} groups; the interchange has {len(interchange.groups)}"
        )
    if interchange.iea.get(2) != interchange.isa.get(13):
        interchange.notes.append("ISA13 and IEA02 control numbers differ")


def _envelope(interchange: Interchange, group: Group | None, body: list[Segment]) -> str:
    """A payload's text: the transaction set (or stray run) inside its own envelope."""
    parts = [interchange.isa]
    if group is not None and group.gs.text:
        parts.append(group.gs)
    parts += body
    if group is not None and group.ge is not None:
        parts.append(group.ge)
    if interchange.iea is not None:
        parts.append(interchange.iea)
    return "".join(segment.text + _break(interchange.separators) for segment in parts)


def _break(separators: Separators) -> str:
    """A line break after each segment, for people reading it, unless it is the terminator."""
    return "" if separators.segment in "\r\n" else "\n"


def _po_number(interchange: Interchange, tset: TransactionSet) -> str | None:
    beg = next((s for s in tset.segments if s.tag == "BEG"), None)
    if beg is None or not beg.get(3):
        return None
    return f"{interchange.isa.get(6)}.{beg.get(3)}"


def split_sets(
    text: str, ident: Callable[[Interchange, TransactionSet], str | None]
) -> list[Payload]:
    """Every transaction set of a delivery as its own payload, in its own envelope, with the
    id `ident` reads from it; each stray run too (no id). Never raises."""
    try:
        interchanges = parse(text)
    except Unreadable:
        return [Payload(text, None)]
    payloads = []
    for interchange in interchanges:
        for run in interchange.strays:
            payloads.append(Payload(_envelope(interchange, None, run), None))
        for group in interchange.groups:
            for tset in group.sets:
                payloads.append(
                    Payload(_envelope(interchange, group, tset.segments), ident(interchange, tset))
                )
            for run in group.strays:
                payloads.append(Payload(_envelope(interchange, group, run), None))
    return payloads or [Payload(text, None)]


def one_set(text: str) -> tuple[Interchange, TransactionSet]:
    """The one transaction set a payload holds, whole, or Unreadable saying what is wrong."""
    interchanges = parse(text)
    sets = [(i, s) for i in interchanges for g in i.groups for s in g.sets]
    strays = [r for i in interchanges for g in i.groups for r in g.strays]
    strays += [r for i in interchanges for r in i.strays]
    if strays:
        tags = ", ".join(s.tag for s in strays[0][:6])
        raise Unreadable(f"segments outside any ST … SE transaction set: {tags}")
    if len(sets) != 1:
        raise Unreadable(f"a payload is one transaction set; this holds {len(sets)}")
    interchange, tset = sets[0]
    if tset.problems:
        raise tset.problems[0]
    return interchange, tset


class X12Adapter:
    channel = "x12"

    def split(self, text: str) -> list[Payload]:
        return split_sets(text, _po_number)

    def convert(self, payload: Payload) -> Converted:
        interchange, tset = one_set(payload.text)
        return read_850(interchange, tset)

    def envelope_notes(self, text: str) -> list[str]:
        """The interchanges' and groups' envelope problems (an IEA or GE count or control
        number that disagrees, a missing trailer), in words."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return []
        notes = []
        for interchange in interchanges:
            where = f"interchange {interchange.isa.get(13) or '(no control number)'}"
            notes += [f"{where}: {words}" for words in interchange.notes]
            for group in interchange.groups:
                inner = f"{where}, group {group.gs.get(6) or '(none)'}"
                notes += [f"{inner}: {words}" for _, words in group.notes]
        return notes

    def acknowledge(self, text: str, control: int, now: datetime) -> str | None:
        """The 997 answering a delivery, or None when it has no readable ISA header."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return None
        answers = [acknowledgement(i, control + n, now) for n, i in enumerate(interchanges)]
        return "".join(answers) or None


Reader = Callable[[Interchange, TransactionSet], object]  # raises SegmentError, SetError


def is_acknowledgement(group: Group) -> bool:
    """A functional group of 997s (GS01 FA): never acknowledged in its turn."""
    return group.gs.get(1) == "FA" or bool(group.sets and all(s.kind == "997" for s in group.sets))


def read_850(interchange: Interchange, tset: TransactionSet) -> Converted:
    """The canonical order in one 850 purchase order."""
    if tset.kind != "850":
        raise SetError(f"transaction set {tset.kind or '(none)'} is not a purchase order (850)", 1)
    segments = tset.segments
    where = {id(s): n for n, s in enumerate(segments, start=1)}

    def first(tag: str) -> Segment | None:
        return next((s for s in segments if s.tag == tag), None)

    def fault(segment: Segment, element: int, code: int, message: str) -> SegmentError:
        return SegmentError(message, segment.tag, where[id(segment)], 8, element, code)

    beg = first("BEG")
    if beg is None:
        raise SegmentError("no BEG segment (the purchase order's beginning)", "BEG", 2, 3)
    warnings: list[str] = []
    purpose = beg.get(1)
    if purpose not in PURPOSES:
        known = "original (00), confirmation (06) and duplicate (07)"
        raise fault(beg, 1, 7, f"BEG01 {purpose!r}: only {known} purchase orders are orders")
    number = beg.get(3)
    if not number:
        raise fault(beg, 3, 1, "BEG03: no purchase order number")
    try:
        if not (len(beg.get(5)) == 8 and _digits(beg.get(5))):
            raise ValueError
        placed = datetime.strptime(beg.get(5), "%Y%m%d").date()
    except ValueError:
        raise fault(beg, 5, 8, f"BEG05 {beg.get(5)!r} is not a date (CCYYMMDD)") from None
    currency = "USD"
    cur = first("CUR")
    if cur is not None and cur.get(2):
        currency = cur.get(2).upper()
    sender = interchange.isa.get(6)
    buyer = next((s for s in segments if s.tag == "N1" and s.get(1) == "BY"), None)
    who = (buyer.get(4) or buyer.get(2)) if buyer is not None else ""
    name = buyer.get(2) if buyer is not None else ""
    email = phone = None
    per = first("PER")
    if per is not None:
        for at in (3, 5, 7):
            kind, value = per.get(at), per.get(at + 1)
            if kind == "EM" and value:
                email = email or value
            elif kind in ("TE", "PH") and value:
                phone = phone or value
    fast = any(s.get(12) in FAST_SERVICE or s.get(4) == "AE" for s in segments if s.tag == "TD5")
    complete = any(s.get(1) == "SC" for s in segments if s.tag == "CSH")
    lines = [
        read_line(loop, n, fault, warnings) for n, loop in enumerate(po1_loops(segments), start=1)
    ]
    if not lines:
        raise SegmentError("no PO1 line items", "PO1", len(segments), 3)
    ctt = first("CTT")
    if ctt is not None and ctt.get(1) != str(len(lines)):
        raise fault(
            ctt, 1, 7, f"CTT01 counts {ctt.get(1) or 'no'} lines; the order has {len(lines)}"
        )
    if PURPOSES[purpose] == "confirmation":
        warnings.append("BEG01 06: a confirmation of an order placed by other means")
    return Converted(
        {
            "channel": "x12",
            "external_id": f"{sender}.{number}",
            "display_number": number if len(number) <= 64 else None,
            "placed_at": datetime.combine(placed, datetime.min.time()).isoformat() + "Z",
            "customer": {
                "id": who or sender,
                "name": name,
                "email": email,
                "phone": phone,
                "tier": "wholesale",
            },
            "currency": currency,
            "shipping": {
                "method": "expedited" if fast else "standard",
                "preference": "ship_complete" if complete else "ship_available",
            },
            "payment_timing": "at_ship",
            "expedite": beg.get(2) == "RU",
            "lines": lines,
        },
        warnings,
    )


def acknowledgement(
    interchange: Interchange, control: int, now: datetime, reader: Reader | None = None
) -> str:
    """The 997 for one interchange: one acknowledgement set per functional group, each set
    checked by `reader` (the 850's, unless another is given)."""
    sep = interchange.separators
    isa = interchange.isa.elements

    def pad(value: str, width: int) -> str:
        return _clean(value, sep)[:width].ljust(width)

    def element(number: int, width: int) -> str:
        return pad(isa[number] if number < len(isa) else "", width)

    number = f"{control % 10**9:09d}"
    header = [
        "ISA", element(1, 2), element(2, 10), element(3, 2), element(4, 10),
        element(7, 2), element(8, 15), element(5, 2), element(6, 15),
        now.strftime("%y%m%d"), now.strftime("%H%M"), element(11, 1), element(12, 5),
        number, "0", element(15, 1), sep.component,
    ]  # fmt: skip
    out = [sep.element.join(header)]
    answered = [g for g in interchange.groups if not is_acknowledgement(g)]
    if interchange.groups and not answered:
        return ""  # only 997s: acknowledging an acknowledgement would never end
    groups = [g for g in answered if g.gs.text]
    version = groups[0].gs.get(8) if groups else "004010"
    app_sender = groups[0].gs.get(3) if groups else interchange.isa.get(8)
    app_receiver = groups[0].gs.get(2) if groups else interchange.isa.get(6)
    stamp = [now.strftime("%Y%m%d"), now.strftime("%H%M"), str(control % 10**9)]
    app_sender, app_receiver = _clean(app_sender, sep), _clean(app_receiver, sep)
    gs = ["GS", "FA", app_sender, app_receiver, *stamp, "X", _clean(version, sep) or "004010"]
    out.append(sep.element.join(gs))
    for n, group in enumerate(answered, start=1):
        body = _group_ack(group, sep, reader or read_850)
        st = f"{n:04d}"
        out.append(sep.element.join(["ST", "997", st]))
        out += body
        out.append(sep.element.join(["SE", str(len(body) + 2), st]))
    out.append(sep.element.join(["GE", str(len(answered)), str(control % 10**9)]))
    out.append(sep.element.join(["IEA", "1", number]))
    return "".join(segment + sep.segment + _break(sep) for segment in out)


def _clean(value: str, sep: Separators) -> str:
    """A value copied from what came into the 997: without the separators, line breaks or
    other control characters it may hold (a component separator inside an element, a line
    break the terminator left in it), so that every element of ours is one element."""
    return "".join(
        c for c in value if c.isprintable() and c not in (sep.element, sep.component, sep.segment)
    ).strip()


def _group_ack(group: Group, sep: Separators, reader: Reader) -> list[str]:
    e = sep.element
    gs01, gs06 = _clean(group.gs.get(1), sep), _clean(group.gs.get(6), sep)
    body = [e.join(["AK1", gs01 or "PO", gs06 or "0"])]
    accepted = 0
    for tset in group.sets:
        body.append(e.join(["AK2", _clean(tset.kind, sep), _clean(tset.control, sep)]))
        try:
            if tset.problems:
                raise tset.problems[0]
            reader(Interchange(sep, Segment("ISA", ["ISA"], "")), tset)
        except SegmentError as error:
            tag = _clean(error.segment, sep)
            body.append(e.join(["AK3", tag, str(error.position), "", str(error.code)]))
            if error.element is not None and error.element_code is not None:
                body.append(e.join(["AK4", str(error.element), "", str(error.element_code)]))
            body.append(e.join(["AK5", "R", "5"]))
        except SetError as error:
            body.append(e.join(["AK5", "R", str(error.code)]))
        except Unreadable:
            body.append(e.join(["AK5", "R", "5"]))
        else:
            body.append(e.join(["AK5", "A"]))
            accepted += 1
    received = len(group.sets)
    if received and accepted == received:
        status = "E" if group.notes else "A"
    else:
        status = "P" if accepted else "R"
    declared = group.ge.get(1) if group.ge is not None and _digits(group.ge.get(1)) else None
    codes = [str(code) for code, _ in group.notes][:5]
    body.append(
        e.join(["AK9", status, declared or str(received), str(received), str(accepted), *codes])
    )
    return body


ADAPTER = X12Adapter()

__all__ = [
    "ADAPTER",
    "acknowledgement",
    "is_acknowledgement",
    "one_set",
    "parse",
    "read_850",
    "split_sets",
]
