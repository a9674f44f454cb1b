"""`backorder review`, `backorder task …` and `backorder incident …`: the daily review of late
backorders and the work it hands to people."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from backorder.cli.common import (
    BackorderGroup,
    JsonFlag,
    emit,
    figure,
    ident,
    out,
    parse_date,
    state_of,
    table,
)
from backorder.cli.replenish_options import bullet, dates_table
from backorder.domain.errors import InvalidRequest
from backorder.services.review import run_review
from backorder.services.tasks import finish_task, get_task, list_incidents, list_tasks
from backorder.words import count

task_app = typer.Typer(cls=BackorderGroup, no_args_is_help=True, help="Tasks for people.")
incident_app = typer.Typer(cls=BackorderGroup, no_args_is_help=True, help="The incident log.")


def parse_now(text: str, at: time) -> datetime:
    """A review's moment: a date (at the configured review time, UTC) or a date and time
    (UTC unless it says otherwise)."""
    try:
        if len(text) == 10:
            return datetime.combine(datetime.fromisoformat(text).date(), at, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def review(
    ctx: typer.Context,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO-DATE",
            help="Review as of this day (or date-time); default: now. For catching up and "
            "for rehearsals.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the daily review of late backorders: overdue lines and the money at risk, tasks
    for procurement and inventory, the incident log, delay notices to customers, the
    manager's alert. Running it again on the same day changes nothing."""
    state = state_of(ctx)
    app = state.app()
    if now is not None:
        moment = parse_now(now, state.settings.review_at)
        app.clock = lambda: moment
    result = run_review(app)
    if as_json:
        emit(result)
        return
    out.print(
        f"{result['day']}: {count(result['overdue_lines'], 'overdue line')}, "
        f"{result['value_at_risk']} at risk; {count(result['tasks_opened'], 'task')} opened, "
        f"{count(result['incidents'], 'incident')} logged, "
        f"{count(result['customers_notified'], 'customer')} sent a delay notice, manager "
        f"alerted of {count(result['manager_alerted'], 'order')}, {result['cleared']} cleared",
        markup=False,
    )
    settled = {k: v for k, v in result["delays_settled"].items() if v}
    if settled:
        out.print(
            "delays settled: " + ", ".join(f"{k} {v}" for k, v in settled.items()), markup=False
        )


def _task_table(rows: list[dict[str, Any]]) -> Table:
    grid = table(
        figure("id"),
        Column("role"),
        ident("SKU", [row["sku"] for row in rows]),
        Column("due", min_width=10, overflow="fold"),
        Column("state"),
        Column("task", ratio=1),
    )
    for row in rows:
        grid.add_row(
            str(row["id"]), row["role"], row["sku"], row["due_on"], row["state"], row["title"]
        )
    return grid


@task_app.command("list")
def task_list(
    ctx: typer.Context,
    role: Annotated[
        str | None, typer.Option(help="procurement or inventory (default: both).")
    ] = None,
    status: Annotated[str, typer.Option(help="open, done or all.")] = "open",
    as_json: JsonFlag = False,
) -> None:
    """Tasks the daily review opened, soonest due first."""
    rows = list_tasks(state_of(ctx).app(), role, None if status == "all" else status)
    if as_json:
        emit(rows)
    elif rows:
        out.print(_task_table(rows))
    else:
        out.print(f"no {status} tasks" if status != "all" else "no tasks", markup=False)


def _inbound(entry: dict[str, Any]) -> str:
    what = entry["po"] if "po" in entry else f"transfer {entry.get('transfer')}"
    return f"{what}: {count(entry['units'], 'unit')} expected {entry['expected_on']}"


@task_app.command("show")
def task_show(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    as_json: JsonFlag = False,
) -> None:
    """A task with its facts: the plan, and for a procurement review the ways out of the
    slip with the dates each gives the late orders."""
    view = get_task(state_of(ctx).app(), task_id)
    if as_json:
        emit(view)
        return
    out.print(f"task {view['id']} ({view['role']}, {view['state']}, due {view['due_on']})")
    out.print(view["title"], markup=False)
    out.print("orders: " + ", ".join(view["orders"]), markup=False)
    facts = view["facts"]
    for heading, key in (("plan", "plan"), ("options", "options"), ("past due", "past_due")):
        if facts.get(key):
            out.print(f"{heading}:", markup=False)
            for step in facts[key]:
                text = step if isinstance(step, str) else _inbound(step)
                bullet(text, "  ")
    if facts.get("self_healing"):
        out.print(dates_table(facts["self_healing"]))


@task_app.command("done")
def task_done(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a task done."""
    view = finish_task(state_of(ctx).app(), task_id, note)
    if as_json:
        emit(view)
    else:
        out.print(f"task {view['id']} done: {view['title']}", markup=False)


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    sku: Annotated[str | None, typer.Option(help="Only this SKU.")] = None,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The incident log of the daily review, newest first."""
    rows = list_incidents(state_of(ctx).app(), sku, parse_date(since))
    if as_json:
        emit(rows)
        return
    if not rows:
        out.print("no incidents", markup=False)
        return
    for row in rows:
        out.print(f"{row['day']} {row['sku']}: {row['summary']}", markup=False)
        for step in row["plan"]:
            out.print(f"  - {step}", markup=False)
