"""Who may do what through the API: roles and the permissions each one holds. README.md
(section "HTTP API") states the same table; a test holds the two together."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    CHANNEL = "channel"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"  # products, stock, queues, events
    READ_ORDERS = "read_orders"
    PLACE_ORDERS = "place_orders"
    CHANGE_ORDERS = "change_orders"  # cancel, ship
    STOCK = "stock"  # counts and receipts
    CATALOG = "catalog"  # products
    CUSTOMER_LINKS = "customer_links"  # mint self-service links for customers
    TRACK_EVENTS = "track_events"  # keep a named position in the events (a reader's own)
    INTAKE = "intake"  # replay and discard dead letters, set the intake's validation rules
    NOTIFY = "notify"  # see failed messages and send them again
    WEBHOOKS = "webhooks"  # subscribe URLs to the events (data leaves the system: admin)
    PROMISE = "promise"  # what can be promised of a SKU, and by when (a shop's "ships by")
    REVIEW = "review"  # run the daily review, mark its tasks done
    PURCHASE = "purchase"  # decide restock recommendations, approve draft purchase orders
    METRICS = "metrics"  # scrape GET /metrics (the business's figures, per route traffic)


PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPS: frozenset(
        {
            Permission.READ,
            Permission.READ_ORDERS,
            Permission.PLACE_ORDERS,
            Permission.CHANGE_ORDERS,
            Permission.CUSTOMER_LINKS,  # customer service sends a customer their link
            Permission.STOCK,
            Permission.TRACK_EVENTS,
            Permission.INTAKE,
            Permission.NOTIFY,
            Permission.PROMISE,
            Permission.REVIEW,
            Permission.PURCHASE,
            Permission.METRICS,
        }
    ),
    Role.CHANNEL: frozenset(
        {
            Permission.PLACE_ORDERS,
            Permission.READ_ORDERS,
            Permission.CUSTOMER_LINKS,
            Permission.PROMISE,
        }
    ),
    Role.VIEWER: frozenset(
        {
            Permission.READ,
            Permission.READ_ORDERS,
            Permission.TRACK_EVENTS,
            Permission.PROMISE,
            Permission.METRICS,
        }
    ),
}


def may(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]
