"""Repositories: the few queries the use cases need, in SQLAlchemy Core (set-based, no ORM
objects on hot paths). They read rows into domain objects and write decisions back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    select,
    text,
    update,
)

from backorder.domain.events import Event, OrderContext
from backorder.domain.model import (
    Customer,
    LineQuantities,
    OrderTerms,
    PaymentTiming,
    Policy,
    Preference,
    Product,
    QueueStrategy,
    ShippingMethod,
    StockLevel,
    Tier,
)
from backorder.domain.ranking import RankFacts
from backorder.domain.sourcing import Site
from backorder.store.network import save_levels, site_from_row
from backorder.store.tables import (
    events,
    line_holdings,
    locations,
    order_lines,
    orders,
    product_packs,
    products,
    stock_levels,
)
from backorder.store.types import UtcDateTime

PRODUCT_FIELDS = (
    "name",
    "unit_price",
    "policy",
    "queue_strategy",
    "lead_time_days",
    "max_per_customer",
    "discontinued",
    "backorder_cap",
    "backorder_until",
    "supplier_id",
    "require_known_date",
    "max_lead_days",
    "min_on_time_percent",
)


@dataclass
class ProductRow:
    """A SKU, its network stock (`stock`, the sums) and its stock per location (`at`,
    location id -> level; loaded when the row is locked). Stock moves through the methods
    below, which keep the sums and the location's level together."""

    id: int
    product: Product
    stock: StockLevel
    at: dict[int, StockLevel] = field(default_factory=dict)
    moved: set[int] = field(default_factory=set)  # locations whose level changed: to save

    def level(self, location: int) -> StockLevel:
        return self.at.setdefault(location, StockLevel())

    def available_at(self, location: int) -> int:
        level = self.at.get(location)
        return level.available if level else 0

    def put(self, location: int, units: int) -> None:
        """Units arrive at (or, negative, leave) the location's shelves."""
        self.level(location).on_hand += units
        self.stock.on_hand += units
        self.moved.add(location)

    def allocate(self, location: int, units: int) -> None:
        """Units at the location are reserved for a line (negative: released)."""
        self.level(location).allocated += units
        self.stock.allocated += units
        self.moved.add(location)

    def check(self) -> None:
        if not self.at:
            return
        on_hand = sum(level.on_hand for level in self.at.values())
        allocated = sum(level.allocated for level in self.at.values())
        bad = [loc for loc, lv in self.at.items() if not 0 <= lv.allocated <= lv.on_hand]
        if on_hand != self.stock.on_hand or allocated != self.stock.allocated or bad:
            raise RuntimeError(
                f"{self.product.sku}: stock per location ({on_hand} on hand, {allocated} "
                f"allocated) disagrees with the total ({self.stock.on_hand}, "
                f"{self.stock.allocated}) or oversells at location(s) {bad}"
            )


def product_from_row(row: RowMapping) -> ProductRow:
    product = Product(
        sku=row["sku"],
        name=row["name"],
        unit_price=row["unit_price"],
        policy=Policy(row["policy"]),
        queue=QueueStrategy(row["queue_strategy"]),
        lead_time_days=row["lead_time_days"],
        max_per_customer=row["max_per_customer"],
        discontinued=bool(row["discontinued"]),
        backorder_cap=row["backorder_cap"],
        backorder_until=row["backorder_until"],
        supplier=row["supplier_id"],
        require_known_date=bool(row["require_known_date"]),
        max_lead_days=row["max_lead_days"],
        min_on_time_percent=row["min_on_time_percent"],
    )
    stock = StockLevel(row["on_hand"], row["allocated"], row["backordered"])
    return ProductRow(row["id"], product, stock)


def product_values(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "unit_price": product.unit_price,
        "policy": product.policy.value,
        "queue_strategy": product.queue.value,
        "lead_time_days": product.lead_time_days,
        "max_per_customer": product.max_per_customer,
        "discontinued": product.discontinued,
        "backorder_cap": product.backorder_cap,
        "backorder_until": product.backorder_until,
        "supplier_id": product.supplier,
        "require_known_date": product.require_known_date,
        "max_lead_days": product.max_lead_days,
        "min_on_time_percent": product.min_on_time_percent,
    }


# Built once: statements rebuilt per call cost more than the database does on SQLite.
# Locking reads the products, then their stock at every location with those locations (in a
# second statement: on PostgreSQL a statement that waited for a lock still sees other rows
# as they were when it began, and on SQLite two are quicker than one joined).
_PRODUCT_COLUMNS = tuple(c for c in products.c if c.name not in ("created_at", "updated_at"))
_LOCK = {
    by: select(*_PRODUCT_COLUMNS)
    .where(key.in_(bindparam("keys", expanding=True)))
    .order_by(products.c.sku)
    .with_for_update()
    for by, key in (("sku", products.c.sku), ("id", products.c.id))
}
_SITE_COLUMNS = ("id", "code", "ships_to", "priority", "transit_days", "accepts_backorders")
_LEVELS = (
    select(
        stock_levels.c.product_id,
        stock_levels.c.location_id,
        stock_levels.c.on_hand,
        stock_levels.c.allocated,
        *(locations.c[name].label(f"site_{name}") for name in (*_SITE_COLUMNS, "active")),
    )
    .select_from(stock_levels.join(locations, locations.c.id == stock_levels.c.location_id))
    .where(stock_levels.c.product_id.in_(bindparam("ids", expanding=True)))
)
_SAVE_STOCK = (
    update(products)
    .where(products.c.id == bindparam("pid"))
    .values(
        on_hand=bindparam("on_hand"),
        allocated=bindparam("allocated"),
        backordered=bindparam("backordered"),
        updated_at=bindparam("now"),
    )
)


class Products:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # the locations that hold a level of a product locked here, by id
        self.sites: dict[int, Site] = {}

    def get(self, sku: str) -> ProductRow | None:
        row = self.conn.execute(select(products).where(products.c.sku == sku)).mappings().first()
        return product_from_row(row) if row else None

    def lock(self, skus: Iterable[str]) -> dict[str, ProductRow]:
        """Lock the rows of these SKUs, always in SKU order so that two transactions never
        wait on each other in a cycle."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        return {row.product.sku: row for row in self._locked("sku", wanted)}

    def _locked(self, by: str, keys: list[Any]) -> list[ProductRow]:
        found: dict[int, ProductRow] = {}
        for row in self.conn.execute(_LOCK[by], {"keys": keys}).mappings():
            found[row["id"]] = product_from_row(row)
        if not found:
            return []
        for row in self.conn.execute(_LEVELS, {"ids": list(found)}).mappings():
            location = row["location_id"]
            found[row["product_id"]].at[location] = StockLevel(row["on_hand"], row["allocated"])
            if location not in self.sites:
                self.sites[location] = site_from_row(row, prefix="site_")
        return list(found.values())

    def lock_by_id(self, product_ids: Iterable[int]) -> dict[int, ProductRow]:
        """Lock these products' rows (in SKU order, as `lock` does), by id."""
        wanted = sorted(set(product_ids))
        if not wanted:
            return {}
        return {row.id: row for row in self._locked("id", wanted)}

    def all_skus(self) -> list[str]:
        return list(self.conn.execute(select(products.c.sku).order_by(products.c.sku)).scalars())

    def add(self, product: Product, now: datetime) -> int:
        values = product_values(product) | {"created_at": now, "updated_at": now}
        result = self.conn.execute(insert(products).values(**values).returning(products.c.id))
        return int(result.scalar_one())

    def replace(self, product_id: int, product: Product, now: datetime) -> None:
        values = product_values(product) | {"updated_at": now}
        self.conn.execute(update(products).where(products.c.id == product_id).values(**values))

    def packs(self, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        """The pack sizes of these SKUs: SKU -> unit -> single units in one (CA -> 12),
        smallest pack first."""
        wanted = sorted(set(skus))
        found: dict[str, dict[str, int]] = {sku: {} for sku in wanted}
        if not wanted:
            return found
        query = (
            select(products.c.sku, product_packs.c.unit, product_packs.c.units)
            .join(product_packs, product_packs.c.product_id == products.c.id)
            .where(products.c.sku.in_(wanted))
            .order_by(products.c.sku, product_packs.c.units, product_packs.c.unit)
        )
        for sku, unit, units in self.conn.execute(query):
            found[sku][unit] = units
        return found

    def set_packs(self, product_id: int, packs: dict[str, int | None]) -> None:
        """Set pack sizes by unit; a unit given None loses its pack size."""
        for unit, units in packs.items():
            self.conn.execute(
                delete(product_packs).where(
                    product_packs.c.product_id == product_id, product_packs.c.unit == unit
                )
            )
            if units is not None:
                self.conn.execute(
                    insert(product_packs).values(product_id=product_id, unit=unit, units=units)
                )

    def save_stocks(self, rows: Sequence[ProductRow], now: datetime) -> None:
        if not rows:
            return
        for row in rows:
            row.check()
        # only the levels that moved: an untouched location's row is not rewritten
        save_levels(self.conn, [(row.id, loc, row.at[loc]) for row in rows for loc in row.moved])
        for row in rows:
            row.moved.clear()
        self.conn.execute(
            _SAVE_STOCK,
            [
                {
                    "pid": r.id,
                    "on_hand": r.stock.on_hand,
                    "allocated": r.stock.allocated,
                    "backordered": r.stock.backordered,
                    "now": now,
                }
                for r in rows
            ],
        )


def context_from_row(row: RowMapping) -> OrderContext:
    return OrderContext(
        ref=f"{row['channel']}:{row['external_id']}",
        customer=Customer(
            id=row["customer_id"],
            name=row["customer_name"],
            email=row["customer_email"],
            phone=row["customer_phone"],
            tier=Tier(row["customer_tier"]),
            sms_consent=bool(row["customer_sms_consent"]),
            language=row.get("customer_language"),
        ),
        currency=row["currency"],
        terms=OrderTerms(
            shipping_method=ShippingMethod(row["shipping_method"]),
            preference=Preference(row["shipping_preference"]),
            payment_timing=PaymentTiming(row["payment_timing"]),
            expedite=bool(row["expedite"]),
        ),
    )


def rank_facts_from_row(row: RowMapping) -> RankFacts:
    return RankFacts(
        expedite=bool(row["expedite"]),
        tier=Tier(row["customer_tier"]),
        shipping_method=ShippingMethod(row["shipping_method"]),
    )


@dataclass
class LineRow:
    """A line with what the use cases need around it: its order's context and its SKU."""

    id: int
    order_id: int
    line_no: int
    product_id: int
    sku: str
    qty: LineQuantities
    unit_price: Decimal
    placed_at: datetime
    base_class: int
    rank_class: int
    eta: date | None
    order: OrderContext
    promised: date | None = None


LINE_COLUMNS = (
    order_lines.c.id,
    order_lines.c.order_id,
    order_lines.c.line_no,
    order_lines.c.product_id,
    products.c.sku,
    order_lines.c.quantity,
    order_lines.c.allocated,
    order_lines.c.backordered,
    order_lines.c.shipped,
    order_lines.c.cancelled,
    order_lines.c.unit_price,
    order_lines.c.placed_at,
    order_lines.c.base_class,
    order_lines.c.rank_class,
    order_lines.c.eta,
    order_lines.c.promised,
    orders.c.channel,
    orders.c.external_id,
    orders.c.customer_id,
    orders.c.customer_name,
    orders.c.customer_email,
    orders.c.customer_phone,
    orders.c.customer_tier,
    orders.c.customer_sms_consent,
    orders.c.customer_language,
    orders.c.currency,
    orders.c.shipping_method,
    orders.c.shipping_preference,
    orders.c.payment_timing,
    orders.c.expedite,
)


def _held_elsewhere(home: int) -> Any:
    """The order is ship-complete and one of its lines holds units at a location other than
    `home`: that location is the order's home, and `home` may not serve it."""
    sibling = order_lines.alias("sibling")
    held = line_holdings.c
    elsewhere = (
        select(held.line_id)
        .join(sibling, sibling.c.id == held.line_id)
        .where(
            sibling.c.order_id == orders.c.id,
            held.location_id != home,
            held.allocated > 0,
        )
        .exists()
    )
    return and_(orders.c.shipping_preference == Preference.SHIP_COMPLETE.value, elsewhere)


def line_select() -> Any:
    return select(*LINE_COLUMNS).select_from(
        order_lines.join(orders, orders.c.id == order_lines.c.order_id).join(
            products, products.c.id == order_lines.c.product_id
        )
    )


# An order's lines, built once (see Lines.of_order).
_OF_ORDER = (
    line_select()
    .where(order_lines.c.order_id == bindparam("order_id"))
    .order_by(order_lines.c.line_no)
)


def line_from_row(row: RowMapping) -> LineRow:
    return LineRow(
        id=row["id"],
        order_id=row["order_id"],
        line_no=row["line_no"],
        product_id=row["product_id"],
        sku=row["sku"],
        qty=LineQuantities(
            row["quantity"], row["allocated"], row["backordered"], row["shipped"], row["cancelled"]
        ),
        unit_price=row["unit_price"],
        placed_at=row["placed_at"],
        base_class=row["base_class"],
        rank_class=row["rank_class"],
        eta=row["eta"],
        order=context_from_row(row),
        promised=row["promised"],
    )


QUEUE_ORDER = (order_lines.c.rank_class, order_lines.c.placed_at, order_lines.c.id)


class Lines:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def queue_head(
        self,
        product_id: int,
        limit: int,
        offset: int = 0,
        ships_to: tuple[str, ...] | None = None,
        home: int | None = None,
    ) -> list[LineRow]:
        """The first waiting lines of a SKU in rank order (an index range scan); given
        `ships_to`, only those a location shipping there can serve; given `home` (a location
        id), not those of ship-complete orders holding units at another location."""
        query = (
            line_select()
            .where(order_lines.c.product_id == product_id, order_lines.c.backordered > 0)
            .order_by(*QUEUE_ORDER)
            .limit(limit)
            .offset(offset)
        )
        if ships_to is not None:
            country = orders.c.ship_country
            query = query.where(country.is_(None) | country.in_(ships_to))
        if home is not None:
            query = query.where(~_held_elsewhere(home))
        return [line_from_row(r) for r in self.conn.execute(query).mappings()]

    def lowest_holders_at(
        self, product_id: int, location: int, limit: int
    ) -> list[tuple[LineRow, int]]:
        """Lines holding stock of a SKU at a location, lowest rank first, with what they
        hold there."""
        held = line_holdings.c
        query = (
            line_select()
            .add_columns(held.allocated.label("held_here"))
            .join(line_holdings, held.line_id == order_lines.c.id)
            .where(
                order_lines.c.product_id == product_id,
                held.location_id == location,
                held.allocated > 0,
            )
            .order_by(*(column.desc() for column in QUEUE_ORDER))
            .limit(limit)
        )
        return [
            (line_from_row(r), int(r["held_here"])) for r in self.conn.execute(query).mappings()
        ]

    def due_to_climb(self, product_id: int, now: datetime) -> list[LineRow]:
        """Waiting lines whose next class climb is due (an index range scan)."""
        query = line_select().where(
            order_lines.c.product_id == product_id,
            order_lines.c.backordered > 0,
            order_lines.c.climbs_at.is_not(None),
            order_lines.c.climbs_at <= now,
        )
        return [line_from_row(r) for r in self.conn.execute(query).mappings()]

    def queue_depth(self, product_id: int) -> int:
        query = (
            select(func.count())
            .select_from(order_lines)
            .where(order_lines.c.product_id == product_id, order_lines.c.backordered > 0)
        )
        return int(self.conn.execute(query).scalar_one())

    def waiting_facts(self, product_id: int, order_id: int | None = None) -> list[RowMapping]:
        """Rank facts of the SKU's open lines: waiting ones, and holders (a count may send
        their units back to waiting, where they must rank by today's rules)."""
        query = (
            select(
                order_lines.c.id,
                order_lines.c.placed_at,
                orders.c.expedite,
                orders.c.customer_tier,
                orders.c.shipping_method,
            )
            .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
            .where(
                order_lines.c.product_id == product_id,
                (order_lines.c.backordered > 0) | (order_lines.c.allocated > 0),
            )
        )
        if order_id is not None:
            query = query.where(order_lines.c.order_id == order_id)
        return list(self.conn.execute(query).mappings())

    def set_ranks(self, ranks: Sequence[dict[str, Any]]) -> None:
        """Rows of {lid, base_class, rank_class, climbs_at}."""
        if ranks:
            self.conn.execute(
                update(order_lines)
                .where(order_lines.c.id == bindparam("lid"))
                .values(
                    base_class=bindparam("base_class"),
                    rank_class=bindparam("rank_class"),
                    climbs_at=bindparam("climbs_at"),
                ),
                ranks,
            )

    def of_order(self, order_id: int) -> list[LineRow]:
        rows = self.conn.execute(_OF_ORDER, {"order_id": order_id}).mappings()
        return [line_from_row(r) for r in rows]

    def mark_waiting(self, ids: Sequence[int], now: datetime) -> None:
        """Lines sent back to the queue: a line's wait begins the first time a unit waits,
        and its order then has one more line that waited."""
        if not ids:
            return
        line = order_lines.c
        first_time = and_(line.id.in_(ids), line.backordered_at.is_(None))
        newly = (
            select(func.count()).where(first_time, line.order_id == orders.c.id).scalar_subquery()
        )
        self.conn.execute(
            update(orders)
            .where(orders.c.id.in_(select(line.order_id).where(first_time)))
            .values(waited_lines=orders.c.waited_lines + newly)
        )
        self.conn.execute(update(order_lines).where(first_time).values(backordered_at=now))

    def save_quantities(self, lines: Sequence[LineRow], now: datetime) -> None:
        """Write the lines' numbers. A line whose last waiting unit goes now has its wait
        ended: filled if that unit was allocated, withdrawn if it was cancelled; a line with
        units waiting (again) has no end yet. Worked out in the statement, from the numbers
        before and after."""
        if not lines:
            return
        c = order_lines.c
        waits = bindparam("backordered") > 0
        ends = and_(bindparam("backordered") == 0, c.backordered > 0)
        served = bindparam("allocated") > c.allocated
        at = bindparam("now", type_=UtcDateTime)
        self.conn.execute(
            update(order_lines)
            .where(c.id == bindparam("lid"))
            .values(
                allocated=bindparam("allocated"),
                backordered=bindparam("backordered"),
                shipped=bindparam("shipped"),
                cancelled=bindparam("cancelled"),
                eta=bindparam("eta"),
                filled_at=case((waits, null()), (and_(ends, served), at), else_=c.filled_at),
                withdrawn_at=case((waits, null()), (and_(ends, ~served), at), else_=c.withdrawn_at),
            ),
            [
                {
                    "lid": line.id,
                    "allocated": line.qty.allocated,
                    "backordered": line.qty.backordered,
                    "shipped": line.qty.shipped,
                    "cancelled": line.qty.cancelled,
                    "eta": line.eta,
                    "now": now,
                }
                for line in lines
            ],
        )

    def customer_backordered(self, customer_id: str, product_ids: Sequence[int]) -> dict[int, int]:
        """Units this customer already has waiting, per SKU."""
        if not product_ids:
            return {}
        query = (
            select(order_lines.c.product_id, func.sum(order_lines.c.backordered))
            .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
            .where(
                orders.c.customer_id == customer_id,
                order_lines.c.product_id.in_(product_ids),
                order_lines.c.backordered > 0,
            )
            .group_by(order_lines.c.product_id)
        )
        return {int(pid): int(total) for pid, total in self.conn.execute(query)}


OUTBOX_LOCK_KEY = 7201
_OUTBOX_LOCK = text(f"SELECT pg_advisory_xact_lock({OUTBOX_LOCK_KEY})")


def take_event_ids_in_commit_order(conn: Connection) -> None:
    """Call before writing events: on PostgreSQL a transaction takes event ids only while
    no other can, from here to its commit. Without it, a transaction that drew a lower id can
    commit after one with a higher id, and a reader resuming "after id N" (the dispatcher,
    an integration polling the events) skips it for good. SQLite has one writer at a time
    already."""
    if conn.dialect.name == "postgresql":
        conn.execute(_OUTBOX_LOCK)


_INSERT_EVENTS = insert(events)


class Outbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, facts: Sequence[Event], now: datetime) -> None:
        self.append_each([(facts, now)])

    def append_each(self, happened: Sequence[tuple[Sequence[Event], datetime]]) -> None:
        """The events of several changes, each with the time it happened, in one statement."""
        rows = [
            {
                "type": fact.type,
                "occurred_at": now,
                "order_ref": fact.order_ref,
                "sku": fact.subject_sku,
                "payload": fact.payload(),
            }
            for facts, now in happened
            for fact in facts
        ]
        if not rows:
            return
        take_event_ids_in_commit_order(self.conn)
        self.conn.execute(_INSERT_EVENTS, rows)
