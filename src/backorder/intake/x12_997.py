"""An inbound X12 997 functional acknowledgement, read: which group and sets it answers and
with what codes (AK1, AK2, AK3/AK4/AK5 per set, AK9 for the group), in words to keep with the
stored payload. A 997 is never answered with a 997 (see `x12.is_acknowledgement`)."""

from __future__ import annotations

from backorder.intake.base import Unreadable
from backorder.intake.x12 import parse

AK9_WORDS = {
    "A": "accepted",
    "E": "accepted with errors",
    "P": "partially accepted",
    "R": "rejected",
    "M": "rejected (message authentication failed)",
    "W": "rejected (assurance failed)",
    "X": "rejected (content could not be decrypted)",
}


def read_997(text: str) -> str | None:
    """What an inbound 997 acknowledges, in words with its codes, e.g. "acknowledgement of
    group 1234 (PO): accepted; AK9 A 1 1 1; set 850 0001: AK5 A"; None when the payload is
    not one 997 transaction set."""
    try:
        sets = [s for i in parse(text) for g in i.groups for s in g.sets]
    except Unreadable:
        return None
    if len(sets) != 1 or sets[0].kind != "997":
        return None
    group, status, parts = "?", "", []
    for segment in sets[0].segments:
        if segment.tag == "AK1":
            group = f"{segment.get(2) or '?'} ({segment.get(1) or '?'})"
        elif segment.tag == "AK2":
            parts.append(f"set {segment.get(1)} {segment.get(2)}")
        elif segment.tag in ("AK3", "AK4", "AK5") and parts:
            codes = " ".join(segment.get(n) for n in range(1, 6) if segment.get(n))
            parts[-1] += f"{':' if segment.tag == 'AK5' else ','} {segment.tag} {codes}"
        elif segment.tag == "AK9":
            status = segment.get(1)
            found = [segment.get(n) for n in range(1, 10) if segment.get(n)]
            parts.insert(0, f"AK9 {' '.join(found)}")
    words = AK9_WORDS.get(status, f"status {status or 'not given'}")
    return "; ".join([f"acknowledgement of group {group}: {words}", *parts])[:500]
