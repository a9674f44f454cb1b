"""The substitute rules, pure: which one is offered (best rank with enough to spare beyond
its own queue and the open offers; never a part of a line), how ranks move, and what an
acceptance moves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backorder.domain.errors import InvalidRequest
from backorder.domain.reasons import reason_in_words
from backorder.domain.substitutes import (
    Candidate,
    check_pair,
    choose,
    expires,
    ranks_after_insert,
    units_to_move,
)


def test_the_best_ranked_substitute_with_enough_to_spare_is_offered() -> None:
    first = Candidate("FLT-14", 1, available=1, waiting=0)
    second = Candidate("FLT-12", 2, available=5, waiting=0)
    assert choose(2, [second, first]) == second  # the first cannot cover 2
    assert choose(1, [second, first]) == first
    assert choose(6, [second, first]) is None  # never a part of the line


def test_units_its_own_queue_waits_for_or_other_offers_hold_are_not_to_spare() -> None:
    queued = Candidate("FLT-12", 1, available=5, waiting=4)
    assert queued.spare == 1 and choose(2, [queued]) is None
    held = Candidate("FLT-12", 1, available=5, waiting=0, held_out=3)
    assert held.spare == 2 and choose(2, [held]) == held and choose(3, [held]) is None
    assert Candidate("FLT-12", 1, available=0, waiting=7).spare == 0


def test_a_sku_cannot_stand_in_for_itself() -> None:
    with pytest.raises(InvalidRequest, match="FLT-10 cannot be its own substitute"):
        check_pair("FLT-10", "FLT-10")
    check_pair("FLT-10", "FLT-12")


def test_ranks_stay_one_two_three() -> None:
    assert ranks_after_insert([], "A", None) == ["A"]
    assert ranks_after_insert(["A", "B"], "C", None) == ["A", "B", "C"]
    assert ranks_after_insert(["A", "B"], "C", 1) == ["C", "A", "B"]
    assert ranks_after_insert(["A", "B", "C"], "C", 2) == ["A", "C", "B"]  # moved
    assert ranks_after_insert(["A", "B"], "C", 9) == ["A", "B", "C"]  # past the end: last


def test_accepting_moves_what_still_waits_of_what_was_offered() -> None:
    assert units_to_move(2, 2) == 2
    assert units_to_move(2, 1) == 1  # one was served meanwhile
    assert units_to_move(2, 5) == 2  # more wait now: only what was offered
    assert units_to_move(2, 0) == 0


def test_an_offer_stands_a_week_and_its_reason_reads_as_words() -> None:
    now = datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert expires(now) == datetime(2026, 1, 21, 9, tzinfo=UTC)
    assert reason_in_words("substituted") == "you chose a substitute that we could send at once"
