"""Daily review benchmark: `services.review.run_review` over many overdue lines, beside the
raw driver reading and totalling the same overdue lines in the same run.

    python benchmarks/bench_review.py                 # 100,000 overdue lines on 100 SKUs
    python benchmarks/bench_review.py --quick         # 5,000 lines on 20 SKUs
    python benchmarks/bench_review.py --backend sqlite --lines 20000

Each backend gets a fresh database with N waiting lines (bulk-seeded, as bench_engine seeds
its deep queues), every one promised long ago, so the first review finds them all overdue:
it dates every queue again, stamps every line, opens two tasks and logs an incident per SKU,
and writes a delay notice per line (the worst day: a first review after months without
one). The second run, the same day, finds nothing new. The floor is one SELECT of the
overdue lines with the raw driver, totalled in Python: the least any review must read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from bench_drivers import Target
from bench_phases import DEEP_PRICE, DeepQueue, open_app, print_each_backend, say

from backorder.domain.model import Product
from backorder.services.products import add_product
from backorder.services.review import run_review

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PROMISED = date(2025, 1, 1)
FLOOR_SQL = (
    "SELECT id, unit_price, backordered, promised FROM order_lines "
    "WHERE backordered > 0 AND promised < %s"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--lines", type=int, default=None, help="overdue lines (100,000)")
    parser.add_argument("--skus", type=int, default=None, help="SKUs they wait on (100)")
    parser.add_argument("--quick", action="store_true", help="5,000 lines on 20 SKUs")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    args.lines = args.lines or (5_000 if args.quick else 100_000)
    args.skus = args.skus or (20 if args.quick else 100)
    if not 1 <= args.skus <= args.lines <= 2_000_000:
        parser.error("need 1 <= --skus <= --lines <= 2,000,000")
    return args


def seed(target: Target, lines: int, skus: int) -> None:
    app = open_app(target)
    db = target.raw()
    try:
        per_sku = [lines // skus + (1 if i < lines % skus else 0) for i in range(skus)]
        for i, count in enumerate(per_sku):
            sku = f"REVIEW-{i:04d}"
            add_product(app, Product(sku=sku, name=sku, unit_price=DEEP_PRICE, lead_time_days=21))
            product_id = db.rows("SELECT id FROM products WHERE sku = %s", (sku,))[0][0]
            db.commit()
            DeepQueue(db, sku, product_id).append(count)
        db.begin()
        db.rows(
            "UPDATE order_lines SET promised = %s, eta = %s, eta_told = %s",
            (PROMISED.isoformat(),) * 3,
        )
        db.commit()
    finally:
        db.close()
        app.close()


def floor_seconds(target: Target, today: date, lines: int) -> float:
    db = target.raw()
    try:
        start = time.perf_counter()
        rows = db.rows(FLOOR_SQL, (today.isoformat(),))
        total = sum((Decimal(str(price)) * units for _, price, units, _ in rows), Decimal(0))
        elapsed = time.perf_counter() - start
        db.commit()
    finally:
        db.close()
    if len(rows) != lines or total <= 0:
        raise RuntimeError(f"the floor read {len(rows)} overdue lines, expected {lines}")
    return elapsed


def run_backend(new_database: Callable[[str], Target], args: argparse.Namespace) -> str:
    target = new_database("review")
    say(f"{target.backend}: seeding {args.lines:,} overdue lines on {args.skus} SKUs")
    seed(target, args.lines, args.skus)
    app = open_app(target)
    try:
        floor = floor_seconds(target, app.now().date(), args.lines)
        start = time.perf_counter()
        first = run_review(app)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = run_review(app)
        second_s = time.perf_counter() - start
    finally:
        app.close()
    if first["overdue_lines"] != args.lines or first["customers_notified"] != args.lines:
        raise RuntimeError(f"the review found {first['overdue_lines']} overdue lines")
    if second["customers_notified"] or second["tasks_opened"] or second["incidents"]:
        raise RuntimeError("the second review of the day wrote something")
    rate = args.lines / first_s
    return (
        f"{target.backend}: {args.lines:,} overdue lines on {args.skus} SKUs\n"
        f"  first review (everything new)  {first_s:8.2f} s  {rate:10,.0f} lines/s  "
        f"({first['tasks_opened']} tasks, {first['incidents']} incidents, "
        f"{first['customers_notified']:,} delay notices)\n"
        f"  second review, same day        {second_s:8.2f} s  (nothing new)\n"
        f"  floor: read and total them raw {floor:8.2f} s\n"
        f"  review / floor: first {first_s / floor:,.0f}x, second {second_s / floor:,.0f}x"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print_each_backend(args.backend, args.postgres_url, lambda new: run_backend(new, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
