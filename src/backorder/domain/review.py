"""The daily review of late backorders, and the delay notices a seller owes its customers.

- A waiting line is overdue once its promised date (the first date the customer was told)
  has passed; its delay is the days since.
- A line slips when the date the customer holds (the promised date, then the revised date of
  each delay notice) cannot be met: the date has passed and the line still waits. Under the
  delay-option policy (the US FTC Mail, Internet or Telephone Order Merchandise Rule) it also
  slips as soon as its expected date moves past that date, or is unknown, and a line told no
  date at all holds the rule's default of 30 days from the order.
- Each slip gets one delay notice with a revised date: the expected date, with a few days'
  slack where it is a guess (no purchase order covers the line yet, so its date moves with
  every day one is not placed) or where the supply behind it is already late: an honest
  date, not one that slips again tomorrow. No expected date at all: the delay is
  indefinite.
- Under the policy, a first delay of up to 30 days is consented to by silence; a later delay
  or an indefinite one needs the customer's explicit acceptance by the answer date, else the
  line is cancelled and refunded.
- The mitigation plan of a late SKU: chase or expedite its purchase orders, place one if none
  covers it, look for another supplier when the supplier is unreliable or the delay long, and
  offer a partial shipment to orders with something ready.

Pure: the caller reads the lines, notices and supply, and writes what this decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backorder.domain.supply import Inbound
from backorder.words import count

RULE_DEFAULT_DAYS = 30  # no date stated: the rule expects shipment within 30 days
SILENCE_LIMIT_DAYS = 30  # a first delay up to this long is consented to by silence
RELIABLE_PERCENT = Decimal(90)  # below this on-time record, look for another supplier
LONG_DELAY_DAYS = 14  # a delay this long calls for another supplier too


class Consent(StrEnum):
    """What keeps a delayed line after its notice."""

    NONE = "none"  # the notice informs; the line waits (the policy is off)
    SILENCE = "silence"  # unless the customer cancels, the line waits
    EXPLICIT = "explicit"  # only the customer's acceptance keeps it; else it is cancelled


class Outcome(StrEnum):
    """Where a delay notice stands."""

    INFORMED = "informed"  # nothing to answer (policy off)
    PENDING = "pending"  # waiting for the customer's answer
    ACCEPTED = "accepted"  # the customer accepted the delay
    CONSENTED = "consented"  # silence past the answer date, for a delay silence consents to
    CANCELLED = "cancelled"  # the customer cancelled the delayed line
    LAPSED = "lapsed"  # no acceptance by the answer date: the line was cancelled
    SUPERSEDED = "superseded"  # a later notice took its place before it was answered
    MOOT = "moot"  # the line was served or cancelled before the answer date


@dataclass(frozen=True)
class DelayPolicy:
    """The delay-option policy: off, notices inform; on, they offer the choice and a line
    slips as soon as its date cannot be met."""

    options: bool = False
    answer_days: int = 7  # at least this long to answer a notice
    slack_days: int = 7  # a revised date behind supply that is already late: today + this


@dataclass(frozen=True)
class Waiting:
    """A waiting line as the review sees it."""

    line_id: int
    placed_on: date
    eta: date | None
    promised: date | None
    notices: int  # delay notices it has had
    holds: date | None  # the revised date of its last notice (None: indefinite)
    beyond_supply: bool = False  # no purchase order covers it: its date is today + lead time


@dataclass(frozen=True)
class Slip:
    """A delay notice to send: the date missed, the revised one, and what keeps the line."""

    seq: int
    missed: date
    revised: date | None  # None: indefinite
    consent: Consent
    answer_by: date | None  # None: nothing to answer

    @property
    def outcome(self) -> Outcome:
        return Outcome.INFORMED if self.consent is Consent.NONE else Outcome.PENDING


def overdue_days(promised: date | None, today: date) -> int | None:
    """How many days past its promised date a waiting line is (None: it is not overdue)."""
    if promised is None or promised >= today:
        return None
    return (today - promised).days


def bound_date(line: Waiting, policy: DelayPolicy) -> date | None:
    """The date the customer holds: the last revised date, else the promised date, else
    (under the policy) the rule's default. None: nothing to hold us to."""
    if line.notices:
        return line.holds
    if line.promised is not None:
        return line.promised
    return line.placed_on + timedelta(days=RULE_DEFAULT_DAYS) if policy.options else None


def slip(line: Waiting, today: date, policy: DelayPolicy) -> Slip | None:
    """The delay notice a line needs today, if its date cannot be met."""
    bound = bound_date(line, policy)
    if bound is None:
        return None
    passed = today > bound
    moved = policy.options and (line.eta is None or line.eta > bound)
    if not (passed or moved):
        return None
    revised = None
    slack = timedelta(days=policy.slack_days)
    if line.eta is not None:
        revised = line.eta if line.eta > today else today + slack
        if line.beyond_supply:
            revised = line.eta + slack
    seq = line.notices + 1
    if not policy.options:
        return Slip(seq, bound, revised, Consent.NONE, None)
    silent = seq == 1 and revised is not None and (revised - bound).days <= SILENCE_LIMIT_DAYS
    answer_by = max(bound, today + timedelta(days=policy.answer_days))
    return Slip(seq, bound, revised, Consent.SILENCE if silent else Consent.EXPLICIT, answer_by)


def settle(consent: Consent, answer_by: date | None, today: date) -> Outcome | None:
    """What a pending notice comes to once its answer date has passed without an answer."""
    if answer_by is None or today <= answer_by:
        return None
    return Outcome.CONSENTED if consent is Consent.SILENCE else Outcome.LAPSED


@dataclass(frozen=True)
class LateSku:
    """The facts of one SKU's overdue lines, for its incident and tasks."""

    sku: str
    lines: int
    orders: tuple[str, ...]
    units: int
    value: Decimal
    max_delay_days: int
    supplier: str | None
    lead_time_days: int | None
    on_time_percent: Decimal | None
    inbound: tuple[Inbound, ...]
    new_eta: date | None  # of the last overdue line in the queue
    ready_orders: tuple[str, ...]  # late orders with units ready to ship now
    # the ways out of the slip and the dates each gives (services.self_healing's plan as
    # JSON: "sentences", "options", …); None: none planned
    healing: Mapping[str, Any] | None = None


def mitigation(late: LateSku, today: date) -> list[str]:
    """The plan, most direct step first."""
    plan: list[str] = []
    who = late.supplier or "the supplier"
    for inbound in late.inbound:
        late_by = (today - inbound.expected_on).days
        if inbound.transfer is not None:  # between our own locations: no supplier to chase
            plan.append(
                f"chase transfer {inbound.transfer}: {count(late_by, 'day')} late "
                f"({count(inbound.units, 'unit')} to come)"
                if late_by > 0
                else f"speed up transfer {inbound.transfer} "
                f"(expected {inbound.expected_on.isoformat()}, {count(inbound.units, 'unit')})"
            )
        elif late_by > 0:
            plan.append(
                f"chase {who}: purchase order {inbound.po} is {count(late_by, 'day')} late "
                f"({count(inbound.units, 'unit')} outstanding)"
            )
        else:
            plan.append(
                f"expedite purchase order {inbound.po} with {who} "
                f"(expected {inbound.expected_on.isoformat()}, {count(inbound.units, 'unit')})"
            )
    if not late.inbound:
        if late.supplier is None:
            plan.append(f"find a supplier for {late.sku}: no purchase order covers it")
        else:
            lead = (
                f" (lead time {count(late.lead_time_days, 'day')})" if late.lead_time_days else ""
            )
            plan.append(f"place a purchase order with {who}{lead}: none covers the queue")
    unreliable = late.on_time_percent is not None and late.on_time_percent < RELIABLE_PERCENT
    if unreliable or late.max_delay_days >= LONG_DELAY_DAYS:
        why = (
            f"{who} delivers {late.on_time_percent}% on time"
            if unreliable
            else f"{count(late.max_delay_days, 'day')} late"
        )
        plan.append(f"source {late.sku} from an alternative supplier ({why})")
    if late.ready_orders:
        ready = count(len(late.ready_orders), "order")
        plan.append(
            f"offer a partial shipment of what is ready to {ready}: "
            + ", ".join(late.ready_orders[:10])
        )
    return plan


def summary(late: LateSku) -> str:
    """One line for people: what is late, by how much, for how many orders and how much."""
    return (
        f"{count(late.units, 'unit')} of {late.sku} in {count(late.lines, 'line')} "
        f"of {count(len(late.orders), 'order')} {'is' if late.units == 1 else 'are'} up to "
        f"{count(late.max_delay_days, 'day')} late: {late.value} at risk"
        + (f"; now expected {late.new_eta.isoformat()}" if late.new_eta else "; no date known")
    )
