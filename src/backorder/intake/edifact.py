"""UN/EDIFACT ORDERS purchase orders in, canonical orders and CONTRL acknowledgements out.

A delivery is one or more interchanges (`UNA` optional, `UNB` … `UNZ`), each read with its
own service characters (`edifact_syntax`). Every message is its own payload: the UNA, UNB
(and UNG) around it, its own segments, then the group's and interchange's trailers,
verbatim, so it can be replayed alone; a run of segments outside any message is a payload
of its own, which cannot be read. An ORDERS message is read by `edifact_orders`; every
delivery with a readable UNB is answered by a CONTRL (`edifact_contrl`), and a CONTRL that
arrives is recorded, never answered."""

from __future__ import annotations

from datetime import datetime

from backorder.intake.base import Converted, Payload, Unreadable
from backorder.intake.edifact_contrl import acknowledgement, is_acknowledgement, read_contrl
from backorder.intake.edifact_orders import read_orders
from backorder.intake.edifact_syntax import Interchange, Message, envelope, parse


def _order_number(interchange: Interchange, message: Message) -> str | None:
    """`<UNB sender>.<BGM number>`, so two partners' order 4500 never collide."""
    if is_acknowledgement(message):
        return None
    bgm = next((s for s in message.segments if s.tag == "BGM"), None)
    if bgm is None or not bgm.get(2):
        return None
    return f"{interchange.sender}.{bgm.get(2)}"


class EdifactAdapter:
    channel = "edifact"

    def split(self, text: str) -> list[Payload]:
        try:
            interchanges = parse(text)
        except Unreadable:
            return [Payload(text, None)]
        payloads = []
        for interchange in interchanges:
            for message in interchange.messages:
                payloads.append(
                    Payload(
                        envelope(interchange, message.group, message.segments),
                        _order_number(interchange, message),
                    )
                )
            for run in interchange.strays:
                payloads.append(Payload(envelope(interchange, None, run), None))
        return payloads or [Payload(text, None)]

    def convert(self, payload: Payload) -> Converted:
        interchanges = parse(payload.text)
        strays = [run for i in interchanges for run in i.strays]
        if strays:
            tags = ", ".join(s.tag for s in strays[0][:6])
            raise Unreadable(f"segments outside any UNH … UNT message: {tags}")
        messages = [(i, m) for i in interchanges for m in i.messages]
        if len(messages) != 1:
            raise Unreadable(f"a payload is one message; this holds {len(messages)}")
        interchange, message = messages[0]
        if message.problems:
            raise message.problems[0]
        return read_orders(interchange, message)

    def envelope_notes(self, text: str) -> list[str]:
        """The interchange's and its groups' envelope problems (a UNZ count or reference
        that disagrees, a missing trailer), in words; the messages themselves are judged
        one by one."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return []
        notes = []
        for interchange in interchanges:
            where = f"interchange {interchange.reference or '(no reference)'}"
            notes += [f"{where}: {words}" for _, _, words in interchange.notes]
            for group in interchange.groups:
                notes += [f"{where}: {words}" for _, _, words in group.notes]
        return notes

    def acknowledge(self, text: str, control: int, now: datetime) -> str | None:
        """The CONTRL answering a delivery, or None when it has no readable UNB."""
        try:
            interchanges = parse(text)
        except Unreadable:
            return None
        answers = [acknowledgement(i, control + n, now) for n, i in enumerate(interchanges)]
        return "".join(answers) or None


ADAPTER = EdifactAdapter()

__all__ = ["ADAPTER", "parse", "read_contrl", "read_orders"]
