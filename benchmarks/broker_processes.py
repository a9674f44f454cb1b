"""The processes and orders of bench_broker.py: a `nats-server -js` of its own, `backorder
serve` and `backorder intake consume` processes (every start and stop bounded in time), and
Shopify Admin API Order objects."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_http import free_port

from backorder.domain.model import OrderRequest

BACKORDER = str(Path(sys.executable).with_name("backorder"))
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
START_LIMIT_S = 60.0  # a server not up by then fails the run

# --- the orders ---------------------------------------------------------------------------


def shopify_order(request: OrderRequest, order_id: int) -> bytes:
    """An Admin REST API Order object, as the `orders/create` webhook delivers it."""
    c = request.customer
    first, _, last = (c.name or "").partition(" ")
    items: list[dict[str, Any]] = []
    total = Decimal(0)
    for n, line in enumerate(request.lines):
        price = line.unit_price if line.unit_price is not None else Decimal(10)
        total += price * line.quantity
        items.append(
            {
                "id": order_id * 10 + n,
                "variant_id": 40_000_000 + n,
                "product_id": 7_000_000 + n,
                "title": f"Item {line.sku}",
                "variant_title": "Default Title",
                "sku": line.sku,
                "quantity": line.quantity,
                "price": f"{price:.2f}",
                "total_discount": "0.00",
                "discount_allocations": [],
            }
        )
    address = {"first_name": first, "last_name": last, "address1": "1 Main St",
               "city": "Ottawa", "zip": "K2P 1L4", "country_code": "CA", "phone": c.phone}
    return json.dumps(
        {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{order_id}",
            "order_number": order_id,
            "email": c.email,
            "contact_email": c.email,
            "phone": c.phone,
            "created_at": request.placed_at.isoformat(),
            "currency": request.currency,
            "presentment_currency": request.currency,
            "customer_locale": "en",
            "financial_status": "paid",
            "fulfillment_status": None,
            "tags": "",
            "total_price": f"{total:.2f}",
            "total_discounts": "0.00",
            "customer": {"id": 9_000_000 + int(c.id.split("-")[-1]), "email": c.email,
                         "first_name": first, "last_name": last, "phone": c.phone},
            "billing_address": address,
            "shipping_address": address,
            "shipping_lines": [
                {"code": str(request.terms.shipping_method), "title": "Shipping",
                 "price": "5.00"}
            ],
            "line_items": items,
        }
    ).encode()


# --- processes ----------------------------------------------------------------------------


@contextmanager
def nats_server(folder: Path) -> Iterator[str]:
    """`nats-server -js` on a free loopback port, its store in `folder`; always stopped."""
    port = free_port()
    log = (folder / "nats.log").open("ab")
    command = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(folder)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nats-server did not listen within 15 s") from None
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def backorder(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [BACKORDER, "--db", url, *args],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def serve(url: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = backorder(url, env, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"backorder serve exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("backorder serve not ready in time") from None
                time.sleep(0.2)
        yield base
    finally:
        stop(process)
