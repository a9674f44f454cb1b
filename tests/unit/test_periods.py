"""Periods as people write them, and imported history spread over the periods a series is
counted in (domain/periods.py)."""

from __future__ import annotations

from datetime import date

import pytest

from backorder.domain.periods import Period, parse_period, period_name, spread, starts


@pytest.mark.parametrize(
    ("text", "kind", "start", "days"),
    [
        ("2026-11-03", "day", date(2026, 11, 3), 1),
        ("2026-W45", "week", date(2026, 11, 2), 7),
        ("2026-W01", "week", date(2025, 12, 29), 7),  # ISO week 1 starts in the year before
        ("2026-W53", "week", date(2026, 12, 28), 7),
        ("2026-11", "month", date(2026, 11, 1), 30),
        ("2024-02", "month", date(2024, 2, 1), 29),
        ("2026-12", "month", date(2026, 12, 1), 31),
    ],
)
def test_a_period_is_read_as_people_write_it(text: str, kind: str, start: date, days: int) -> None:
    period = parse_period(text)
    assert (period.kind, period.start, period.days) == (kind, start, days)
    assert period_name(period.kind, period.start) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2025-W53", "2025 has no ISO week 53"),
        ("2026-13", "there is no month 13"),
        ("2026-02-30", "is not a date"),
        ("Nov 2026", "is not a period"),
        ("2026-W5", "is not a period"),
        ("", "is not a period"),
    ],
)
def test_anything_else_is_refused_in_words(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_period(text)


def test_a_month_is_spread_evenly_over_its_days_into_weeks() -> None:
    # November 2026: 30 days, Sunday the 1st to Monday the 30th: 3 units a day
    weeks = spread([(parse_period("2026-11"), 90)], "week")
    assert weeks == {
        date(2026, 10, 26): 3.0,  # Sunday 1 November
        date(2026, 11, 2): 21.0,
        date(2026, 11, 9): 21.0,
        date(2026, 11, 16): 21.0,
        date(2026, 11, 23): 21.0,
        date(2026, 11, 30): 3.0,  # Monday 30 November
    }
    assert sum(weeks.values()) == 90


def test_only_the_days_before_the_first_order_count() -> None:
    history = [(parse_period("2026-11"), 90), (parse_period("2026-12"), 31)]
    # the first order on Thursday 5 November: the 1st to the 4th count (4 days of 3 units)
    assert spread(history, "week", before=date(2026, 11, 5)) == {
        date(2026, 10, 26): 3.0,
        date(2026, 11, 2): 9.0,
    }
    assert spread(history, "month", before=date(2026, 11, 1)) == {}


def test_weeks_and_days_roll_up_into_months() -> None:
    history = [(Period("week", date(2026, 11, 30)), 14), (Period("day", date(2026, 12, 2)), 5)]
    # the week of Monday 30 November: 1 of its 7 days (2 units a day) in November
    assert spread(history, "month") == {date(2026, 11, 1): 2.0, date(2026, 12, 1): 17.0}
    assert starts("month", date(2026, 11, 15), date(2027, 1, 2)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
