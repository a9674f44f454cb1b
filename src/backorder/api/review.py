"""Routes of the daily review: run it, its tasks and incident log, the days it ran; and the
customer's answer to a delay notice (JSON; the page the notice's links open is customer.py's)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BeforeValidator, Field

from backorder.api.auth import need
from backorder.api.responses import Day as DayOut
from backorder.api.responses import DelayNoticeOut, Out, Timestamp
from backorder.api.routes import (
    CONFLICT,
    CUSTOMER_ERRORS,
    ERRORS,
    App,
    Reader,
    Ref,
    Token,
    _problem,
)
from backorder.api.schemas import Body
from backorder.domain.access import Permission, Role
from backorder.services.customer_links import customer_answer, customer_delay
from backorder.services.review import review_days, run_review
from backorder.services.tasks import finish_task, list_incidents, list_tasks

router = APIRouter(prefix="/api/v1")

Reviewer = Annotated[Role, Depends(need(Permission.REVIEW))]
TaskId = Annotated[int, Path(ge=1, le=2**53 - 1, description="the task's id")]
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_day(value: Any) -> Any:
    """A day as YYYY-MM-DD only (lax parsing would take "0" as 1 January 1970)."""
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("expected a date, YYYY-MM-DD")
    return value


DayQuery = Annotated[date, BeforeValidator(_iso_day)]
NOTHING: dict[int | str, dict[str, Any]] = {CONFLICT: _problem("No delay waits for an answer")}


class ReviewLineOut(Out):
    order: str
    sku: str
    backordered: int
    value: str
    promised: DayOut
    eta: DayOut | None
    delay_days: int


class ReviewOut(Out):
    day: DayOut
    overdue_lines: int = Field(description="waiting lines whose promised date has passed")
    value_at_risk: str = Field(description="their backordered value")
    tasks_opened: int
    incidents: int = Field(description="incident log entries written")
    customers_notified: int = Field(description="orders sent a delay notice")
    manager_alerted: int = Field(description="costly late orders the manager was alerted of")
    cleared: int = Field(description="tasks closed and alerts resolved: nothing late any more")
    delays_settled: dict[str, int] = Field(
        description="notices past their answer date: consented, lapsed (cancelled), moot"
    )
    lines: list[ReviewLineOut]


class ReviewDayOut(Out):
    day: DayOut
    ran_at: Timestamp
    overdue_lines: int
    value_at_risk: str
    skus: int


class TaskLinks(Out):
    product: str
    queue: str
    orders: list[str]
    purchase_orders: list[str]


class TaskOut(Out):
    id: int
    kind: Literal["procurement_review", "correct_inbound", "approve_po"]
    role: Literal["procurement", "inventory"]
    sku: str
    state: Literal["open", "done"]
    title: str
    due_on: DayOut
    orders: list[str]
    facts: dict[str, Any] = Field(description="what the review found: lines, value, supply")
    links: TaskLinks
    opened_at: Timestamp
    done_at: Timestamp | None
    done_by: Literal["staff", "review"] | None
    note: str | None


class TaskDoneIn(Body):
    note: Annotated[str, Field(max_length=2000)] | None = None


class IncidentOut(Out):
    id: int
    sku: str
    day: DayOut
    summary: str
    lines: int
    orders: list[str]
    units: int
    value: str
    max_delay_days: int
    new_eta: DayOut | None
    supplier: str | None
    plan: list[str] = Field(description="the mitigation plan, most direct step first")
    created_at: Timestamp


class CustomerDelayOut(Out):
    ref: str
    delays: list[DelayNoticeOut]
    can_accept: bool
    can_cancel: bool


class AnsweredOut(Out):
    ref: str
    lines: int = Field(description="lines whose delay was accepted, or that were cancelled")
    delays: list[DelayNoticeOut]


@router.post("/reviews", tags=["review"], response_model=ReviewOut, responses=ERRORS)
def post_review(app: App, _: Reviewer) -> dict[str, Any]:
    """Run the daily review now (the worker runs it every day at BACKORDER_REVIEW_AT). A
    second run on the same day changes nothing."""
    return run_review(app)


@router.get("/reviews", tags=["review"], response_model=list[ReviewDayOut], responses=ERRORS)
def get_reviews(
    app: App,
    _: Reader,
    since: Annotated[DayQuery | None, Query(description="from this day")] = None,
) -> list[dict[str, Any]]:
    """The days the review ran, newest first, with the day's figures."""
    return review_days(app, since)


@router.get("/tasks", tags=["review"], response_model=list[TaskOut], responses=ERRORS)
def get_tasks(
    app: App,
    _: Reader,
    role: Annotated[Literal["procurement", "inventory"] | None, Query()] = None,
    status: Annotated[Literal["open", "done", "all"], Query()] = "open",
) -> list[dict[str, Any]]:
    """Tasks the daily review opened, soonest due first."""
    return list_tasks(app, role, None if status == "all" else status)


@router.post("/tasks/{task}/done", tags=["review"], response_model=TaskOut, responses=ERRORS)
def post_task_done(task: TaskId, body: TaskDoneIn, app: App, _: Reviewer) -> dict[str, Any]:
    """Mark a task done, with what was done."""
    return finish_task(app, task, body.note)


@router.get("/incidents", tags=["review"], response_model=list[IncidentOut], responses=ERRORS)
def get_incidents(
    app: App,
    _: Reader,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[DayQuery | None, Query(description="from this day")] = None,
) -> list[dict[str, Any]]:
    """The incident log, newest first."""
    return list_incidents(app, sku, since)


@router.get(
    "/customer/orders/{ref}/delay",
    tags=["customers"],
    response_model=CustomerDelayOut,
    responses=CUSTOMER_ERRORS,
)
def get_customer_delay(ref: Ref, token: Token, app: App) -> dict[str, Any]:
    """The order's delay notices as its customer sees them (authenticated by the link)."""
    return customer_delay(app, ref, token)


@router.post(
    "/customer/orders/{ref}/delay/{choice}",
    tags=["customers"],
    response_model=AnsweredOut,
    responses=CUSTOMER_ERRORS | NOTHING,
)
def post_customer_delay(
    ref: Ref, choice: Literal["accept", "cancel"], token: Token, app: App
) -> dict[str, Any]:
    """The customer accepts the delay, or cancels the delayed lines for a refund."""
    lines = customer_answer(app, ref, token, choice)
    return {"ref": ref, "lines": lines, "delays": customer_delay(app, ref, token)["delays"]}
