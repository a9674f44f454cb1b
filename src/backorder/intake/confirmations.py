"""Shipment confirmations from 3PLs and marketplace fulfilment, by sender's format: the X12
945 warehouse shipping advice (`x12-945`) and Amazon Multi-Channel Fulfillment's order
status (`mcf`). Each reads one payload into a `feeds.ShipmentConfirmation`; what is not a
shipment (an MCF shipment still pending, a 945 that ships nothing) raises `Ignored`, an
`Unreadable` the intake keeps as recorded-and-ignored rather than as a dead letter."""

from __future__ import annotations

from backorder.intake.base import Unreadable


class Ignored(Unreadable):
    """A readable payload that confirms no shipment: nothing to do, nothing wrong."""
