"""Substitutes: which SKU may stand in for one that keeps a customer waiting, and how many of
its units can be offered without taking them from anyone.

A substitute's units go to a customer who waited for something else; they must not jump the
substitute's own queue. So an offer counts only the units to spare: available now, less what
the substitute's own queue waits for, less what other open offers already hold out. The best
ranked substitute with enough to spare for all the line's waiting units is offered; a part
of a line is never offered (the customer would get two parcels and two prices to follow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from backorder.domain.errors import InvalidRequest

OFFER_DAYS = 7  # how long an offer stands before it lapses
SUBSTITUTED = "substituted"  # the cancellation reason of the units a substitute replaced


class OfferState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"  # the substitute's line was added and allocated
    DECLINED = "declined"  # the customer said no thanks: the line keeps waiting
    LAPSED = "lapsed"  # no answer before it expired
    WITHDRAWN = "withdrawn"  # the line stopped waiting first (served or cancelled)


@dataclass(frozen=True)
class Candidate:
    """A substitute as the offer sees it: its rank and its stock."""

    sku: str
    rank: int
    available: int  # on hand less allocated, across the network
    waiting: int  # units its own queue waits for
    held_out: int = 0  # units other open offers of it already promise

    @property
    def spare(self) -> int:
        """Units nobody else has a claim on."""
        return max(0, self.available - self.waiting - self.held_out)


def check_pair(sku: str, substitute: str) -> None:
    """A SKU cannot stand in for itself."""
    if sku == substitute:
        raise InvalidRequest(f"{sku} cannot be its own substitute")


def choose(units: int, candidates: Sequence[Candidate]) -> Candidate | None:
    """The best-ranked substitute with enough to spare for all `units`; None if none has."""
    if units <= 0:
        return None
    for candidate in sorted(candidates, key=lambda c: (c.rank, c.sku)):
        if candidate.spare >= units:
            return candidate
    return None


def expires(offered_at: datetime) -> datetime:
    return offered_at + timedelta(days=OFFER_DAYS)


def units_to_move(offered: int, waiting: int) -> int:
    """What accepting moves: the units offered, or fewer if some were served meanwhile."""
    return max(0, min(offered, waiting))


def ranks_after_insert(current: Sequence[str], sku: str, rank: int | None) -> list[str]:
    """The substitutes in order once `sku` is put at `rank` (1 is first; None or past the
    end: last). Ranks stay 1, 2, 3, ... so "rank 2" always means the second choice."""
    rest = [s for s in current if s != sku]
    at = len(rest) if rank is None else min(max(rank, 1) - 1, len(rest))
    return [*rest[:at], sku, *rest[at:]]
