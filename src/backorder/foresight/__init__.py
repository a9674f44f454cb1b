"""Foresight: demand forecasts, safety stock and backorder risk. The numeric work (numpy,
statsforecast, scikit-learn) comes with the `forecast` extra; without it the rest of the
product works and these features say how to install it."""

from __future__ import annotations

from importlib.util import find_spec

from backorder.domain.errors import BackorderError

INSTALL = "pip install 'backorder[forecast]'"


class ForesightUnavailable(BackorderError):
    """Forecasting or the risk model was asked for without the `forecast` extra installed."""

    def __init__(self, what: str = "forecasting") -> None:
        super().__init__(f"{what} needs the forecast extra: {INSTALL}")


def available() -> bool:
    """Whether the forecast extra is installed (checked without importing it)."""
    return all(find_spec(name) is not None for name in ("numpy", "statsforecast", "sklearn"))


def require(what: str = "forecasting") -> None:
    """Refuse clearly, naming the install command, when the extra is missing."""
    if not available():
        raise ForesightUnavailable(what)
