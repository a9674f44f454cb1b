"""The HTTP benchmark's load client: canonical order bodies, a closed loop of concurrent
aiohttp connections bounded in time, and what one phase measured."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from bench_cpu import Sampler

from backorder.domain.model import OrderRequest

PHASE_LIMIT_S = 600.0  # no phase runs longer, whatever it was asked


@dataclass
class Run:
    """Requests of one kind: how long, how each answered, and the CPU time they cost."""

    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # no answer at all (connection refused or reset, timeout)
    refs: set[str] = field(default_factory=set)  # refs of the orders answered 2xx
    app_cpu: Sampler | None = None
    db_cpu: Sampler | None = None
    own_cpu_s: float = 0.0  # the calling thread's, for work done in this process
    app_cpu_s: float = 0.0
    db_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.failures + sum(n for status, n in self.statuses.items() if status >= 300)

    def stop_cpu(self) -> None:
        self.app_cpu_s = self.own_cpu_s + (self.app_cpu.stop() if self.app_cpu else 0.0)
        self.db_cpu_s = self.db_cpu.stop() if self.db_cpu else 0.0

    def cpu_ms_per_request(self) -> float:
        count = len(self.latencies)
        return (self.app_cpu_s + self.db_cpu_s) * 1000 / count if count else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def describe(self) -> dict[str, Any]:
        count = len(self.latencies)
        return {
            "requests": count,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 2) if count else None,
            "p99_ms": round(self.percentile(0.99), 2) if count else None,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "cpu_ms": round(self.cpu_ms_per_request(), 3),
            "app_cpu_ms": round(self.app_cpu_s * 1000 / count, 3) if count else 0.0,
            "db_cpu_ms": round(self.db_cpu_s * 1000 / count, 3) if count else 0.0,
            # database server processes seen during the phase: more than the pool holds
            # means connections were opened and closed while it ran
            "db_processes": len(self.db_cpu.last) if self.db_cpu else 0,
        }


def canonical(request: OrderRequest) -> bytes:
    """The canonical order JSON a channel would POST."""
    customer = request.customer
    return json.dumps(
        {
            "channel": request.channel,
            "external_id": request.external_id,
            "placed_at": request.placed_at.isoformat(),
            "customer": {
                "id": customer.id,
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
                "tier": customer.tier.value,
            },
            "currency": request.currency,
            "shipping": {
                "method": request.terms.shipping_method.value,
                "preference": request.terms.preference.value,
            },
            "payment_timing": request.terms.payment_timing.value,
            "lines": [
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    **({"unit_price": str(line.unit_price)} if line.unit_price else {}),
                }
                for line in request.lines
            ],
        }
    ).encode()


async def closed_loop(
    session: aiohttp.ClientSession,
    url: str,
    bodies: Iterable[bytes],
    run: Run,
    clients: int,
    seconds: float = PHASE_LIMIT_S,
) -> None:
    """`clients` connections, each sending the next body as soon as its last answer came,
    until the bodies (shared by all) or `seconds` run out."""
    deadline = time.perf_counter() + min(seconds, PHASE_LIMIT_S)
    queue = iter(bodies)

    async def connection() -> None:
        for body in queue:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            try:
                async with session.post(url, data=body) as answer:
                    content = await answer.read()
                    run.statuses[answer.status] += 1
            except (TimeoutError, aiohttp.ClientError):
                run.failures += 1
                continue
            run.latencies.append(time.perf_counter() - started)
            if 200 <= answer.status < 300:
                ref = json.loads(content).get("ref")
                if ref:
                    run.refs.add(ref)

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(clients)))
    run.seconds += time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
