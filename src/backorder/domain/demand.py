"""Demand classes (Syntetos & Boylan, 2005): how often a SKU is asked for and how much the
size of a demand varies decide which forecasting method suits it.

- ADI, the average demand interval: periods per period with demand.
- CV², the squared coefficient of variation of the non-zero demand sizes.

Smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32, CV² ≥ 0.49), intermittent
(ADI ≥ 1.32, CV² < 0.49), lumpy (both at or above); a SKU never asked for has no demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DemandClass = Literal["smooth", "erratic", "intermittent", "lumpy", "none"]
DEMAND_CLASSES: tuple[DemandClass, ...] = ("smooth", "erratic", "intermittent", "lumpy", "none")

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


@dataclass(frozen=True)
class Pattern:
    """A history's demand class and the two figures that decide it (None without demand)."""

    demand_class: DemandClass
    adi: float | None
    cv2: float | None


def classify(units: Sequence[float]) -> Pattern:
    """The demand class of a history of units per period, oldest first."""
    sizes = [u for u in units if u > 0]
    if not sizes:
        return Pattern("none", None, None)
    adi = len(units) / len(sizes)
    mean = sum(sizes) / len(sizes)
    variance = sum((s - mean) ** 2 for s in sizes) / len(sizes)
    cv2 = variance / mean / mean  # not / mean**2, which underflows to 0 for tiny sizes
    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    if frequent:
        return Pattern("smooth" if steady else "erratic", adi, cv2)
    return Pattern("intermittent" if steady else "lumpy", adi, cv2)
