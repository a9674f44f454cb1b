"""Plan refresh benchmark: `services.foresight_plan.refresh` (safety stock, projection and
stockout alerts of every stored forecast) beside the raw driver reading the same forecasts
with their weeks and open purchase-order lines in the same run.

    python benchmarks/bench_plan.py                  # 20,000 SKUs, 12 weeks each
    python benchmarks/bench_plan.py --quick          # 2,000 SKUs
    python benchmarks/bench_plan.py --backend sqlite --skus 50000

Each backend gets a fresh database: N SKUs with a supplier and stock, a 12-week forecast
each (bulk-seeded), an open purchase-order line for every third SKU, and so many units on
hand that about a third are projected to run out within 8 weeks. The first refresh raises
those alerts; the second, the same hour, finds them open and raises nothing. The floor is
one raw SELECT of everything the refresh must read, with the weeks summed per SKU in Python:
the least any refresh must do."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from bench_drivers import Target
from bench_phases import open_app, print_each_backend, say

from backorder.domain.projection import monday
from backorder.services.foresight_plan import refresh
from backorder.services.supply import SupplierIn, add_supplier

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WEEKS = 12
FLOOR_SQL = (
    "SELECT f.id, f.mean_demand, f.error_sd, p.on_hand, p.allocated, p.backordered, "
    "fp.period_start, fp.point FROM forecasts f JOIN products p ON p.id = f.product_id "
    "JOIN forecast_periods fp ON fp.forecast_id = f.id ORDER BY f.id, fp.period_start"
)
PO_SQL = (
    "SELECT product_id, expected_on, ordered - received - cancelled FROM po_lines "
    "WHERE received + cancelled < ordered"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--skus", type=int, default=None, help="SKUs with a forecast (20,000)")
    parser.add_argument("--quick", action="store_true", help="2,000 SKUs")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    args.skus = args.skus or (2_000 if args.quick else 20_000)
    if not 1 <= args.skus <= 1_000_000:
        parser.error("need 1 <= --skus <= 1,000,000")
    return args


def seed(target: Target, skus: int) -> None:
    app = open_app(target)
    add_supplier(app, SupplierIn("BENCH", "Bench supplier", 14, None))
    now = app.now()
    first = monday(now.date())
    rng = random.Random(20)
    db = target.raw()
    try:
        db.begin()
        means = [rng.uniform(0.2, 40) for _ in range(skus)]
        db.bulk_insert(
            "products",
            (
                "id",
                "sku",
                "name",
                "unit_price",
                "policy",
                "queue_strategy",
                "supplier_id",
                "on_hand",
                "allocated",
                "backordered",
                "discontinued",
                "require_known_date",
                "created_at",
                "updated_at",
            ),
            [
                (
                    i + 1,
                    f"PLAN-{i:06d}",
                    f"Plan {i}",
                    99_900,
                    "allow",
                    "fifo",
                    "BENCH",
                    int(mean * rng.uniform(2, 16)),
                    0,
                    0,
                    False,
                    False,
                    db.ts(now),
                    db.ts(now),
                )
                for i, mean in enumerate(means)
            ],
        )
        db.bulk_insert(
            "forecasts",
            (
                "id",
                "product_id",
                "computed_at",
                "period",
                "first_period",
                "method",
                "demand_class",
                "history_periods",
                "mean_demand",
                "error_sd",
                "inputs",
            ),
            [
                (
                    i + 1,
                    i + 1,
                    db.ts(now),
                    "week",
                    db.day(first),
                    "ets",
                    "smooth" if mean > 2 else "intermittent",
                    52,
                    mean,
                    mean * 0.4,
                    db.json({}),
                )
                for i, mean in enumerate(means)
            ],
        )
        db.bulk_insert(
            "forecast_periods",
            ("forecast_id", "period_start", "point", "lo80", "hi80", "lo95", "hi95"),
            [
                (
                    i + 1,
                    db.day(first + timedelta(weeks=w)),
                    mean,
                    mean * 0.5,
                    mean * 1.5,
                    0.0,
                    mean * 2,
                )
                for i, mean in enumerate(means)
                for w in range(WEEKS)
            ],
        )
        db.bulk_insert(
            "purchase_orders",
            ("id", "ref", "supplier_id", "state", "created_at"),
            [(n + 1, f"PO-{n}", "BENCH", "open", db.ts(now)) for n in range(0, skus, 3)],
        )
        db.bulk_insert(
            "po_lines",
            (
                "po_id",
                "product_id",
                "ordered",
                "received",
                "cancelled",
                "expected_on",
                "first_expected_on",
            ),
            [
                (
                    n + 1,
                    n + 1,
                    int(means[n] * 4) + 1,
                    0,
                    0,
                    db.day(first + timedelta(days=rng.randint(3, 60))),
                    db.day(first + timedelta(days=30)),
                )
                for n in range(0, skus, 3)
            ],
        )
        db.commit()
        if target.backend == "postgresql":
            for table in ("products", "forecasts", "purchase_orders", "po_lines"):
                db.rows(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            db.commit()
    finally:
        db.close()
        app.close()


def floor_seconds(target: Target, skus: int) -> float:
    db = target.raw()
    try:
        start = time.perf_counter()
        totals: dict[int, float] = {}
        for forecast_id, _, _, on_hand, allocated, waiting, _, point in db.rows(FLOOR_SQL):
            totals[forecast_id] = totals.get(forecast_id, on_hand - allocated - waiting) - point
        inbound = len(db.rows(PO_SQL))
        elapsed = time.perf_counter() - start
        db.commit()
    finally:
        db.close()
    if len(totals) != skus or inbound == 0:
        raise RuntimeError(f"the floor read {len(totals)} forecasts, expected {skus}")
    return elapsed


def run_backend(new_database: Callable[[str], Target], args: argparse.Namespace) -> str:
    target = new_database("plan")
    say(f"{target.backend}: seeding {args.skus:,} SKUs with {WEEKS}-week forecasts")
    seed(target, args.skus)
    app = open_app(target)
    try:
        floor = floor_seconds(target, args.skus)
        start = time.perf_counter()
        first = refresh(app)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = refresh(app)
        second_s = time.perf_counter() - start
    finally:
        app.close()
    if first["planned"] != args.skus or second["alerts_raised"]:
        raise RuntimeError(f"refresh planned {first['planned']}, then raised {second}")
    return (
        f"{target.backend}: {args.skus:,} SKUs, {WEEKS} weeks each\n"
        f"  first refresh   {first_s:8.2f} s  {args.skus / first_s:10,.0f} SKUs/s  "
        f"({first['stockouts_projected']:,} stockouts projected, "
        f"{first['alerts_raised']:,} alerts raised)\n"
        f"  second refresh  {second_s:8.2f} s  (alerts already open: none raised)\n"
        f"  floor: read it all raw {floor:8.2f} s\n"
        f"  refresh / floor: first {first_s / floor:,.0f}x, second {second_s / floor:,.0f}x"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print_each_backend(args.backend, args.postgres_url, lambda new: run_backend(new, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
