"""The demo store's suppliers and purchasing: when a SKU runs short, a purchase order goes to
its supplier with the date the supplier promises; the goods arrive on that date, a little
early, or late (so the daily review finds late supply, opens tasks and tells customers)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import or_, select

from backorder.services.context import Backorder
from backorder.services.stock import receive_stock
from backorder.services.supply import PoLineIn, SupplierIn, add_purchase_order, add_supplier
from backorder.store.tables import products

SUPPLIERS = (
    SupplierIn("BREWLINE", "Brewline Coffee Equipment", 10, "orders@brewline.example.com"),
    SupplierIn("HEARTH", "Hearth & Steel Housewares", 12, "purchasing@hearth.example.com"),
    SupplierIn("CASCADE", "Cascade Outdoor Gear", 16, "po@cascade-outdoor.example.com"),
    SupplierIn("TRAILSIDE", "Trailside Supply Co.", 8, "sales@trailside.example.com"),
)
# Who supplies what, by the first part of the SKU.
SUPPLIER_OF = {
    **dict.fromkeys(("KET", "PRS", "GRN", "ESP", "SCL", "MUG"), "BREWLINE"),
    **dict.fromkeys(("PAN", "DUT", "KNF", "BRD", "MIX", "BLD", "TST", "AIR"), "HEARTH"),
    **dict.fromkeys(
        ("TNT", "BAG", "PAD", "PCK", "JKT", "BOOT", "GPS", "CLR", "HMK", "CHR"), "CASCADE"
    ),
    **dict.fromkeys(("STV", "LMP", "BTL", "SOCK", "FLT", "LAN"), "TRAILSIDE"),
}
LEAD = {supplier.id: supplier.lead_time_days for supplier in SUPPLIERS}
LATE_SHARE = 0.25  # of purchase orders arrive after the promised date
PRODUCT = products.c


def supplier_of(sku: str) -> str:
    return SUPPLIER_OF[sku.split("-")[0]]


@dataclass
class Delivery:
    """A purchase order on its way: when it will really arrive."""

    po: str
    sku: str
    units: int
    arrives: datetime


class Purchasing:
    """Orders stock for SKUs that run short and receives it when it arrives."""

    def __init__(
        self, app: Backorder, rng: random.Random, pack: dict[str, int], lead: dict[str, int]
    ) -> None:
        self.app, self.rng, self.pack, self.lead = app, rng, pack, lead
        self.on_the_way: list[Delivery] = []
        self.serial = 0

    def open(self) -> None:
        for supplier in SUPPLIERS:
            add_supplier(self.app, supplier)

    def deliver(self) -> None:
        """The morning's goods-in: every purchase order that has arrived is received."""
        now = self.app.now()
        for delivery in [d for d in self.on_the_way if d.arrives <= now]:
            receive_stock(self.app, delivery.sku, delivery.units, delivery.po)
            self.on_the_way.remove(delivery)

    def buy(self) -> None:
        """The buyer's round: order for up to three SKUs that run short and have nothing on
        the way (most often those with the longest queues)."""
        now = self.app.now()
        coming = {delivery.sku for delivery in self.on_the_way}
        with self.app.db.read() as uow:
            short = [
                row
                for row in uow.connection.execute(
                    select(PRODUCT.sku, PRODUCT.backordered)
                    .where(
                        PRODUCT.discontinued.is_(False),
                        or_(PRODUCT.backordered > 0, PRODUCT.on_hand - PRODUCT.allocated < 3),
                    )
                    .order_by(PRODUCT.sku)
                ).all()
                if row.sku not in coming
            ]
        for _ in range(min(3, len(short))):
            row = self.rng.choices(short, [row.backordered + 1 for row in short])[0]
            short.remove(row)
            self._order(row.sku, row.backordered, now)

    def _order(self, sku: str, waiting: int, now: datetime) -> None:
        rng, pack = self.rng, self.pack[sku]
        units = pack * max(1, math.ceil((waiting + rng.randint(4, 12)) / pack))
        supplier = supplier_of(sku)
        # The supplier promises its usual lead time, or sooner for a SKU the shop promises
        # its customers sooner (it buys that SKU on faster terms).
        days = max(4, min(LEAD[supplier], self.lead.get(sku, LEAD[supplier]) - 2))
        promised = (now + timedelta(days=days)).date()
        if promised.weekday() >= 5:  # goods-in works Monday to Friday
            promised += timedelta(days=7 - promised.weekday())
        slip = rng.randint(2, 7) if rng.random() < LATE_SHARE else -rng.randint(0, 1)
        self.serial += 1
        po = f"PO-{24100 + self.serial}"
        add_purchase_order(self.app, po, supplier, [PoLineIn(sku, units, promised)])
        arrives = datetime.combine(promised + timedelta(days=slip), time(), UTC)
        self.on_the_way.append(Delivery(po, sku, units, arrives))
