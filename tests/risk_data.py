"""A synthetic file in the product-backorders format: SKUs whose stock and supply cover
less of their forecast go on backorder more often (a rule a model must find)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from backorder.foresight.risk import FEATURES, FLAGS, LABEL


def synthetic_rows(n: int, seed: int = 1) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        f3 = float(rng.choice([0, 5, 20, 60, 120, 400]))
        on_hand = float(rng.randint(0, 300))
        transit = float(rng.choice([0, 0, 10, 50]))
        past = rng.choice([0.0, 0.5, 1.0, 1.5])  # demand so far against the forecast
        cover = (on_hand + transit) / (f3 + 1)
        risky = cover < 0.5 and f3 > 0
        label = rng.random() < (0.6 if risky else 0.03)
        values = {
            "national_inv": on_hand,
            "lead_time": float(rng.randint(2, 12)),
            "in_transit_qty": transit,
            "forecast_3_month": f3,
            "forecast_6_month": 2 * f3,
            "forecast_9_month": 3 * f3,
            "sales_1_month": round(f3 * past / 3),
            "sales_3_month": f3 * past,
            "sales_6_month": 2 * f3 * past,
            "sales_9_month": 3 * f3 * past,
            "min_bank": float(rng.randint(0, 20)),
            "pieces_past_due": 0.0,
            "perf_6_month_avg": rng.choice([-99.0, 0.8, 0.95]),
            "perf_12_month_avg": rng.choice([-99.0, 0.85, 0.9]),
            "local_bo_qty": 0.0,
        }
        row = {"sku": f"S{i}"} | {k: f"{v:g}" for k, v in values.items()}
        row |= {flag: rng.choice(["Yes", "No", "No"]) for flag in FLAGS}
        row[LABEL] = "Yes" if label else "No"
        rows.append(row)
    return rows


def write_file(path: Path, rows: list[dict[str, str]], labelled: bool = True) -> Path:
    columns = ["sku", *FEATURES] + ([LABEL] if labelled else [])
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
