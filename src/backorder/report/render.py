"""The weekly report as HTML (charts embedded, so the file stands alone), plain text, CSV,
JSON and PDF, and as an e-mail (HTML with its charts inline, a text part, the PDF attached)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from backorder.domain.kpis import (
    LABELS,
    amount_text,
    currencies_of,
    reason_text,
    shown,
    target_text,
    verdict,
)
from backorder.notify import email as mail
from backorder.words import count, money

Format = Literal["html", "csv", "json", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "csv", "json", "pdf")
MEDIA_TYPES: dict[Format, str] = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
}

_env = Environment(
    loader=PackageLoader("backorder.report", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _draw(report: dict[str, Any]) -> dict[str, bytes]:
    # matplotlib takes a third of a second to import: only what draws pays for it.
    from backorder.report.charts import draw_all

    return draw_all(report)


def day_money(report: dict[str, Any]) -> Callable[[str | None], str]:
    """A day's value at risk (the review's sum, in the currency money waits in)."""
    currencies = currencies_of(report["kpis"])

    def shown_day(value: str | None) -> str:
        if value is None:
            return "-"
        return money(value, currencies[0]) if len(currencies) == 1 else amount_text(value)

    return shown_day


def _context(report: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    currencies = currencies_of(report["kpis"])
    return {
        "r": report,
        "images": images,
        "labels": LABELS,
        "shown": lambda name, kpi: shown(name, kpi, currencies),
        "target_text": target_text,
        "verdict": verdict,
        "money": money,
        "day_money": day_money(report),
        "reason": reason_text,
        "count": count,
    }


def html(report: dict[str, Any], images: dict[str, str]) -> str:
    """The report page; `images` gives each chart's src (a data: URI, or cid: in e-mail)."""
    return _env.get_template("weekly.html").render(_context(report, images | _missing(images)))


def _missing(images: dict[str, str]) -> dict[str, str]:
    return {name: "" for name in ("trend", "aging", "overdue") if name not in images}


def html_file(report: dict[str, Any]) -> str:
    """A page that stands alone: its charts as data: URIs."""
    drawn = _draw(report)
    images = {
        name: "data:image/png;base64," + base64.b64encode(png).decode()
        for name, png in drawn.items()
    }
    return html(report, images)


def text(report: dict[str, Any]) -> str:
    return _env.get_template("weekly.txt").render(_context(report, {}))


def json_text(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# Text a spreadsheet would run as a formula (OWASP, "CSV injection"), when a cell begins with
# it. A plain number is data whatever its sign: "-3" or "+2.5" cannot call anything, and
# quoting it would turn a figure into text in the sheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as data: text that begins with =, +, -, @, a tab
    or a carriage return gets a leading single quote, unless it is a plain number."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SpreadsheetWriter:
    """csv.writer for files people open in a spreadsheet: every cell through
    `spreadsheet_cell`, and CRLF line ends (RFC 4180), so that a cell holding a line break of
    either kind is quoted and cannot start a row of its own."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(cell) for cell in row])


def csv_text(report: dict[str, Any]) -> str:
    """One row per figure: section, item, field, value (a spreadsheet pivots it)."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerow(["section", "item", "field", "value"])
    writer.writerow(["report", report["week"], "from", report["from"]])
    writer.writerow(["report", report["week"], "to", report["to"]])
    for name, kpi in report["kpis"].items():
        for field, value in kpi.items():
            if name == "aging" and field == "value":
                for bucket in value:
                    writer.writerow(["aging", bucket["days"], "lines", bucket["lines"]])
                    writer.writerow(["aging", bucket["days"], "units", bucket["units"]])
                    for currency, amount in bucket["by_currency"].items():
                        writer.writerow(["aging", bucket["days"], f"value_{currency}", amount])
            elif isinstance(value, dict):
                for key, inner in value.items():
                    writer.writerow(["kpi", name, f"{field}_{key}", inner])
            else:
                writer.writerow(["kpi", name, field, "" if value is None else value])
    for day in report["days"]:
        for field, value in day.items():
            if field != "day":
                writer.writerow(["day", day["day"], field, "" if value is None else value])
    for section, key in (("top_sku", "sku"), ("top_supplier", "supplier")):
        for row in report[f"{section}s"]:
            item = f"{row[key] or ''}:{row['currency']}"
            for field, value in row.items():
                if field not in (key, "currency"):
                    writer.writerow([section, item, field, "" if value is None else value])
    for task in report["tasks"]:
        for field in ("role", "sku", "due_on", "title"):
            writer.writerow(["task", task["id"], field, task[field]])
    for incident in report["incidents"]:
        for field in ("day", "sku", "summary", "value", "max_delay_days"):
            writer.writerow(["incident", incident["id"], field, incident[field]])
    return buffer.getvalue()


def pdf(report: dict[str, Any], drawn: dict[str, bytes] | None = None) -> bytes:
    """The PDF; `drawn`: the report's charts, when they are drawn already."""
    # fpdf2 and matplotlib take most of a second to import: only a PDF pays for them, not
    # every start of the command line or of the server.
    from backorder.report.pdf import build

    return build(report, drawn if drawn is not None else _draw(report))


def render(report: dict[str, Any], fmt: Format) -> bytes:
    """The report in one format, as bytes (UTF-8 for the text formats)."""
    if fmt == "pdf":
        return pdf(report)
    if fmt == "csv":
        return csv_text(report).encode()
    if fmt == "json":
        return json_text(report).encode()
    return html_file(report).encode()


@dataclass(frozen=True)
class MailParts:
    """The report's e-mail, made once for all its recipients."""

    subject: str
    text: str
    html: str  # its charts as cid: images
    images: dict[str, bytes]
    pdf: bytes
    filename: str


def mail_parts(report: dict[str, Any]) -> MailParts:
    drawn = _draw(report)
    return MailParts(
        subject=f"Backorders, week {report['week']}",
        text=text(report),
        html=html(report, {name: f"cid:{name}" for name in drawn}),
        images=drawn,
        pdf=pdf(report, drawn),
        filename=f"backorders-{report['week']}.pdf",
    )


def email(parts: MailParts, sender: str, to: str, message_id: str) -> EmailMessage:
    """The report by e-mail, composed like every other message: HTML with its charts inline
    (cid:), a plain-text part, and the PDF attached."""
    message = mail.compose(
        sender, to, parts.subject, parts.text, parts.html, message_id, mail.message_domain(sender)
    )
    body = message.get_body(preferencelist=("html",))
    assert isinstance(body, EmailMessage)
    for name, png in parts.images.items():
        body.add_related(png, "image", "png", cid=f"<{name}>", filename=f"{name}.png")
    message.add_attachment(parts.pdf, "application", "pdf", filename=parts.filename)
    return message
