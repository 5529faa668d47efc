from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml_connector.engine.processing import Job
from ml_connector.runtime import schedule
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.runtime.schedule import Schedule, ScheduleError
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.models import Connection
from tests.engine.conftest import ShopWorld
from tests.engine.testflow import ShopFlow

T0 = datetime(2026, 5, 4, 10, 0, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "interval"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("300", 300), (" 5 m ", 300)],
)
def test_intervals(text, interval):
    assert Schedule.parse(text, "x").interval == timedelta(seconds=interval)


def test_cron_and_bad_values():
    cron = Schedule.parse("*/15 * * * *", "x")
    assert cron.interval is None
    assert cron.next_after(T0) == datetime(2026, 5, 4, 10, 15, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="connection 'shop' setting 'schedule': 'often' is neither"):
        schedule.schedules_of("shop", {"schedule": "often"})
    with pytest.raises(ScheduleError, match="must be positive"):
        Schedule.parse("0m", "x")


def test_a_missed_schedule_runs_once_not_once_per_slot():
    every_minute = Schedule.parse("* * * * *", "x")
    last = T0
    after_downtime = T0 + timedelta(hours=5)
    assert every_minute.due(last, after_downtime)
    # the run is recorded at `after_downtime`: the next one is a minute later, not the 299 missed ones
    assert not every_minute.due(after_downtime, after_downtime + timedelta(seconds=30))
    assert every_minute.due(None, T0)  # never run: due at once


def test_claiming_a_run_is_compare_and_set(world: ShopWorld):
    with world.app.db.session() as session:
        assert schedule.claim_run(session, world.shop_id, None, T0)
        assert not schedule.claim_run(session, world.shop_id, None, T0)  # someone else was first
        assert schedule.last_run(session, world.shop_id) == T0
        assert not schedule.claim_run(session, world.shop_id, T0 - timedelta(1), T0 + timedelta(1))
        assert schedule.claim_run(session, world.shop_id, T0, T0 + timedelta(minutes=1))


class RecordingJobs:
    def __init__(self) -> None:
        self.polls: list[int] = []
        self.jobs: list[tuple[Job, str]] = []

    def submit(self, job: Job, partition: str) -> None:
        self.jobs.append((job, partition))

    def poll(self, connection_id: int, started_at: datetime) -> None:
        self.polls.append(connection_id)

    def shop_polls(self, shop_id: int) -> int:
        return self.polls.count(shop_id)

    def release_stale(self) -> int:
        return 0


def set_settings(world: ShopWorld, **settings) -> None:
    with world.app.db.session() as session:
        conn = session.get_one(Connection, world.shop_id)
        conn.settings = {**conn.settings, **settings}


def test_ticks_poll_on_schedule_and_only_reconcile_while_webhooks_work(world: ShopWorld, tmp_path: Path):
    clock = ManualClock(start=T0.timestamp())
    runtime = Runtime(world.app, RuntimeOptions(clock=clock))
    jobs = RecordingJobs()
    set_settings(world, schedule="10m", reconcile_schedule="1h")
    runtime.tick(jobs)
    assert jobs.shop_polls(world.shop_id) == 1  # first tick: never polled before
    clock.advance(600)
    runtime.tick(jobs)
    assert jobs.shop_polls(world.shop_id) == 2  # webhooks unhealthy: polled on the schedule

    set_settings(world, webhooks_healthy=True)
    runtime.flows = type(runtime.flows)(world.app, clock=clock)  # forget the cached flow
    clock.advance(600)
    runtime.tick(jobs)
    assert jobs.shop_polls(world.shop_id) == 2  # healthy: the 10-minute schedule is not used
    clock.advance(3000)
    runtime.tick(jobs)
    assert jobs.shop_polls(world.shop_id) == 3  # ... but the hourly reconciliation still runs


def test_ticks_hand_waiting_messages_to_the_jobs_with_the_flows_partition(world: ShopWorld):
    world.shop.put("1")
    runtime = Runtime(world.app, RuntimeOptions())
    jobs = RecordingJobs()
    set_settings(world, schedule="1h")
    runtime.tick(jobs)  # starts the poll (recorded, not run)
    runtime.run_poll(world.shop_id, runtime.now())
    runtime.tick(jobs)
    assert [(job.kind, partition) for job, partition in jobs.jobs] == [("message", "exact:2002")]


def test_a_webhook_status_that_cannot_be_read_means_polling(world: ShopWorld, monkeypatch):
    def broken(self):
        raise ConnectionError("shop unreachable")

    monkeypatch.setattr(ShopFlow, "webhook_status", broken)
    clock = ManualClock(start=T0.timestamp())
    runtime = Runtime(world.app, RuntimeOptions(clock=clock))
    jobs = RecordingJobs()
    set_settings(world, schedule="10m", reconcile_schedule="1d", webhooks_healthy=True)
    runtime.tick(jobs)
    clock.advance(600)
    runtime.tick(jobs)
    assert jobs.shop_polls(world.shop_id) == 2
