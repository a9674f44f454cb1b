"""The `backorder` command. Every read command takes --json and then prints one JSON
document; errors print one clear line to stderr, exit non-zero and change nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from backorder.cli import (
    catalog,
    consume,
    forecast,
    history,
    intake,
    keys,
    kpi,
    listing,
    locations,
    notify,
    orders,
    plan,
    product_suppliers,
    replenish,
    replenish_decisions,
    replenish_options,
    report,
    review,
    risk,
    simulate,
    substitutes,
    supply,
    transfers,
)
from backorder.cli.common import (
    BackorderGroup,
    State,
    out,
    state_of,
)
from backorder.config import Settings
from backorder.demo import run_demo
from backorder.domain.errors import InvalidRequest

app = typer.Typer(
    cls=BackorderGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Backorder: take orders from every channel, queue what waits, serve it fairly.",
)
app.add_typer(catalog.db_app, name="db")
app.add_typer(catalog.product_app, name="product")
catalog.product_app.command("list")(listing.product_list)
catalog.product_app.add_typer(product_suppliers.supplier_terms_app, name="supplier")
catalog.product_app.add_typer(substitutes.substitute_app, name="substitute")
app.add_typer(catalog.stock_app, name="stock")
app.add_typer(orders.order_app, name="order")
orders.order_app.command("list")(listing.order_list)
app.command("queue")(orders.queue)
app.add_typer(keys.apikey_app, name="apikey")
app.command("serve")(keys.serve)
app.command("rerank")(orders.rerank)
app.command("events")(orders.list_events)
app.add_typer(orders.consumer_app, name="consumers")
app.command("ingest")(intake.ingest_command)
app.add_typer(intake.intake_app, name="intake")
intake.intake_app.command("consume")(consume.consume_command)
app.add_typer(intake.sku_app, name="sku")
app.add_typer(notify.webhook_app, name="webhook")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(notify.customer_app, name="customer")
app.add_typer(notify.alert_app, name="alert")
app.command("worker")(notify.worker)
app.add_typer(supply.supplier_app, name="supplier")
app.add_typer(locations.location_app, name="location")
app.add_typer(transfers.transfer_app, name="transfer")
app.add_typer(supply.po_app, name="po")
app.command("atp")(supply.atp)
app.command("review")(review.review)
app.add_typer(review.task_app, name="task")
app.add_typer(review.incident_app, name="incident")
app.command("kpi")(kpi.kpi)
app.command("simulate")(simulate.simulate_command)
app.add_typer(report.report_app, name="report")
app.add_typer(forecast.forecast_app, name="forecast")
app.command("shortages")(plan.shortages_command)
app.command("projection")(plan.projection_command)
app.add_typer(replenish.replenish_app, name="replenish")
replenish.replenish_app.command("accept")(replenish_decisions.replenish_accept)
replenish.replenish_app.command("reject")(replenish_decisions.replenish_reject)
replenish.replenish_app.command("options")(replenish_options.replenish_options)
app.add_typer(history.history_app, name="history")
app.add_typer(risk.risk_app, name="risk")


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (default: $BACKORDER_DATABASE_URL or sqlite:///backorder.db)"
        ),
    ] = None,
) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    ctx.obj = State(settings, db or settings.database_url)
    ctx.call_on_close(lambda: ctx.obj.opened.close() if ctx.obj.opened else None)


@app.command("demo")
def demo(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option(help="SQLite file to build (replaced).")] = Path(
        "backorder-demo.db"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Build a realistic store in a fresh SQLite file and run it through the engine.
    The file is replaced on every run; a file that is not a demo database is refused."""
    if ctx.find_root().params.get("db"):
        raise InvalidRequest("the demo builds its own SQLite file: use --file, not --db")
    run_demo(state_of(ctx).settings, file, seed, out)


def main() -> None:
    app()
