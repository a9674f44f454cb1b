"""The chart on a SKU's page: its weekly demand of the last half year, the forecast with its
80 % band, the projected stock, the safety stock and the inbound supply, week by week, with
the projected stockout marked. Drawn on the server as SVG (report.charts' house style)."""

from __future__ import annotations

from datetime import date
from typing import Any

from backorder.report.charts import CANCELLED, FILLED, INK, LATE, NEW, Format, _figure, _out

HISTORY = "#9aa5b1"


def _label(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d %b")


def projection_chart(view: dict[str, Any], fmt: Format = "svg") -> bytes | None:
    """The chart of a projection (services.shortages.projection); None without a forecast."""
    weeks = view.get("weeks") or []
    if not weeks:
        return None
    history = view.get("history") or []
    figure, axes = _figure(3.0)
    past = range(len(history))
    ahead = [len(history) + i for i in range(len(weeks))]
    axes.bar(list(past), [h["units"] for h in history], 0.8, color=HISTORY, label="demand")
    axes.fill_between(
        ahead,
        [w["lo80"] for w in weeks],
        [w["hi80"] for w in weeks],
        color=NEW,
        alpha=0.25,
        linewidth=0,
        label="forecast 80 %",
    )
    axes.plot(ahead, [w["demand"] for w in weeks], color=NEW, linewidth=1.5, label="forecast")
    axes.step(
        ahead,
        [w["available"] for w in weeks],
        where="mid",
        color=FILLED,
        linewidth=1.8,
        label="projected stock",
    )
    safety = (view.get("safety_stock") or {}).get("safety_stock")
    if safety:
        axes.hlines(
            safety, ahead[0] - 0.5, ahead[-1] + 0.5, colors=LATE, linestyles="dashed", linewidth=1
        )
        axes.annotate(
            "safety stock",
            (ahead[0] - 0.5, safety),
            fontsize=7,
            color=LATE,
            ha="right",
            va="center",
            xytext=(-3, 0),
            textcoords="offset points",
        )
    arriving = [(x, w["inbound"]) for x, w in zip(ahead, weeks, strict=True) if w["inbound"]]
    if arriving:
        axes.bar(
            [x for x, _ in arriving],
            [units for _, units in arriving],
            0.35,
            color=INK,
            alpha=0.7,
            label="inbound supply",
        )
    stockout = view.get("stockout")
    if stockout is not None:
        at = next(x for x, w in zip(ahead, weeks, strict=True) if w["week"] == stockout["week"])
        axes.axvline(at, color=CANCELLED, linewidth=1, linestyle=":")
        axes.annotate(
            f"short {stockout['units_short']}",
            (at, 0),
            fontsize=7,
            color=CANCELLED,
            xytext=(3, -12),
            textcoords="offset points",
        )
    axes.axhline(0, color=INK, linewidth=0.6)
    axes.axvline(len(history) - 0.5, color=INK, linewidth=0.6, alpha=0.4)
    labels = [h["week"] for h in history] + [w["week"] for w in weeks]
    ticks = list(range(0, len(labels), 4))
    axes.set_xticks(ticks, [_label(labels[t]) for t in ticks], rotation=45)
    axes.set_ylabel("units", color=INK, fontsize=8)
    axes.set_title(
        "Demand, forecast and projected stock by week", color=INK, fontsize=10, loc="left"
    )
    axes.legend(fontsize=7, frameon=False, ncols=5, loc="lower right", bbox_to_anchor=(1, 1.08))
    return _out(figure, fmt)
