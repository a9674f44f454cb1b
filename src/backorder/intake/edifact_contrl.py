"""The CONTRL syntax and service report that answers an EDIFACT interchange, and an inbound
CONTRL read into words.

One CONTRL per interchange, in its own interchange with sender and recipient swapped and
the subject interchange's service characters: `UCI` names the interchange (action 7:
acknowledged, with each message acknowledged unless a `UCM` rejects it; 4: rejected with
everything in it, when it holds no message), with the first problem of its envelope (`29`
a `UNZ` count that disagrees, `28` references that differ, `13` a missing `UNZ`, `33`
segments outside any message); `UCF` does the same for a functional group (`UNG` … `UNE`);
one `UCM` per message (7 acknowledged, or 4 rejected: with `29`/`28`/`13` and `UNT` when its
trailer is wrong or missing, `14` and `UNH` when it is no ORDERS), then `UCS` (the segment's
position, UNH counting 1) and `UCD` (the data element and component) for what could not be
read. A CONTRL is never answered with a CONTRL."""

from __future__ import annotations

from datetime import datetime

from backorder.intake.base import Unreadable
from backorder.intake.edifact_orders import SegmentFault, read_orders
from backorder.intake.edifact_syntax import (
    Group,
    Interchange,
    Message,
    MessageProblem,
    Segment,
    Service,
    parse,
)

ACKNOWLEDGED, REJECTED = "7", "4"
ACTION_WORDS = {"4": "rejected", "7": "acknowledged", "8": "received"}
Element = str | list[str]


def is_acknowledgement(message: Message) -> bool:
    """A CONTRL: recorded, never answered."""
    return message.kind == "CONTRL"


class _Writer:
    """Segments written with an interchange's service characters."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.out: list[str] = []

    def __call__(self, *elements: Element) -> None:
        service = self.service
        parts = [
            service.component.join(service.escape(c) for c in _trim(e))
            if isinstance(e, list)
            else service.escape(e)
            for e in elements
        ]
        self.out.append(service.element.join(_trim(parts)) + service.terminator)


def _trim(values: list[str]) -> list[str]:
    """Trailing empty elements or components left out, as the syntax asks."""
    values = list(values)
    while len(values) > 1 and not values[-1]:
        values.pop()
    return values


def acknowledgement(interchange: Interchange, control: int, now: datetime) -> str:
    """The CONTRL for one interchange ("" for an interchange of CONTRLs only)."""
    answered = [m for m in interchange.messages if not is_acknowledgement(m)]
    if interchange.messages and not answered and not interchange.strays:
        return ""  # acknowledging an acknowledgement would never end
    service = interchange.service
    write = _Writer(service)
    out = write.out
    unb = interchange.unb
    version = unb.get(1, 2)
    reference = str(control % 10**14)
    stamp = [now.strftime("%Y%m%d" if version == "4" else "%y%m%d"), now.strftime("%H%M")]
    syntax = [unb.get(1, 1) or "UNOC", version or "3"]
    write("UNB", syntax, _element(unb, 3), _element(unb, 2), stamp, reference)
    body_start = len(out)
    write("UNH", "1", ["CONTRL", *(("4", "1") if version == "4" else ("D", "3")), "UN"])
    action, code, tag = ACKNOWLEDGED, "", ""
    if interchange.notes:
        code, tag = str(interchange.notes[0][0]), interchange.notes[0][1]
    if not answered:
        action, code = REJECTED, code or "32"  # lower level empty
    write("UCI", interchange.reference, _element(unb, 2), _element(unb, 3), action, code, tag)
    groups: list[Group | None] = []
    for message in answered:
        if message.group not in groups:
            groups.append(message.group)
    for group in groups:
        if group is not None:
            note = group.notes[0] if group.notes else (0, "", "")
            write("UCF", group.ung.get(5), _element(group.ung, 2), _element(group.ung, 3),
                  ACKNOWLEDGED, str(note[0] or ""), note[1])  # fmt: skip
        for message in (m for m in answered if m.group is group):
            _message_response(interchange, message, write)
    write("UNT", str(len(out) - body_start + 1), "1")
    write("UNZ", "1", reference)
    brk = "" if service.terminator in "\r\n" else "\n"
    una = interchange.una + brk if interchange.una else ""
    return una + "".join(segment + brk for segment in out)


def _element(segment: Segment, number: int) -> list[str]:
    """A composite as received (an interchange's sender: id, qualifier, routing)."""
    return list(segment.elements[number]) if number < len(segment.elements) else [""]


def _message_response(interchange: Interchange, message: Message, write: _Writer) -> None:
    identifier = message.identifier
    try:
        if message.problems:
            raise message.problems[0]
        read_orders(interchange, message)
    except MessageProblem as problem:
        write("UCM", message.reference, identifier, REJECTED, str(problem.code), problem.tag)
    except SegmentFault as fault:
        write("UCM", message.reference, identifier, REJECTED)
        if fault.element is None:
            write("UCS", str(fault.position), str(fault.code))
        else:
            write("UCS", str(fault.position))
            write("UCD", str(fault.code), [str(n) for n in fault.element])
    except Unreadable:
        write("UCM", message.reference, identifier, REJECTED, "18")
    else:
        write("UCM", message.reference, identifier, ACKNOWLEDGED)


def read_contrl(text: str) -> str | None:
    """What an inbound CONTRL reports, in words with its codes, e.g. "acknowledgement of
    interchange 4711 (ACME): acknowledged; UCI 7; message 1 ORDERS: UCM 7; message 2
    ORDERS: UCM 4, UCS 5, UCD 12 1:2"; None when the payload is not one CONTRL message."""
    try:
        messages = [m for i in parse(text) for m in i.messages]
    except Unreadable:
        return None
    if len(messages) != 1 or not is_acknowledgement(messages[0]):
        return None
    interchange, action = "?", ""
    parts: list[str] = []
    for segment in messages[0].segments:
        codes = " ".join(
            ":".join(c for c in e if c.strip()) for e in segment.elements[1:] if any(e)
        )
        if segment.tag == "UCI":
            interchange = f"{segment.get(1) or '?'} ({segment.get(2) or '?'})"
            action = segment.get(4)
            found = [segment.get(n) for n in range(4, 7) if segment.get(n)]
            parts.insert(0, f"UCI {' '.join(found)}")
        elif segment.tag == "UCF":
            parts.append(f"group {segment.get(1)}: UCF {' '.join(codes.split()[3:])}")
        elif segment.tag == "UCM":
            found = [segment.get(n) for n in range(3, 6) if segment.get(n)]
            parts.append(f"message {segment.get(1)} {segment.get(2)}: UCM {' '.join(found)}")
        elif segment.tag in ("UCS", "UCD") and parts:
            parts[-1] += f", {segment.tag} {codes}"
    words = ACTION_WORDS.get(action, f"action {action or 'not given'}")
    return "; ".join([f"acknowledgement of interchange {interchange}: {words}", *parts])[:500]


__all__ = ["acknowledgement", "is_acknowledgement", "read_contrl"]
