"""The worker: what it does in one pass, and how it keeps going.

A pass runs the daily review and publishes the weekly report when they are due,
recomputes the demand forecasts once a night (skipped without the forecast extra),
refreshes the projections and re-plans the restock recommendations, rolls up
the KPI facts of closed days, plans new events into messages, sends what is due and drains
the intake. The steps are independent: one that fails (a bug, a record its code cannot
read) is logged and counted, and the others still run; the next pass tries it again. The
database being away (a restart, a failover) stops the pass, and the loop waits, longer each
time, and carries on when the database is back, without a supervisor restarting it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from tenacity import RetryCallState, Retrying, retry_if_exception, wait_random_exponential

from backorder import foresight
from backorder.services import risk
from backorder.services.auto_orders import place_within_limits
from backorder.services.context import Backorder
from backorder.services.faults import describe
from backorder.services.forecast_nightly import run_nightly as forecast_nightly
from backorder.services.foresight_plan import changed_skus, due, keep_position, refresh
from backorder.services.ingest import drain
from backorder.services.planning import plan
from backorder.services.replenishment import plan as replenish
from backorder.services.report import run_weekly
from backorder.services.review import run_daily
from backorder.services.rollup import roll_up
from backorder.services.sending import send_due
from backorder.services.shipping_orders import plan_shipping_orders
from backorder.services.substitute_offers import run_offers
from backorder.store.db import unavailable

log = logging.getLogger(__name__)

# Waits between passes while the database is away: up to half a second, then a second, two,
# ... at most 30 s, each drawn at random below its bound (full jitter), so that workers
# cut off together do not all knock at once when the database is back.
DATABASE_WAIT = wait_random_exponential(multiplier=0.5, max=30)


@dataclass
class Pass:
    """What one pass did (counts by what happened) and the steps that failed, each with why."""

    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        return any(self.counts.values()) or bool(self.failures)

    def report(self) -> dict[str, int]:
        """The counts, and `errors` when a step failed."""
        return self.counts | ({"errors": len(self.failures)} if self.failures else {})


def _steps() -> list[tuple[str, Callable[[Backorder], dict[str, int]]]]:
    return [
        ("reviewed", lambda app: {"reviewed": int(run_daily(app))}),
        ("reported", lambda app: {"reported": int(run_weekly(app))}),
        ("forecasted", forecast_nightly),
        ("projections", _plan),
        ("auto_ordered", place_within_limits),
        ("risk", _risk),
        ("rolled_up", lambda app: {"rolled_up": roll_up(app)}),
        ("substitutes", run_offers),
        ("planned", lambda app: {"planned": plan(app)}),
        ("shipping_orders", _shipping_orders),
        ("sent", lambda app: {k.replace(" ", "_"): v for k, v in send_due(app).items()}),
        ("intake", lambda app: {"intake": len(drain(app, limit=500))}),
        ("consumed", _consumed),
    ]


def _consumed(app: Backorder) -> dict[str, int]:
    """With a broker (BACKORDER_BROKER_URL): the messages its intake stream holds, taken in
    (for at most CONSUME_SECONDS); reported only then."""
    if not app.settings.broker_url:
        return {}
    from backorder.broker.consumer import consume_pass  # nats-py: loaded only with a broker

    return {"consumed": consume_pass(app, batch=100, seconds=CONSUME_SECONDS)}


CONSUME_SECONDS = 10.0  # a pass's share of the broker's stream, at most
_told: set[str] = set()


def _risk(app: Backorder) -> dict[str, int]:
    """Backorder risk, nightly: retrain on our history when due, score every SKU. Without
    the forecast extra: skipped, said once per process."""
    if not foresight.available():
        if "risk" not in _told:
            _told.add("risk")
            log.info("risk step skipped: %s", foresight.ForesightUnavailable("backorder risk"))
        return {}
    return risk.nightly(app)


def _shipping_orders(app: Backorder) -> dict[str, int]:
    """Shipping orders planned for 3PLs; reported only when there were some."""
    made = plan_shipping_orders(app)
    return {"shipping_orders": made} if made else {}


# The plan (safety stock, projected stockouts, their alerts) is refreshed when forecasts were
# stored since, and at least this often, as stock and purchase orders move.
PLAN_EVERY = timedelta(hours=1)


def _plan(app: Backorder) -> dict[str, int]:
    """Safety stock and projections refreshed when due, then the restock recommendations of
    the same SKUs re-planned; reported only when it ran. The outbox position is kept last,
    so a pass that fails on the way tries the same SKUs again."""
    skus, position = changed_skus(app)
    full = due(app, PLAN_EVERY)
    done = refresh(app) if full else refresh(app, skus) if skus else None
    replanned = None if done is None else replenish(app, None if full else skus)
    if position is not None:  # an idle pass writes nothing
        keep_position(app, position)
    if done is None or replanned is None:
        return {}
    return {
        "projections": done["planned"],
        "stockout_alerts": done["alerts_raised"],
        "recommendations": replanned["proposed"] + replanned["superseded"],
    }


def one_pass(app: Backorder) -> Pass:
    """Every step once. A step that fails is logged and recorded; the others still run. The
    database being away is raised: nothing more can be done until it is back."""
    done = Pass()
    for name, step in _steps():
        try:
            done.counts |= step(app)
        except Exception as error:
            if unavailable(error):
                raise
            done.failures[name] = describe(error)
            log.error("step %s failed (the next pass tries it again): %s", name, describe(error))
            log.debug("step %s failed", name, exc_info=True)
    return done


def keep_going(
    app: Backorder,
    stop: threading.Event,
    interval: float,
    deadline: float | None,
    report: Callable[[Pass], None],
) -> None:
    """Pass after pass until `stop` is set or the deadline (time.monotonic()) passes: at once
    while there is work, every `interval` seconds when idle, and while the database is away,
    after a wait that grows up to 30 s."""

    def over(_: RetryCallState | None = None) -> bool:
        return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    def waiting(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        seconds = state.upcoming_sleep
        log.warning("database unavailable (%s); next try in %.1f s", error, seconds)

    def pause(seconds: float) -> None:
        stop.wait(_until(seconds, deadline))  # a stop cuts the wait short

    retrying = Retrying(
        retry=retry_if_exception(unavailable),
        wait=DATABASE_WAIT,
        stop=over,
        sleep=pause,
        before_sleep=waiting,
        reraise=True,
    )
    while not over():
        try:
            done = retrying(one_pass, app)
        except Exception as error:
            if unavailable(error) and over():
                return  # asked to stop while the database was away
            raise
        report(done)
        if over():
            return
        if not done.busy:
            stop.wait(_until(interval, deadline))


def _until(seconds: float, deadline: float | None) -> float:
    """A wait of `seconds`, cut short at the deadline."""
    if deadline is None:
        return seconds
    return max(0.0, min(seconds, deadline - time.monotonic()))
