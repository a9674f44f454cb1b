"""Staff alerts: which facts the sales team, procurement and the warehouse manager should
hear about, and when a problem they heard about is gone.

- Stock arrived for a SKU with a queue: a notice to sales, with how many orders it released.
- A SKU sold out while orders keep coming (a line backordered with nothing available): open
  for procurement and sales until stock arrives.
- Available stock below the configured threshold: open for procurement until it is back at
  or above it (so they hear of the crossing both ways).
- A backorder worth more than the threshold: open for the warehouse manager (by SMS too)
  until nothing of that order waits any more. The daily review raises the same for an
  order whose backorder is overdue (`overdue_costly`).

Pure: the caller reads the current stock and open alerts and writes what this decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backorder.domain.events import line_entries

AUDIENCES: dict[str, tuple[str, ...]] = {
    "stock_arrived": ("sales",),
    "sold_out_demand": ("procurement", "sales"),
    "stock_low": ("procurement",),
    "costly_backorder": ("manager",),
    "overdue_costly": ("manager",),
    # foresight: raised when the projection or the risk score says so, once, and resolved
    # when the projection clears or the score falls back
    "stockout_projected": ("procurement",),
    "risk_high": ("procurement",),
    # self-healing: a slip re-planned, with the ways out in words (a notice, told once)
    "supply_replanned": ("procurement",),
}
# Open for an order until nothing of it waits: to the manager by SMS as well as e-mail.
ORDER_KINDS = ("costly_backorder", "overdue_costly")
ALERT_KINDS = tuple(AUDIENCES)


@dataclass
class Raise:
    """A new alert; a notice is told once and has nothing to resolve."""

    kind: str
    summary: str
    facts: dict[str, Any]
    sku: str | None = None
    order_ref: str | None = None
    notice: bool = False

    @property
    def key(self) -> str:
        return alert_key(self.kind, self.sku, self.order_ref)


@dataclass(frozen=True)
class Resolve:
    key: str
    resolution: str


def alert_key(kind: str, sku: str | None, order_ref: str | None) -> str:
    return f"{kind}:{order_ref if order_ref is not None else sku}"


@dataclass
class Watch:
    """What the caller knows now: stock available per SKU the events touch, units still
    waiting per order the events touch, the keys of open alerts, and the thresholds."""

    available: dict[str, int]
    waiting: dict[str, int]
    open_keys: set[str]
    stock_below: int | None = None
    costly_above: Decimal | None = None
    raised: list[Raise] = field(default_factory=list)
    resolved: list[Resolve] = field(default_factory=list)

    def open(self, alert: Raise) -> None:
        if alert.notice:
            self.raised.append(alert)
        elif alert.key not in self.open_keys:
            self.open_keys.add(alert.key)
            self.raised.append(alert)

    def resolve(self, key: str, resolution: str) -> None:
        if key in self.open_keys:
            self.open_keys.discard(key)
            if not any(r.key == key for r in self.raised if not r.notice):
                self.resolved.append(Resolve(key, resolution))
            else:  # raised and gone within one batch: nobody needs to hear of it
                self.raised = [r for r in self.raised if r.notice or r.key != key]


def decide(events: list[tuple[str, dict[str, Any]]], watch: Watch) -> Watch:
    """Walk a batch of events (type, payload) in order; `watch` collects what to raise
    and resolve."""
    arrivals: dict[str, Raise] = {}
    for kind, payload in events:
        sku = str(payload.get("sku") or "")
        ref = payload.get("order_ref")
        if kind == "stock_received":
            arrivals.pop(sku, None)
            if payload.get("units_allocated"):
                notice = Raise(
                    "stock_arrived",
                    "",
                    {
                        "units": payload["units"],
                        "ref": payload.get("ref"),
                        "lines_served": payload["lines_served"],
                        "units_allocated": payload["units_allocated"],
                        "still_backordered": payload["still_backordered"],
                        "available": payload["available"],
                        "orders": [],
                    },
                    sku=sku,
                    notice=True,
                )
                arrivals[sku] = notice
                watch.open(notice)
            if payload.get("available", 0) > 0 or payload.get("units_allocated"):
                watch.resolve(alert_key("sold_out_demand", sku, None), "stock arrived")
        elif kind == "units_allocated" and payload.get("source") == "receipt":
            arrival = arrivals.get(sku)
            if arrival is not None and ref not in arrival.facts["orders"]:
                arrival.facts["orders"].append(ref)
        elif kind == "line_backordered" and watch.available.get(sku, 1) == 0:
            watch.open(
                Raise(
                    "sold_out_demand",
                    f"{sku} is sold out and orders keep coming",
                    {"first_order": ref, "backordered": payload.get("backordered")},
                    sku=sku,
                )
            )
        elif kind == "order_accepted" and watch.costly_above is not None:
            value = Decimal(str(payload.get("backordered_value") or 0))
            if value > watch.costly_above:
                waiting = [line for line in line_entries(payload) if line.get("backordered")]
                watch.open(
                    Raise(
                        "costly_backorder",
                        f"Order {ref} has {payload.get('currency')} {value} on backorder",
                        {
                            "value": str(value),
                            "currency": payload.get("currency"),
                            "customer": (payload.get("customer") or {}).get("name"),
                            "lines": [
                                {"sku": line.get("sku"), "backordered": line["backordered"]}
                                # a line in cases is told in cases (12 cases of 12)
                                | ({"ordered": line["ordered"]} if line.get("ordered") else {})
                                for line in waiting
                            ],
                        },
                        order_ref=ref,
                    )
                )
        if ref is not None and watch.waiting.get(ref, 1) == 0:
            for order_kind in ORDER_KINDS:
                watch.resolve(alert_key(order_kind, None, ref), "nothing of it waits any more")
    for arrival in arrivals.values():
        orders = len(arrival.facts["orders"])
        arrival.summary = (
            f"{arrival.facts['units']} x {arrival.sku} arrived: {orders} waiting "
            f"order{'s' if orders != 1 else ''} released"
            + (f", {arrival.facts['still_backordered']} units still wait")
            * bool(arrival.facts["still_backordered"])
        )
    if watch.stock_below is not None:
        for sku, available in sorted(watch.available.items()):
            key = alert_key("stock_low", sku, None)
            if available < watch.stock_below:
                watch.open(
                    Raise(
                        "stock_low",
                        f"{sku} is low: {available} available (below {watch.stock_below})",
                        {"available": available, "threshold": watch.stock_below},
                        sku=sku,
                    )
                )
            else:
                watch.resolve(key, f"back to {available} available")
    return watch
