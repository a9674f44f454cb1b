"""What a 3PL or a marketplace's fulfilment tells us about stock it holds, read from its
own format into one shape: a count of stock as of a time (a snapshot), units received, and
an order's units shipped with the carrier's tracking. Like order adapters, feed adapters are
pure (no database, no clock); the location they name is the sender's own identifier (a
Shopify location id, a 3PL's warehouse code), which the intake resolves to one of our
locations through the location's code or an alias."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backorder.intake.base import Payload


@dataclass(frozen=True)
class Count:
    """On hand of one SKU, as the sender counted it."""

    sku: str
    on_hand: int


@dataclass(frozen=True)
class Snapshot:
    """Stock at one location as of a time: each SKU named is set to its count there (an
    older snapshot never overwrites a newer one)."""

    location: str
    as_of: datetime
    counts: tuple[Count, ...]


@dataclass(frozen=True)
class Units:
    """Units of one SKU received or shipped."""

    sku: str
    units: int


@dataclass(frozen=True)
class Receipt:
    """Units that arrived at one location (a 3PL's receiving advice)."""

    location: str
    received_at: datetime
    reference: str  # the sender's receipt or shipment number, for the stock movement
    lines: tuple[Units, ...]


@dataclass(frozen=True)
class ShipmentConfirmation:
    """An order's units that left one location, with the carrier's tracking."""

    location: str
    shipped_at: datetime
    order_ref: str  # our order reference, as we sent it to the warehouse
    lines: tuple[Units, ...]
    tracking: str | None = None
    carrier: str | None = None
    # the sender's own id of the shipment (a 945's W06-04, MCF's amazonShipmentId): a
    # second confirmation of it ships nothing (without one, the tracking number serves)
    reference: str | None = None


FeedDocument = Snapshot | Receipt | ShipmentConfirmation


class FeedAdapter(Protocol):
    """A sender's format of stock feeds; `split` never raises (see `base.Adapter`)."""

    channel: str

    def split(self, text: str) -> list[Payload]: ...

    def read(self, payload: Payload) -> FeedDocument:
        """The document; raises `base.Unreadable` with the reason when it cannot."""
        ...
