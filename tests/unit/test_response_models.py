"""Every value the services can put in an answer is one its response model allows.

A response model is checked on the way out, after the use case committed: a value it does
not know turns a change that was made into a 500 (an order whose stock came from `stock
set` once did, on GET, cancel and ship). So every closed set of values in the models (a
Literal or an enum) is compared here with the code's own constant for it: the enum the
services write, the tuple the tables' check constraints are built from, or the constraint
itself. A new field with a closed set of values must be named here, or this test fails."""

from __future__ import annotations

import enum
import inspect
import re
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from backorder.api import app as _app  # noqa: F401  (loads every router and its models)
from backorder.api.responses import Out
from backorder.domain.alerts import ALERT_KINDS
from backorder.domain.demand import DEMAND_CLASSES
from backorder.domain.model import (
    AllocationSource,
    LineStatus,
    PaymentTiming,
    Policy,
    Preference,
    QueueStrategy,
    ShippingMethod,
    Tier,
)
from backorder.domain.periods import PERIOD_KINDS
from backorder.domain.safety_stock import LEAD_SOURCES, METHODS
from backorder.domain.self_healing import WAYS as SLIP_WAYS
from backorder.intake.rules import Severity
from backorder.notify.purchase_orders import FORMATS as PO_FORMATS
from backorder.notify.shipping_orders import FORMATS as SHIPPING_ORDER_FORMATS
from backorder.services.foresight_plan import ABC_CLASSES
from backorder.services.kpis import Dimension
from backorder.services.locations import KINDS as LOCATION_KINDS
from backorder.services.po_approval import APPROVALS as PO_APPROVALS
from backorder.services.po_sending import CHANNEL as PO_CHANNEL
from backorder.services.preferences import CHANNELS
from backorder.services.review import OVERDUE
from backorder.services.shipping_orders import CHANNEL as SHIPPING_ORDERS_CHANNEL
from backorder.services.subscriptions import FORMATS
from backorder.services.tasks import TASK_ROLES, TASK_STATES
from backorder.store.tables import (
    ALERT_STATES,
    DELAY_OUTCOMES,
    DELIVERY_STATES,
    PO_STATES,
    RECOMMENDATION_STATES,
    TASK_KINDS,
    TRANSFER_STATES,
    metadata,
)


def constrained(table: str, column: str) -> set[str]:
    """The values a table's check constraint `column IN (...)` allows."""
    for constraint in metadata.tables[table].constraints:
        text = str(getattr(constraint, "sqltext", ""))
        match = re.fullmatch(rf"{column} IN \((.*)\)", text)
        if match:
            return set(re.findall(r"'([^']*)'", match[1]))
    raise AssertionError(f"no check constraint on {table}.{column}")


# (model, field) -> every value the code can write there, from the code's own constant.
PRODUCED: dict[tuple[str, str], set[Any]] = {
    ("AllocationOut", "source"): set(AllocationSource),
    ("LocationOut", "kind"): set(LOCATION_KINDS),
    ("LocationOut", "orders_format"): set(SHIPPING_ORDER_FORMATS),
    ("LocationSavedOut", "kind"): set(LOCATION_KINDS),
    ("LocationSavedOut", "orders_format"): set(SHIPPING_ORDER_FORMATS),
    ("LineOut", "status"): set(LineStatus),
    ("LineOut", "checked_status"): {OVERDUE},
    ("OrderOut", "status"): set(LineStatus),
    ("OrderOut", "payment_timing"): set(PaymentTiming),
    ("CustomerOut", "tier"): set(Tier),
    ("ShippingOut", "method"): set(ShippingMethod),
    ("ShippingOut", "preference"): set(Preference),
    ("DelayNoticeOut", "consent"): constrained("delay_notices", "consent"),
    ("DelayNoticeOut", "outcome"): set(DELAY_OUTCOMES),
    ("SubstituteOfferOut", "state"): constrained("substitute_offers", "state"),
    ("CustomerLineOut", "status"): set(LineStatus),
    ("CustomerOrderOut", "status"): set(LineStatus),
    ("ProductOut", "policy"): set(Policy),
    ("ProductSummaryOut", "policy"): constrained("products", "policy"),
    ("OrderSummaryOut", "status"): set(LineStatus),
    ("ProductOut", "queue"): set(QueueStrategy),
    ("QueueEntryOut", "tier"): set(Tier),
    ("QueueOut", "strategy"): set(QueueStrategy),
    ("BackorderOut", "tier"): set(Tier),
    ("RuleOut", "severity"): set(Severity),
    ("RuleSettingOut", "severity"): set(Severity),
    ("WebhookOut", "format"): set(FORMATS),
    ("WebhookCreatedOut", "format"): set(FORMATS),
    ("DeliveryOut", "channel"): {"webhook", SHIPPING_ORDERS_CHANNEL, PO_CHANNEL, *CHANNELS},
    ("DeliveryOut", "state"): set(DELIVERY_STATES) | constrained("deliveries", "state"),
    ("AlertOut", "kind"): set(ALERT_KINDS),
    ("AlertOut", "state"): set(ALERT_STATES) | constrained("alerts", "state"),
    ("PurchaseOrderOut", "state"): set(PO_STATES),
    ("PurchaseOrderOut", "origin"): {"manual", "recommendation"},
    ("PurchaseOrderOut", "approval"): set(PO_APPROVALS),
    ("SupplierOut", "po_format"): set(PO_FORMATS),
    ("SupplierDetailOut", "po_format"): set(PO_FORMATS),
    ("TransferOut", "state"): set(TRANSFER_STATES),
    ("KpiReportOut", "by"): set(Dimension),
    ("ForecastOut", "demand_class"): set(DEMAND_CLASSES),
    ("DemandOut", "by"): set(PERIOD_KINDS),
    ("TaskOut", "kind"): set(TASK_KINDS),
    ("TaskOut", "role"): set(TASK_ROLES) | constrained("tasks", "role"),
    ("TaskOut", "state"): set(TASK_STATES) | constrained("tasks", "state"),
    ("SafetyStockOut", "abc_class"): set(ABC_CLASSES),
    ("SafetyStockOut", "method"): set(METHODS),
    ("SafetyStockOut", "lead_time_source"): set(LEAD_SOURCES),
    ("RecommendationOut", "state"): set(RECOMMENDATION_STATES)
    | constrained("recommendations", "state"),
    ("RecommendationOut", "kind"): constrained("recommendations", "kind"),
    ("RecommendationOut", "cause"): constrained("recommendations", "cause"),
    ("SlipOptionOut", "kind"): set(SLIP_WAYS),
}
# Values written in one place only, beside the model that names them (no constant to read).
WRITTEN_WITH_THE_ANSWER = {
    ("BackorderOut", "status"),  # views: "partial" if anything is allocated, else "waiting"
    ("UnsubscribedOut", "email"),  # the route's own literal
    ("PreferencesOut", "channels"),  # preferences: in, out or default per channel
    ("Health", "status"),
    ("Ready", "status"),
    ("TaskOut", "done_by"),  # tasks: "staff" (task done) or "review" (nothing late any more)
}


def _closed_sets(annotation: Any) -> Iterator[set[Any]]:
    """The closed sets of values inside an annotation (Literal[...] or an enum)."""
    if typing.get_origin(annotation) is typing.Literal:
        yield set(typing.get_args(annotation))
    elif inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        yield set(annotation)
    else:
        for argument in typing.get_args(annotation):
            yield from _closed_sets(argument)


def _models() -> Iterator[type[BaseModel]]:
    waiting: list[type[BaseModel]] = [Out]
    while waiting:
        model = waiting.pop()
        waiting.extend(model.__subclasses__())
        yield model


def test_every_value_the_services_produce_is_one_the_response_models_allow() -> None:
    seen = set()
    for model in _models():
        for name, field in model.model_fields.items():
            allowed = [values for values in _closed_sets(field.annotation)]
            if not allowed:
                continue
            key = (model.__name__, name)
            seen.add(key)
            if key in WRITTEN_WITH_THE_ANSWER:
                continue
            assert key in PRODUCED, f"{key}: name the constant its values come from"
            missing = PRODUCED[key] - set().union(*allowed)
            assert not missing, f"{key} refuses {sorted(map(str, missing))}"
    assert seen >= PRODUCED.keys() | WRITTEN_WITH_THE_ANSWER  # nothing named here went away
