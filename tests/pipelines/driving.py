"""Drive passes of a flow deterministically: poll once, then run waiting work, moving a manual clock on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ml_connector.app import App
from ml_connector.engine import processing
from ml_connector.engine.policy import RetryPolicy
from ml_connector.http.backoff import Backoff
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.connections import get_connection
from ml_connector.store.models import InboxMessage, InboxState


def quick_runtime(app: App) -> Runtime:
    """A runtime with short retry waits on a manual clock (`drain` moves it on)."""
    quick = RetryPolicy(
        backoff=Backoff(base=1, factor=2, cap=30, max_attempts=8), rate_wait_seconds=5, settle_seconds=5
    )
    return Runtime(app, RuntimeOptions(policy=quick, clock=ManualClock()))


def drain(
    app: App, runtime: Runtime, rounds: int = 60, connection: str = "shop", *, batched: bool = False
) -> None:
    """Poll the shop once, then run waiting work (new records and due retries) until nothing is left,
    moving the runtime's clock on when the only work left is waiting for its retry time.

    `batched`: the poll writes what it stores in batches (as `sync --once`), else the runtime's jobs
    take the records one by one."""
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with app.db.session() as session:
        conn_id = get_connection(session, connection).id
    processing.poll_connection(
        app.db, runtime.flows, conn_id, runtime.now(), inline=batched, clock=runtime.clock
    )
    for _ in range(rounds):
        jobs = processing.waiting_work(app.db, runtime.now())
        if not jobs:
            if not processing.waiting_work(app.db, runtime.now() + timedelta(days=1)):
                return
            clock.advance(60)
            continue
        for job in jobs:
            runtime.run_job(job.kind, job.id)
    raise AssertionError("work was still waiting after every round")


def inbox_errors(app: App) -> list[tuple[str | None, str | None, str]]:
    with app.db.session() as session:
        return [
            (m.topic, m.resource_id, m.state.value + ": " + (m.error or ""))
            for m in session.scalars(select(InboxMessage).where(InboxMessage.state != InboxState.DONE))
        ]
