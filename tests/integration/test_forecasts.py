"""Forecasts in the product: recomputed from the weekly demand series and stored (network,
and per location when there are several), read back cut to a horizon or computed on
demand, the nightly run done once per UTC day, and the product without the forecast extra."""

from __future__ import annotations

import logging
import threading
from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backorder import foresight
from backorder.domain.errors import UnknownSku
from backorder.foresight import ForesightUnavailable
from backorder.services.context import Backorder
from backorder.services.demand import import_history
from backorder.services.forecast_nightly import run_nightly
from backorder.services.forecast_views import forecast_list, forecast_view
from backorder.services.forecasts import NoDemandHistory, recompute
from backorder.services.locations import LocationIn, add
from backorder.services.worker import one_pass
from backorder.store.db import Database
from backorder.store.tables import forecast_periods, forecast_runs, forecasts
from tests.conftest import Clock
from tests.integration.test_demand import make_story

# 40 weeks of steady demand for BOLT before its first order (2025-W12 to 2025-W51)
WEEKS = [(date(2025, 3, 17) + timedelta(weeks=n)).isocalendar() for n in range(40)]
HISTORY = "sku,period,units\n" + "".join(
    f"BOLT,{year}-W{week:02d},{6 + n % 3}\n" for n, (year, week, _) in enumerate(WEEKS)
)


def counted(app: Backorder, table: Any) -> int:
    with app.db.read() as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def story(app: Backorder) -> Backorder:
    make_story(app)
    import_history(app, HISTORY)
    return app


def test_recomputing_stores_a_forecast_per_sku_with_demand(story: Backorder) -> None:
    app = story
    # NUT's only order is in the week under way: nothing to learn from yet
    assert recompute(app) == {"skus": 1, "forecasts": 1, "skipped": 1, "failed": 0}
    assert counted(app, forecasts) == 1 and counted(app, forecast_periods) == 26
    view = forecast_view(app, "BOLT")
    assert view["stored"] is True and view["location"] is None
    # the series: 2025-W12 to 2026-W01 (the last whole week; 10 January is a Saturday)
    assert view["history_weeks"] == 42
    assert view["inputs"]["history_from"] == "2025-03-17"
    assert view["inputs"]["history_to"] == "2026-01-04"
    assert view["inputs"]["ordered_units"] == 7
    assert view["demand_class"] == "smooth" and view["method"]
    periods = view["periods"]
    assert [p["start"] for p in periods[:2]] == ["2026-01-05", "2026-01-12"]
    assert periods[0]["week"] == "2026-W02" and periods[-1]["week"] == "2026-W27"
    for p in periods:
        assert 0 <= p["lo95"] <= p["lo80"] <= p["point"] <= p["hi80"] <= p["hi95"]
    assert 4 < periods[0]["point"] < 10  # about the 6-8 units a week it learnt from


def test_recomputing_again_replaces_the_forecast(story: Backorder, clock: Clock) -> None:
    app = story
    recompute(app)
    first = forecast_view(app, "BOLT")["computed_at"]
    clock.advance(days=2)
    assert recompute(app, ["BOLT"])["forecasts"] == 1
    assert counted(app, forecasts) == 1 and counted(app, forecast_periods) == 26
    assert forecast_view(app, "BOLT")["computed_at"] > first
    with pytest.raises(UnknownSku):
        recompute(app, ["BOLT", "NOPE"])


def test_a_shorter_horizon_cuts_the_stored_one_and_a_longer_is_computed(
    story: Backorder,
) -> None:
    app = story
    recompute(app)
    cut = forecast_view(app, "BOLT", horizon=4)
    assert cut["stored"] is True and len(cut["periods"]) == 4
    longer = forecast_view(app, "BOLT", horizon=30)
    assert longer["stored"] is False and len(longer["periods"]) == 30
    assert longer["periods"][:4] == cut["periods"]
    assert counted(app, forecast_periods) == 26  # computed on demand, not stored


def test_without_a_stored_forecast_one_is_computed_on_demand(story: Backorder) -> None:
    app = story
    view = forecast_view(app, "BOLT", horizon=3)
    assert view["stored"] is False and len(view["periods"]) == 3
    assert counted(app, forecasts) == 0
    with pytest.raises(NoDemandHistory, match="NUT has no demand yet"):
        forecast_view(app, "NUT")


def test_with_several_locations_each_with_demand_gets_its_own(story: Backorder) -> None:
    app = story
    add(app, LocationIn(code="east", name="East", kind="3pl"))
    done = recompute(app)
    assert done["forecasts"] == 2  # the network's, and main's (east has no demand)
    main = forecast_view(app, "BOLT", "main")
    assert main["stored"] is True and main["location"] == "main"
    assert main["inputs"]["ordered_units"] == 5  # A's 3 shipped and B's 2 held there
    assert [f["sku"] for f in forecast_list(app)] == ["BOLT"]
    assert [f["sku"] for f in forecast_list(app, "main")] == ["BOLT"]
    assert forecast_list(app, "east") == []


def test_the_nightly_run_is_done_once_a_day_from_its_hour(story: Backorder, clock: Clock) -> None:
    app = story
    app.settings.forecast_at = time(10, 0)
    assert run_nightly(app) == {}  # 09:00: not yet
    clock.advance(hours=1, minutes=5)
    assert run_nightly(app) == {"forecasted": 1}
    assert run_nightly(app) == {}  # done today
    with app.db.read() as uow:
        row = uow.connection.execute(select(forecast_runs)).mappings().one()
    assert row["day"] == date(2026, 1, 10) and row["counts"]["forecasts"] == 1
    clock.advance(days=1)
    assert run_nightly(app) == {"forecasted": 1}
    assert counted(app, forecast_runs) == 2


def test_a_run_left_unfinished_is_taken_over_after_an_hour(story: Backorder, clock: Clock) -> None:
    app = story
    app.settings.forecast_at = time(0, 0)
    with app.db.write() as uow:
        started = clock.current - timedelta(minutes=30)
        uow.connection.execute(
            forecast_runs.insert().values(day=date(2026, 1, 10), started_at=started)
        )
        uow.commit()
    assert run_nightly(app) == {}  # another worker runs it
    clock.advance(minutes=31)
    assert run_nightly(app) == {"forecasted": 1}


def test_a_failed_run_gives_its_claim_back(
    story: Backorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = story
    app.settings.forecast_at = time(0, 0)

    def broken(*_: Any) -> Any:
        raise RuntimeError("the forecaster broke")

    monkeypatch.setattr("backorder.services.forecasts._store", broken)
    with pytest.raises(RuntimeError):
        run_nightly(app)
    assert counted(app, forecast_runs) == 0
    monkeypatch.undo()
    assert run_nightly(app) == {"forecasted": 1}


def test_without_the_extra_recomputing_names_the_install_command(
    story: Backorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = story
    recompute(app)
    monkeypatch.setattr(foresight, "available", lambda: False)
    with pytest.raises(ForesightUnavailable, match=r"pip install 'backorder\[forecast\]'"):
        recompute(app)
    with pytest.raises(ForesightUnavailable):
        forecast_view(app, "BOLT", horizon=40)  # would need computing
    assert forecast_view(app, "BOLT")["stored"] is True  # stored ones still read
    app.settings.forecast_at = time(0, 0)
    monkeypatch.setattr("backorder.services.forecast_nightly._skipped_on", [])
    with caplog.at_level(logging.WARNING, "backorder.services.forecasts"):
        assert run_nightly(app) == {}
        assert run_nightly(app) == {}
    skipped = [r for r in caplog.records if "forecast extra is not installed" in r.message]
    assert len(skipped) == 1  # once a day
    assert counted(app, forecast_runs) == 0


def test_the_worker_forecasts_once_a_night_and_carries_on_without_the_extra(
    story: Backorder, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = story
    app.settings.forecast_at = time(8, 0)
    first = one_pass(app)
    assert first.counts["forecasted"] == 1 and not first.failures
    assert "forecasted" not in one_pass(app).counts
    clock.advance(days=1)
    monkeypatch.setattr(foresight, "available", lambda: False)
    skipped = one_pass(app)
    assert "forecasted" not in skipped.counts and not skipped.failures
    assert "planned" in skipped.counts  # the other steps ran


def test_workers_racing_for_the_night_run_it_once(
    story: Backorder, db_url: str, clock: Clock
) -> None:
    apps = [story] + [Backorder(Database(db_url), story.settings, clock) for _ in range(2)]
    story.settings.forecast_at = time(0, 0)
    start = threading.Barrier(len(apps))
    done: list[dict[str, int]] = []

    def work(app: Backorder) -> None:
        start.wait()
        done.append(run_nightly(app))

    threads = [threading.Thread(target=work, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for app in apps[1:]:
        app.close()
    assert sorted(done, key=len) == [{}, {}, {"forecasted": 1}]
    assert counted(story, forecast_runs) == 1 and counted(story, forecasts) == 1


def test_recomputes_at_the_same_time_leave_one_forecast_per_sku(
    story: Backorder, db_url: str, clock: Clock
) -> None:
    other = Backorder(Database(db_url), story.settings, clock)
    start = threading.Barrier(2)
    done: list[dict[str, int]] = []

    def work(app: Backorder) -> None:
        start.wait()
        done.append(recompute(app))

    threads = [threading.Thread(target=work, args=(app,)) for app in (story, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    other.close()
    assert [d["forecasts"] for d in done] == [1, 1]
    assert counted(story, forecasts) == 1 and counted(story, forecast_periods) == 26
