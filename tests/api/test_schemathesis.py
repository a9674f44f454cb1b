"""Schemathesis against the OpenAPI document of a real server, on each backend: generated
requests, valid and invalid, for every operation; every check (no 5xx, documented status codes,
content types, headers and response schemas, invalid data refused, auth not ignored), and
backorder_checks.py's own: what the schema allows, the server's validation accepts.

Bounded by count, not by time: at most BACKORDER_SCHEMATHESIS_EXAMPLES (default 6) generated
cases per operation and phase. (A time budget is spent by the early phases on a loaded machine,
and the later ones then test nothing.) A failure prints its seed: BACKORDER_SCHEMATHESIS_SEED
replays it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.api.live import Server, cli

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
HERE = Path(__file__).parent / "schemathesis"
ORDER = {
    "channel": "web",
    "external_id": "st-1",
    "placed_at": "2026-01-05T10:00:00Z",
    "customer": {"id": "c-st", "email": "st@example.com"},
    "lines": [{"sku": "WIDGET-BLUE", "quantity": 3}],
}


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: Server) -> None:
    cli(server.db_url, "order", "place", "-", stdin=json.dumps(ORDER))
    token = json.loads(cli(server.db_url, "order", "link", "web:st-1", "--json"))["token"]
    examples = os.environ.get(
        "BACKORDER_SCHEMATHESIS_EXAMPLES", "4" if os.environ.get("CI") else "6"
    )
    env = os.environ | {
        "BACKORDER_ST_KEY": server.keys["admin"],
        "BACKORDER_ST_REF": "web:st-1",
        "BACKORDER_ST_TOKEN": token,
        "PYTHONPATH": str(HERE),
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{server.base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            examples,
            "--workers",
            "1",
            *(["--seed", seed] if (seed := os.environ.get("BACKORDER_SCHEMATHESIS_SEED")) else []),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        timeout=600,
    )
    failures = run.stdout.find("FAILURES")
    summary = run.stdout[failures:][:8000] if failures >= 0 else run.stdout[-3000:]
    assert run.returncode == 0, summary + run.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert selected and tested, summary
    assert selected[1] == selected[2] == tested[1], summary  # every operation was tested
