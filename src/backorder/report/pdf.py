"""The weekly report as a PDF (fpdf2): the same tables and charts as the HTML, in DejaVu,
which ships with matplotlib and covers every script a SKU name may be written in."""

from __future__ import annotations

import io
import struct
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from backorder.domain.kpis import (
    LABELS,
    currencies_of,
    reason_text,
    shown,
    target_text,
    verdict,
)
from backorder.report.render import day_money
from backorder.words import count, money


def _font_dir() -> Path:
    """DejaVu, which ships with matplotlib: every script a SKU name may be written in."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


GREEN, RED, MUTED = (47, 133, 90), (197, 48, 48), (123, 135, 148)
VERDICT_STYLE = {
    "meets": FontFace(emphasis="BOLD", color=GREEN),
    "misses": FontFace(emphasis="BOLD", color=RED),
}
LINE = 5  # mm, a table row of one line
Cell = str | tuple[str, FontFace]


class _Pdf(FPDF):
    def __init__(self, title: str, made: datetime) -> None:
        super().__init__(format="A4")
        self.title_text = title
        fonts = _font_dir()
        self.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_creation_date(made)  # the same report makes the same bytes

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"{self.title_text}, page {self.page_no()}", align="R")

    def keep(self, height: float) -> None:
        """Start a new page unless `height` mm fit on this one: a heading stays with what it
        heads (its table's header and first rows, its chart)."""
        if self.will_page_break(height):
            self.add_page()

    def heading(self, words: str, then: float = 3 * LINE) -> None:
        self.keep(11 + then)
        self.set_font("DejaVu", "B", 12)
        self.ln(3)
        self.cell(0, 8, words, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 8)

    def note(self, words: str, colour: tuple[int, int, int] | None = None) -> None:
        self.set_font("DejaVu", "", 8)
        if colour:
            self.set_text_color(*colour)
        self.multi_cell(0, 4.5, words, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def chart(self, png: bytes, width: float = 170) -> None:
        self.keep(width * _aspect(png) + 2)
        self.image(io.BytesIO(png), w=width)

    def grid(
        self,
        head: list[str],
        rows: list[list[Cell]],
        widths: tuple[int, ...],
        empty: str = "None.",
        right: int = 0,
    ) -> None:
        """A table whose header row repeats on every page it runs onto; the first `right`
        columns from the end are figures (right-aligned)."""
        if not rows:
            self.note(empty, MUTED)
            return
        self.set_font("DejaVu", "", 8)
        align = ["LEFT"] * (len(head) - right) + ["RIGHT"] * right
        with self.table(
            col_widths=widths,
            headings_style=FontFace(emphasis="BOLD", fill_color=(245, 247, 250)),
            line_height=LINE,
            text_align=tuple(align),
            repeat_headings=1,
        ) as table:
            table.row(head)
            for row in rows:
                line = table.row()
                for cell in row:
                    if isinstance(cell, tuple):
                        line.cell(cell[0], style=cell[1])
                    else:
                        line.cell(cell)
        self.ln(2)


def _aspect(png: bytes) -> float:
    """Height over width of a PNG, from its header."""
    width, height = struct.unpack(">II", png[16:24])
    return float(height) / float(width)


def _kpis(doc: _Pdf, report: dict[str, Any], currencies: tuple[str, ...]) -> None:
    figures = report["kpis"]
    doc.heading("KPIs against targets", then=len(LABELS) * LINE)
    rows: list[list[Cell]] = []
    for name, label in LABELS.items():
        said = verdict(figures[name])
        rows.append(
            [
                label,
                shown(name, figures[name], currencies),
                target_text(name, figures[name]),
                (said, VERDICT_STYLE[said]) if said else "",
            ]
        )
    doc.grid(["KPI", "value", "target", ""], rows, (70, 50, 35, 25))
    reasons = figures["cancel_rate"]["reasons"]
    if reasons:
        doc.note(
            "Cancelled while waiting: "
            + ", ".join(f"{reason_text(r)} ({count(u, 'unit')})" for r, u in reasons.items())
            + "."
        )


def _trend(doc: _Pdf, report: dict[str, Any], drawn: dict[str, bytes]) -> None:
    doc.heading("Trend", then=170 * _aspect(drawn["trend"]))
    doc.chart(drawn["trend"])
    at_risk = day_money(report)
    doc.keep(4 * LINE)
    doc.grid(
        ["day", "new", "filled", "cancelled", "overdue (review)", "at risk (review)"],
        [
            [
                d["day"],
                str(d["new_lines"]),
                str(d["filled_lines"]),
                str(d["cancelled_lines"]),
                "-" if d["overdue_lines"] is None else str(d["overdue_lines"]),
                at_risk(d["value_at_risk"]),
            ]
            for d in report["days"]
        ],
        (30, 20, 20, 25, 35, 45),
        right=5,
    )
    if "overdue" in drawn:
        doc.chart(drawn["overdue"])


def _aging(doc: _Pdf, report: dict[str, Any], drawn: dict[str, bytes], currencies: Any) -> None:
    figures = report["kpis"]
    waiting, risk = figures["money_on_backorder"], figures["revenue_at_risk"]
    doc.heading("Aging and revenue at risk", then=170 * _aspect(drawn["aging"]))
    doc.chart(drawn["aging"])
    doc.note(
        f"Money on backorder: {shown('money_on_backorder', waiting, currencies)} "
        f"({count(waiting['units'], 'unit')} in {count(waiting['lines'], 'line')}). "
        f"Revenue at risk (overdue): {shown('revenue_at_risk', risk, currencies)} "
        f"({count(risk['lines'], 'line')})."
    )


def _top(doc: _Pdf, report: dict[str, Any]) -> None:
    doc.heading("Top SKUs by money waiting")
    doc.grid(
        ["SKU", "supplier", "lines", "units", "value", "overdue", "waiting since", "next date"],
        [
            [
                f"{s['sku']}\n{s['name']}" if s.get("name") else s["sku"],
                s["supplier"] or "-",
                str(s["lines"]),
                str(s["units"]),
                money(s["value"], s["currency"]),
                str(s["overdue_lines"]),
                (s["waiting_since"] or "-")[:10],
                s["next_eta"] or "unknown",
            ]
            for s in report["top_skus"]
        ],
        (44, 24, 12, 12, 24, 16, 22, 22),
        empty="Nothing waits.",
    )
    doc.heading("Top suppliers by money waiting")
    doc.grid(
        ["supplier", "SKUs", "lines", "units", "value"],
        [
            [
                s["name"] or s["supplier"] or "(no supplier)",
                str(s["skus"]),
                str(s["lines"]),
                str(s["units"]),
                money(s["value"], s["currency"]),
            ]
            for s in report["top_suppliers"]
        ],
        (70, 20, 20, 20, 45),
        empty="Nothing waits.",
        right=4,
    )


def build(report: dict[str, Any], drawn: dict[str, bytes]) -> bytes:
    """The PDF of the report, with its charts as drawn: what the HTML report holds, section
    by section."""
    title = f"Backorders, week {report['week']}"
    currencies = currencies_of(report["kpis"])
    doc = _Pdf(title, datetime.fromisoformat(report["generated_at"]))
    doc.add_page()
    doc.set_font("DejaVu", "B", 16)
    doc.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.cell(
        0,
        6,
        f"{report['from']} to {report['to']} (UTC). Waiting money, risk and aging as of "
        f"{report['generated_at'][:16].replace('T', ' ')} UTC.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _kpis(doc, report, currencies)
    _trend(doc, report, drawn)
    _aging(doc, report, drawn, currencies)
    _top(doc, report)
    doc.heading(f"Open tasks ({len(report['tasks'])})")
    doc.grid(
        ["due", "role", "SKU", "task"],
        [[t["due_on"], t["role"], t["sku"], t["title"]] for t in report["tasks"]],
        (22, 25, 30, 98),
        empty="No open tasks.",
    )
    doc.heading(f"Incidents this week ({len(report['incidents'])})")
    doc.grid(
        ["day", "SKU", "what", "plan"],
        [[i["day"], i["sku"], i["summary"], "; ".join(i["plan"])] for i in report["incidents"]],
        (22, 25, 68, 60),
        empty="No incidents.",
    )
    return bytes(doc.output())
