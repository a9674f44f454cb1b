"""Charts drawn on the server with matplotlib (no browser, no script): PNG for the report and
its e-mail, SVG for pages. Figures are built without pyplot's global state, so threads may
draw at once."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any, Literal

from matplotlib.figure import Figure

Format = Literal["png", "svg"]
INK, NEW, FILLED, CANCELLED, LATE = "#1f2933", "#d9822b", "#2f855a", "#c53030", "#6b46c1"


def _figure(height: float = 2.6) -> tuple[Figure, Any]:
    figure = Figure(figsize=(6.4, height), dpi=110)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=INK, labelsize=8)
    return figure, axes


def _out(figure: Figure, fmt: Format) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight", metadata=_metadata(fmt))
    return buffer.getvalue()


def _metadata(fmt: Format) -> dict[str, Any]:
    """No creation date or version stamp: the same report draws the same bytes."""
    return {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}


def _day_labels(days: list[dict[str, Any]]) -> list[str]:
    return [date.fromisoformat(d["day"]).strftime("%a %d") for d in days]


def trend(days: list[dict[str, Any]], fmt: Format = "png") -> bytes:
    """Lines that began to wait, were filled, or were cancelled while waiting, per day."""
    figure, axes = _figure()
    positions = range(len(days))
    width = 0.27
    series = (
        ("new backorders", "new_lines", NEW, -width),
        ("filled", "filled_lines", FILLED, 0.0),
        ("cancelled", "cancelled_lines", CANCELLED, width),
    )
    for label, key, colour, shift in series:
        axes.bar(
            [p + shift for p in positions], [d[key] for d in days], width, label=label, color=colour
        )
    axes.set_xticks(list(positions), _day_labels(days), rotation=45 if len(days) > 7 else 0)
    highest = max((d[key] for d in days for _, key, _, _ in series), default=0)
    axes.set_ylim(0, max(highest * 1.1, 1))
    axes.set_ylabel("lines", color=INK, fontsize=8)
    axes.set_title("Backorders per day", color=INK, fontsize=10, loc="left")
    axes.legend(fontsize=7, frameon=False, ncols=3, loc="lower right", bbox_to_anchor=(1, 1))
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _out(figure, fmt)


def aging(buckets: list[dict[str, Any]], fmt: Format = "png") -> bytes:
    """Waiting lines by days since they first waited."""
    figure, axes = _figure(2.0)
    labels = [f"{b['days']} days" for b in buckets]
    counts = [b["lines"] for b in buckets]
    colours = [FILLED, NEW, CANCELLED, LATE][: len(buckets)]
    bars = axes.barh(labels, counts, color=colours)
    axes.bar_label(bars, fontsize=7, color=INK, padding=2)
    axes.invert_yaxis()
    axes.set_xlabel("lines waiting", color=INK, fontsize=8)
    axes.set_title("Aging", color=INK, fontsize=10, loc="left")
    axes.xaxis.get_major_locator().set_params(integer=True)
    return _out(figure, fmt)


def overdue(days: list[dict[str, Any]], fmt: Format = "png") -> bytes | None:
    """Overdue lines per day, as the daily review found them; None if it never ran."""
    points = [
        (i, d["overdue_lines"]) for i, d in enumerate(days) if d.get("overdue_lines") is not None
    ]
    if not points:
        return None
    figure, axes = _figure(2.0)
    axes.plot([p for p, _ in points], [v for _, v in points], marker="o", color=LATE)
    axes.set_xticks(range(len(days)), _day_labels(days))
    axes.set_ylim(bottom=0)
    axes.set_ylabel("overdue lines", color=INK, fontsize=8)
    axes.set_title("Overdue at each daily review", color=INK, fontsize=10, loc="left")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _out(figure, fmt)


def draw_all(report: dict[str, Any], fmt: Format = "png") -> dict[str, bytes]:
    """The report's charts by name (the overdue chart only when the review ran that week)."""
    charts = {
        "trend": trend(report["days"], fmt),
        "aging": aging(report["kpis"]["aging"]["value"], fmt),
    }
    late = overdue(report["days"], fmt)
    if late is not None:
        charts["overdue"] = late
    return charts
