"""The invariants of DESIGN.md section 2, checked on the tables themselves.

Each rule is a query for the rows that break it; a healthy database returns none. The
outbox is then replayed on its own: every line's numbers must be explainable from its
events alone, so a change written without its event (or an event without its change)
shows up as a line the events cannot explain.

`assert_invariants(url)` is the one call tests make, after every step of a property test
or after a race between processes. It reads in one snapshot (REPEATABLE READ on
PostgreSQL, one read transaction on SQLite), so it may run while others still write.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from backorder.store.db import Database
from backorder.store.tables import events, locations, metadata, order_lines, orders


@dataclass(frozen=True)
class Rule:
    says: str
    violations: str  # SQL selecting the rows that break the rule


# A ship-complete order holding units at one location is sourced whole from there (its
# home): another location may not serve it (BACKORDER_SOURCING_CONSOLIDATE off).
HOMED_ELSEWHERE = """(o.shipping_preference = 'ship_complete' AND EXISTS (
            SELECT 1 FROM line_holdings h JOIN order_lines sib ON sib.id = h.line_id
            WHERE sib.order_id = o.id AND h.location_id <> loc.id AND h.allocated > 0))"""


RULES: tuple[Rule, ...] = (
    Rule(
        "every line: quantity = allocated + backordered + shipped + cancelled, all >= 0",
        """
        SELECT id, quantity, allocated, backordered, shipped, cancelled FROM order_lines
        WHERE quantity <> allocated + backordered + shipped + cancelled
           OR quantity <= 0 OR allocated < 0 OR backordered < 0 OR shipped < 0 OR cancelled < 0
        """,
    ),
    Rule(
        "every SKU: 0 <= allocated <= on hand, backordered >= 0 (no oversell)",
        """
        SELECT sku, on_hand, allocated, backordered FROM products
        WHERE allocated < 0 OR allocated > on_hand OR backordered < 0
        """,
    ),
    Rule(
        "a SKU's allocated and backordered are the sums over its lines",
        """
        SELECT p.sku, p.allocated, COALESCE(l.allocated, 0) AS lines_allocated,
               p.backordered, COALESCE(l.backordered, 0) AS lines_backordered
        FROM products p
        LEFT JOIN (SELECT product_id, SUM(allocated) AS allocated,
                          SUM(backordered) AS backordered
                   FROM order_lines GROUP BY product_id) l ON l.product_id = p.id
        WHERE p.allocated <> COALESCE(l.allocated, 0)
           OR p.backordered <> COALESCE(l.backordered, 0)
        """,
    ),
    Rule(
        "stock available at a location never sits beside a waiting line that location can "
        "serve (active, takes backorders, ships anywhere or the order has no country, not a "
        "ship-complete order whose home is another location; the lists of countries are "
        "checked in queue_order_problems)",
        """
        SELECT p.sku, loc.code, s.on_hand - s.allocated AS available, l.id AS waiting_line,
               l.backordered
        FROM stock_levels s
        JOIN products p ON p.id = s.product_id
        JOIN locations loc ON loc.id = s.location_id
        JOIN order_lines l ON l.product_id = p.id
        JOIN orders o ON o.id = l.order_id
        WHERE s.on_hand > s.allocated AND l.backordered > 0
          AND loc.active AND loc.accepts_backorders
          AND (loc.ships_to IS NULL OR o.ship_country IS NULL)
          AND NOT """
        + HOMED_ELSEWHERE
        + """
        """,
    ),
    Rule(
        "every SKU and location: 0 <= allocated <= on hand",
        """
        SELECT product_id, location_id, on_hand, allocated FROM stock_levels
        WHERE allocated < 0 OR allocated > on_hand
        """,
    ),
    Rule(
        "a SKU's on hand and allocated are the sums over its locations",
        """
        SELECT p.sku, p.on_hand, p.allocated, COALESCE(s.on_hand, 0) AS locations_on_hand,
               COALESCE(s.allocated, 0) AS locations_allocated
        FROM products p
        LEFT JOIN (SELECT product_id, SUM(on_hand) AS on_hand, SUM(allocated) AS allocated
                   FROM stock_levels GROUP BY product_id) s ON s.product_id = p.id
        WHERE p.on_hand <> COALESCE(s.on_hand, 0) OR p.allocated <> COALESCE(s.allocated, 0)
        """,
    ),
    Rule(
        "a line's allocations each name a location and sum to its allocated",
        """
        SELECT l.id, l.allocated, COALESCE(h.units, 0) AS held
        FROM order_lines l
        LEFT JOIN (SELECT line_id, SUM(allocated) AS units FROM line_holdings
                   GROUP BY line_id) h ON h.line_id = l.id
        WHERE l.allocated <> COALESCE(h.units, 0)
        """,
    ),
    Rule(
        "a SKU's allocated at a location is the sum of what its lines hold there",
        """
        SELECT s.product_id, s.location_id, s.allocated, COALESCE(h.units, 0) AS held
        FROM stock_levels s
        LEFT JOIN (SELECT l.product_id, lh.location_id, SUM(lh.allocated) AS units
                   FROM line_holdings lh JOIN order_lines l ON l.id = lh.line_id
                   GROUP BY l.product_id, lh.location_id) h
               ON h.product_id = s.product_id AND h.location_id = s.location_id
        WHERE s.allocated <> COALESCE(h.units, 0)
        """,
    ),
    Rule(
        "every allocation and shipment names its location",
        """
        SELECT 'allocation' AS kind, id FROM allocations WHERE location_id IS NULL
        UNION ALL
        SELECT 'shipment' AS kind, id FROM shipments WHERE location_id IS NULL
        """,
    ),
    Rule(
        "exactly one order per CHANNEL:EXTERNAL_ID",
        """
        SELECT channel, external_id, COUNT(*) AS orders FROM orders
        GROUP BY channel, external_id HAVING COUNT(*) <> 1
        """,
    ),
    Rule(
        "a line's shipped units are the sum of its shipment lines",
        """
        SELECT l.id, l.shipped, COALESCE(s.units, 0) AS shipment_units
        FROM order_lines l
        LEFT JOIN (SELECT line_id, SUM(units) AS units FROM shipment_lines GROUP BY line_id) s
               ON s.line_id = l.id
        WHERE l.shipped <> COALESCE(s.units, 0)
        """,
    ),
    Rule(
        "a shipment only carries lines of its own order",
        """
        SELECT sl.shipment_id, sl.line_id FROM shipment_lines sl
        JOIN shipments s ON s.id = sl.shipment_id
        JOIN order_lines l ON l.id = sl.line_id
        WHERE s.order_id <> l.order_id
        """,
    ),
    Rule(
        "a line's cancelled units are the sum of its cancellations",
        """
        SELECT l.id, l.cancelled, COALESCE(c.units, 0) AS cancellation_units
        FROM order_lines l
        LEFT JOIN (SELECT line_id, SUM(units) AS units FROM cancellations GROUP BY line_id) c
               ON c.line_id = l.id
        WHERE l.cancelled <> COALESCE(c.units, 0)
        """,
    ),
    Rule(
        "a cancellation takes 0..units of its units from allocated",
        """
        SELECT id, line_id, units, from_allocated FROM cancellations
        WHERE units <= 0 OR from_allocated < 0 OR from_allocated > units
        """,
    ),
    Rule(
        "stock is conserved: on hand = signed stock movements - shipped units",
        """
        SELECT p.sku, p.on_hand, COALESCE(m.units, 0) AS moved, COALESCE(s.units, 0) AS shipped
        FROM products p
        LEFT JOIN (SELECT product_id, SUM(units) AS units FROM stock_movements
                   GROUP BY product_id) m ON m.product_id = p.id
        LEFT JOIN (SELECT l.product_id, SUM(sl.units) AS units
                   FROM shipment_lines sl JOIN order_lines l ON l.id = sl.line_id
                   GROUP BY l.product_id) s ON s.product_id = p.id
        WHERE p.on_hand <> COALESCE(m.units, 0) - COALESCE(s.units, 0)
        """,
    ),
    Rule(
        "every unit a line holds, shipped or cancelled from allocated was logged as allocated",
        """
        SELECT l.id, l.allocated, l.shipped, COALESCE(c.from_allocated, 0) AS from_allocated,
               COALESCE(a.units, 0) AS logged
        FROM order_lines l
        LEFT JOIN (SELECT line_id, SUM(units) AS units FROM allocations GROUP BY line_id) a
               ON a.line_id = l.id
        LEFT JOIN (SELECT line_id, SUM(from_allocated) AS from_allocated FROM cancellations
                   GROUP BY line_id) c ON c.line_id = l.id
        WHERE COALESCE(a.units, 0) < l.allocated + l.shipped + COALESCE(c.from_allocated, 0)
        """,
    ),
    Rule(
        "a line waits only inside its wait: begun, and not ended; an ended wait was filled or "
        "withdrawn, not both",
        """
        SELECT id, backordered, backordered_at, filled_at, withdrawn_at FROM order_lines
        WHERE (backordered > 0 AND (backordered_at IS NULL OR filled_at IS NOT NULL
                                    OR withdrawn_at IS NOT NULL))
           OR ((filled_at IS NOT NULL OR withdrawn_at IS NOT NULL) AND backordered_at IS NULL)
           OR (filled_at IS NOT NULL AND withdrawn_at IS NOT NULL)
           OR (backordered = 0 AND backordered_at IS NOT NULL
               AND filled_at IS NULL AND withdrawn_at IS NULL)
        """,
    ),
    Rule(
        "an order counts its lines and those that waited; a completed order has nothing open",
        """
        SELECT o.id, o.line_count, o.waited_lines, o.completed_at, l.lines, l.waited, l.open
        FROM orders o
        JOIN (SELECT order_id, COUNT(*) AS lines, COUNT(backordered_at) AS waited,
                     SUM(allocated + backordered) AS open
              FROM order_lines GROUP BY order_id) l ON l.order_id = o.id
        WHERE o.line_count <> l.lines OR o.waited_lines <> l.waited
           OR (o.completed_at IS NOT NULL AND l.open > 0)
        """,
    ),
    Rule(
        "a shipment counts its lines and those that shipped exactly what was allocated",
        """
        SELECT s.id, s.line_count, s.exact_lines, sl.lines, sl.exact FROM shipments s
        JOIN (SELECT shipment_id, COUNT(*) AS lines,
                     SUM(CASE WHEN units = allocated THEN 1 ELSE 0 END) AS exact
              FROM shipment_lines GROUP BY shipment_id) sl ON sl.shipment_id = s.id
        WHERE s.line_count <> sl.lines OR s.exact_lines <> sl.exact
        """,
    ),
    Rule(
        "every order has exactly one order_accepted event",
        """
        SELECT o.channel, o.external_id, COUNT(e.id) AS accepted_events
        FROM orders o
        LEFT JOIN events e
               ON e.type = 'order_accepted' AND e.order_ref = o.channel || ':' || o.external_id
        GROUP BY o.id, o.channel, o.external_id
        HAVING COUNT(e.id) <> 1
        """,
    ),
    Rule(
        "every order_accepted event names an order that exists",
        """
        SELECT e.id, e.order_ref FROM events e
        WHERE e.type = 'order_accepted'
          AND NOT EXISTS (SELECT 1 FROM orders o
                          WHERE o.channel || ':' || o.external_id = e.order_ref)
        """,
    ),
    Rule(
        "every stock movement but a transfer leaving has its stock event (stock_received "
        "or stock_adjusted)",
        """
        SELECT sku, movements, stock_events FROM (
            SELECT p.sku,
                   (SELECT COUNT(*) FROM stock_movements m
                    WHERE m.product_id = p.id AND m.kind <> 'transfer_out') AS movements,
                   (SELECT COUNT(*) FROM events e
                    WHERE e.sku = p.sku AND e.type IN ('stock_received', 'stock_adjusted'))
                       AS stock_events
            FROM products p) counted
        WHERE movements <> stock_events
        """,
    ),
    Rule(
        "every transfer that left its source has one movement out of it, and no other does",
        """
        SELECT t.id, t.state, COUNT(m.id) AS movements
        FROM transfers t
        LEFT JOIN stock_movements m
               ON m.kind = 'transfer_out' AND m.ref = 'transfer ' || CAST(t.id AS VARCHAR(20))
              AND m.product_id = t.product_id AND m.location_id = t.from_location_id
              AND m.units = -t.quantity
        GROUP BY t.id, t.state
        HAVING COUNT(m.id) <> CASE WHEN t.state IN ('shipped', 'received') THEN 1 ELSE 0 END
        """,
    ),
    Rule(
        "a transfer's received units arrived at its destination as movements in",
        """
        SELECT t.id, t.received, COALESCE(SUM(m.units), 0) AS arrived
        FROM transfers t
        LEFT JOIN stock_movements m
               ON m.kind = 'transfer_in' AND m.ref = 'transfer ' || CAST(t.id AS VARCHAR(20))
              AND m.product_id = t.product_id AND m.location_id = t.to_location_id
        GROUP BY t.id, t.received
        HAVING t.received <> COALESCE(SUM(m.units), 0)
        """,
    ),
    Rule(
        "every shipment has its units_shipped event",
        """
        SELECT order_ref, shipments, shipped_events FROM (
            SELECT o.channel || ':' || o.external_id AS order_ref,
                   (SELECT COUNT(*) FROM shipments s WHERE s.order_id = o.id) AS shipments,
                   (SELECT COUNT(*) FROM events e WHERE e.type = 'units_shipped'
                      AND e.order_ref = o.channel || ':' || o.external_id) AS shipped_events
            FROM orders o) counted
        WHERE shipments <> shipped_events
        """,
    ),
)


@dataclass
class Ledger:
    """One line's quantities rebuilt from the outbox alone."""

    quantity: int = 0
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    cancelled: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.quantity, self.allocated, self.backordered, self.shipped, self.cancelled)


def replay_outbox(conn: Connection) -> dict[tuple[str, int], Ledger]:
    """Every line's (quantity, allocated, backordered, shipped, cancelled), from events."""
    ledgers: dict[tuple[str, int], Ledger] = defaultdict(Ledger)
    rows = conn.execute(select(events.c.type, events.c.payload).order_by(events.c.id))
    for kind, payload in rows:
        ref = payload.get("order_ref")
        if kind == "order_accepted":
            for summary in payload["lines"]:
                ledger = ledgers[(ref, summary["line"])]
                ledger.quantity += summary["quantity"]
                ledger.backordered += summary["backordered"]
        elif kind == "units_allocated":
            ledger = ledgers[(ref, payload["line"])]
            ledger.allocated += payload["units"]
            if payload["source"] != "intake":  # intake units never waited
                ledger.backordered -= payload["units"]
        elif kind == "allocation_taken_back":
            ledger = ledgers[(ref, payload["line"])]
            ledger.allocated -= payload["units"]
            ledger.backordered += payload["units"]
        elif kind == "units_cancelled":
            ledger = ledgers[(ref, payload["line"])]
            ledger.cancelled += payload["units"]
            ledger.allocated -= payload["from_allocated"]
            ledger.backordered -= payload["from_backordered"]
        elif kind == "substitute_settled" and payload.get("new_line"):
            # an accepted substitute: a new line of the order, of the units offered
            ledgers[(ref, payload["new_line"])].quantity += payload["units"]
        elif kind == "units_shipped":
            for shipped in payload["lines"]:
                ledger = ledgers[(ref, shipped["line"])]
                ledger.shipped += shipped["units"]
                ledger.allocated -= shipped["units"]
    return dict(ledgers)


def outbox_problems(conn: Connection) -> list[str]:
    """Lines whose numbers their events do not explain, and events about no line."""
    ref = orders.c.channel + ":" + orders.c.external_id
    stored = {
        (row.ref, row.line_no): (
            row.quantity,
            row.allocated,
            row.backordered,
            row.shipped,
            row.cancelled,
        )
        for row in conn.execute(
            select(
                ref.label("ref"),
                order_lines.c.line_no,
                order_lines.c.quantity,
                order_lines.c.allocated,
                order_lines.c.backordered,
                order_lines.c.shipped,
                order_lines.c.cancelled,
            ).select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
        )
    }
    rebuilt = {key: ledger.as_tuple() for key, ledger in replay_outbox(conn).items()}
    return [
        f"line {key}: (quantity, allocated, backordered, shipped, cancelled) is "
        f"{stored.get(key)} in order_lines but {rebuilt.get(key)} from its events"
        for key in sorted(stored.keys() | rebuilt.keys())
        if stored.get(key) != rebuilt.get(key)
    ]


@contextmanager
def snapshot(database: Database) -> Iterator[Connection]:
    """One consistent read of the whole database."""
    with database.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            yield conn
            transaction.rollback()


@contextmanager
def opened(target: str | Database) -> Iterator[Database]:
    if isinstance(target, Database):
        yield target
        return
    database = Database(target)
    try:
        yield database
    finally:
        database.dispose()


# Every sequence of the schema back to 1, as TRUNCATE ... RESTART IDENTITY would.
RESTART_SEQUENCES = text(
    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def empty_database(target: str | Database) -> None:
    """Delete every row of every table and restart the ids, keeping the migrated schema.
    DELETE, children first, on PostgreSQL too: a TRUNCATE gives each of the ~60 tables new
    files (0.6 to 1 s on this machine), where deleting the few rows a test leaves takes
    about 15 ms."""
    with opened(target) as database, database.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            conn.execute(RESTART_SEQUENCES)
        else:
            conn.execute(text("DELETE FROM sqlite_sequence"))
        seed_main_location(conn)


def find_violations(target: str | Database) -> list[str]:
    """Every broken invariant, one line each; empty when all hold."""
    with opened(target) as database, snapshot(database) as conn:
        problems = [
            f"{rule.says}: {dict(row)}"
            for rule in RULES
            for row in conn.execute(text(rule.violations)).mappings()
        ]
        problems.extend(outbox_problems(conn))
        problems.extend(queue_order_problems(conn))
    return problems


def queue_order_problems(conn: Connection) -> list[str]:
    """Stock available at a location that ships to a list of countries never sits beside a
    waiting line to one of them (or to no country)."""
    found = []
    query = text(
        """
        SELECT p.sku, loc.code, loc.ships_to, s.on_hand - s.allocated AS available,
               l.id AS line, o.ship_country
        FROM stock_levels s
        JOIN products p ON p.id = s.product_id
        JOIN locations loc ON loc.id = s.location_id
        JOIN order_lines l ON l.product_id = p.id
        JOIN orders o ON o.id = l.order_id
        WHERE s.on_hand > s.allocated AND l.backordered > 0
          AND loc.active AND loc.accepts_backorders AND loc.ships_to IS NOT NULL
          AND o.ship_country IS NOT NULL
          AND NOT """
        + HOMED_ELSEWHERE
    )
    for row in conn.execute(query).mappings():
        ships_to = row["ships_to"]
        if isinstance(ships_to, str):
            ships_to = json.loads(ships_to)
        if row["ship_country"] in ships_to:
            found.append(
                f"stock available at a location sits beside a waiting line it serves: {dict(row)}"
            )
    return found


def seed_main_location(conn: Connection) -> None:
    """What migration 0025 gives every database: the one location `main`."""
    now = datetime.now(UTC)
    conn.execute(
        locations.insert().values(
            code="main", name="Main warehouse", kind="own", created_at=now, updated_at=now
        )
    )


def assert_invariants(target: str | Database) -> None:
    """Fail with every broken invariant listed. `target` is a URL or an open Database."""
    problems = find_violations(target)
    assert not problems, "invariants broken:\n  " + "\n  ".join(problems[:50])


def assert_events_follow_the_clock(target: str | Database) -> None:
    """Outbox ids increase with time: a reader resuming "after id N" misses nothing older.
    Only meaningful when writes are sequential (one process, a clock that never goes back)."""
    with opened(target) as database, snapshot(database) as conn:
        rows = conn.execute(select(events.c.id, events.c.occurred_at).order_by(events.c.id))
        previous: Any = None
        for event_id, occurred_at in rows:
            assert previous is None or previous[1] <= occurred_at, (
                f"event {event_id} at {occurred_at} follows event {previous[0]} at {previous[1]}"
            )
            assert previous is None or previous[0] < event_id
            previous = (event_id, occurred_at)
