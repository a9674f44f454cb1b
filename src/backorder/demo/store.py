"""The demo store: its catalogue, customers and five weeks of trading through the real
use cases on a simulated clock."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from backorder.demo import warehouses
from backorder.demo.purchasing import Purchasing, supplier_of
from backorder.domain.model import (
    Customer,
    LineRequest,
    OrderedAs,
    OrderRequest,
    OrderTerms,
    PaymentTiming,
    Policy,
    Preference,
    Product,
    QueueStrategy,
    Refusal,
    ShippingMethod,
    Tier,
    order_ref,
)
from backorder.services.context import Backorder
from backorder.services.ingest import ingest
from backorder.services.intake import place_order
from backorder.services.location_aliases import add_alias
from backorder.services.locations import LocationIn, add
from backorder.services.orders import cancel_order, expedite_order, ship_order
from backorder.services.planning import plan
from backorder.services.products import ProductRecord, import_products
from backorder.services.review import run_review
from backorder.services.stock import set_stock, set_stock_many
from backorder.store.tables import (
    line_holdings,
    locations,
    order_lines,
    orders,
    products,
    stock_levels,
)

DAYS = 35
MORNING = 8  # the hour (UTC) the demo's clock stops on its last day
CYCLE_COUNT = (17, 15)  # day and hour of the count that finds units missing
REFUSALS = tuple(reason.value for reason in Refusal)
LINE, ORDER, PRODUCT = order_lines.c, orders.c, products.c


@dataclass(frozen=True)
class DemoSummary:
    """The key figures of a run, each read back from the database."""

    orders: int
    lines: int
    units_backordered: int
    receipts: int
    units_allocated_by_receipts: int
    cancellations: int
    shipments: int


@dataclass(frozen=True)
class Span:
    """The five weeks the demo trades, up to its "today": 08:00 UTC on the latest morning the
    real clock has passed. What the demo leaves behind then reads true on the real clock: the
    dashboard, the KPIs and the daily review see waits of days, not of months."""

    today: datetime

    @classmethod
    def ending_by(cls, now: datetime) -> Span:
        today = now.astimezone(UTC).replace(hour=MORNING, minute=0, second=0, microsecond=0)
        return cls(today if today <= now else today - timedelta(days=1))

    @property
    def opening(self) -> datetime:
        return self.today - timedelta(days=DAYS, hours=1)


@dataclass(frozen=True)
class Item:
    product: Product
    stock: int  # on hand when the store opens
    demand: float  # relative popularity
    until: int | None = None  # the last day backorders are taken, in days from "today"


def _catalogue(text: str) -> tuple[Item, ...]:
    """Rows of `sku | name | price | stock | demand | terms`, terms such as `priority lead=21`
    or `until=-16` (backorders taken until 16 days before the demo's last day)."""
    names = {"lead": "lead_time_days", "max": "max_per_customer", "cap": "backorder_cap"}
    items = []
    for row in text.strip().splitlines():
        sku, name, price, stock, demand, terms = (cell.strip() for cell in row.split("|"))
        policy: dict[str, Any] = {}
        until = None
        for term in terms.split():
            key, _, value = term.partition("=")
            if key == "until":
                until = int(value)
                continue
            policy |= (
                {"queue": QueueStrategy.PRIORITY}
                if key == "priority"
                else {"policy": Policy.DENY}
                if key == "deny"
                else {"discontinued": True}
                if key == "discontinued"
                else {names[key]: int(value)}
            )
        product = Product(sku, name, Decimal(price), **policy)
        items.append(Item(product, int(stock), float(demand), until))
    return tuple(items)


CATALOGUE = _catalogue("""
KET-STEEL-17  | Stainless kettle 1.7 l      |   49.00 | 14 | 5   | lead=10
PRS-FRENCH-8  | French press, 8 cup         |   34.50 | 16 | 4   | lead=7
GRN-BURR-PRO  | Burr coffee grinder Pro     |  189.00 |  4 | 4   | priority lead=21 max=2
ESP-DUAL-BLK  | Dual-boiler espresso maker  | 1249.00 |  2 | 2   | priority lead=35 max=1 cap=12
SCL-DRIP-01   | Coffee scale with timer     |   39.90 | 20 | 3   |
MUG-STONE-4   | Stoneware mugs, set of 4    |   28.00 | 32 | 5   | lead=14
PAN-CAST-26   | Cast iron skillet 26 cm     |   59.95 | 12 | 4   | lead=28
DUT-OVEN-55   | Enamelled Dutch oven 5.5 l  |  229.00 |  5 | 3   | priority lead=42 cap=15
KNF-CHEF-20   | Chef's knife 20 cm          |  119.00 |  9 | 3   | lead=14
KNF-BLOCK-7   | Knife block, 7 pieces       |  249.00 |  3 | 1   | deny
BRD-WALNUT-L  | Walnut cutting board, large |   89.00 |  6 | 2   | lead=21
MIX-STAND-5   | Stand mixer 5 qt            |  399.00 |  3 | 3   | priority lead=30 max=1
BLD-HS-1400   | High-speed blender 1400 W   |  299.00 |  4 | 2.5 | priority lead=25
TST-4SLICE    | Toaster, 4 slice            |   79.00 | 12 | 1.5 | deny
AIR-FRY-6Q    | Air fryer 6 qt              |  129.00 |  8 | 4.5 | lead=12 cap=40
TNT-2P-ULTRA  | Ultralight tent, 2 person   |  379.00 |  4 | 2   | priority lead=45 until=-16
BAG-DOWN-M7   | Down sleeping bag, -7 °C    |  289.00 |  5 | 2   | lead=30
PAD-INSUL-R   | Insulated sleeping pad      |  149.00 |  8 | 2   | lead=20
STV-CANISTER  | Canister camp stove         |   54.00 | 20 | 3   |
LMP-HEAD-400  | Headlamp 400 lm             |   39.00 | 28 | 4   | lead=10
BTL-INS-750   | Insulated bottle 750 ml     |   32.00 | 45 | 6   | lead=14 max=24
PCK-TRAIL-38  | Trail pack 38 l             |  169.00 |  6 | 2   | priority lead=28
JKT-RAIN-M    | Rain shell jacket, M        |  199.00 |  7 | 2.5 | lead=35
JKT-RAIN-L    | Rain shell jacket, L        |  199.00 |  5 | 2.5 | lead=35
BOOT-HIKE-42  | Hiking boots, EU 42         |  219.00 |  4 | 2   | lead=40
SOCK-MERINO-3 | Merino trail socks, 3 pairs |   42.00 | 55 | 5   |
FLT-SQUEEZE   | Squeeze water filter        |   44.95 | 18 | 2.5 | lead=18
CHR-CAMP-LT   | Lightweight camp chair      |   99.00 |  7 | 2   | discontinued
LAN-SOLAR     | Solar lantern               |   29.00 |  9 | 2   | discontinued
GPS-HAND-66   | Handheld GPS 66             |  449.00 |  1 | 1   | priority lead=60 max=1 cap=6
CLR-ROTO-45   | Rotomolded cooler 45 qt     |  279.00 |  3 | 1.5 | priority lead=50 cap=10
HMK-TRAVEL    | Travel hammock              |   64.00 | 14 | 1.5 | deny
""")
PACK = {item.product.sku: 6 if item.product.unit_price < 300 else 2 for item in CATALOGUE}
FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Oscar",
    "Priya",
    "Rosa",
    "Sven",
    "Tariq",
    "Yara",
)
LAST = (
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Kowalski",
    "Byrne",
    "Ferreira",
    "Osei",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Varga",
    "Walsh",
)
TRADE = (
    "Summit Outfitters",
    "Harbor Kitchen Supply",
    "Trailhead Co-op",
    "Copper Pot Stores",
    "Northwind Camping",
    "Greenleaf Home",
    "Alder & Ash Trading",
)
RETAIL_CHANNELS = {"web": 35, "shopify": 25, "amazon": 30, "ebay": 10}
# The network: the store's own warehouse `main` (the default location, shipping anywhere,
# where purchase orders arrive), a 3PL on the east coast for the US and Canada, sourced
# first, and Amazon's fulfilment centres for the US, which take no backorders.
NETWORK = (
    LocationIn("3pl-east", "East Coast 3PL", "3pl", ("US", "CA"), priority=10, transit_days=2),
    LocationIn(
        "fba-us",
        "Amazon FBA (US)",
        "fba",
        ("US",),
        priority=20,
        transit_days=1,
        accepts_backorders=False,
    ),
)
# The share of each SKU's opening stock at each location but main (main holds the rest).
SPLIT = {"3pl-east": 0.3, "fba-us": 0.2}
# Where customers live: the 3PL and FBA ship to some of them only.
COUNTRIES = {"US": 70, "CA": 12, "GB": 10, "DE": 8}
REASONS = {
    "customer_request": 5,
    "delivery date too late": 3,
    "found it elsewhere": 2,
    "ordered by mistake": 1,
    "payment declined": 1,
}


@dataclass
class SimClock:
    """The store's clock: it moves only when the simulation moves it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _customers(rng: random.Random) -> list[Customer]:
    people = [
        (
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            Tier.VIP if rng.random() < 0.12 else Tier.STANDARD,
        )
        for _ in range(64)
    ]
    people += [(name, Tier.WHOLESALE) for name in TRADE]
    return [
        Customer(
            f"C-{1001 + n}",
            name,
            f"{name.split()[0].lower()}.{1001 + n}@example.com",
            f"+1555{rng.randrange(10**6):06d}",
            tier,
        )
        for n, (name, tier) in enumerate(people)
    ]


def _by_the_case(channel: str, line: LineRequest) -> LineRequest:
    """An EDI partner's line of whole cases, as the partner orders it: 2 CA at the case price
    (the catalogue's CA pack counts it back into units when it is placed)."""
    pack = PACK[line.sku]
    if channel != "edi" or line.quantity % pack or line.quantity < pack:
        return line
    price = line.unit_price * pack if line.unit_price is not None else None
    return replace(
        line,
        quantity=line.quantity // pack,
        unit_price=price,
        ordered=OrderedAs(line.quantity // pack, "CA"),
    )


class Store:
    """Five weeks of trading; every step is one call to a real use case at a simulated time."""

    def __init__(self, app: Backorder, span: Span, clock: SimClock, rng: random.Random) -> None:
        self.app, self.span, self.clock, self.rng = app, span, clock, rng
        self.customers = _customers(rng)
        self.countries = {
            c.id: rng.choices(list(COUNTRIES), list(COUNTRIES.values()))[0] for c in self.customers
        }
        self.serial = Counter[str]()
        self.purchasing = Purchasing(
            app,
            rng,
            PACK,
            {
                i.product.sku: i.product.lead_time_days
                for i in CATALOGUE
                if i.product.lead_time_days
            },
        )

    def open(self) -> None:
        self.purchasing.open()
        # Trade customers order by the case: each product's case holds one supplier pack.
        import_products(
            self.app,
            [
                replace(ProductRecord.of(self._product(item)), packs={"CA": PACK[item.product.sku]})
                for item in CATALOGUE
            ],
        )
        for location in NETWORK:
            add(self.app, location)
        # the senders name our locations their own way
        add_alias(self.app, warehouses.THREE_PL, "x12", warehouses.THREE_PL_CODE)
        add_alias(self.app, warehouses.THREE_PL, "stock", warehouses.THREE_PL_CODE)
        add_alias(self.app, warehouses.FBA, "mcf", warehouses.MCF_LOCATION)
        held = {sku: 0 for sku in (item.product.sku for item in CATALOGUE)}
        for code, share in SPLIT.items():
            there = [(i.product.sku, int(i.stock * share), "opening count") for i in CATALOGUE]
            set_stock_many(self.app, [item for item in there if item[1]], code)
            for sku, units, _ in there:
                held[sku] += units
        set_stock_many(
            self.app,
            [(i.product.sku, i.stock - held[i.product.sku], "opening count") for i in CATALOGUE],
        )

    def feeds(self) -> None:
        """The 3PL's morning inventory snapshot (a CSV drop, as of its count an hour ago)
        comes in through the governed intake. Now and then its count finds a unit missing,
        and the snapshot takes it back from the lowest-ranked line holding it there."""
        level = stock_levels.c
        counts = dict(
            self._rows(
                select(PRODUCT.sku, level.on_hand)
                .join_from(stock_levels, products, PRODUCT.id == level.product_id)
                .join(locations, locations.c.id == level.location_id)
                .where(locations.c.code == warehouses.THREE_PL)
            )
        )
        stocked = sorted(sku for sku, units in counts.items() if units > 0)
        if stocked and self.rng.random() < 0.3:
            counts[self.rng.choice(stocked)] -= 1  # shrinkage
        as_of = self.clock.now - timedelta(hours=1)
        ingest(self.app, "stock-csv", warehouses.snapshot_csv(counts, as_of))

    def _product(self, item: Item) -> Product:
        product = replace(item.product, supplier=supplier_of(item.product.sku))
        if item.until is None:
            return product
        last_day = (self.span.today + timedelta(days=item.until)).date()
        return replace(product, backorder_until=last_day)

    def plan(self) -> list[tuple[datetime, Callable[[], None]]]:
        rng, steps = self.rng, list[tuple[datetime, Callable[[], None]]]()

        def at(day: datetime, hours: tuple[int, int], step: Callable[[], None]) -> None:
            minute = rng.randrange(hours[0] * 60, hours[1] * 60)
            steps.append((day + timedelta(minutes=minute, seconds=rng.randrange(60)), step))

        for n in range(DAYS):
            day = (self.span.opening + timedelta(days=n)).replace(hour=0, minute=0)
            weekday = day.weekday() < 5
            review = datetime.combine(day.date(), self.app.settings.review_at, UTC)
            if review > self.span.opening:
                steps.append((review, self.review))
            for _ in range(rng.randint(8, 12) if weekday else rng.randint(4, 7)):
                at(day, (7, 23), self.take_order)
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3)) if weekday else 0):
                at(day, (10, 14), self.buy)
            if weekday:
                steps.append((day + timedelta(hours=7), self.feeds))
                steps.append((day + timedelta(hours=9), self.goods_in))
            for _ in range(rng.choice((0, 1, 1, 2))):
                at(day, (8, 22), self.cancel)
            if rng.random() < 0.2:
                at(day, (10, 16), self.expedite)
            if weekday:
                steps.append((day + timedelta(hours=16), self.ship_run))
            if n == CYCLE_COUNT[0]:
                steps.append((day + timedelta(hours=CYCLE_COUNT[1]), self.cycle_count))
        return sorted(steps, key=lambda step: step[0])

    def _external_id(self, channel: str) -> str:
        self.serial[channel] += 1
        n, r = self.serial[channel], self.rng.randrange(10**7)
        return {
            "web": f"{100200 + n}",
            "shopify": f"SH-{5100 + n}",
            "edi": f"PO-{77800 + n}",
            "amazon": f"113-{r:07d}-{n:07d}",
            "ebay": f"26-{r % 10**5:05d}-{n:05d}",
        }[channel]

    def take_order(self) -> None:
        """A customer orders 1-4 SKUs; trade customers order by EDI, in bulk, at trade prices."""
        rng, customer = self.rng, self.rng.choice(self.customers)
        trade = customer.tier is Tier.WHOLESALE
        channel = (
            "edi"
            if trade and rng.random() < 0.8
            else rng.choices(list(RETAIL_CHANNELS), list(RETAIL_CHANNELS.values()))[0]
        )
        picked: list[Product] = []
        sizes = (20, 35, 30, 15) if trade else (55, 27, 12, 6)
        for _ in range(rng.choices((1, 2, 3, 4), sizes)[0]):
            product = rng.choices(CATALOGUE, [item.demand for item in CATALOGUE])[0].product
            picked += [] if product in picked else [product]
        lines = tuple(
            _by_the_case(
                channel,
                LineRequest(
                    p.sku,
                    rng.choice((2, 4, 6, 12) if PACK[p.sku] == 6 else (1, 2, 3))
                    if trade
                    else rng.choices((1, 2, 3), (75, 20, 5))[0],
                    (p.unit_price * Decimal("0.8")).quantize(Decimal("0.01")) if trade else None,
                ),
            )
            for p in picked
        )
        terms = OrderTerms(
            ShippingMethod.EXPEDITED
            if not trade and rng.random() < 0.15
            else ShippingMethod.STANDARD,
            Preference.SHIP_COMPLETE
            if rng.random() < (0.4 if trade else 0.08)
            else Preference.SHIP_AVAILABLE,
            PaymentTiming.AT_SHIP if channel == "edi" else PaymentTiming.AT_ORDER,
            expedite=rng.random() < 0.03,
        )
        lag = timedelta(minutes=rng.randrange(1, 40) if channel in ("amazon", "edi") else 0)
        place_order(
            self.app,
            OrderRequest(
                channel,
                self._external_id(channel),
                self.clock.now - lag,
                customer,
                "USD",
                terms,
                lines,
                ship_country=self.countries[customer.id],
            ),
        )

    def _rows(self, query: Any) -> Sequence[Any]:
        with self.app.db.read() as uow:
            return uow.connection.execute(query).all()

    def buy(self) -> None:
        """The buyer's round: purchase orders go out for SKUs that run short."""
        self.purchasing.buy()

    def goods_in(self) -> None:
        """The morning's goods-in: purchase orders that arrived are received."""
        self.purchasing.deliver()

    def review(self) -> None:
        """The morning's review of late backorders, and the day's messages and staff alerts
        planned, as the worker does them (the demo sends none: see `_as_notified`)."""
        run_review(self.app)
        plan(self.app)

    def _open_lines(self, waiting_only: bool) -> Sequence[Any]:
        return self._rows(
            select(ORDER.channel, ORDER.external_id, LINE.line_no, LINE.allocated, LINE.backordered)
            .join_from(order_lines, orders, ORDER.id == LINE.order_id)
            .where(LINE.backordered > 0 if waiting_only else LINE.allocated + LINE.backordered > 0)
            .order_by(LINE.id)
        )

    def cancel(self) -> None:
        """A customer cancels the whole order, one line, or some units of a line."""
        rng = self.rng
        rows = self._open_lines(waiting_only=rng.random() < 0.75) or self._open_lines(False)
        if not rows:
            return
        row = rng.choice(rows)
        ref, still_open = order_ref(row.channel, row.external_id), row.allocated + row.backordered
        reason = rng.choices(list(REASONS), list(REASONS.values()))[0]
        how = rng.choices(("order", "line", "part"), (4, 4, 3))[0]
        if how == "order":
            cancel_order(self.app, ref, reason=reason)
        elif how == "part" and still_open > 1:
            cancel_order(self.app, ref, row.line_no, rng.randint(1, still_open - 1), reason)
        else:
            cancel_order(self.app, ref, row.line_no, reason=reason)

    def expedite(self) -> None:
        """Customer service flags a waiting order as urgent."""
        rows = self._open_lines(waiting_only=True)
        if rows:
            row = self.rng.choice(rows)
            expedite_order(self.app, order_ref(row.channel, row.external_id))

    def ship_run(self) -> None:
        """The afternoon pick: most orders holding stock ship; ship-complete ones only once
        nothing of theirs waits."""
        ready = self._rows(
            select(ORDER.channel, ORDER.external_id, ORDER.shipping_method)
            .join_from(order_lines, orders, ORDER.id == LINE.order_id)
            .group_by(
                ORDER.id,
                ORDER.channel,
                ORDER.external_id,
                ORDER.shipping_method,
                ORDER.shipping_preference,
            )
            .having(
                func.sum(LINE.allocated) > 0,
                or_(
                    ORDER.shipping_preference == Preference.SHIP_AVAILABLE.value,
                    func.sum(LINE.backordered) == 0,
                ),
            )
            .order_by(ORDER.id)
        )
        held = self._held([order_ref(row.channel, row.external_id) for row in ready])
        for row in ready:
            if self.rng.random() >= 0.9:
                continue
            ref = order_ref(row.channel, row.external_id)
            for code, lines in sorted(held.get(ref, {}).items()):
                number = self.rng.randrange(10**10)
                self.serial["shipment"] += 1
                shipment = f"SHP-{self.serial['shipment']:06d}"
                there = warehouses.Held(ref, tuple(lines))
                if code == warehouses.THREE_PL:  # the 3PL ships and sends its 945
                    control = self.serial["shipment"]
                    tracking = f"1Z9E3P{number:010d}"
                    text = warehouses.x12_945(there, shipment, tracking, control, self.clock.now)
                    ingest(self.app, "x12-945", text)
                elif code == warehouses.FBA:  # Amazon ships and its order status says so
                    tracking = f"TBA{number:012d}"
                    ingest(
                        self.app,
                        "mcf",
                        warehouses.mcf_order(there, shipment, tracking, self.clock.now),
                    )
                else:  # our own warehouse picks and packs
                    tracking = (
                        f"7749{number:010d}"
                        if row.shipping_method == "expedited"
                        else f"1Z9A7W{number:010d}"
                    )
                    ship_order(self.app, ref, tracking, location=code)

    def _held(self, refs: list[str]) -> dict[str, dict[str, list[tuple[str, int]]]]:
        """What each of these orders holds, by location: order ref -> code -> (SKU, units)."""
        found: dict[str, dict[str, list[tuple[str, int]]]] = {}
        wanted = set(refs)
        rows = self._rows(
            select(
                ORDER.channel,
                ORDER.external_id,
                locations.c.code,
                PRODUCT.sku,
                line_holdings.c.allocated,
            )
            .join_from(line_holdings, order_lines, LINE.id == line_holdings.c.line_id)
            .join(orders, ORDER.id == LINE.order_id)
            .join(products, PRODUCT.id == LINE.product_id)
            .join(locations, locations.c.id == line_holdings.c.location_id)
            .where(line_holdings.c.allocated > 0, ORDER.completed_at.is_(None))
            .order_by(ORDER.id, LINE.line_no)
        )
        for channel, external_id, code, sku, units in rows:
            ref = order_ref(channel, external_id)
            if ref in wanted:
                found.setdefault(ref, {}).setdefault(code, []).append((sku, units))
        return found

    def cycle_count(self) -> None:
        """A shelf count at one location finds fewer units than are promised there: some
        allocations go back."""
        level = stock_levels.c
        fullest = self._rows(
            select(PRODUCT.sku, locations.c.code, level.allocated)
            .join_from(stock_levels, products, PRODUCT.id == level.product_id)
            .join(locations, locations.c.id == level.location_id)
            .where(level.allocated > 0)
            .order_by(level.allocated.desc(), PRODUCT.sku, locations.c.code)
            .limit(1)
        )
        for sku, code, allocated in fullest:
            set_stock(self.app, sku, allocated // 2, f"CC-{self.clock.now:%Y%m%d}", code)


# Stamped into the SQLite header of a demo database, so a later run replaces only its own.
