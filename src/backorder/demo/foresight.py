"""The demo looks ahead: it brings in the store's sales from before it opened, forecasts
every SKU, plans safety stock and projected stock, and lists the coming shortages. The
forecasts need the `forecast` extra; without it the demo says how to add them."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from backorder import foresight
from backorder.demo.history import history_file
from backorder.services.context import Backorder
from backorder.services.demand import import_history
from backorder.services.forecasts import recompute
from backorder.services.foresight_plan import refresh
from backorder.services.shortages import shortages

WEEKS_AHEAD = 8


def look_ahead(app: Backorder, rng: random.Random, opening: date) -> dict[str, Any]:
    """Import the year of weekly sales before `opening`, then (with the extra) forecast,
    plan and list the shortages coming within eight weeks; what it found, for the summary."""
    imported = import_history(app, history_file(rng, opening))
    found: dict[str, Any] = {"imported": imported, "available": foresight.available()}
    if not found["available"]:
        return found
    found["forecasts"] = recompute(app)
    found["plan"] = refresh(app)
    found["shortages"] = shortages(app, WEEKS_AHEAD, limit=10)
    return found
