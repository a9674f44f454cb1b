"""The schema. Quantities live on the rows they describe; statuses are derived, never stored."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from backorder.store.types import Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Integer ids that are 64-bit on PostgreSQL and rowid aliases on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")
Payload = JSON().with_variant(JSONB(), "postgresql")

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("policy", String(16), nullable=False),
    Column("queue_strategy", String(16), nullable=False),
    Column("lead_time_days", Integer),
    Column("max_per_customer", Integer),
    Column("discontinued", Boolean, nullable=False, server_default=text("false")),
    Column("backorder_cap", Integer),
    Column("backorder_until", Date),
    # supply and when to accept backorders (the supplier is checked by the service)
    Column("supplier_id", String(64)),
    Column("require_known_date", Boolean, nullable=False, server_default=text("false")),
    Column("max_lead_days", Integer),
    Column("min_on_time_percent", Integer),
    # stock
    Column("on_hand", Integer, nullable=False, server_default=text("0")),
    Column("allocated", Integer, nullable=False, server_default=text("0")),
    Column("backordered", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("allocated >= 0 AND allocated <= on_hand", name="no_oversell"),
    CheckConstraint("backordered >= 0", name="backordered_not_negative"),
    CheckConstraint("policy IN ('allow', 'deny')", name="policy"),
    CheckConstraint("queue_strategy IN ('fifo', 'priority')", name="queue_strategy"),
)

# Places that hold stock: own warehouses, 3PLs, FBA, stores.
locations = Table(
    "locations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("ships_to", JSON(none_as_null=True)),  # ISO 3166-1 alpha-2 codes; null: anywhere
    Column("priority", Integer, nullable=False, server_default=text("100")),
    Column("transit_days", Integer, nullable=False, server_default=text("0")),
    Column("accepts_backorders", Boolean, nullable=False, server_default=text("true")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # where a 3PL or FBA location takes its shipping orders, in which format (x12-940 |
    # json), signed with which secret; no URL: it is sent none
    Column("orders_url", String(2000)),
    Column("orders_format", String(16)),
    Column("orders_secret", String(200)),
    CheckConstraint("kind IN ('own', '3pl', 'fba', 'store')", name="kind"),
    CheckConstraint("transit_days >= 0", name="transit_days_not_negative"),
)

# Stock of a SKU at a location; the product row carries the network's sums.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("product_id", ForeignKey("products.id"), primary_key=True),
    Column("location_id", ForeignKey("locations.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False, server_default=text("0")),
    Column("allocated", Integer, nullable=False, server_default=text("0")),
    # the as_of of the last feed snapshot applied here: an older one never overwrites it
    Column("counted_as_of", UtcDateTime),
    CheckConstraint("allocated >= 0 AND allocated <= on_hand", name="no_oversell"),
    Index("ix_stock_levels_location", "location_id", "product_id"),
)

# A sender's own name for one of our locations (a Shopify location_id, a 3PL's warehouse
# code), per feed channel.
location_aliases = Table(
    "location_aliases",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_location_aliases_location", "location_id"),
)

# The feed documents applied, by the key that names each (the sender's receipt number, a
# snapshot's location and time, else the payload's hash): the same document is applied once.
feed_documents = Table(
    "feed_documents",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("document_key", String(200), primary_key=True),
    Column("payload_id", Id, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

# What a line holds at each location now (the allocations table is the log of how it came).
line_holdings = Table(
    "line_holdings",
    metadata,
    Column("line_id", ForeignKey("order_lines.id"), primary_key=True),
    Column("location_id", ForeignKey("locations.id"), primary_key=True),
    Column("allocated", Integer, nullable=False),
    CheckConstraint("allocated >= 0", name="allocated_not_negative"),
    Index("ix_line_holdings_location", "location_id", "line_id"),
)

# A product's pack sizes: how many single units one unit of each kind holds (CA=12).
product_packs = Table(
    "product_packs",
    metadata,
    Column("product_id", ForeignKey("products.id"), primary_key=True),
    Column("unit", String(8), primary_key=True),
    Column("units", Integer, nullable=False),
    CheckConstraint("units > 1", name="pack_holds_units"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("customer_email", String(320)),
    Column("customer_phone", String(32)),
    Column("customer_tier", String(16), nullable=False),
    Column("customer_sms_consent", Boolean, nullable=False, server_default=text("false")),
    Column("customer_language", String(35)),  # a BCP 47 tag, when the channel said
    Column("display_number", String(64)),  # the shop's own number: "#9001", a PO number
    Column("currency", String(3), nullable=False),
    Column("shipping_method", String(16), nullable=False),
    Column("shipping_preference", String(16), nullable=False),
    Column("payment_timing", String(16), nullable=False),
    Column("expedite", Boolean, nullable=False, server_default=text("false")),
    Column("ship_country", String(2)),  # ISO 3166-1 alpha-2; null: any location serves it
    # For the KPIs, kept with the change that makes them: the order's lines, how many of
    # them ever waited, and when the shipment that left nothing open went (null until then).
    Column("line_count", Integer, nullable=False, server_default=text("0")),
    Column("waited_lines", Integer, nullable=False, server_default=text("0")),
    Column("completed_at", UtcDateTime),
    UniqueConstraint("channel", "external_id", name="uq_orders_ref"),
    Index("ix_orders_customer", "customer_id"),
    # Orders placed in a period, with what the backorder rate counts (read from the index).
    Index(
        "ix_orders_placed_at", "placed_at", "channel", "customer_tier", "line_count", "waited_lines"
    ),
    # Orders with a line that waited, by when they were completed (fill time).
    Index(
        "ix_orders_completed_at",
        "completed_at",
        "placed_at",
        "channel",
        "customer_tier",
        "waited_lines",
        sqlite_where=text("waited_lines > 0 AND completed_at IS NOT NULL"),
        postgresql_where=text("waited_lines > 0 AND completed_at IS NOT NULL"),
    ),
    # Finding an order (services/search.py): by its number, the shop's number, the
    # customer's address, or its channel, newest first.
    Index("ix_orders_external_id", "external_id"),
    Index("ix_orders_display_number", "display_number"),
    Index("ix_orders_customer_email", "customer_email"),
    Index("ix_orders_channel", "channel", "id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("allocated", Integer, nullable=False),
    Column("backordered", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("variant", String(200)),  # as the shop named it on the order: "Blue / L"
    # what the buyer ordered when not in single units (12 CA of 12): quantity stays in units
    Column("ordered_quantity", Integer),
    Column("ordered_unit", String(8)),
    Column("ordered_pack", Integer),
    # queue rank: class (0 ranks first), then order time, then intake (id)
    Column("placed_at", UtcDateTime, nullable=False),
    Column("base_class", Integer, nullable=False),
    Column("rank_class", Integer, nullable=False),
    Column("climbs_at", UtcDateTime),
    Column("eta", Date),  # when the waiting units are expected, as of the last walk
    Column("promised", Date),  # the first date the customer was told; never moves
    Column("eta_told", Date),  # the date the customer was last told
    # stamped by the daily review: when it last looked at the line, and what it found
    Column("checked_at", UtcDateTime),
    Column("checked_status", String(16)),
    # A line's wait: when units of it first waited, and when it ended, with the last waiting
    # unit allocated (filled) or cancelled (withdrawn); both null while units wait.
    Column("backordered_at", UtcDateTime),
    Column("filled_at", UtcDateTime),
    Column("withdrawn_at", UtcDateTime),
    UniqueConstraint("order_id", "line_no", name="uq_order_lines_order_line"),
    CheckConstraint(
        "allocated >= 0 AND backordered >= 0 AND shipped >= 0 AND cancelled >= 0",
        name="quantities_not_negative",
    ),
    CheckConstraint(
        "quantity = allocated + backordered + shipped + cancelled", name="conservation"
    ),
    # The queue of a SKU, head first; only waiting lines are in it.
    Index(
        "ix_order_lines_queue",
        "product_id",
        "rank_class",
        "placed_at",
        "id",
        sqlite_where=text("backordered > 0"),
        postgresql_where=text("backordered > 0"),
    ),
    # Waiting lines by date: the walk finds the few whose date is off without a scan.
    Index(
        "ix_order_lines_waiting_eta",
        "product_id",
        "eta",
        sqlite_where=text("backordered > 0"),
        postgresql_where=text("backordered > 0"),
    ),
    # Lines holding stock, for taking back the lowest-ranked allocations.
    Index(
        "ix_order_lines_holding",
        "product_id",
        "rank_class",
        "placed_at",
        "id",
        sqlite_where=text("allocated > 0"),
        postgresql_where=text("allocated > 0"),
    ),
    # Waiting lines due to climb a class.
    Index(
        "ix_order_lines_climbs",
        "product_id",
        "climbs_at",
        sqlite_where=text("backordered > 0 AND climbs_at IS NOT NULL"),
        postgresql_where=text("backordered > 0 AND climbs_at IS NOT NULL"),
    ),
    Index("ix_order_lines_order", "order_id"),
    Index(
        "ix_order_lines_backordered_at",
        "backordered_at",
        sqlite_where=text("backordered_at IS NOT NULL"),
        postgresql_where=text("backordered_at IS NOT NULL"),
    ),
    # Lines by when their wait was filled (backorder duration), with what it reads.
    Index(
        "ix_order_lines_filled_at",
        "filled_at",
        "backordered_at",
        "product_id",
        "order_id",
        sqlite_where=text("filled_at IS NOT NULL"),
        postgresql_where=text("filled_at IS NOT NULL"),
    ),
    # Backordered lines by their first promised date, with how their wait ended (promise
    # accuracy over a period).
    Index(
        "ix_order_lines_promised",
        "promised",
        "filled_at",
        "withdrawn_at",
        "product_id",
        "order_id",
        sqlite_where=text("backordered_at IS NOT NULL"),
        postgresql_where=text("backordered_at IS NOT NULL"),
    ),
    # The orders with a line of a SKU (order list --sku, a search by SKU or name).
    Index("ix_order_lines_product_order", "product_id", "order_id"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("line_id", ForeignKey("order_lines.id"), nullable=False),
    Column("units", Integer, nullable=False),
    Column("allocated_at", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # intake | receipt | stock_set | release
    Column("ref", String(128)),
    Column("position", Integer),  # place in the queue when served; null at intake
    Column("rank_class", Integer, nullable=False),
    Column("rule", Text, nullable=False),  # why that place, in words
    # the location the units were allocated at, and why that location, in words
    Column("location_id", Id),
    Column("sourcing", String(200)),
    CheckConstraint("units > 0", name="units_positive"),
    Index("ix_allocations_line", "line_id"),
    # Units served from the queue in a period (conversion); the intake's are not in it.
    Index(
        "ix_allocations_from_queue",
        "allocated_at",
        "line_id",
        "units",
        "source",
        sqlite_where=text("source <> 'intake'"),
        postgresql_where=text("source <> 'intake'"),
    ),
)

cancellations = Table(
    "cancellations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("line_id", ForeignKey("order_lines.id"), nullable=False),
    Column("units", Integer, nullable=False),
    Column("from_allocated", Integer, nullable=False),
    # units taken out of the queue (0 for the intake's refusals, which never waited)
    Column("from_backordered", Integer, nullable=False, server_default=text("0")),
    Column("reason", String(200), nullable=False),
    Column("cancelled_at", UtcDateTime, nullable=False),
    CheckConstraint("units > 0", name="units_positive"),
    Index("ix_cancellations_line", "line_id"),
    # Units cancelled while they waited, in a period (conversion, cancel rate).
    Index(
        "ix_cancellations_from_queue",
        "cancelled_at",
        "line_id",
        "from_backordered",
        "reason",
        sqlite_where=text("from_backordered > 0"),
        postgresql_where=text("from_backordered > 0"),
    ),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("tracking", String(128)),
    Column("shipped_at", UtcDateTime, nullable=False),
    # its lines, and how many shipped exactly what was allocated to them (accuracy)
    Column("line_count", Integer, nullable=False, server_default=text("0")),
    Column("exact_lines", Integer, nullable=False, server_default=text("0")),
    Column("location_id", Id),  # where it left from
    # the sender's shipment id (or tracking) when a 3PL confirmed it: confirmed once
    Column("reference", String(128)),
    Index("ix_shipments_order", "order_id"),
    Index("ix_shipments_confirmed", "order_id", "location_id", "reference", unique=True),
    Index("ix_shipments_shipped_at", "shipped_at", "order_id", "line_count", "exact_lines"),
)

# A shipping order sent to a 3PL or FBA location (an X12 940 or JSON): the units of an order
# allocated there and not yet asked for, numbered `<order ref>-<location>-<n>`. The document
# is kept as made, so every attempt of its delivery (`deliveries.message_id`) sends the same
# bytes.
shipping_orders = Table(
    "shipping_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(200), nullable=False, unique=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("location_id", ForeignKey("locations.id"), nullable=False),
    Column("event_id", Id, nullable=False),  # the newest event of the order it answers
    Column("format", String(16), nullable=False),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("lines", Payload, nullable=False),  # [{line_id, line, sku, units}]: what it asked
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # `order`, or `cancel`: a cancellation of shipping order `cancels` (its lines negative)
    Column("kind", String(16), nullable=False, server_default=text("'order'")),
    Column("short_ref", String(22)),  # the 940's W05-02, which a 945 brings back in W06-02
    Column("cancels", Id),
    Index("ix_shipping_orders_order", "order_id", "location_id"),
    Index("ix_shipping_orders_short_ref", "short_ref", unique=True),
    Index("ix_shipping_orders_cancels", "cancels", unique=True),
    sqlite_autoincrement=True,
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    Column("shipment_id", ForeignKey("shipments.id"), primary_key=True),
    Column("line_id", ForeignKey("order_lines.id"), primary_key=True),
    Column("units", Integer, nullable=False),
    # units allocated to the line when it shipped (fulfilment accuracy: units == allocated)
    Column("allocated", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("units > 0", name="units_positive"),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # receipt | count
    Column("units", Integer, nullable=False),  # signed change of on hand
    Column("on_hand_after", Integer, nullable=False),
    Column("ref", String(128)),
    Column("moved_at", UtcDateTime, nullable=False),
    Column("location_id", Id),  # where on hand changed (null only before locations)
    Index("ix_stock_movements_product", "product_id", "moved_at"),
    Index("ix_stock_movements_location", "location_id", "moved_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("order_ref", String(200)),
    Column("sku", String(64)),
    Column("payload", Payload, nullable=False),
    Index("ix_events_order_ref", "order_ref"),
    Index("ix_events_type", "type", "id"),
    sqlite_autoincrement=True,  # ids never reused: readers resume "after id N"
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("prefix", String(16), nullable=False),  # shown in listings; the key itself is not kept
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the key
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    CheckConstraint("role IN ('admin', 'ops', 'channel', 'viewer')", name="role"),
)

# Dashboard sessions: a browser signed in with an API key holds a random token, kept here
# only as a hash. A session ends when it expires, when it signs out (revoked_at), or when its
# key is revoked; a copied cookie dies with it.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token
    Column("api_key_id", ForeignKey("api_keys.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Index("ix_sessions_expires_at", "expires_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("api_key_id", ForeignKey("api_keys.id"), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),  # SHA-256 of method, path and body
    # pending: claimed; applied: the change committed (same transaction); done: response kept
    Column("state", String(16), nullable=False),
    Column("status_code", Integer),
    Column("response", Text),
    Column("created_at", UtcDateTime, nullable=False),
    # A claim is a lease: when the request holding the key claimed it, and which claim this
    # is (a retry takes over a pending key whose lease lapsed: its request is gone).
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("claim", Integer, nullable=False),
    UniqueConstraint("api_key_id", "idempotency_key", name="uq_idempotency_keys_key"),
    CheckConstraint("state IN ('pending', 'applied', 'done')", name="state"),
)

# Secrets the service makes for itself on first use (e.g. the key that signs customer links),
# so every process on this database agrees without any configuration.
secrets = Table(
    "secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Readers of the outbox and how far each has come: an integration polling GET /events keeps
# its position here (and so its lag shows in /metrics); the notification dispatcher will too.
event_consumers = Table(
    "event_consumers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),  # the last event id it has handled
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("position >= 0", name="position_not_negative"),
)

# Events a consumer could not handle (a payload its code cannot read): each is recorded
# with the error and stepped over, so one bad event never holds back the events after it.
# `notify skipped` lists them; `notify replan` tries one again after a fix.
SKIPPED_STATES = ("skipped", "replanned")
skipped_events = Table(
    "skipped_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("event_id", Id, ForeignKey("events.id"), nullable=False),
    Column("error", String(2000), nullable=False),
    Column("state", String(16), nullable=False),
    Column("skipped_at", UtcDateTime, nullable=False),
    Column("replanned_at", UtcDateTime),
    CheckConstraint("state IN ('skipped', 'replanned')", name="state_known"),
    UniqueConstraint("consumer", "event_id", name="uq_skipped_events_consumer_event"),
    sqlite_autoincrement=True,
)

# Every payload a channel delivers, stored as received before anything else happens to it,
# and what became of it: an order, a duplicate, a dead letter (with every reason), or,
# by a person's decision, discarded. Nothing here is ever deleted.
# Parked: a part of an order (a BigCommerce webhook carrying only the id, an order without
# its products), kept until the whole order comes and settles it.
INTAKE_STATES = ("pending", "accepted", "duplicate", "dead", "discarded", "parked")
intake_payloads = Table(
    "intake_payloads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("account", String(64), nullable=False),
    Column("external_id", String(128)),  # when the payload could be read that far
    Column("received_at", UtcDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),  # SHA-256 hex of the text
    Column("raw", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("order_ref", String(200)),
    Column("reasons", Payload),  # why it is a dead letter
    Column("warnings", Payload),  # what was noticed, the order taken all the same
    Column("attempts", Integer, nullable=False),
    Column("value", Money),  # impact of a dead letter: what the order is worth
    Column("currency", String(3)),
    Column("tier", String(16)),
    Column("processed_at", UtcDateTime),
    Column("discard_reason", String(500)),
    # the channel's event topic (orders/create, order.updated), when it named one
    Column("topic", String(64)),
    # what it did when that was not to place an order, in words ("ignored: already
    # cancelled in the shop", "cancelled 2 units not shipped (shop:customer)")
    Column("outcome", String(500)),
    CheckConstraint(
        "state IN ('pending', 'accepted', 'duplicate', 'dead', 'discarded', 'parked')",
        name="state",
    ),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    Index(
        "ix_intake_payloads_waiting",
        "state",
        "id",
        sqlite_where=text("state IN ('pending', 'dead')"),
        postgresql_where=text("state IN ('pending', 'dead')"),
    ),
    # the few payloads kept that placed and changed nothing, counted by topic (/metrics)
    Index(
        "ix_intake_payloads_ignored",
        "channel",
        "account",
        "topic",
        sqlite_where=text("outcome IS NOT NULL AND order_ref IS NULL"),
        postgresql_where=text("outcome IS NOT NULL AND order_ref IS NULL"),
    ),
    # the few parts of orders waiting for the rest, found by the order that settles them
    Index(
        "ix_intake_payloads_parked",
        "channel",
        "account",
        "external_id",
        sqlite_where=text("state = 'parked'"),
        postgresql_where=text("state = 'parked'"),
    ),
)

# Deliveries that came in by a channel's signed webhook, by their body's hash: the signature
# covers the body alone, so the same delivery can be sent again by anyone who saw it. Each
# is stored once (its payloads named here); sending it again is counted in `replays`.
signed_deliveries = Table(
    "signed_deliveries",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("body_hash", String(64), primary_key=True),  # SHA-256 hex of the raw body
    Column("payload_ids", Payload, nullable=False),  # what it was stored as (intake_payloads)
    Column("received_at", UtcDateTime, nullable=False),
    Column("replays", Integer, nullable=False),
    Column("replayed_at", UtcDateTime),
    CheckConstraint("replays >= 0", name="replays_not_negative"),
)

# A delivery taken from the broker's stream (BACKORDER_BROKER_URL), by its place in the
# stream, with the payloads it was stored as: a message delivered again (a consumer stopped
# between its commit and its ack) is recognised here and stored no more. `stream` is the
# stream's name and creation time, as a stream made anew numbers from 1 again.
broker_messages = Table(
    "broker_messages",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("payload_ids", Payload, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    CheckConstraint("sequence > 0", name="sequence_positive"),
)

# The dashboard's policy-simulator runs, so that every server process shows the same ones
# and one runs at a time across them. A run beats while its thread works; a "running" row
# whose beat stopped belongs to a process that died, and counts as failed.
simulation_runs = Table(
    "simulation_runs",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("beat_at", UtcDateTime, nullable=False),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("policy", String(100), nullable=False),
    Column("state", String(10), nullable=False),
    Column("columns", Payload, nullable=False),
    Column("rows", Payload, nullable=False),
    Column("error", Text),
    CheckConstraint("state IN ('running', 'done', 'failed')", name="state_known"),
    Index(
        "ix_simulation_runs_one_running",
        "state",
        unique=True,
        sqlite_where=text("state = 'running'"),
        postgresql_where=text("state = 'running'"),
    ),
    Index("ix_simulation_runs_started", "started_at"),
)

# A channel's name for a product (its SKU, a variant or product id, an ASIN, a buyer's part
# number) and our SKU. An empty account means: every account of the channel.
sku_aliases = Table(
    "sku_aliases",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("channel_sku", String(128), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# The intake's validation rules as data: a rule's severity (error, warning, off) and options
# (currencies, max_deviation_percent) for a channel and account; empty means every one.
intake_rules = Table(
    "intake_rules",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("account", String(64), primary_key=True),
    Column("rule", String(32), primary_key=True),
    Column("severity", String(8), nullable=False),
    Column("options", Payload, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("severity IN ('error', 'warning', 'off')", name="severity_known"),
)

# Where other systems want the events: a URL, its Standard Webhooks signing secret, and the
# event types it takes (an empty list: every type). Removed subscriptions stay, inactive,
# so their deliveries keep their history.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("event_types", Payload, nullable=False),
    Column("description", String(200), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False),
    Column("after_event", BigInteger, nullable=False),  # the newest event when it was made
    # standard: the event as signed JSON; slack: {"text": …} for Slack/Teams incoming webhooks
    Column("format", String(16), nullable=False, server_default="standard"),
    Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# One message to send: an event for one recipient on one channel, sent once. `message_id` is
# the idempotency key the far side sees (the webhook-id), the same on every attempt.
DELIVERY_STATES = ("due", "sending", "sent", "dead", "withdrawn")
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("events.id"), nullable=False),
    Column("channel", String(16), nullable=False),  # webhook | email | sms
    Column("kind", String(32)),  # e-mail and SMS: the milestone or alert (which template)
    Column("subscription_id", Id, ForeignKey("webhook_subscriptions.id")),  # webhooks
    Column("recipient", String(2000), nullable=False),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),  # next attempt; or when a claim lapses
    Column("last_error", String(500)),
    Column("last_status", Integer),
    Column("sent_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("order_ref", String(200)),  # the order a customer message is about
    Column("folded", Payload),  # later events of the same order and kind, told in this message
    Column("provider_id", String(128)),  # what the provider calls the message (a Twilio SID)
    CheckConstraint("state IN ('due', 'sending', 'sent', 'dead', 'withdrawn')", name="state_known"),
    Index(
        "ix_deliveries_waiting",
        "due_at",
        "id",
        sqlite_where=text("state IN ('due', 'sending')"),
        postgresql_where=text("state IN ('due', 'sending')"),
    ),
    Index("ix_deliveries_event", "event_id"),
    Index("ix_deliveries_order_ref", "order_ref"),
    Index(  # the failed ones, counted at every scrape of /metrics
        "ix_deliveries_dead",
        "id",
        sqlite_where=text("state = 'dead'"),
        postgresql_where=text("state = 'dead'"),
    ),
    sqlite_autoincrement=True,
)

# A customer's choice not to hear from us on a channel (email, sms). No row: they may.
customer_preferences = Table(
    "customer_preferences",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# What staff should know: a notice (stock arrived for waiting orders) or a problem that stays
# open until it is gone (stock low, sold out while orders come, a costly backorder). One open
# alert per key; raising and resolving each writes an event, which is how staff hear of it.
ALERT_STATES = ("open", "resolved", "notice")
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(300), nullable=False),  # kind:sku or kind:order
    Column("sku", String(64)),
    Column("order_ref", String(200)),
    Column("state", String(16), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("facts", Payload, nullable=False),
    Column("event_id", Id, nullable=False),  # the event that raised it
    Column("opened_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolution", String(500)),
    CheckConstraint("state IN ('open', 'resolved', 'notice')", name="state_known"),
    Index(
        "ix_alerts_open_key",
        "key",
        unique=True,
        sqlite_where=text("state = 'open'"),
        postgresql_where=text("state = 'open'"),
    ),
    Index("ix_alerts_order_ref", "order_ref"),
    sqlite_autoincrement=True,
)

# Who supplies a SKU, how long they take, and how often their purchase orders arrive by the
# date they were expected (counted as each purchase order completes).
suppliers = Table(
    "suppliers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320)),
    Column("contact", String(200)),
    Column("lead_time_days", Integer, nullable=False),
    Column("orders_completed", Integer, nullable=False, server_default=text("0")),
    Column("orders_on_time", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # automatic purchase orders (0037): its own approval limit; how its purchase orders reach
    # it (x12-850 | email | webhook | none), where (a URL or an e-mail), the signing secret
    Column("auto_approve_limit", Money),
    Column("po_format", String(16)),
    Column("po_address", String(2000)),
    Column("po_secret", String(200)),
    CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    CheckConstraint("orders_on_time >= 0 AND orders_on_time <= orders_completed", name="record"),
)

# Inbound supply: what a supplier is to deliver, per SKU and expected date. A line is open
# while received + cancelled < ordered; `first_expected_on` is what the on-time record is
# measured against, however often the line is re-dated.
PO_STATES = ("open", "received", "cancelled")
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("supplier_id", ForeignKey("suppliers.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("on_time", Boolean),  # once complete: every line received by its first date
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("location_id", Id),  # where it arrives (set on every purchase order since 0026)
    # 0037: manual | recommendation; approval pending | approved | rejected (a pending one is
    # a draft: not inbound supply, dates no customer); by whom or which rule; when the
    # supplier got it (its document delivered, or approval when it is placed by hand)
    Column("origin", String(16), nullable=False, server_default="manual"),
    Column("approval", String(16), nullable=False, server_default="approved"),
    Column("approved_by", String(120)),
    Column("approved_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    CheckConstraint("state IN ('open', 'received', 'cancelled')", name="state_known"),
)

po_lines = Table(
    "po_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("po_id", ForeignKey("purchase_orders.id"), nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("ordered", Integer, nullable=False),
    Column("received", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("expected_on", Date, nullable=False),
    Column("first_expected_on", Date, nullable=False),
    Column("last_received_at", UtcDateTime),
    Column("unit_cost", Money),  # the price agreed (0037; unknown on lines of old)
    UniqueConstraint("po_id", "product_id", name="uq_po_lines_po_product"),
    CheckConstraint(
        "ordered > 0 AND received >= 0 AND cancelled >= 0 AND received + cancelled <= ordered",
        name="quantities",
    ),
    # The inbound supply of a SKU, soonest first.
    Index(
        "ix_po_lines_inbound",
        "product_id",
        "expected_on",
        "id",
        sqlite_where=text("received + cancelled < ordered"),
        postgresql_where=text("received + cancelled < ordered"),
    ),
)

# A purchase order's document as sent to its supplier (an X12 850, an e-mail's PDF and CSV
# parts as JSON, or a webhook's JSON): `order`, or `cancel` once it was sent and is then
# cancelled. Kept as made, so every attempt of its delivery (`deliveries.message_id`) sends
# the same bytes.
po_documents = Table(
    "po_documents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("po_id", ForeignKey("purchase_orders.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("recipient", String(2000), nullable=False),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('order', 'cancel')", name="kind_known"),
    sqlite_autoincrement=True,
)

# Restock recommendations (services/replenishment): a proposed purchase order or transfer per
# SKU (and location; `key` is "SKU" or "SKU@LOCATION"), with the option chosen, the numbers
# and the reasons in words. One proposed row per key; a new plan supersedes it. Accepted, it
# becomes a draft purchase order (po_id) or a planned transfer (transfer_id).
RECOMMENDATION_STATES = ("proposed", "accepted", "rejected", "superseded")
recommendations = Table(
    "recommendations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("location_id", ForeignKey("locations.id")),  # where it is needed; null: network
    Column("kind", String(16), nullable=False),  # purchase | transfer
    Column("cause", String(16), nullable=False),  # stockout | reorder_point | slip
    Column("supplier_id", ForeignKey("suppliers.id")),  # a purchase
    Column("from_location_id", ForeignKey("locations.id")),  # a transfer
    Column("quantity", Integer, nullable=False),
    Column("unit_cost", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("need_by", Date, nullable=False),
    Column("order_by", Date),
    Column("arrive_on", Date, nullable=False),  # expected (median lateness)
    Column("arrive_p90", Date, nullable=False),
    Column("expected_short", Float, nullable=False),  # units expected on backorder
    Column("expected_cost", Money, nullable=False),
    Column("reasons", Payload, nullable=False),  # the sentences, in order
    Column("facts", Payload, nullable=False),  # the need and every option weighed
    Column("state", String(16), nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decided_by", String(120)),  # an API key's name, "cli", or "rule:<which>"
    Column("note", String(2000)),
    Column("po_id", ForeignKey("purchase_orders.id")),
    Column("transfer_id", ForeignKey("transfers.id")),
    CheckConstraint("kind IN ('purchase', 'transfer')", name="kind_known"),
    CheckConstraint("cause IN ('stockout', 'reorder_point', 'slip')", name="cause_known"),
    CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in RECOMMENDATION_STATES) + ")",
        name="state_known",
    ),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint(
        "(kind = 'purchase' AND supplier_id IS NOT NULL)"
        " OR (kind = 'transfer' AND from_location_id IS NOT NULL)",
        name="source_named",
    ),
    Index(
        "ix_recommendations_proposed_key",
        "key",
        unique=True,
        sqlite_where=text("state = 'proposed'"),
        postgresql_where=text("state = 'proposed'"),
    ),
    Index("ix_recommendations_product", "product_id", "computed_at"),
    sqlite_autoincrement=True,
)

# Delay notices of the daily review, one per slip of a line: the date it missed, the revised
# date, what keeps the line (silence, an explicit acceptance, or nothing to answer), by when
# the customer may answer, and what came of it. Recorded on the order.
DELAY_OUTCOMES = (
    "informed",
    "pending",
    "accepted",
    "consented",
    "cancelled",
    "lapsed",
    "superseded",
    "moot",
)
delay_notices = Table(
    "delay_notices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("line_id", ForeignKey("order_lines.id"), nullable=False),
    Column("order_id", ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # 1 for the line's first slip, then 2, ...
    Column("noticed_on", Date, nullable=False),
    Column("missed", Date, nullable=False),
    Column("revised", Date),  # None: indefinite
    Column("backordered", Integer, nullable=False),  # units waiting when noticed
    Column("consent", String(16), nullable=False),
    Column("answer_by", Date),
    Column("outcome", String(16), nullable=False),
    Column("settled_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("line_id", "seq", name="uq_delay_notices_line_seq"),
    CheckConstraint("consent IN ('none', 'silence', 'explicit')", name="consent_known"),
    CheckConstraint(
        "outcome IN (" + ", ".join(f"'{o}'" for o in DELAY_OUTCOMES) + ")", name="outcome_known"
    ),
    Index("ix_delay_notices_order", "order_id"),
    Index(
        "ix_delay_notices_pending",
        "answer_by",
        sqlite_where=text("outcome = 'pending'"),
        postgresql_where=text("outcome = 'pending'"),
    ),
)

# Work the daily review hands to people: a procurement review or an inventory correction per
# late SKU, one open task per kind and SKU, with its facts, orders, due date and links.
TASK_KINDS = ("procurement_review", "correct_inbound", "approve_po")
tasks = Table(
    "tasks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("role", String(16), nullable=False),  # procurement | inventory
    Column("sku", String(64), nullable=False),
    Column("state", String(8), nullable=False),
    Column("title", String(300), nullable=False),
    Column("facts", Payload, nullable=False),
    Column("orders", Payload, nullable=False),  # the order references concerned
    Column("due_on", Date, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("done_by", String(16)),  # staff | review (nothing late any more)
    Column("note", String(2000)),
    CheckConstraint("state IN ('open', 'done')", name="state_known"),
    CheckConstraint("role IN ('procurement', 'inventory')", name="role_known"),
    Index(
        "ix_tasks_open_kind_sku",
        "kind",
        "sku",
        unique=True,
        sqlite_where=text("state = 'open'"),
        postgresql_where=text("state = 'open'"),
    ),
)

# The incident log: per late SKU and review day, what is late, by how much, for how many
# orders and how much money, the new expected date, and the mitigation plan.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("summary", String(1000), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("orders", Payload, nullable=False),
    Column("units", Integer, nullable=False),
    Column("value", Money, nullable=False),
    Column("max_delay_days", Integer, nullable=False),
    Column("new_eta", Date),
    Column("supplier_id", String(64)),
    Column("plan", Payload, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("sku", "day", name="uq_incidents_sku_day"),
)

# One row per day the review ran, with the day's figures (the weekly report reads them).
reviews = Table(
    "reviews",
    metadata,
    Column("day", Date, primary_key=True),
    Column("ran_at", UtcDateTime, nullable=False),
    Column("overdue_lines", Integer, nullable=False),
    Column("value_at_risk", Money, nullable=False),
    Column("skus", Integer, nullable=False),
    Column("summary", Payload, nullable=False),
)


# The weekly reports the worker has published, one row per ISO week (so once per week).
weekly_reports = Table(
    "weekly_reports",
    metadata,
    Column("week", String(8), primary_key=True),  # 2026-W47
    Column("published_at", UtcDateTime, nullable=False),
)

# The KPI facts of closed days, per grouping ("all", "sku", "channel", "supplier", "tier")
# and group: kept so that a KPI call over months sums a few rows a day instead of reading
# every line again. A day counts as rolled up for a grouping only while its row in kpi_days
# is there: triggers on the tables the facts come from delete that row whenever a change
# reaches a day already rolled up (a back-dated order, a count that reopens a fill, a
# product's new supplier), and the KPIs read that day from the lines again until the worker
# rolls it up anew.
kpi_days = Table(
    "kpi_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("rolled_up_at", UtcDateTime, nullable=False),
)

# What a rolled-up day counts that Facts counts too (domain/kpis.py), column for column.
KPI_COUNTERS = (
    "orders",
    "backordered_orders",
    "lines",
    "backordered_lines",
    "converted_units",
    "cancelled_units",
    "shipped_lines",
    "accurate_lines",
    "promised_lines",
    "kept_promises",
)

kpi_day_facts = Table(
    "kpi_day_facts",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("key", String(200), primary_key=True),
    *(
        Column(name, Integer, nullable=False, server_default=text("0"))
        for name in (*KPI_COUNTERS, "waits", "fills")
    ),
    Column("wait_days", Float, nullable=False, server_default=text("0")),
    Column("fill_days", Float, nullable=False, server_default=text("0")),
    # the durations by whole hours, packed (store/kpi_days.py): one value, not a row an hour
    Column("wait_hours", LargeBinary),
    Column("fill_hours", LargeBinary),
)

# Units cancelled while waiting, per reason.
kpi_day_reasons = Table(
    "kpi_day_reasons",
    metadata,
    Column("dimension", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("reason", String(200), primary_key=True),
    Column("units", Integer, nullable=False),
)

# Units of one SKU moving from one location to another: inbound supply for the receiving
# location from creation until received. `planned` (nothing has moved), `shipped` (the
# units left `from`; `received` of them have arrived), `received`, `cancelled` (before
# shipping).
TRANSFER_STATES = ("planned", "shipped", "received", "cancelled")
transfers = Table(
    "transfers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("from_location_id", ForeignKey("locations.id"), nullable=False),
    Column("to_location_id", ForeignKey("locations.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received", Integer, nullable=False, server_default=text("0")),
    Column("state", String(16), nullable=False),
    Column("expected_on", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("shipped_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    CheckConstraint("state IN ('planned', 'shipped', 'received', 'cancelled')", name="state_known"),
    CheckConstraint("quantity > 0 AND received >= 0 AND received <= quantity", name="quantities"),
    CheckConstraint("from_location_id <> to_location_id", name="two_places"),
    # the open transfers of a SKU: inbound supply of the receiving location
    Index(
        "ix_transfers_open",
        "product_id",
        "expected_on",
        "id",
        sqlite_where=text("state IN ('planned', 'shipped')"),
        postgresql_where=text("state IN ('planned', 'shipped')"),
    ),
)

# --- Foresight (issue 20): demand history, forecasts, safety stock, backorder risk. ---

# Demand imported for a new install (`backorder history import`), per SKU, location (null:
# the whole network) and period; a week starts on Monday, a month on its first day. Demand
# from the orders the engine holds is read from the order lines themselves, never copied
# here.
demand_history = Table(
    "demand_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("location_id", ForeignKey("locations.id")),
    Column("period_kind", String(8), nullable=False),  # day | week | month
    Column("period_start", Date, nullable=False),
    Column("units", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    CheckConstraint("period_kind IN ('day', 'week', 'month')", name="period_kind"),
    CheckConstraint("units >= 0", name="units_not_negative"),
    Index("ix_demand_history_product", "product_id", "location_id", "period_start"),
)

# The current forecast of a SKU at a location (null: the whole network), replaced on every
# recompute, with what it was made from and the safety stock and reorder point computed with
# it (their inputs in `inputs`).
forecasts = Table(
    "forecasts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False),
    Column("location_id", ForeignKey("locations.id")),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("period", String(8), nullable=False, server_default=text("'week'")),
    Column("first_period", Date, nullable=False),  # the first forecast week (a Monday)
    Column("method", String(32), nullable=False),
    Column("demand_class", String(16), nullable=False),
    Column("adi", Float),
    Column("cv2", Float),
    Column("history_periods", Integer, nullable=False),
    Column("backtest_mae", Float),
    Column("backtest_mase", Float),
    Column("mean_demand", Float, nullable=False),  # mean demand per period (d-bar)
    Column("error_sd", Float, nullable=False),  # sigma_d per period, from forecast errors
    Column("service_level", Float),
    Column("safety_stock", Integer),
    Column("reorder_point", Integer),
    Column("inputs", Payload, nullable=False),
    # what the last plan refresh projected with it (services/foresight_plan.py): the first
    # week below zero, the units short then, the last day to order; the first week below
    # the safety stock (0033)
    Column("planned_at", UtcDateTime),
    Column("stockout_week", Date),
    Column("units_short", Integer),
    Column("order_by", Date),
    Column("below_safety_week", Date),
    CheckConstraint("period IN ('week')", name="period"),
    Index("ix_forecasts_stockout", "stockout_week"),
    Index(
        "ix_forecasts_network",
        "product_id",
        unique=True,
        sqlite_where=text("location_id IS NULL"),
        postgresql_where=text("location_id IS NULL"),
    ),
    Index(
        "ix_forecasts_location",
        "product_id",
        "location_id",
        unique=True,
        sqlite_where=text("location_id IS NOT NULL"),
        postgresql_where=text("location_id IS NOT NULL"),
    ),
)

forecast_periods = Table(
    "forecast_periods",
    metadata,
    Column("forecast_id", ForeignKey("forecasts.id", ondelete="CASCADE"), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("point", Float, nullable=False),
    Column("lo80", Float, nullable=False),
    Column("hi80", Float, nullable=False),
    Column("lo95", Float, nullable=False),
    Column("hi95", Float, nullable=False),
)

# Backorder-risk models, versioned: what they were trained on and how well they scored on
# data they had not seen. One is active; scores name the version that made them.
risk_models = Table(
    "risk_models",
    metadata,
    Column("id", Id, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # kaggle | own
    Column("algorithm", String(64), nullable=False),
    Column("features", Payload, nullable=False),  # the feature names, in order
    Column("metrics", Payload, nullable=False),  # roc_auc, pr_auc, rows, positives, ...
    Column("model", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", String(200)),
)

# The latest backorder-risk score of each SKU, with the features it was computed from and
# its top reasons (feature contributions).
risk_scores = Table(
    "risk_scores",
    metadata,
    Column("product_id", ForeignKey("products.id"), primary_key=True),
    Column("model_id", ForeignKey("risk_models.id"), nullable=False),
    Column("scored_at", UtcDateTime, nullable=False),
    Column("probability", Float, nullable=False),
    Column("features", Payload, nullable=False),
    Column("reasons", Payload, nullable=False),
    CheckConstraint("probability >= 0 AND probability <= 1", name="probability"),
)

# The nightly forecast run of each UTC day (services/forecasts.py): the first worker to
# insert the day's row runs it; a row left unfinished for long is taken over.
forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("day", Date, primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("counts", Payload),
)

# The worker's nightly risk pass, one row per day: whoever inserts the day's row scores the
# SKUs (and retrains on our own history when that is due); another worker finds it done.
risk_runs = Table(
    "risk_runs",
    metadata,
    Column("day", Date, primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("scored", Integer, nullable=False, server_default=text("0")),
    Column("trained_model_id", ForeignKey("risk_models.id")),
    Column("note", String(500)),
)

# Every supplier that can deliver a SKU, on its own terms (cost NULL: not known yet). The
# preferred one is `products.supplier_id` (the supplier ETAs, lead times and the review
# use), so a SKU never has two.
product_suppliers = Table(
    "product_suppliers",
    metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("supplier_id", ForeignKey("suppliers.id"), primary_key=True, index=True),
    Column("cost", Money),
    Column("lead_time_days", Integer, nullable=False),
    Column("moq", Integer, nullable=False, server_default=text("1")),
    Column("pack", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
    CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
    CheckConstraint("moq >= 1 AND pack >= 1", name="order_units"),
)

# Substitutes (services/substitutes): the SKUs that may stand in for a SKU, best first (rank
# 1, 2, ...). A line that waited too long is offered the best one with stock to spare, once.
product_substitutes = Table(
    "product_substitutes",
    metadata,
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "substitute_id",
        ForeignKey("products.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("rank", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("product_id <> substitute_id", name="not_itself"),
    CheckConstraint("rank >= 1", name="rank_positive"),
)

SUBSTITUTE_OFFER_STATES = ("offered", "accepted", "declined", "lapsed", "withdrawn")
substitute_offers = Table(
    "substitute_offers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("line_id", ForeignKey("order_lines.id"), nullable=False, unique=True),  # once
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("substitute_id", ForeignKey("products.id"), nullable=False),
    Column("units", Integer, nullable=False),  # the line's waiting units when offered
    Column("state", String(16), nullable=False),
    Column("offered_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("settled_at", UtcDateTime),
    Column("new_line_id", ForeignKey("order_lines.id")),  # accepted: the substitute's line
    CheckConstraint("units > 0", name="units_positive"),
    CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in SUBSTITUTE_OFFER_STATES) + ")",
        name="state_known",
    ),
    Index(
        "ix_substitute_offers_open",
        "substitute_id",
        "expires_at",
        sqlite_where=text("state = 'offered'"),
        postgresql_where=text("state = 'offered'"),
    ),
    sqlite_autoincrement=True,
)
