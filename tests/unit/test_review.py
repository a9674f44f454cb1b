"""The rules of the daily review and of delay notices, without a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backorder.domain.review import (
    Consent,
    DelayPolicy,
    LateSku,
    Outcome,
    Waiting,
    bound_date,
    mitigation,
    overdue_days,
    settle,
    slip,
)
from backorder.domain.supply import Inbound

TODAY = date(2026, 2, 2)
OFF, ON = DelayPolicy(), DelayPolicy(options=True)


def line(eta: date | None, promised: date | None, notices: int = 0, holds: date | None = None,
         beyond: bool = False) -> Waiting:  # fmt: skip
    return Waiting(1, date(2026, 1, 1), eta, promised, notices, holds, beyond)


def test_a_line_is_overdue_once_its_promised_date_has_passed() -> None:
    assert overdue_days(date(2026, 2, 2), TODAY) is None
    assert overdue_days(date(2026, 1, 30), TODAY) == 3
    assert overdue_days(None, TODAY) is None


def test_without_the_policy_a_line_slips_only_when_the_date_has_passed() -> None:
    assert slip(line(date(2026, 3, 1), date(2026, 2, 10)), TODAY, OFF) is None
    s = slip(line(date(2026, 2, 20), date(2026, 1, 30)), TODAY, OFF)
    assert s is not None
    assert (s.seq, s.missed, s.revised, s.consent, s.answer_by, s.outcome) == (
        1, date(2026, 1, 30), date(2026, 2, 20), Consent.NONE, None, Outcome.INFORMED
    )  # fmt: skip


def test_under_the_policy_a_line_slips_as_soon_as_its_date_cannot_be_met() -> None:
    s = slip(line(date(2026, 2, 20), date(2026, 2, 10)), TODAY, ON)
    assert s is not None and (s.missed, s.revised, s.consent) == (
        date(2026, 2, 10), date(2026, 2, 20), Consent.SILENCE
    )  # fmt: skip
    assert s.answer_by == date(2026, 2, 10)  # until the date it can no longer meet


def test_a_first_delay_over_thirty_days_or_indefinite_needs_acceptance() -> None:
    long = slip(line(date(2026, 3, 20), date(2026, 2, 10)), TODAY, ON)
    assert long is not None and long.consent is Consent.EXPLICIT
    unknown = slip(line(None, date(2026, 2, 10)), TODAY, ON)
    assert unknown is not None and (unknown.revised, unknown.consent) == (None, Consent.EXPLICIT)


def test_a_second_delay_needs_acceptance_and_an_indefinite_one_ends_the_notices() -> None:
    second = slip(line(date(2026, 2, 25), date(2026, 1, 30), 1, date(2026, 2, 10)), TODAY, ON)
    assert second is not None and (second.seq, second.missed) == (2, date(2026, 2, 10))
    assert second.consent is Consent.EXPLICIT
    assert second.answer_by == date(2026, 2, 10)
    assert slip(line(None, date(2026, 1, 30), 1, None), TODAY, ON) is None


def test_no_promise_holds_the_rule_of_thirty_days_under_the_policy() -> None:
    assert bound_date(line(None, None), ON) == date(2026, 1, 31)
    assert bound_date(line(None, None), OFF) is None
    assert slip(line(None, None), TODAY, OFF) is None


def test_a_guess_or_late_supply_gets_slack_not_a_date_that_slips_tomorrow() -> None:
    late_po = slip(line(TODAY, date(2026, 1, 30)), TODAY, OFF)
    assert late_po is not None and late_po.revised == TODAY + timedelta(days=7)
    guess = slip(line(date(2026, 2, 22), date(2026, 1, 30), beyond=True), TODAY, OFF)
    assert guess is not None and guess.revised == date(2026, 3, 1)


@given(
    eta=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2026, 6, 1))),
    promised=st.dates(date(2026, 1, 1), date(2026, 6, 1)),
    today=st.dates(date(2026, 1, 1), date(2026, 6, 1)),
    options=st.booleans(),
)
def test_after_its_notice_a_line_does_not_slip_again_the_same_day(
    eta: date | None, promised: date, today: date, options: bool
) -> None:
    policy = DelayPolicy(options=options)
    first = slip(line(eta, promised), today, policy)
    if first is None:
        return
    after = line(eta, promised, first.seq, first.revised)
    assert slip(after, today, policy) is None
    if first.revised is not None:
        assert first.revised > today


def test_silence_consents_and_no_acceptance_lapses_after_the_answer_date() -> None:
    assert settle(Consent.SILENCE, date(2026, 2, 1), TODAY) is Outcome.CONSENTED
    assert settle(Consent.EXPLICIT, date(2026, 2, 1), TODAY) is Outcome.LAPSED
    assert settle(Consent.EXPLICIT, TODAY, TODAY) is None  # the answer date itself still counts


def test_the_mitigation_plan_reads_like_what_procurement_would_do() -> None:
    late = LateSku(
        sku="WIDGET-BLUE",
        lines=3,
        orders=("web:1", "web:2"),
        units=12,
        value=Decimal("239.88"),
        max_delay_days=16,
        supplier="ACME",
        lead_time_days=20,
        on_time_percent=Decimal("75"),
        inbound=(Inbound("PO-1", date(2026, 1, 25), 8), Inbound("PO-2", date(2026, 2, 9), 4)),
        new_eta=date(2026, 2, 22),
        ready_orders=("web:2",),
    )
    assert mitigation(late, TODAY) == [
        "chase ACME: purchase order PO-1 is 8 days late (8 units outstanding)",
        "expedite purchase order PO-2 with ACME (expected 2026-02-09, 4 units)",
        "source WIDGET-BLUE from an alternative supplier (ACME delivers 75% on time)",
        "offer a partial shipment of what is ready to 1 order: web:2",
    ]
    bare = LateSku("X", 1, ("web:9",), 1, Decimal(1), 2, None, None, None, (), None, ())
    assert mitigation(bare, TODAY) == ["find a supplier for X: no purchase order covers it"]


def test_a_transfer_in_the_plan_is_chased_as_a_transfer_not_a_supplier() -> None:
    late = LateSku(
        sku="WIDGET-BLUE",
        lines=1,
        orders=("web:1",),
        units=3,
        value=Decimal("59.97"),
        max_delay_days=2,
        supplier="ACME",
        lead_time_days=20,
        on_time_percent=None,
        inbound=(
            Inbound("", date(2026, 1, 30), 3, location=1, transfer=7),
            Inbound("", date(2026, 2, 9), 2, location=1, transfer=8),
        ),
        new_eta=date(2026, 2, 9),
        ready_orders=(),
    )
    assert mitigation(late, TODAY)[:2] == [
        "chase transfer 7: 3 days late (3 units to come)",
        "speed up transfer 8 (expected 2026-02-09, 2 units)",
    ]
