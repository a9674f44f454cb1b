"""Demand classes (Syntetos-Boylan): how often a SKU is asked for (ADI) and how much the
size of a demand varies (CV²) decide the class, with the cut-offs 1.32 and 0.49."""

from __future__ import annotations

import pytest

from backorder.domain.demand import ADI_CUTOFF, CV2_CUTOFF, classify


@pytest.mark.parametrize(
    ("units", "demand_class", "adi", "cv2"),
    [
        ([4, 4, 4, 4], "smooth", 1.0, 0.0),  # every period, always the same size
        ([1, 9, 1, 9], "erratic", 1.0, 0.64),  # every period, sizes 5 ± 4: CV² = 16/25
        ([0, 3, 0, 3, 0, 3], "intermittent", 2.0, 0.0),  # every other period, same size
        ([0, 1, 0, 9, 0, 0], "lumpy", 3.0, 0.64),  # rare and of varying size
        ([0, 0, 0], "none", None, None),  # never asked for
        ([], "none", None, None),
    ],
)
def test_each_class_by_example(
    units: list[float], demand_class: str, adi: float | None, cv2: float | None
) -> None:
    pattern = classify(units)
    assert pattern.demand_class == demand_class
    assert pattern.adi == (None if adi is None else pytest.approx(adi))
    assert pattern.cv2 == (None if cv2 is None else pytest.approx(cv2))


def test_an_adi_of_exactly_the_cutoff_is_intermittent() -> None:
    # 33 periods with demand in 25 of them: ADI = 1.32 exactly
    units = [2.0] * 25 + [0.0] * 8
    pattern = classify(units)
    assert pattern.adi == pytest.approx(ADI_CUTOFF)
    assert pattern.demand_class == "intermittent"
    assert classify([2.0] * 26 + [0.0] * 8).demand_class == "smooth"  # ADI 34/26 = 1.31


def test_a_cv2_of_exactly_the_cutoff_is_erratic() -> None:
    # sizes 3 and 17: mean 10, variance 49, CV² = 0.49 exactly
    pattern = classify([3, 17, 3, 17])
    assert pattern.cv2 == pytest.approx(CV2_CUTOFF)
    assert pattern.demand_class == "erratic"
    assert classify([4, 16, 4, 16]).demand_class == "smooth"  # CV² 36/100 = 0.36


def test_zeros_do_not_count_towards_the_size_variation() -> None:
    assert classify([0, 0, 5, 0, 0, 5]).cv2 == 0.0
