"""Settings from the environment (prefix BACKORDER_) or a .env file in the working directory."""

from __future__ import annotations

import importlib.util
from datetime import time
from decimal import Decimal
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backorder.canonical import is_address
from backorder.domain.model import QueueStrategy
from backorder.domain.ranking import DEFAULT_PRIORITY_RULES, RULES, Ranking
from backorder.domain.sourcing import ShipComplete
from backorder.notify import EMAIL_KINDS
from backorder.words import knows_language


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKORDER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///backorder.db",
        description="SQLAlchemy URL; sqlite:///FILE (default) or postgresql://user@host/db",
    )
    read_database_url: str | None = Field(
        default=None,
        description="a PostgreSQL read replica (postgresql://user@host/db) for the reads that "
        "need no fresh data: KPIs and the weekly report; unset: they read the primary. When "
        "the replica cannot be reached, they read the primary and the log says so",
    )
    default_queue: QueueStrategy = Field(
        default=QueueStrategy.FIFO, description="queue strategy of products added without one"
    )
    priority_rules: list[str] = Field(
        default=list(DEFAULT_PRIORITY_RULES),
        description="rule names, highest class first, for the `priority` strategy",
    )
    priority_aging_days: int | None = Field(
        default=14,
        description="a priority-queued line climbs one class per this many days waited; "
        "empty to switch off. FIFO queues have a single class, so nothing climbs there.",
    )

    database_wait_seconds: float = Field(
        default=60,
        ge=0,
        le=3600,
        description="how long a starting server or worker (serve, worker, intake drain "
        "--follow) waits for a database it cannot reach yet; other commands fail at once",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where customers reach this service (the base of customer links)",
    )
    shop_name: str = Field(
        default="Backorder demo shop",
        min_length=1,
        max_length=100,
        description="the shop's name, as customers know it: on the order page and in e-mail",
    )
    shop_logo_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="an http(s) URL of the shop's logo, shown at the top of the order page "
        "and of e-mail (none: the shop's name in text)",
    )
    shop_support_email: str | None = Field(
        default=None,
        max_length=320,
        description="where customers write for help (on the order page and in e-mail)",
    )
    shop_colour: str = Field(
        default="#1f4e79",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="the shop's main colour (#rrggbb): headings, buttons and links",
    )
    shop_accent_colour: str = Field(
        default="#f2f6fa",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="a light colour (#rrggbb) behind the shop's header and notices",
    )
    shop_language: str = Field(
        default="en",
        min_length=2,
        max_length=35,
        description="the language (BCP 47 tag, e.g. en-GB, de, fr-CA) of customer pages and "
        "messages for a customer whose order does not say theirs",
    )
    customer_link_days: int = Field(
        default=30, gt=0, le=3650, description="how long a customer link stays valid"
    )
    intake_soft_limit: int = Field(
        default=1_000,
        ge=0,
        description="payloads waiting past which POST /channels/{channel}/orders stores and "
        "answers 202, leaving the processing to `backorder intake drain`",
    )
    intake_hard_limit: int = Field(
        default=100_000,
        gt=0,
        description="payloads waiting past which the endpoint answers 503 with Retry-After",
    )
    broker_url: str | None = Field(
        default=None,
        description="NATS JetStream in front of channel intake (nats://host:4222; a cluster: "
        "a comma-separated list): the channel endpoints publish and answer 202, `backorder "
        "intake consume` (and the worker) store and place; unset, the database is the queue",
    )
    broker_stream: str = Field(
        default="BACKORDER_INTAKE",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="the JetStream stream of channel deliveries (subjects "
        "backorder.intake.CHANNEL.ACCOUNT)",
    )
    broker_replicas: int = Field(
        default=1, ge=1, le=5, description="the stream's replicas: 1 on one server, 3 in a cluster"
    )
    broker_max_age_seconds: float = Field(
        default=7 * 86_400,
        ge=0,
        description="a delivery not consumed within this long is dropped by the server (0: "
        "kept until consumed); keep a consumer running",
    )
    broker_max_bytes: int = Field(
        default=1 << 30,
        gt=0,
        description="the stream's size limit: past it new deliveries are refused (503, "
        "Retry-After), never the old ones dropped",
    )
    broker_duplicate_window_seconds: float = Field(
        default=300,
        gt=0,
        le=86_400,
        description="how long the stream remembers a delivery's message id to drop a copy; "
        "the database recognises later copies of an order",
    )
    broker_ack_wait_seconds: float = Field(
        default=30,
        ge=1,
        le=3600,
        description="a delivery a consumer took and did not ack (it died) goes to another "
        "consumer after this long; set when the durable consumer is made",
    )
    broker_timeout_seconds: float = Field(
        default=5,
        gt=0,
        le=60,
        description="how long a channel endpoint waits for the stream to take a delivery "
        "before answering 503",
    )
    webhook_secrets: dict[str, str] = Field(
        default_factory=dict,
        description='webhook signing secrets by "channel:account", "channel" (the default '
        'account only) or "channel:*" (every account) (JSON), for '
        "POST /api/v1/channels/{channel}/webhooks",
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="a bearer token that opens GET /metrics alone (for a Prometheus scraper); "
        "without it, scraping needs an API key whose role holds the metrics permission",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1,
        description="the largest request body the HTTP API reads (bytes); larger ones are "
        "refused with 413",
    )
    idempotency_lease_seconds: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="how long a request holds its Idempotency-Key; a retry finding the key "
        "still pending after this (the request died with its process) takes it over",
    )
    api_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        description="worker threads of one API process for the work that waits on the "
        "database; requests beyond them wait their turn, first come first served",
    )
    api_key_cache_seconds: int = Field(
        default=5,
        ge=0,
        le=300,
        description="how long a server process trusts a key it has checked (0: check every "
        "request); a key revoked elsewhere stops working within this time",
    )

    notify_max_attempts: int = Field(
        default=8, ge=1, le=100, description="attempts per message before it is dead"
    )
    notify_retry_base_seconds: float = Field(
        default=30, gt=0, le=86_400, description="wait after the first failed attempt; doubles"
    )
    notify_retry_cap_seconds: float = Field(
        default=21_600, gt=0, le=604_800, description="the longest wait between attempts"
    )
    notify_lease_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="how long a worker holds the messages it claimed; it renews the hold while "
        "it works through them, so another worker sends one again (with the same webhook-id) "
        "only after the holder stopped. Longer than one send can take: the webhook timeout, "
        "and twice the SMTP timeout",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="how long a subscriber has to answer"
    )

    smtp_url: str | None = Field(
        default=None,
        description="smtp://[user:pass@]host[:port][?starttls=true] or smtps://…; customer "
        "e-mail is off without it",
    )
    mail_from: str = Field(
        default="Backorder <backorder@localhost>", description="the From of customer e-mail"
    )
    templates_dir: Path | None = Field(
        default=None,
        description="a folder whose email/*.txt and email/*.html override the built-in templates",
    )
    smtp_timeout_seconds: float = Field(default=20, gt=0, le=300)
    status_update_days: list[int] = Field(
        default_factory=lambda: [7, 14],
        description="days after the order on which a customer still waiting gets a status "
        "update (JSON list; [] for none)",
    )
    email_off: list[str] = Field(
        default_factory=list,
        description="customer e-mail milestones this deployment does not send (JSON list, "
        'e.g. ["allocated"])',
    )
    notify_fold_seconds: float = Field(
        default=60,
        ge=0,
        le=3600,
        description="a customer message waits this long, so that further changes to the same "
        "order of the same kind are folded into it (0: send at once)",
    )
    default_location: str = Field(
        default="main",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="the location stock commands and stock requests mean when none is named",
    )
    sourcing_consolidate: bool = Field(
        default=False,
        description="ship_complete orders may take units from several locations, brought "
        "together before the order ships (off: each is sourced whole from one location, and "
        "what that location lacks waits for it)",
    )
    eta_change_days: int = Field(
        default=2,
        ge=0,
        le=365,
        description="a backordered line's expected date that moves by more than this many days "
        "from the date the customer was last told is an eta_changed event (and a message)",
    )

    sms_url: str = Field(
        default="https://api.twilio.com",
        description="base URL of the SMS provider's Twilio-style Messages API",
    )
    sms_account_sid: str | None = Field(
        default=None, description="the provider account (Twilio: AC…); SMS is off without it"
    )
    sms_auth_token: str | None = Field(default=None, description="the account's auth token")
    sms_from: str | None = Field(
        default=None, description="the sending number (E.164) or messaging service (MG…)"
    )
    sms_off: list[str] = Field(
        default_factory=list,
        description="customer SMS milestones this deployment does not send (JSON list)",
    )
    sms_threshold: Decimal | None = Field(
        default=None,
        ge=0,
        description="the warehouse manager gets an SMS when an order's backordered value "
        "exceeds this (in the order's currency); off when empty",
    )
    manager_phone: str | None = Field(
        default=None, description="the warehouse manager's mobile number (E.164)"
    )
    manager_email: list[str] = Field(
        default_factory=list, description="the warehouse manager's e-mail (JSON list)"
    )
    sales_email: list[str] = Field(
        default_factory=list,
        description="where staff alerts for the sales team go: stock arrived for waiting "
        "orders, SKUs sold out while orders still come (JSON list)",
    )
    procurement_email: list[str] = Field(
        default_factory=list,
        description="where staff alerts for procurement go: low stock, SKUs sold out while "
        "orders still come (JSON list)",
    )
    alert_stock_below: int | None = Field(
        default=None,
        ge=1,
        description="alert procurement when a SKU's available stock falls below this, and "
        "again when it is back; off when empty",
    )
    risk_alert_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="alert procurement (risk_high) when a SKU's backorder-risk score rises "
        "above this probability, and resolve it when the score falls back",
    )
    risk_retrain_min_outcomes: int = Field(
        default=30,
        ge=10,
        description="retrain the backorder-risk model on our own history once it holds at "
        "least this many weekly SKU snapshots that went on backorder within 8 weeks, and as "
        "many that did not",
    )
    risk_retrain_days: int = Field(
        default=7, ge=1, description="the worker retrains the risk model at most this often"
    )

    service_level: float = Field(
        default=0.95,
        ge=0.5,
        lt=1,
        description="safety stock: the service level (chance a replenishment cycle does not "
        "run out) of a SKU whose class has none of its own in BACKORDER_SERVICE_LEVELS",
    )
    service_levels: dict[str, float] = Field(
        default_factory=dict,
        description="safety stock: the service level per ABC class by the value of demand, "
        'e.g. {"A": 0.98, "B": 0.95, "C": 0.9} (JSON; A: the SKUs making the first 80 % of '
        "the value of forecast demand, B: the next 15 %, C: the rest)",
    )
    shortage_weeks: int = Field(
        default=8,
        ge=1,
        le=52,
        description="coming shortages: SKUs projected to stock out within this many weeks "
        "are alerted (stockout_projected) and listed on the dashboard",
    )

    currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="the business's own currency (ISO 4217): product prices and supplier "
        "costs are in it, and recommendations and the simulator count money in it",
    )
    replenish_review_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="restock recommendations: an order covers demand up to the next review "
        "this many days after it arrives, plus the safety stock",
    )
    backorder_cost_share: Decimal = Field(
        default=Decimal("0.25"),
        ge=0,
        le=1,
        description="restock recommendations: what a unit on backorder costs the business, as "
        "a share of its price (the margin at risk and the cost of serving it late); weighs a "
        "supplier's expected lateness against its price",
    )
    transfer_days: int = Field(
        default=3,
        ge=0,
        le=90,
        description="restock recommendations: days a transfer between locations takes",
    )
    transfer_unit_cost: Decimal = Field(
        default=Decimal("0"),
        ge=0,
        description="restock recommendations: what moving one unit between locations costs",
    )
    auto_order: bool = Field(
        default=False,
        description="automatic purchase orders: the worker accepts every proposed purchase "
        "recommendation whose value the approval policy approves (BACKORDER_AUTO_APPROVE_"
        "LIMIT(S) or the supplier's own limit), and the purchase order goes to the supplier "
        "without a person; over the limit it waits for one",
    )
    auto_approve_limit: Decimal | None = Field(
        default=None,
        ge=0,
        description="automatic purchase orders: a draft purchase order worth at most this "
        "(in BACKORDER_CURRENCY) is approved and sent without a person; above it, a task for "
        "the procurement manager. Empty: every one waits for a person",
    )
    auto_approve_limits: dict[str, Decimal] = Field(
        default_factory=dict,
        description="automatic purchase orders: the limit per ABC class of the SKU, e.g. "
        '{"A": 500, "C": 2000} (JSON); a supplier\'s own limit, where set, wins',
    )
    substitute_offer_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="substitutes (opt-in): a line waiting longer than this many days is "
        "offered its SKU's substitute in the customer's e-mail and on the order page. Empty: "
        "never offered",
    )

    delay_options: bool = Field(
        default=False,
        description="the delay-option policy (US FTC Mail, Internet or Telephone Order Rule): "
        "a line slips as soon as its date cannot be met (30 days from the order when none was "
        "stated), and its delay notice offers to accept the delay or cancel for a refund",
    )
    delay_answer_days: int = Field(
        default=7, ge=1, le=90, description="a delay notice gives at least this long to answer"
    )
    delay_slack_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="the revised date of a line whose supply is already late: today + this",
    )
    review_at: time = Field(
        default=time(6, 0),
        description="when (UTC, HH:MM) the worker runs the daily review of late backorders",
    )
    task_due_days: int = Field(
        default=1, ge=0, le=90, description="a task the daily review opens is due this many days on"
    )

    report_email: list[str] = Field(
        default_factory=list,
        description="who gets the weekly report by e-mail (JSON list)",
    )
    report_day: int = Field(
        default=1,
        ge=1,
        le=7,
        description="the weekday the worker sends the weekly report (1: Monday)",
    )
    report_at: time = Field(
        default=time(7, 0), description="when (UTC, HH:MM) on that day the weekly report goes out"
    )

    forecast_at: time = Field(
        default=time(2, 0),
        description="when (UTC, HH:MM) the worker recomputes the demand forecasts, once a day",
    )
    forecast_horizon_weeks: int = Field(
        default=26, ge=1, le=104, description="how many weeks ahead the stored forecasts reach"
    )
    forecast_history_weeks: int = Field(
        default=156, ge=8, le=520, description="how many weeks of demand a forecast learns from"
    )

    target_backorder_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="KPI target: backorder rate at most this; off when empty",
    )
    target_conversion_rate: float | None = Field(
        default=0.95, ge=0, le=1, description="KPI target: backorder conversion rate at least this"
    )
    target_backorder_days: float | None = Field(
        default=7, ge=0, description="KPI target: average backorder duration (days) at most this"
    )
    target_fill_days: float | None = Field(
        default=14, ge=0, description="KPI target: average fill time (days) at most this"
    )
    target_cancel_rate: float | None = Field(
        default=0.05, ge=0, le=1, description="KPI target: backorder cancel rate at most this"
    )
    target_fulfillment_accuracy: float | None = Field(
        default=1.0, ge=0, le=1, description="KPI target: fulfilment accuracy at least this"
    )
    target_promise_accuracy: float | None = Field(
        default=0.9,
        ge=0,
        le=1,
        description="KPI target: share of lines allocated by their promised date, at least this",
    )

    stream_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="how often GET /events/stream looks for new events for each client",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        """A worker renews its hold on the messages it claimed while it works through them,
        when what is left of the hold could not cover one more send: a hold shorter than one
        send could lapse mid-send, and another worker would send that message again."""
        send = max(self.webhook_timeout_seconds, 2 * self.smtp_timeout_seconds)
        if self.notify_lease_seconds <= send:
            raise ValueError(
                f"BACKORDER_NOTIFY_LEASE_SECONDS ({self.notify_lease_seconds}) must be longer "
                f"than one send can take ({send:g} s: BACKORDER_WEBHOOK_TIMEOUT_SECONDS, and "
                "twice BACKORDER_SMTP_TIMEOUT_SECONDS)"
            )
        return self

    @field_validator("read_database_url", mode="before")
    @classmethod
    def _a_replica(cls, value: object) -> object:
        """A read replica is a PostgreSQL standby (SQLite has none): a setting that would be
        ignored is refused instead. (The primary is checked where it is opened, Database,
        since --db may name another.)"""
        if value in ("", None):
            return None
        if not str(value).startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError(
                "a read replica is a PostgreSQL standby: give a postgresql:// URL, or leave it "
                "empty (SQLite has no replicas)"
            )
        return value

    @field_validator("priority_rules")
    @classmethod
    def _known_rules(cls, rules: list[str]) -> list[str]:
        unknown = [name for name in rules if name not in RULES]
        if unknown:
            raise ValueError(f"unknown priority rule(s) {unknown}; known: {sorted(RULES)}")
        if len(set(rules)) != len(rules):
            raise ValueError("priority rules must not repeat")
        return rules

    @field_validator("service_levels")
    @classmethod
    def _abc_levels(cls, levels: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(levels) - {"A", "B", "C"})
        if unknown:
            raise ValueError(f"service levels are per class A, B or C (not {unknown})")
        wrong = {k: v for k, v in levels.items() if not 0.5 <= v < 1}
        if wrong:
            raise ValueError(f"a service level is at least 0.5 and below 1 (got {wrong})")
        return levels

    @field_validator("auto_approve_limits")
    @classmethod
    def _abc_limits(cls, limits: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(limits) - {"A", "B", "C"})
        if unknown:
            raise ValueError(f"approval limits are per class A, B or C (not {unknown})")
        negative = {k: str(v) for k, v in limits.items() if v < 0}
        if negative:
            raise ValueError(f"an approval limit cannot be below 0 (got {negative})")
        return limits

    @field_validator("email_off", "sms_off")
    @classmethod
    def _known_milestones(cls, kinds: list[str]) -> list[str]:
        unknown = [kind for kind in kinds if kind not in EMAIL_KINDS]
        if unknown:
            raise ValueError(f"unknown e-mail milestone(s) {unknown}; known: {list(EMAIL_KINDS)}")
        return kinds

    @field_validator(
        "sms_threshold",
        "metrics_token",
        "alert_stock_below",
        "manager_phone",
        "target_backorder_rate",
        "target_conversion_rate",
        "target_backorder_days",
        "target_fill_days",
        "target_cancel_rate",
        "target_fulfillment_accuracy",
        "target_promise_accuracy",
        "shop_logo_url",
        "shop_support_email",
        "broker_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("broker_url")
    @classmethod
    def _a_broker_client(cls, value: str | None) -> str | None:
        """A broker needs its client library, the `broker` extra: without it the setting is
        refused here, in one line, rather than failing at the first delivery."""
        if value is not None and importlib.util.find_spec("nats") is None:
            raise ValueError("a broker needs its client: pip install 'backorder[broker]' (nats-py)")
        return value

    @field_validator("shop_support_email")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if value is not None and not is_address(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("shop_language")
    @classmethod
    def _a_language(cls, value: str) -> str:
        if not knows_language(value):
            raise ValueError(f"{value!r} is not a language we have words for (e.g. en, en-GB, de)")
        return value

    @field_validator("priority_aging_days", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value in ("", "off", "none", 0, "0") else value

    @field_validator("priority_aging_days")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must be a positive number of days, or empty to switch aging off")
        return value

    @property
    def ship_complete(self) -> ShipComplete:
        """Where a ship_complete order's units may come from."""
        if self.sourcing_consolidate:
            return ShipComplete.CONSOLIDATE
        return ShipComplete.ONE_LOCATION

    def ranking(self, strategy: QueueStrategy) -> Ranking:
        if strategy is QueueStrategy.FIFO:
            return Ranking(QueueStrategy.FIFO, (), None)
        return Ranking(strategy, tuple(self.priority_rules), self.priority_aging_days)
