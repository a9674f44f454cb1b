"""The dashboard in a real browser (headless Chromium through Playwright) against a real
`backorder serve` filled by the demo: sign in with a key, see the numbers the API reports,
watch a receipt move the live view without a reload, read it on a phone, and, as an
operator, find a product, receive stock for it and cancel a line from the pages."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from backorder.config import Settings
from backorder.demo import run_demo
from backorder.services.sessions import COOKIE
from backorder.words import money
from tests.api.live import call, make_keys, serving
from tests.browser.conftest import ARTIFACTS

Page = Any  # playwright.sync_api.Page, imported where the browser is
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("dashboard")
    file = folder / "demo.db"
    run_demo(Settings(database_url=f"sqlite:///{file}"), file, 7, Console(file=io.StringIO()))
    url = f"sqlite:///{file}"
    keys = make_keys(url)
    with serving(url) as base:
        yield base, keys


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(base + "/")
    assert page.url == base + "/login"  # no session yet
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=waiting-lines]")
    assert page.url == base + "/"


def tile(page: Page, name: str) -> str:
    return str(page.inner_text(f"[data-testid={name}]")).strip()


def waiting(base: str, key: str) -> dict[str, Any]:
    figures = call(base, key, "GET", "/api/v1/kpis").json()["kpis"]
    return dict(figures["money_on_backorder"])


def test_a_wrong_key_is_refused(page: Page, site: tuple[str, dict[str, str]]) -> None:
    base, _ = site
    page.goto(base + "/login")
    page.fill("#key", "bo_not-a-key")
    page.click("button[type=submit]")
    assert "unknown or revoked" in page.inner_text("[role=alert]")
    assert httpx.get(base + "/", follow_redirects=False).status_code == 303


def test_the_dashboard_shows_what_the_api_reports_and_follows_a_receipt_live(
    page: Page, site: tuple[str, dict[str, str]]
) -> None:
    base, keys = site
    sign_in(page, base, keys["viewer"])
    before = waiting(base, keys["viewer"])
    assert before["lines"] > 0
    assert tile(page, "waiting-lines") == str(before["lines"])
    assert tile(page, "waiting-units") == str(before["units"])
    currency, amount = next(iter(before["value"].items()))
    assert tile(page, "waiting-value") == money(amount, currency)  # "$25,660.08"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # the page's links open each record as a page, with its JSON a link away
    link = page.locator("[data-testid=queue-row] a").first
    sku = str(link.inner_text())
    record = page.context.new_page()
    record.goto(base + str(link.get_attribute("href")))
    assert sku in record.locator("[data-testid=record] h2").inner_text()  # the SKU's page
    head = record.locator("[data-testid=queue] a").first  # the queue's head: its order's page
    head_ref = str(head.inner_text())
    head.click()
    record.wait_for_url(f"**/records/orders/{head_ref}")
    assert head_ref in record.locator("[data-testid=record]").inner_text()
    record.screenshot(path=str(ARTIFACTS / "record-order.png"), full_page=True)
    as_json = record.request.get(base + str(record.get_by_text("as JSON").get_attribute("href")))
    assert as_json.ok and as_json.json()["ref"] == head_ref
    record.close()

    queue = call(base, keys["viewer"], "GET", f"/api/v1/queues/{sku}").json()
    units = sum(entry["backordered"] for entry in queue["entries"])
    answer = call(base, keys["ops"], "POST", f"/api/v1/stock/{sku}/receipts", {"qty": units})
    assert answer.status_code == 200, answer.text
    after = waiting(base, keys["viewer"])
    assert after["units"] == before["units"] - units
    page.wait_for_function(
        "([name, want]) => "
        "document.querySelector(`[data-testid=${name}]`).innerText.trim() === want",
        arg=["waiting-units", str(after["units"])],
        timeout=15_000,
    )  # no reload: the event stream redrew it
    assert tile(page, "waiting-lines") == str(after["lines"])
    assert page.locator(f"[data-testid='queue-units-{sku}']").count() == 0  # its queue is served
    assert "live" in tile_status(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard-after-receipt.png"), full_page=True)


def tile_status(page: Page) -> str:
    return str(page.inner_text("#status"))


def test_the_dashboard_reads_on_a_phone_without_the_internet(
    browser: Any, site: tuple[str, dict[str, str]]
) -> None:
    base, keys = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(base) else outside.append(request.url),
    )
    sign_in(page, base, keys["viewer"])
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # nothing wider than the phone
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    context.close()
    assert outside == []


def test_signing_out_ends_the_session(page: Page, site: tuple[str, dict[str, str]]) -> None:
    base, keys = site
    sign_in(page, base, keys["admin"])
    copied = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    assert httpx.get(base + "/api/v1/kpis", cookies={COOKIE: copied}).status_code == 200
    page.click("header form[action='/logout'] button")
    page.wait_for_url(base + "/login")
    page.goto(base + "/")
    assert page.url == base + "/login"
    assert json.loads(page.request.get(base + "/api/v1/kpis").text())["status"] == 401
    # ended on the server: a copy of the cookie taken before signing out is refused too
    assert httpx.get(base + "/api/v1/kpis", cookies={COOKIE: copied}).status_code == 401
    assert Path(ARTIFACTS).is_dir()


ATTACKER = "http://attacker.test"


def _forged_form(page: Page, action: str, fields: dict[str, str]) -> None:
    """Another site's page that posts a form to the dashboard as soon as it loads (Playwright
    serves it under its own origin; the form's POST goes to the real server)."""
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    html = (
        f'<html><body><form method="post" action="{action}">{inputs}</form>'
        "<script>document.forms[0].submit()</script></body></html>"
    )
    page.route(
        f"{ATTACKER}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    page.goto(f"{ATTACKER}/")
    page.wait_for_url(lambda url: not url.startswith(ATTACKER))  # the form went
    page.wait_for_load_state()


def test_another_site_cannot_sign_a_browser_in_or_out(
    page: Page, site: tuple[str, dict[str, str]]
) -> None:
    base, keys = site
    _forged_form(page, base + "/login", {"key": keys["admin"]})  # login CSRF
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    assert "another site" in page.inner_text("[role=alert]")
    sign_in(page, base, keys["viewer"])  # the dashboard's own form still works
    page.unroute(f"{ATTACKER}/**")
    _forged_form(page, base + "/logout", {})
    page.goto(base + "/")
    assert page.url == base + "/"  # still signed in
    page.wait_for_selector("[data-testid=waiting-lines]")


DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def fits(page: Page) -> None:
    """Nothing on the page is wider than the window (tables wrap, stack or scroll in a box)."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], (page.url, width)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"i17-dashboard-{name}.png"), full_page=True)


def flash(page: Page) -> str:
    return str(page.inner_text("[data-testid=flash]")).strip()


def test_an_operator_receives_stock_and_cancels_a_line_from_the_dashboard(
    browser: Any, site: tuple[str, dict[str, str]]
) -> None:
    base, keys = site
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, keys["ops"])
    sku = str(page.locator("[data-testid=queue-row] a").first.inner_text())
    product = call(base, keys["ops"], "GET", f"/api/v1/products/{sku}").json()
    stock = call(base, keys["ops"], "GET", f"/api/v1/stock/{sku}").json()

    # the search box finds the product by its name; its page shows stock and queue
    page.fill("header input[name=q]", product["name"])
    page.press("header input[name=q]", "Enter")
    page.wait_for_selector("[data-testid=product-results]")
    fits(page)
    shot(page, "search-desktop")
    page.locator("[data-testid=product-row] a", has_text=sku).first.click()
    page.wait_for_selector("[data-testid=on-hand]")
    assert product["name"] in page.inner_text("[data-testid=record] h2")
    fits(page)
    shot(page, "product-desktop")

    # receive one unit: the same use case as POST /stock/{sku}/receipts, the outcome shown
    # at the location the form starts at (the default one), which the outcome names
    page.fill("form[action$='/receipts'] input[name=qty]", "1")
    where = page.input_value("form[action$='/receipts'] select[name=location]")
    page.click("form[action$='/receipts'] button")
    page.wait_for_selector("[data-testid=flash]")
    assert flash(page).startswith(
        f"Received 1 unit of {sku} at {where}: on hand {stock['on_hand'] + 1} in all"
    )
    after = call(base, keys["ops"], "GET", f"/api/v1/stock/{sku}").json()
    assert after["on_hand"] == stock["on_hand"] + 1
    assert tile(page, "on-hand") == str(after["on_hand"])
    shot(page, "action-desktop")

    # the queue's head, its order's page; cancel one unit of its line for the SKU
    page.locator("[data-testid=queue] a").first.click()
    page.wait_for_selector("[data-testid=lines]")
    ref = page.url.rsplit("/records/orders/", 1)[1]
    order = call(base, keys["ops"], "GET", f"/api/v1/orders/{ref}").json()
    line = next(item for item in order["lines"] if item["sku"] == sku and item["backordered"] > 0)
    row = page.locator(f"[data-testid=line-{line['line']}]")
    assert product["name"] in row.inner_text()  # the product by its name
    row.locator("input[name=qty]").fill("1")
    row.locator("input[name=reason]").fill("customer called")
    row.locator("button", has_text="Cancel").click()
    page.wait_for_selector("[data-testid=flash]")
    ref_shown = call(base, keys["ops"], "GET", f"/api/v1/orders/{ref}").json()["ref"]
    assert flash(page).startswith(f"Cancelled 1 unit of {ref_shown} line {line['line']}")
    changed = call(base, keys["ops"], "GET", f"/api/v1/orders/{ref}").json()
    now = next(item for item in changed["lines"] if item["line"] == line["line"])
    assert now["cancelled"] == line["cancelled"] + 1
    assert page.inner_text(f"[data-testid=cancelled-{line['line']}]") == str(now["cancelled"])
    fits(page)
    shot(page, "order-desktop")
    order_page, product_page = page.url, f"{base}/records/products/{sku}"
    context.close()

    # the same pages on a phone: nothing clipped, nothing wider than the screen
    phone = browser.new_context(viewport=PHONE, is_mobile=True)
    small = phone.new_page()
    sign_in(small, base, keys["ops"])
    for url, name in (
        (order_page, "order-phone"),
        (product_page, "product-phone"),
        (f"{base}/search?q={sku}", "search-phone"),
    ):
        small.goto(url)
        fits(small)
        shot(small, name)
    phone.close()
