"""UN/EDIFACT syntax (ISO 9735), read: service characters, segments, and the envelopes
around messages, with what is wrong with them in codes a CONTRL can carry.

An interchange is `UNA` (optional), `UNB` … `UNZ`, holding messages (`UNH` … `UNT`),
directly or in functional groups (`UNG` … `UNE`). The service characters are the `UNA`'s
six (component separator, element separator, decimal mark, release character, reserved
or repetition separator, segment terminator), else the defaults `:+.? '` (for level B,
UNOB, the information separators IS1, IS3 and IS4, with no release character). A release
character makes the character after it plain text (`O?'Brien`, `5?+`). A line break after a
segment terminator is tolerated, as most partners send one.

Codes are data element 0085 (syntax error): 12 invalid value, 13 missing, 14 value not
supported in this position, 28 references do not match, 29 control count does not match
the number of instances received, 32 lower level empty, 33 invalid occurrence outside a
message or group."""

from __future__ import annotations

from dataclasses import dataclass, field

from backorder.intake.base import Unreadable

DEFAULT_SERVICE = ":+.? '"
MAX_INTERCHANGES = 10_000


@dataclass(frozen=True)
class Service:
    """An interchange's service characters."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"  # "" when there is none
    reserved: str = " "
    terminator: str = "'"

    def escape(self, value: str) -> str:
        """A value written with these characters: each service character released."""
        if not self.release:
            return value
        special = {self.component, self.element, self.release, self.terminator}
        return "".join(self.release + c if c in special else c for c in value)


# Character set level B (UNOB) without a UNA: the information separators IS1, IS3 and IS4
# as component separator, element separator and segment terminator, and no release character.
LEVEL_B = Service("\x1f", "\x1d", ".", "", " ", "\x1c")


def service_of(una: str) -> Service:
    """The characters a UNA names (its text is `UNA` and six characters), or Unreadable."""
    chars = una[3:9]
    if len(chars) < 6:
        raise Unreadable("UNA: cut short; it names six service characters")
    component, element, decimal, release, reserved, terminator = list(chars)
    separators = (component, element, terminator)
    if len(set(separators)) < 3 or any(c.isalnum() or c == " " for c in separators):
        raise Unreadable(
            f"UNA: {component!r}, {element!r} and {terminator!r} cannot be the component "
            "separator, element separator and segment terminator"
        )
    if decimal not in ".,":
        raise Unreadable(f"UNA: decimal mark {decimal!r}; it is . or ,")
    if release != " " and (release.isalnum() or release in separators):
        raise Unreadable(f"UNA: {release!r} cannot be the release character")
    return Service(component, element, decimal, "" if release == " " else release, reserved,
                   terminator)  # fmt: skip


def cut(text: str, separator: str, release: str) -> list[str]:
    """The text split at each separator that no release character frees; the pieces keep
    their release characters (a lower level is cut from them in turn)."""
    if not release or release not in text:
        return text.split(separator)
    pieces, start, at = [], 0, 0
    while True:
        at = _unreleased(text, separator, release, at)
        if at < 0:
            pieces.append(text[start:])
            return pieces
        pieces.append(text[start:at])
        start = at = at + len(separator)


def _unreleased(text: str, separator: str, release: str, at: int) -> int:
    """Where the next separator that no release character frees is, or -1."""
    found = text.find(separator, at)
    while found >= 0 and release:
        before = found
        while before > 0 and text[before - 1] == release:
            before -= 1
        if (found - before) % 2 == 0:  # an even run of release characters frees itself
            return found
        found = text.find(separator, found + 1)
    return found


def plain(value: str, release: str) -> str:
    """A component's value: each release character dropped, what it freed kept."""
    if not release or release not in value:
        return value
    out, freed = [], False
    for char in value:
        if char == release and not freed:
            freed = True
            continue
        out.append(char)
        freed = False
    return "".join(out)


@dataclass
class Segment:
    tag: str
    elements: list[list[str]]  # elements[0] is [tag]; elements[1] is the first data element
    text: str  # as received, with its terminator
    start: int = 0  # where it begins in the delivery

    def get(self, element: int, component: int = 1) -> str:
        """A component's value (1-based, as the directories number them), "" when absent."""
        if element >= len(self.elements) or component > len(self.elements[element]):
            return ""
        return self.elements[element][component - 1].strip()


def segment_of(raw: str, service: Service, start: int, terminated: bool = True) -> Segment:
    body = raw.lstrip("\r\n\t ")
    release = service.release
    elements = [
        [plain(c, release) for c in cut(e, service.component, release)]
        for e in cut(body, service.element, release)
    ]
    tag = elements[0][0].strip().upper() if elements and elements[0] else ""
    text = body + (service.terminator if terminated else "")
    return Segment(tag, elements, text, start + len(raw) - len(body))


class MessageProblem(Unreadable):
    """A message whose own envelope is broken: the code (0085) and the service segment."""

    def __init__(self, message: str, code: int, tag: str) -> None:
        super().__init__(message)
        self.code, self.tag = code, tag


@dataclass
class Group:
    ung: Segment
    une: Segment | None = None
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (0085, tag, words)


@dataclass
class Message:
    segments: list[Segment]
    group: Group | None = None
    problems: list[MessageProblem] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.segments[0].get(1)

    @property
    def kind(self) -> str:
        return self.segments[0].get(2, 1).upper()

    @property
    def identifier(self) -> list[str]:
        """S009 as received: type, version, release, agency, association code."""
        return [self.segments[0].get(2, n) for n in range(1, 6)]


@dataclass
class Interchange:
    service: Service
    una: str | None  # the UNA as received, when there was one
    unb: Segment
    unz: Segment | None = None
    groups: list[Group] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    strays: list[list[Segment]] = field(default_factory=list)  # runs outside any message
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (0085, tag, words)

    @property
    def sender(self) -> str:
        return self.unb.get(2)

    @property
    def reference(self) -> str:
        return self.unb.get(5)


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in "\ufeff\r\n\t ":
        at += 1
    return at


def parse(text: str) -> list[Interchange]:
    """Every interchange in a delivery, with what is wrong with its envelopes; Unreadable
    when the delivery does not begin with a UNA or UNB."""
    interchanges: list[Interchange] = []
    at = _skip_space(text, 0)
    while at < len(text) and len(interchanges) < MAX_INTERCHANGES:
        una, service = None, Service()
        if text.startswith("UNB\x1d", at):  # level B without a UNA: its own defaults
            service = LEVEL_B
        if text.startswith("UNA", at):
            try:
                service = service_of(text[at : at + 9])
            except Unreadable:
                if not interchanges:
                    raise
                _stray_rest(interchanges[-1], text, at)
                break
            una, at = text[at : at + 9], _skip_space(text, at + 9)
        elif not text.startswith("UNB", at):
            if not interchanges:
                raise Unreadable("not an EDIFACT interchange: it does not begin with UNA or UNB")
            _stray_rest(interchanges[-1], text, at)
            break
        begins = at
        first, at = _read_segment(text, at, service)
        if first.tag != "UNB":
            if not interchanges:
                raise Unreadable("not an EDIFACT interchange: no UNB after the UNA")
            _stray_rest(interchanges[-1], text, begins)
            break
        interchange = Interchange(service, una, first)
        interchanges.append(interchange)
        at = _skip_space(text, _walk(interchange, text, at))
    return interchanges


def _read_segment(text: str, at: int, service: Service) -> tuple[Segment, int]:
    end = _unreleased(text, service.terminator, service.release, at)
    if end < 0:
        return segment_of(text[at:], service, at, terminated=False), len(text)
    return segment_of(text[at:end], service, at), end + len(service.terminator)


def _stray_rest(interchange: Interchange, text: str, at: int) -> None:
    """Text after an interchange that begins no other: kept visible, as a stray run."""
    segments = []
    while at < len(text):
        segment, at = _read_segment(text, at, interchange.service)
        segments.append(segment)
        at = _skip_space(text, at)
    if segments:
        interchange.strays.append(segments)
        interchange.notes.append((33, "", "text after the interchange's UNZ"))


class _Walk:
    """Takes one interchange's segments in order, building its groups and messages."""

    def __init__(self, interchange: Interchange) -> None:
        self.interchange = interchange
        self.group: Group | None = None
        self.message: Message | None = None
        self.stray: list[Segment] = []

    def flush_stray(self) -> None:
        if self.stray:
            self.interchange.strays.append(list(self.stray))
            words = f"segments outside any message: {', '.join(s.tag for s in self.stray[:6])}"
            self.interchange.notes.append((33, "", words))
            self.stray.clear()

    def close_message(self) -> None:
        if self.message is not None:
            self.message.problems.append(
                MessageProblem(f"message {self.message.reference} has no UNT trailer", 13, "UNT")
            )
        self.message = None

    def close_group(self, une: Segment | None) -> None:
        self.close_message()
        self.flush_stray()
        if self.group is not None:
            self.group.une = une
            if une is None:
                self.group.notes.append((13, "UNE", "the functional group has no UNE trailer"))
            else:
                _check_group(self.interchange, self.group)
        self.group = None

    def take(self, segment: Segment) -> None:
        tag = segment.tag
        if tag == "UNH":
            self.close_message()
            self.flush_stray()
            self.message = Message([segment], self.group)
            self.interchange.messages.append(self.message)
        elif self.message is not None and tag not in ("UNG", "UNE"):
            self.message.segments.append(segment)
            if tag == "UNT":
                _check_message(self.message)
                self.message = None
        elif tag == "UNG":
            if self.group is not None:
                self.close_group(None)
            self.close_message()
            self.flush_stray()
            self.group = Group(segment)
            self.interchange.groups.append(self.group)
        elif tag == "UNE" and self.group is not None:
            self.close_group(segment)
        else:
            self.stray.append(segment)


def _walk(interchange: Interchange, text: str, at: int) -> int:
    """Fill the interchange from the text after its UNB; where the next one may begin."""
    walk = _Walk(interchange)
    while True:
        at = _skip_space(text, at)
        if at >= len(text) or text.startswith(("UNA", "UNB"), at):
            walk.close_group(None) if walk.group is not None else walk.close_message()
            walk.flush_stray()
            interchange.notes.append((13, "UNZ", "the interchange has no UNZ trailer"))
            return at if at < len(text) else len(text)
        segment, at = _read_segment(text, at, interchange.service)
        if segment.tag == "UNZ":
            walk.close_group(None) if walk.group is not None else walk.close_message()
            walk.flush_stray()
            interchange.unz = segment
            _check_interchange(interchange)
            return at
        walk.take(segment)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_message(message: Message) -> None:
    unt = message.segments[-1]
    count = unt.get(1)
    if not _digits(count) or int(count) != len(message.segments):
        message.problems.append(
            MessageProblem(
                f"UNT counts {count or 'no'} segments; message {message.reference} has "
                f"{len(message.segments)}",
                29,
                "UNT",
            )
        )
    if unt.get(2) != message.reference:
        message.problems.append(
            MessageProblem(
                f"UNH {message.reference!r} and UNT {unt.get(2)!r} message references differ",
                28,
                "UNT",
            )
        )


def _check_group(interchange: Interchange, group: Group) -> None:
    assert group.une is not None
    declared = group.une.get(1)
    count = sum(1 for m in interchange.messages if m.group is group)
    if not _digits(declared) or int(declared) != count:
        group.notes.append(
            (29, "UNE", f"UNE counts {declared or 'no'} messages; the group has {count}")
        )
    if group.une.get(2) != group.ung.get(5):
        group.notes.append((28, "UNE", "UNG and UNE group references differ"))


def _check_interchange(interchange: Interchange) -> None:
    assert interchange.unz is not None
    declared = interchange.unz.get(1)
    grouped = bool(interchange.groups)
    count = len(interchange.groups) if grouped else len(interchange.messages)
    what = "functional groups" if grouped else "messages"
    if not _digits(declared) or int(declared) != count:
        interchange.notes.append(
            (29, "UNZ", f"UNZ counts {declared or 'no'} {what}; the interchange has {count}")
        )
    if interchange.unz.get(2) != interchange.reference:
        interchange.notes.append(
            (
                28,
                "UNZ",
                f"UNB {interchange.reference!r} and UNZ {interchange.unz.get(2)!r} "
                "interchange references differ",
            )
        )


def envelope(interchange: Interchange, group: Group | None, body: list[Segment]) -> str:
    """A payload's text: one message (or stray run) inside its own interchange's envelope,
    so it can be replayed alone."""
    parts = [interchange.unb]
    if group is not None:
        parts.append(group.ung)
    parts += body
    if group is not None and group.une is not None:
        parts.append(group.une)
    if interchange.unz is not None:
        parts.append(interchange.unz)
    brk = "" if interchange.service.terminator in "\r\n" else "\n"
    head = interchange.una + brk if interchange.una else ""
    return head + "".join(segment.text + brk for segment in parts)


def number(text: str) -> str:
    """A numeric value as Python's Decimal reads it: the decimal mark as a point (ISO 9735
    takes a comma or a point, whichever the UNA names)."""
    return text.replace(",", ".")


__all__ = [
    "DEFAULT_SERVICE",
    "Group",
    "Interchange",
    "Message",
    "MessageProblem",
    "Segment",
    "Service",
    "cut",
    "envelope",
    "number",
    "parse",
    "plain",
    "service_of",
]
