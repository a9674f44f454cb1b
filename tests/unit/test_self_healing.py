"""Self-healing after a slip, on hand-computed fixtures: which lines miss their promised
dates, the shortfall, and each way out with the dates it gives (clock: 10 January 2026)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from backorder.domain.replenishment import Option
from backorder.domain.self_healing import (
    Line,
    Situation,
    Slipped,
    affected_lines,
    plan,
    surplus,
)
from backorder.domain.sourcing import Site
from backorder.domain.supply import Inbound, Outlook

TODAY = date(2026, 1, 10)
SHARE = Decimal("0.25")
MAIN = Site(1, "MAIN")
STORE = Site(2, "STORE", accepts_backorders=False)
SITES = {1: MAIN, 2: STORE}
CLEARFLOW = Option("purchase", "CLEARFLOW", "ClearFlow", Decimal("2.60"), 4, moq=10, pack=5)
SLOWCO = Option("purchase", "SLOWCO", "SlowCo", Decimal("2.00"), 10)
ACME = Slipped("PO-1", "ACME", p90_late_days=5, unit_cost=Decimal("2.00"))


def jan(n: int) -> date:
    return date(2026, 1, n)


def lines(*promised: int) -> tuple[Line, ...]:
    """Orders web:1, web:2, … of 4 units each at 10.00, promised on these January days."""
    return tuple(
        Line(n, f"web:{n}", 4, jan(day), Decimal("10.00")) for n, day in enumerate(promised, 1)
    )


def po(units: int, day: int, ref: str = "PO-1") -> Inbound:
    return Inbound(ref, jan(day), units, 1)


def situation(
    queue: tuple[Line, ...], *supply: Inbound, options: tuple[Option, ...] = (CLEARFLOW, SLOWCO)
) -> Situation:
    return Situation(
        sku="FILTER",
        queue=queue,
        outlook=Outlook(TODAY, supply, lead_time_days=20),
        sites=SITES,
        slipped=ACME,
        options=options,
        locations={"STORE": 2},
        destination=1,
    )


def test_a_redate_past_three_promises_offers_expediting_another_supplier_and_says_the_dates() -> (
    None
):
    # PO-1 (12 units) moved from 14 to 25 January: all three orders promised 15 January miss
    s = situation(lines(15, 15, 15), po(12, 25))
    p = plan(s, SHARE, lambda amount: f"USD {amount:,.2f}")
    assert [(a.line.order, a.promised, a.no_action) for a in p.affected] == [
        ("web:1", jan(15), jan(25)),
        ("web:2", jan(15), jan(25)),
        ("web:3", jan(15), jan(25)),
    ]
    assert p.shortfall == 12
    assert p.need is not None and p.need.need_by == jan(15) and p.need.cause == "slip"
    # ClearFlow: 12 rounded to its minimum 10, then packs of 5: 15 units at 2.60, by 14 Jan.
    # SlowCo: 12 at 2.00 = 24.00 by 20 Jan, 5 days after the need: all 12 units wait
    # (12 a day over a one-day span, capped), 120.00 x 0.25 = 30.00 -> 54.00 against 39.00.
    first, second = p.options
    assert (first.source, first.units, first.arrive_on, first.keeps) == (
        "CLEARFLOW",
        15,
        jan(14),
        3,
    )
    assert first.dates == {1: jan(14), 2: jan(14), 3: jan(14)}
    assert second.weighed is not None and second.weighed.expected_cost == Decimal("54.00")
    assert (second.source, second.keeps, second.dates[3]) == ("SLOWCO", 0, jan(20))
    e = p.expedite
    assert e is not None
    assert (e.arrive_on, e.keeps, e.dates[1]) == (jan(15), 3, jan(15))
    assert (e.p90, e.p90_keeps) == (jan(20), 0)
    assert p.sentences == (
        "Expedite PO-1 to arrive by 15 Jan: keeps 3 orders' dates; at the supplier's p90 "
        "lateness, 20 Jan: no order keeps its date.",
        "ClearFlow: 15 units by 14 Jan at USD 39.00 (+30 %), keeps 3 orders' dates.",
        "SlowCo: 12 units by 20 Jan at USD 24.00 (same cost), no order keeps its date (20 Jan).",
        "No action: 3 orders move from 15 Jan to 25 Jan.",
    )


def test_expediting_to_the_first_promise_keeps_only_what_the_p90_lateness_still_meets() -> None:
    s = situation(lines(12, 14, 20), po(12, 25))
    e = plan(s, SHARE).expedite
    assert e is not None and (e.arrive_on, e.keeps) == (jan(12), 3)
    assert (e.p90, e.p90_keeps) == (jan(17), 1)  # 12 + 5 days: only web:3 (20 Jan) keeps
    assert plan(s, SHARE).sentences == (
        "Expedite PO-1 to arrive by 12 Jan: keeps 3 orders' dates; at the supplier's p90 "
        "lateness, 17 Jan: keeps 1 of 3 orders' dates.",
        "ClearFlow: 15 units by 14 Jan at 39.00 (+30 %), keeps 2 of 3 orders' dates (the rest "
        "14 Jan).",
        "SlowCo: 12 units by 20 Jan at 24.00 (same cost), keeps 1 of 3 orders' dates (the rest "
        "20 Jan).",
        "No action: 3 orders move from 12 Jan-20 Jan to 25 Jan.",
    )


def test_a_redate_that_keeps_every_date_needs_nothing() -> None:
    s = situation(lines(15, 15, 15), po(12, 15))
    p = plan(s, SHARE)
    assert (p.affected, p.options, p.expedite, p.sentences) == ((), (), None, ())


def test_a_reduction_leaves_the_last_order_short_and_expediting_cannot_help() -> None:
    # PO-1 comes on 14 January with 8 of 12 units: web:3 falls beyond supply (today + 20 days)
    s = situation(lines(15, 15, 15), po(8, 14))
    p = plan(s, SHARE)
    assert [(a.line.order, a.no_action) for a in p.affected] == [("web:3", jan(30))]
    assert p.shortfall == 4
    assert p.expedite is None
    # SlowCo: 4 x 2.00 = 8.00, 4 units wait 5 days (40.00 x 0.25 = 10.00): 18.00. ClearFlow:
    # 4 -> minimum 10 -> 10 units at 2.60 = 26.00 by 14 Jan, which keeps web:3's date. The
    # cheaper expected outcome comes first; both are offered with their dates.
    slow, clear = p.options
    assert (slow.source, slow.units, slow.keeps, slow.dates[3]) == ("SLOWCO", 4, 0, jan(20))
    assert slow.weighed is not None and slow.weighed.expected_cost == Decimal("18.00")
    assert (clear.source, clear.units, clear.keeps) == ("CLEARFLOW", 10, 1)
    assert clear.dates == {1: jan(14), 2: jan(14), 3: jan(14)}
    assert p.sentences[-1] == "No action: 1 order moves from 15 Jan to 30 Jan."


def test_a_transfer_from_a_location_with_surplus_is_preferred_when_it_costs_less() -> None:
    # STORE holds 20 free units: it keeps a quarter (5) and can spare 15, in 3 days, at no cost
    transfer = Option("transfer", "STORE", "STORE", Decimal("0"), 3, max_units=surplus(20, 0))
    s = situation(lines(15, 15, 15), po(12, 25), options=(CLEARFLOW, SLOWCO, transfer))
    p = plan(s, SHARE)
    chosen = p.options[0]
    assert (chosen.kind, chosen.units, chosen.arrive_on, chosen.keeps) == (
        "transfer",
        12,
        jan(13),
        3,
    )
    assert chosen.dates == {1: jan(13), 2: jan(13), 3: jan(13)}
    assert p.chosen is not None and p.chosen.chosen.option is transfer


def test_a_location_keeps_a_quarter_of_its_free_units() -> None:
    assert (surplus(20, 0), surplus(10, 7), surplus(3, 5), surplus(1, 0)) == (15, 2, 0, 0)


def test_a_line_with_no_promise_is_never_affected_and_a_line_beyond_any_date_is() -> None:
    queue = (
        *lines(15),
        Line(2, "web:2", 4, None, Decimal(1)),
        Line(3, "web:3", 4, jan(15), Decimal(1)),
    )
    outlook = Outlook(TODAY, (po(4, 12),), lead_time_days=None)
    found = affected_lines(queue, outlook, SITES)
    assert [(a.line.order, a.no_action) for a in found] == [("web:3", None)]
