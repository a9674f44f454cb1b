"""Intake benchmark: mixed-channel payloads (Shopify, WooCommerce, Amazon, BigCommerce, Adobe
Commerce, Walmart, CSV, X12, EDIFACT and canonical, the same orders in each channel's own
format) through `backorder ingest` and
through `POST /api/v1/channels/{channel}/orders`, beside the engine's own canonical intake
in the same run (`backorder order place` and `POST /api/v1/orders`), on fresh databases
seeded alike.

    python benchmarks/bench_intake.py                      # 20,000 payloads, both backends
    python benchmarks/bench_intake.py --quick              # a smoke run
    python benchmarks/bench_intake.py --backend sqlite --payloads 5000 --json

The governed flow does more than the engine's intake by design: it stores every payload
first (raw text, hash), converts it, maps SKUs through aliases, applies the channel's and
account's rules, and marks the payload accepted in the order's own transaction. The figure
to watch is that cost: `overhead` is how much longer a payload takes than a canonical order
placed directly (aim: under 20%).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
from bench_drivers import Target, postgres_databases, postgres_problem, sqlite_databases
from bench_http import DEFAULT_POSTGRES_URL, Run, canonical, closed_loop, free_port, server
from bench_phases import open_app, say, seed_catalogue
from bench_workload import make_orders, stock_plan
from sqlalchemy import func, select

from backorder.domain.access import Role
from backorder.domain.model import OrderRequest
from backorder.intake.edifact_syntax import Service
from backorder.services.apikeys import create_key
from backorder.store.tables import intake_payloads, orders

CHANNELS = (
    "canonical",
    "shopify",
    "woocommerce",
    "amazon",
    "csv",
    "x12",
    "edifact",
    "magento",
    "walmart",
    "bigcommerce",
)
BACKORDER = str(Path(sys.executable).with_name("backorder"))
AIM_OVERHEAD = 0.20
BLOCKS = 2  # each side runs in blocks, interleaved floor/measured/measured/floor
CLI_TIMEOUT_S = 1800
CONCURRENCY = 8


def _price(request: OrderRequest, index: int) -> str:
    price = request.lines[index].unit_price
    return str(price) if price is not None else "10.00"


def shopify(request: OrderRequest) -> dict[str, Any]:
    c = request.customer
    return {
        "id": int(request.external_id),
        "created_at": request.placed_at.isoformat(),
        "currency": request.currency,
        "email": c.email,
        "financial_status": "paid",
        "customer": {"id": c.id, "first_name": c.name, "last_name": "", "phone": c.phone},
        "line_items": [
            {"sku": line.sku, "quantity": line.quantity, "price": _price(request, n)}
            for n, line in enumerate(request.lines)
        ],
        "shipping_lines": [{"code": str(request.terms.shipping_method), "title": "Shipping"}],
    }


def woocommerce(request: OrderRequest) -> dict[str, Any]:
    c = request.customer
    return {
        "id": int(request.external_id),
        "date_created_gmt": request.placed_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "currency": request.currency,
        "customer_id": c.id,
        "date_paid": request.placed_at.isoformat(),
        "billing": {"first_name": c.name, "email": c.email, "phone": c.phone},
        "line_items": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "total": str(Decimal(_price(request, n)) * line.quantity),
            }
            for n, line in enumerate(request.lines)
        ],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate"}],
    }


def amazon(request: OrderRequest) -> dict[str, Any]:
    return {
        "AmazonOrderId": f"902-{int(request.external_id):07d}-0000001",
        "PurchaseDate": request.placed_at.isoformat(),
        "OrderTotal": {"CurrencyCode": request.currency, "Amount": "0"},
        "ShipmentServiceLevelCategory": "Standard",
        "IsBusinessOrder": False,
        "IsPrime": False,
        "BuyerInfo": {"BuyerEmail": request.customer.email},
        "OrderItems": [
            {
                "SellerSKU": line.sku,
                "QuantityOrdered": line.quantity,
                "ItemPrice": {
                    "CurrencyCode": request.currency,
                    "Amount": str(Decimal(_price(request, n)) * line.quantity),
                },
            }
            for n, line in enumerate(request.lines)
        ],
    }


def magento(request: OrderRequest) -> dict[str, Any]:
    """The REST order (GET /V1/orders/{id}): a registered customer, simple items."""
    c = request.customer
    return {
        "entity_id": int(request.external_id),
        "increment_id": f"{int(request.external_id):09d}",
        "created_at": request.placed_at.strftime("%Y-%m-%d %H:%M:%S"),
        "state": "new",
        "customer_id": c.id,
        "customer_email": c.email,
        "customer_firstname": c.name,
        "customer_is_guest": 0,
        "customer_group_id": 1,
        "order_currency_code": request.currency,
        "shipping_description": "Flat Rate - Fixed",
        "payment": {"method": "checkmo"},
        "items": [
            {
                "item_id": n + 1,
                "product_type": "simple",
                "sku": line.sku,
                "qty_ordered": f"{line.quantity}.0000",
                "price": _price(request, n),
            }
            for n, line in enumerate(request.lines)
        ],
        "billing_address": {"firstname": c.name, "telephone": c.phone},
    }


def walmart(request: OrderRequest) -> dict[str, Any]:
    """The Orders API (v3) purchase order."""
    return {
        "purchaseOrderId": f"17962{int(request.external_id):08d}",
        "customerOrderId": f"52819{int(request.external_id):08d}",
        "customerEmailId": request.customer.email,
        "orderDate": int(request.placed_at.timestamp() * 1000),
        "shippingInfo": {
            "methodCode": "Standard",
            "postalAddress": {"name": request.customer.name},
        },
        "orderLines": {
            "orderLine": [
                {
                    "lineNumber": str(n + 1),
                    "item": {"sku": line.sku},
                    "orderLineQuantity": {
                        "unitOfMeasurement": "EACH",
                        "amount": str(line.quantity),
                    },
                    "charges": {
                        "charge": [
                            {
                                "chargeType": "PRODUCT",
                                "chargeAmount": {
                                    "currency": request.currency,
                                    "amount": str(Decimal(_price(request, n)) * line.quantity),
                                },
                            }
                        ]
                    },
                }
                for n, line in enumerate(request.lines)
            ]
        },
    }


def bigcommerce(request: OrderRequest) -> list[Any]:
    """The v2 order and its /products response, side by side."""
    c, number = request.customer, int(request.external_id)
    order = {
        "id": number,
        "customer_id": c.id,
        "date_created": format_datetime(request.placed_at),
        "status_id": 11,
        "payment_status": "captured",
        "currency_code": request.currency,
        "default_currency_code": request.currency,
        "billing_address": {"first_name": c.name, "email": c.email, "phone": c.phone},
        "products": {"resource": f"/orders/{number}/products"},
    }
    products = [
        {
            "id": n + 1,
            "order_id": number,
            "product_id": n + 1,
            "sku": line.sku,
            "type": "physical",
            "quantity": line.quantity,
            "price_ex_tax": _price(request, n),
            "applied_discounts": [],
            "product_options": [],
        }
        for n, line in enumerate(request.lines)
    ]
    return [order, products]


def csv_rows(request: OrderRequest) -> list[dict[str, Any]]:
    c = request.customer
    return [
        {
            "order_id": f"CSV-{request.external_id}",
            "placed_at": request.placed_at.isoformat(),
            "customer_id": c.id,
            "customer_name": c.name,
            "email": c.email,
            "currency": request.currency,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": _price(request, n),
        }
        for n, line in enumerate(request.lines)
    ]


def csv_text(requests: Sequence[OrderRequest]) -> str:
    out = io.StringIO()
    rows = [row for request in requests for row in csv_rows(request)]
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def x12_text(requests: Sequence[OrderRequest], control: int) -> str:
    """One interchange, one functional group, one 850 per order."""
    isa = "*".join(
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "BENCHBUYER".ljust(15), "ZZ",
         "BACKORDER".ljust(15), "261124", "1200", "U", "00401", f"{control:09d}", "0", "P", ">"]
    )  # fmt: skip
    segments = [isa, f"GS*PO*BENCHBUYER*BACKORDER*20261124*1200*{control}*X*004010"]
    for number, request in enumerate(requests, start=1):
        body = [
            f"BEG*00*SA*{request.external_id}**{request.placed_at:%Y%m%d}",
            f"CUR*BY*{request.currency}",
            f"PER*BD*{request.customer.name}*EM*{request.customer.email}",
            f"N1*BY*{request.customer.name}*92*{request.customer.id}",
        ]
        body += [
            f"PO1*{n + 1}*{line.quantity}*EA*{_price(request, n)}*PE*VP*{line.sku}"
            for n, line in enumerate(request.lines)
        ]
        body.append(f"CTT*{len(request.lines)}")
        st = f"{number:04d}"
        segments += [f"ST*850*{st}", *body, f"SE*{len(body) + 2}*{st}"]
    segments += [f"GE*{len(requests)}*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(segments) + "~\n"


def edifact_text(requests: Sequence[OrderRequest], control: int) -> str:
    """One interchange, one ORDERS message per order, values released where they need it."""
    esc = Service().escape
    segments = [f"UNB+UNOC:3+BENCHBUYER:ZZ+BACKORDER:ZZ+261124:1200+{control}"]
    for number, request in enumerate(requests, start=1):
        c = request.customer
        body = [
            f"BGM+220+{esc(request.external_id)}+9",
            f"DTM+137:{request.placed_at:%Y%m%d%H%M}:203",
            f"NAD+BY+{esc(c.id)}+++{esc(c.name)}",
            *([f"COM+{esc(c.email)}:EM"] if c.email else []),
            f"CUX+2:{request.currency}:9",
        ]
        for n, line in enumerate(request.lines):
            body += [
                f"LIN+{n + 1}++{esc(line.sku)}:SA",
                f"QTY+21:{line.quantity}:PCE",
                f"PRI+AAA:{_price(request, n)}",
            ]
        body += ["UNS+S", f"CNT+2:{len(request.lines)}"]
        segments += [f"UNH+{number}+ORDERS:D:96A:UN", *body, f"UNT+{len(body) + 2}+{number}"]
    segments.append(f"UNZ+{len(requests)}+{control}")
    return "UNA:+.? '\n" + "'\n".join(segments) + "'\n"


def deliveries(requests: Sequence[OrderRequest]) -> dict[str, list[OrderRequest]]:
    """The orders dealt round-robin to the channels."""
    dealt: dict[str, list[OrderRequest]] = {channel: [] for channel in CHANNELS}
    for number, request in enumerate(requests):
        dealt[CHANNELS[number % len(CHANNELS)]].append(request)
    return dealt


def file_text(channel: str, requests: Sequence[OrderRequest], control: int) -> str:
    """A whole channel file: a JSON array, a CSV, or an X12 or EDIFACT interchange."""
    render: dict[str, Callable[[OrderRequest], Any]] = {
        "canonical": lambda r: json.loads(canonical(r)),
        "shopify": shopify,
        "woocommerce": woocommerce,
        "amazon": amazon,
        "magento": magento,
        "walmart": walmart,
    }
    if channel == "csv":
        return csv_text(requests)
    if channel == "x12":
        return x12_text(requests, control)
    if channel == "edifact":
        return edifact_text(requests, control)
    if channel == "bigcommerce":
        return json.dumps([part for r in requests for part in bigcommerce(r)])
    return json.dumps([render[channel](r) for r in requests])


def one_payload(channel: str, request: OrderRequest, control: int) -> bytes:
    """One order as the channel would POST it."""
    return file_text(channel, [request], control).encode()


def prepare(target: Target, requests: Sequence[OrderRequest]) -> str:
    """A seeded database; returns a channel-role API key."""
    app = open_app(target)
    try:
        seed_catalogue(app, stock_plan(requests))
        return create_key(app, Role.CHANNEL, "bench").key
    finally:
        app.close()


def counted(target: Target) -> tuple[int, int]:
    """(orders, payloads accepted) in a database."""
    app = open_app(target)
    try:
        with app.db.read() as uow:
            conn = uow.connection
            placed = conn.execute(select(func.count()).select_from(orders)).scalar_one()
            taken = conn.execute(
                select(func.count())
                .select_from(intake_payloads)
                .where(intake_payloads.c.state == "accepted")
            ).scalar_one()
            return int(placed), int(taken)
    finally:
        app.close()


def run_cli(url: str, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [BACKORDER, "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode not in (0, 2):
        raise RuntimeError(f"backorder {args[0]} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def cli_arm(
    floor: Target, measured: Target, requests: Sequence[OrderRequest], workdir: Path
) -> dict[str, Any]:
    size = -(-len(requests) // BLOCKS)
    blocks = [requests[i : i + size] for i in range(0, len(requests), size)]
    floor_s = measured_s = 0.0
    by_channel: dict[str, float] = dict.fromkeys(CHANNELS, 0.0)
    for number, block in enumerate(blocks):
        # Both sides run one process per channel's share, so both pay the same start-ups.
        floor_files, files = [], []
        for channel, dealt in deliveries(block).items():
            suffix = "edi" if channel in ("x12", "edifact") else "txt"
            path = workdir / f"{channel}-{number}.{suffix}"
            path.write_text(file_text(channel, dealt, 1000 + number))
            files.append((channel, path))
            same = workdir / f"floor-{channel}-{number}.json"
            same.write_text(json.dumps([json.loads(canonical(r)) for r in dealt]))
            floor_files.append(same)
        say(f"cli block {number + 1}/{len(blocks)}: {len(block):,} orders each side")
        for side in ("floor", "measured") if number % 2 == 0 else ("measured", "floor"):
            if side == "floor":
                for path in floor_files:
                    floor_s += run_cli(floor.url, "order", "place", str(path))
                continue
            for channel, path in files:
                seconds = run_cli(measured.url, "ingest", channel, str(path), "--json")
                by_channel[channel] += seconds
                measured_s += seconds
    return {
        "floor": {"what": "backorder order place (canonical)", "seconds": floor_s},
        "measured": {"what": f"backorder ingest ({len(CHANNELS)} channels)", "seconds": measured_s},
        "seconds_by_channel": {k: round(v, 2) for k, v in by_channel.items()},
    }


async def http_arm(
    floor_base: str,
    floor_key: str,
    measured_base: str,
    measured_key: str,
    requests: Sequence[OrderRequest],
) -> dict[str, Any]:
    floor_run, measured_run = Run("orders"), Run("intake")
    size = -(-len(requests) // BLOCKS)
    blocks = [requests[i : i + size] for i in range(0, len(requests), size)]
    timeout = aiohttp.ClientTimeout(total=120)
    for number, block in enumerate(blocks):
        say(f"http block {number + 1}/{len(blocks)}: {len(block):,} requests each side")
        floor_bodies = [canonical(r) for r in block]
        mixed = deliveries(block)
        async with Sessions() as sessions:
            floor_session = await sessions.session(floor_key, timeout)
            measured_session = await sessions.session(measured_key, timeout)
            work = [(floor_session, f"{floor_base}/api/v1/orders", floor_bodies, floor_run)]
            for channel, dealt in mixed.items():
                url = f"{measured_base}/api/v1/channels/{channel}/orders"
                bodies = [one_payload(channel, r, 5000 + n) for n, r in enumerate(dealt)]
                work.append((measured_session, url, bodies, measured_run))
            for session, url, bodies, run in work if number % 2 == 0 else reversed(work):
                await closed_loop(session, url, bodies, run, CONCURRENCY)
    return {
        "floor": {"what": "POST /api/v1/orders (canonical)"} | floor_run.describe(),
        "measured": {"what": "POST /api/v1/channels/{channel}/orders"} | measured_run.describe(),
        "floor_seconds": floor_run.seconds,
        "measured_seconds": measured_run.seconds,
    }


class Sessions:
    """Client sessions for one block, closed together."""

    def __init__(self) -> None:
        self.sessions: list[aiohttp.ClientSession] = []

    async def __aenter__(self) -> Sessions:
        return self

    async def session(self, key: str, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        session = aiohttp.ClientSession(
            headers=headers, timeout=timeout, connector=aiohttp.TCPConnector(limit=CONCURRENCY)
        )
        self.sessions.append(session)
        return session

    async def __aexit__(self, *_: object) -> None:
        for session in self.sessions:
            await session.close()


def bench_backend(new: Callable[[str], Target], payloads: int) -> dict[str, Any]:
    requests = make_orders(payloads, [f"BENCH-{n:03d}" for n in range(30)])
    backend = ""
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="backorder_intake_") as directory:
        floor, measured = new("cli-floor"), new("cli-intake")
        backend = floor.backend
        say(f"{backend}: seeding two databases for the command line")
        prepare(floor, requests), prepare(measured, requests)
        cli = cli_arm(floor, measured, requests, Path(directory))
        cli["orders_stored"] = {"floor": counted(floor)[0], "measured": counted(measured)}
        result["cli"] = cli

    floor, measured = new("http-floor"), new("http-intake")
    say(f"{backend}: seeding two databases for HTTP")
    floor_key, measured_key = prepare(floor, requests), prepare(measured, requests)
    with (
        server(floor.url, free_port()) as (floor_base, _),
        server(measured.url, free_port()) as (measured_base, _),
    ):
        http = asyncio.run(http_arm(floor_base, floor_key, measured_base, measured_key, requests))
    http["orders_stored"] = {"floor": counted(floor)[0], "measured": counted(measured)}
    result["http"] = http

    for arm in ("cli", "http"):
        figures = result[arm]
        floor_s = figures["floor"].get("seconds", figures.get("floor_seconds"))
        measured_s = figures["measured"].get("seconds", figures.get("measured_seconds"))
        figures["floor_per_second"] = round(payloads / floor_s, 1) if floor_s else None
        figures["measured_per_second"] = round(payloads / measured_s, 1) if measured_s else None
        figures["overhead"] = round(measured_s / floor_s - 1, 3) if floor_s else None
        stored = figures["orders_stored"]
        figures["check"] = (
            "ok" if stored["floor"] == payloads and list(stored["measured"]) == [payloads] * 2
            else f"MISMATCH {stored}"
        )  # fmt: skip
    return {"backend": backend, "payloads": payloads} | result


def report(results: list[dict[str, Any]]) -> None:
    print(f"{'backend':<11}{'path':<44}{'payloads/s':>11}")
    for result in results:
        for arm in ("cli", "http"):
            figures = result[arm]
            print(
                f"{result['backend']:<11}{figures['floor']['what']:<44}"
                f"{figures['floor_per_second']:>11,.1f}"
            )
            print(
                f"{'':<11}{figures['measured']['what']:<44}{figures['measured_per_second']:>11,.1f}"
            )
            print(
                f"{'':<11}overhead {figures['overhead']:+.1%} (aim < {AIM_OVERHEAD:.0%}); "
                f"{result['payloads']:,} payloads; check {figures['check']}"
            )
        by_channel = result["cli"]["seconds_by_channel"]
        share = result["payloads"] / len(CHANNELS)
        rates = ", ".join(f"{k} {share / v:,.0f}/s" for k, v in by_channel.items() if v)
        print(f"{'':<11}ingest by channel: {rates}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--payloads", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="1,200 payloads")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    payloads = 1_200 if args.quick else args.payloads
    if not len(CHANNELS) * BLOCKS <= payloads <= 1_000_000:
        parser.error(f"--payloads must be {len(CHANNELS) * BLOCKS}..1,000,000")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    with ExitStack() as stack:
        if "sqlite" in backends:
            results.append(bench_backend(stack.enter_context(sqlite_databases()), payloads))
        if "postgresql" in backends:
            problem = postgres_problem(args.postgres_url)
            if problem:
                say(f"skipping PostgreSQL: {problem}")
            else:
                new = stack.enter_context(postgres_databases(args.postgres_url))
                results.append(bench_backend(new, payloads))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0 if all(r[arm]["check"] == "ok" for r in results for arm in ("cli", "http")) else 1


if __name__ == "__main__":
    sys.exit(main())
