"""A purchase order as a PDF (fpdf2, DejaVu as the weekly report uses): what the supplier
is asked to deliver, where, by when and at what price. The same purchase order makes the
same bytes (the creation date is the document's)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from backorder.notify.purchase_orders import PurchaseOrder


def _fonts() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def build(po: PurchaseOrder, made: datetime, buyer: str) -> bytes:
    doc = FPDF(format="A4")
    doc.add_font("DejaVu", "", str(_fonts() / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(_fonts() / "DejaVuSans-Bold.ttf"))
    doc.set_creation_date(made)
    doc.add_page()
    doc.set_font("DejaVu", "B", 14)
    title = f"{'CANCELLED: ' if po.cancel else ''}Purchase order {po.ref}"
    doc.cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    for words in (
        f"From: {buyer}",
        f"To: {po.supplier_name} ({po.supplier})",
        f"Deliver to: {po.location}",
        f"Date: {made.date().isoformat()}",
    ):
        doc.cell(0, 5, words, new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    with doc.table(
        col_widths=(8, 30, 60, 16, 22, 24),
        headings_style=FontFace(emphasis="BOLD", fill_color=(245, 247, 250)),
        line_height=5,
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        table.row(["#", "SKU", "Item", "Units", f"Price {po.currency}", "Deliver by"])
        for n, line in enumerate(po.lines, start=1):
            price = f"{line.unit_cost:.2f}" if line.unit_cost is not None else "-"
            cells = [str(n), line.sku, line.name, str(line.units), price]
            table.row([*cells, line.expected_on.isoformat()])
    total = po.total
    if total is not None:
        doc.ln(3)
        doc.set_font("DejaVu", "B", 10)
        doc.cell(0, 6, f"Total: {po.currency} {total:,.2f}", align="R")
    return bytes(doc.output())
