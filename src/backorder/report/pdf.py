"""The weekly report as a PDF (fpdf2): the same tables and charts as the HTML, in DejaVu,
which ships with matplotlib and covers every script a SKU name may be written in."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from backorder.domain.kpis import LABELS, amount_text, shown, target_text, verdict


def _font_dir() -> Path:
    """DejaVu, which ships with matplotlib: every script a SKU name may be written in."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


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

    def heading(self, words: str) -> None:
        self.set_font("DejaVu", "B", 12)
        self.ln(3)
        self.cell(0, 8, words, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 8)

    def grid(self, head: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
        if not rows:
            self.set_font("DejaVu", "", 8)
            self.cell(0, 6, "None.", new_x="LMARGIN", new_y="NEXT")
            return
        self.set_font("DejaVu", "", 8)
        with self.table(
            col_widths=widths,
            headings_style=FontFace(emphasis="BOLD", fill_color=(245, 247, 250)),
            line_height=5,
        ) as table:
            table.row(head)
            for row in rows:
                table.row(row)


def build(report: dict[str, Any], drawn: dict[str, bytes]) -> bytes:
    """The PDF of the report, with its charts as drawn."""
    title = f"Backorders, week {report['week']}"
    doc = _Pdf(title, datetime.fromisoformat(report["generated_at"]))
    doc.add_page()
    doc.set_font("DejaVu", "B", 16)
    doc.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.cell(
        0,
        6,
        f"{report['from']} to {report['to']} (UTC); waiting money and aging as of "
        f"{report['generated_at'][:16].replace('T', ' ')} UTC",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    figures = report["kpis"]
    doc.heading("KPIs against targets")
    doc.grid(
        ["KPI", "value", "target", ""],
        [
            [
                label,
                shown(name, figures[name]),
                target_text(name, figures[name]),
                verdict(figures[name]),
            ]
            for name, label in LABELS.items()
        ],
        (70, 60, 30, 20),
    )
    doc.heading("Trend")
    doc.image(io.BytesIO(drawn["trend"]), w=170)
    if "overdue" in drawn:
        doc.image(io.BytesIO(drawn["overdue"]), w=170)
    doc.heading("Aging")
    doc.image(io.BytesIO(drawn["aging"]), w=170)
    doc.heading("Top SKUs by money waiting")
    doc.grid(
        ["SKU", "supplier", "lines", "units", "value", "overdue", "next date"],
        [
            [
                s["sku"],
                s["supplier"] or "-",
                str(s["lines"]),
                str(s["units"]),
                f"{s['currency']} {amount_text(s['value'])}",
                str(s["overdue_lines"]),
                s["next_eta"] or "unknown",
            ]
            for s in report["top_skus"]
        ],
        (35, 30, 15, 15, 35, 20, 25),
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
                f"{s['currency']} {amount_text(s['value'])}",
            ]
            for s in report["top_suppliers"]
        ],
        (70, 20, 20, 20, 45),
    )
    doc.heading(f"Open tasks ({len(report['tasks'])})")
    doc.grid(
        ["due", "role", "SKU", "task"],
        [[t["due_on"], t["role"], t["sku"], t["title"]] for t in report["tasks"]],
        (22, 25, 30, 98),
    )
    doc.heading(f"Incidents this week ({len(report['incidents'])})")
    doc.grid(
        ["day", "SKU", "what", "plan"],
        [[i["day"], i["sku"], i["summary"], "; ".join(i["plan"])] for i in report["incidents"]],
        (22, 25, 68, 60),
    )
    return bytes(doc.output())
