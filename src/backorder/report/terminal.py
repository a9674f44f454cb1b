"""The KPIs as a terminal table (rich): for `backorder kpi` and the demo."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Column, Table

from backorder.domain.kpis import (
    DURATIONS,
    LABELS,
    currencies_of,
    reason_text,
    shown,
    target_text,
    verdict,
)
from backorder.words import count


def _details(name: str, kpi: dict[str, Any]) -> str:
    if name in DURATIONS:
        ended = kpi.get("lines", kpi.get("orders"))
        if kpi["value"] is None:
            return f"{ended} ended"
        return f"median {kpi['median']:.1f}, p90 {kpi['p90']:.1f} days; {ended} counted"
    if name == "backorder_rate":
        return f"{kpi['backordered_orders']} of {kpi['orders_placed']} orders"
    if name == "cancel_rate":
        return ", ".join(
            f"{reason_text(reason)} {units}" for reason, units in kpi["reasons"].items()
        )
    if name == "aging":
        return "lines waiting 0-7 / 8-14 / 15-30 / over 30 days"
    if name in ("money_on_backorder", "revenue_at_risk"):
        return f"{count(kpi['units'], 'unit')} in {count(kpi['lines'], 'line')}"
    return ""


def _verdict(kpi: dict[str, Any]) -> str:
    said = verdict(kpi)
    return {"meets": "[green]meets[/]", "misses": "[bold red]misses[/]"}.get(said, said)


def kpi_table(figures: dict[str, dict[str, Any]], title: str | None = None) -> Table:
    """Each KPI with its value, target, verdict and the counts behind it."""
    table = Table(
        "KPI",
        "value",
        "target",
        "",
        Column("details", ratio=1),
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    currencies = currencies_of(figures)
    for name, label in LABELS.items():
        kpi = figures[name]
        table.add_row(
            label,
            shown(name, kpi, currencies),
            target_text(name, kpi),
            _verdict(kpi),
            _details(name, kpi),
        )
    return table
