"""The KPIs as a terminal table (rich): for `backorder kpi` and the demo."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from backorder.domain.kpis import DURATIONS, LABELS, shown, target_text, verdict


def _details(name: str, kpi: dict[str, Any]) -> str:
    if name in DURATIONS:
        count = kpi.get("lines", kpi.get("orders"))
        if kpi["value"] is None:
            return f"{count} ended"
        return f"median {kpi['median']:.1f}, p90 {kpi['p90']:.1f}; {count} counted"
    if name == "backorder_rate":
        return f"{kpi['backordered_orders']} of {kpi['orders_placed']} orders"
    if name == "cancel_rate":
        return ", ".join(f"{reason} {units}" for reason, units in kpi["reasons"].items())
    if name == "aging":
        return "lines waiting 0-7 / 8-14 / 15-30 / over 30 days"
    if name in ("money_on_backorder", "revenue_at_risk"):
        lines = kpi["lines"]
        return f"{kpi['units']} units in {lines} line{'s' * (lines != 1)}"
    return ""


def kpi_table(figures: dict[str, dict[str, Any]], title: str | None = None) -> Table:
    """Each KPI with its value, target, verdict and the counts behind it."""
    table = Table("KPI", "value", "target", "", "details", title=title, title_justify="left")
    for name, label in LABELS.items():
        kpi = figures[name]
        table.add_row(
            label, shown(name, kpi), target_text(name, kpi), verdict(kpi), _details(name, kpi)
        )
    return table
