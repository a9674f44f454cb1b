"""Locations benchmark: what a network of ten locations costs intake and receipts, beside
one location, in the same run.

    python benchmarks/bench_locations.py                  # both backends
    python benchmarks/bench_locations.py --quick          # a smoke run of a few seconds
    python benchmarks/bench_locations.py --backend sqlite --json

Two databases with the same catalogue, stock and orders: one holds all stock at `main`;
the other spreads it over ten locations (some ship only to North America or Europe, with
their own priorities and transit days), and its orders ship to the US, Canada or Germany,
so sourcing has a real choice to make. Intake places the same orders on both, in
interleaved blocks; then each receives stock for a queue of waiting lines, one receipt
serving exactly `--lines-per-receipt` lines, at a location that ships anywhere. Aim (the
issue's): ten locations cost at most 1.5x one location, for intake and for receipts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bench_drivers import (
    Target,
    postgres_databases,
    postgres_problem,
    postgres_version,
    sqlite_databases,
)
from bench_phases import open_app, say
from bench_workload import START, catalogue, make_orders, stock_plan
from sqlalchemy.engine import make_url

from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Policy,
    Preference,
    Product,
    QueueStrategy,
    ShippingMethod,
    Tier,
)
from backorder.services.context import Backorder
from backorder.services.intake import place_order
from backorder.services.locations import LocationIn, add
from backorder.services.products import add_product
from backorder.services.stock import receive_stock

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FULL = {"orders": 3_000, "depth": 1_000, "receipts": 7}
QUICK = {"orders": 300, "depth": 300, "receipts": 3}
BLOCKS = 20
AIM = 1.5
COUNTRIES = ("US", "CA", "DE")
DEEP_SKU = "DEEP-LOC"
# the nine locations beside main: (code, kind, ships to, priority, transit days)
NETWORK = (
    ("east", "own", ("US", "CA"), 10, 2),
    ("west", "own", ("US",), 20, 3),
    ("3pl-central", "3pl", ("US", "CA"), 30, 2),
    ("3pl-eu", "3pl", ("DE", "FR", "NL"), 30, 2),
    ("fba-us", "fba", ("US",), 40, 1),
    ("fba-de", "fba", ("DE",), 40, 1),
    ("store-nyc", "store", ("US",), 90, 1),
    ("store-berlin", "store", ("DE",), 90, 1),
    ("overflow", "3pl", None, 200, 5),
)


def positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1,000,000")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orders", type=positive)
    parser.add_argument("--queue-depth", type=positive)
    parser.add_argument("--receipts", type=positive)
    parser.add_argument("--lines-per-receipt", type=positive, default=100)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BACKORDER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.orders = args.orders or sizes["orders"]
    args.queue_depth = args.queue_depth or sizes["depth"]
    args.receipts = args.receipts or sizes["receipts"]
    if args.queue_depth < args.lines_per_receipt * args.receipts:
        parser.error("--queue-depth must hold --lines-per-receipt x --receipts lines")
    return args


def seed(app: Backorder, plan: dict[str, int], spread: bool) -> str:
    """The catalogue and its stock, all at main or spread over the network; returns the
    location receipts arrive at."""
    for product in catalogue():
        add_product(app, product)
    add_product(app, Product(DEEP_SKU, "Deep queue", unit_price=catalogue()[0].unit_price,
                             policy=Policy.ALLOW, queue=QueueStrategy.FIFO, lead_time_days=14))
    if not spread:
        for sku, units in plan.items():
            if units > 0:
                receive_stock(app, sku, units, ref="bench-seed")
        return "main"
    for code, kind, ships_to, priority, transit in NETWORK:
        add(app, LocationIn(code, code.replace("-", " ").title(), kind, ships_to, priority,
                            transit))
    codes = ["main", *(code for code, *_ in NETWORK)]
    for sku, units in plan.items():
        share, rest = divmod(units, len(codes))
        for index, code in enumerate(codes):
            here = share + (rest if index == 0 else 0)
            if here > 0:
                receive_stock(app, sku, here, ref="bench-seed", location=code)
    return "overflow"


def with_countries(requests: Sequence[OrderRequest]) -> list[OrderRequest]:
    return [replace(r, ship_country=COUNTRIES[i % len(COUNTRIES)]) for i, r in enumerate(requests)]


def deep_orders(count: int) -> list[OrderRequest]:
    """One unit each of the deep SKU, nothing in stock: a queue `count` lines long."""
    terms = OrderTerms(ShippingMethod.STANDARD, Preference.SHIP_AVAILABLE, PaymentTiming.AT_SHIP)
    return [
        OrderRequest(
            channel="bench-deep", external_id=str(n),
            placed_at=START + timedelta(seconds=n),
            customer=Customer(f"deep-{n}", f"Deep {n}", f"deep{n}@example.com", None,
                              Tier.STANDARD),
            currency="USD", terms=terms, lines=(LineRequest(DEEP_SKU, 1, None),),
            ship_country=COUNTRIES[n % len(COUNTRIES)],
        )
        for n in range(1, count + 1)
    ]


def run_backend(new_database: Callable[[str], Target], args: argparse.Namespace) -> dict[str, Any]:
    requests = with_countries(make_orders(args.orders, [p.sku for p in catalogue()]))
    plan = stock_plan(requests)
    apps: dict[str, Backorder] = {}
    receipt_at: dict[str, str] = {}
    try:
        for name, spread in (("one", False), ("ten", True)):
            apps[name] = open_app(new_database(name))
            receipt_at[name] = seed(apps[name], plan, spread)
        say(f"placing {len(requests):,} orders on one and on ten locations, "
            f"in {BLOCKS} interleaved blocks")
        seconds = {"one": 0.0, "ten": 0.0}
        size = -(-len(requests) // BLOCKS)
        for number, first in enumerate(range(0, len(requests), size)):
            block = requests[first:first + size]
            for name in (("one", "ten") if number % 2 == 0 else ("ten", "one")):
                start = time.perf_counter()
                for request in block:
                    place_order(apps[name], request)
                seconds[name] += time.perf_counter() - start
        say(f"a queue of {args.queue_depth:,} lines on {DEEP_SKU}, then {args.receipts} "
            f"receipts serving {args.lines_per_receipt} lines each")
        receipt_ms: dict[str, list[float]] = {"one": [], "ten": []}
        for name in ("one", "ten"):
            for request in deep_orders(args.queue_depth):
                place_order(apps[name], request)
        for number in range(args.receipts):
            for name in (("one", "ten") if number % 2 == 0 else ("ten", "one")):
                start = time.perf_counter()
                change = receive_stock(apps[name], DEEP_SKU, args.lines_per_receipt,
                                       ref=f"bench-{number}", location=receipt_at[name])
                receipt_ms[name].append((time.perf_counter() - start) * 1000)
                if change.lines_served != args.lines_per_receipt:
                    raise SystemExit(f"{name}: a receipt served {change.lines_served} lines, "
                                     f"not {args.lines_per_receipt}")
    finally:
        for app in apps.values():
            app.close()
    one_ms, ten_ms = (statistics.median(receipt_ms[n]) for n in ("one", "ten"))
    return {
        "orders": len(requests),
        "intake": {
            "one_location_orders_per_s": round(len(requests) / seconds["one"], 1),
            "ten_locations_orders_per_s": round(len(requests) / seconds["ten"], 1),
            "ten_over_one_cost": round(seconds["ten"] / seconds["one"], 3),
        },
        "receipt": {
            "lines_served": args.lines_per_receipt,
            "one_location_median_ms": round(one_ms, 2),
            "ten_locations_median_ms": round(ten_ms, 2),
            "ten_over_one_cost": round(ten_ms / one_ms, 3),
        },
        "aim": f"ten_over_one_cost <= {AIM}",
    }


def report(backend: str, version: str, result: dict[str, Any]) -> str:
    intake, receipt = result["intake"], result["receipt"]

    def verdict(ratio: float) -> str:
        return "meets" if ratio <= AIM else "ABOVE"

    return "\n".join([
        f"== {backend} {version} ==",
        f"intake: {result['orders']:,} orders x 3 lines, shipping to {', '.join(COUNTRIES)}",
        f"  {'':16}{'orders/s':>10}",
        f"  {'one location':16}{intake['one_location_orders_per_s']:10,.0f}",
        f"  {'ten locations':16}{intake['ten_locations_orders_per_s']:10,.0f}",
        f"  cost, ten / one: {intake['ten_over_one_cost']:.2f} "
        f"({verdict(intake['ten_over_one_cost'])} the aim of <= {AIM})",
        f"receipt serving {receipt['lines_served']} lines, median ms",
        f"  {'one location':16}{receipt['one_location_median_ms']:10.2f}",
        f"  {'ten locations':16}{receipt['ten_locations_median_ms']:10.2f}",
        f"  cost, ten / one: {receipt['ten_over_one_cost']:.2f} "
        f"({verdict(receipt['ten_over_one_cost'])} the aim of <= {AIM})",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    shown_url = make_url(args.postgres_url).render_as_string(hide_password=True)
    if "postgresql" in backends:
        problem = postgres_problem(args.postgres_url)
        if problem:
            say(f"PostgreSQL is not reachable at {shown_url} ({problem}); running SQLite only")
            backends = [b for b in backends if b != "postgresql"]
    document: dict[str, Any] = {"machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg())}}
    texts: list[str] = []
    for backend in backends:
        if backend == "sqlite":
            import sqlite3

            version = f"SQLite {sqlite3.sqlite_version}"
            with sqlite_databases() as new:
                result = run_backend(new, args)
        else:
            version = f"PostgreSQL {postgres_version(args.postgres_url)}"
            with postgres_databases(args.postgres_url) as new:
                result = run_backend(new, args)
        document[backend] = result
        texts.append(report(backend, version, result))
    document["machine"]["load_average_at_end"] = list(os.getloadavg())
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        machine = document["machine"]
        print(f"machine: {machine['cpus']} CPUs, load average "
              f"{[round(x, 2) for x in machine['load_average_at_start']]} at start, "
              f"{[round(x, 2) for x in machine['load_average_at_end']]} at end "
              "(compare ratios: both sides ran interleaved)\n")
        print("\n\n".join(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
