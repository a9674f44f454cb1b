"""Measured supplier performance from closed purchase-order lines: the rules on small
hand-made cases."""

from __future__ import annotations

from datetime import date

from backorder.domain.supplier_performance import ClosedLine, lateness_days, measure, on_time

TODAY = date(2026, 1, 10)


def line(first: date, ordered: int, received: int, came: date | None) -> ClosedLine:
    return ClosedLine(first_expected_on=first, ordered=ordered, received=received, received_on=came)


def test_early_counts_as_zero_days_late_and_on_time_needs_every_unit() -> None:
    early = line(date(2025, 12, 10), 5, 5, date(2025, 12, 1))
    short = line(date(2025, 12, 10), 5, 4, date(2025, 12, 10))
    late = line(date(2025, 12, 10), 5, 5, date(2025, 12, 13))
    assert [lateness_days(x) for x in (early, short, late)] == [0, 0, 3]
    assert [on_time(x) for x in (early, short, late)] == [True, False, False]


def test_a_line_nothing_came_on_counts_for_fill_and_on_time_but_not_lateness() -> None:
    nothing = line(date(2025, 12, 1), 10, 0, None)
    came = line(date(2025, 12, 2), 10, 10, date(2025, 12, 4))
    figures = measure([nothing, came], TODAY, 6)
    assert (figures.lines, figures.on_time_lines, figures.on_time_rate) == (2, 0, 0.0)
    assert (figures.late_days_mean, figures.late_days_sd) == (2.0, None)  # one late line: no sd
    assert (figures.received, figures.ordered, figures.fill_rate) == (10, 20, 0.5)


def test_the_window_is_by_first_expected_date_and_empty_means_no_figures() -> None:
    old = line(date(2025, 6, 1), 10, 10, date(2025, 6, 1))
    assert measure([old], TODAY, 6).lines == 0
    assert measure([old], TODAY, 6).on_time_rate is None
    assert measure([old], TODAY, 6).fill_rate is None
    assert measure([old], TODAY, 12).lines == 1
