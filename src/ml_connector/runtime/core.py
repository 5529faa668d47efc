"""The runtime's heartbeat: each tick starts due polls and hands waiting work to the job runner.

Ticking is idempotent and safe in every process at once: a poll is claimed by compare-and-set on the
connection's last run, and every job carries a key naming its attempt, which the job runner runs once.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import select

from ml_connector.app import App
from ml_connector.engine import inbox, processing
from ml_connector.engine.flows import FlowCache, registry
from ml_connector.runtime import schedule
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.sandbox_kit.clock import utc_datetime
from ml_connector.store.models import Connection, ConnectionStatus

log = structlog.get_logger(__name__)
QUEUED_MEMORY_SECONDS = 3600.0
# Processed deliveries are kept well past the providers' retry horizons (Exact retries for about 34 h).
INBOX_RETENTION = timedelta(days=7)


class Jobs(Protocol):
    """The job runner port: DBOS (`runtime.jobs`) in production, so that the engine never depends on it."""

    def submit(self, job: processing.Job, partition: str) -> None: ...

    def poll(self, connection_id: int, started_at: datetime) -> None: ...

    def release_stale(self) -> int:
        """Give up jobs whose worker died, so that they hold no partition; how many."""
        ...


class Runtime:
    def __init__(self, app: App, options: RuntimeOptions | None = None) -> None:
        self.app = app
        self.options = options or RuntimeOptions()
        self.clock = self.options.clock
        self.flows = FlowCache(
            app, clock=self.clock, policy=self.options.policy, worker_id=self.options.executor_id
        )
        self.wake = threading.Event()  # set by the web app when a delivery arrives
        # Job keys this process already queued (key -> when): waiting work is listed again on every tick,
        # and the job runner would ignore the repeat anyway, but each repeat costs it a database write.
        self._queued: dict[str, float] = {}

    def now(self) -> datetime:
        return utc_datetime(self.clock)

    def source_connections(self) -> list[Connection]:
        with self.app.db.session() as session:
            rows = session.scalars(
                select(Connection).where(Connection.status == ConnectionStatus.ACTIVE).order_by(Connection.id)
            )
            return [conn for conn in rows if registry.has(conn)]

    def tick(self, jobs: Jobs) -> None:
        now = self.now()
        released = jobs.release_stale()
        if released:
            log.warning("released jobs of dead workers", count=released)
        for conn in self.source_connections():
            try:
                if self.claim_poll(conn, now):
                    jobs.poll(conn.id, now)
            except Exception:  # one broken connection must not stop the others
                log.exception("scheduling failed", connection=conn.name)
        self._forget_queued(now.timestamp() - QUEUED_MEMORY_SECONDS)
        for job in processing.waiting_work(self.app.db, now):
            if job.key in self._queued:
                continue
            try:
                jobs.submit(job, self.flows.get(job.connection_id).partition)
            except Exception:
                log.exception("queueing failed", job=job.key)
            else:
                self._queued[job.key] = now.timestamp()
        with self.app.db.locked_session() as session:
            inbox.purge(session, now - INBOX_RETENTION)

    def _forget_queued(self, before: float) -> None:
        self._queued = {key: at for key, at in self._queued.items() if at >= before}

    def claim_poll(self, conn: Connection, now: datetime) -> bool:
        """True when a poll of `conn` is due now and this caller won the right to start it."""
        primary, reconcile = schedule.schedules_of(conn.name, conn.settings or {})
        with self.app.db.session() as session:
            last = schedule.last_run(session, conn.id)
        if not primary.due(last, now):
            return False
        if last is not None and self.webhooks_healthy(conn) and not reconcile.due(last, now):
            return False  # webhooks deliver; the poll only reconciles, at its own cadence
        with self.app.db.locked_session() as session:
            return schedule.claim_run(session, conn.id, last, now)

    def webhooks_healthy(self, conn: Connection) -> bool:
        try:
            status = self.flows.get(conn.id).webhook_status()
        except Exception:  # cannot tell: poll on the schedule, nothing is lost that way
            log.exception("webhook status unknown", connection=conn.name)
            return False
        if not status.healthy:
            log.info("webhooks unhealthy: polling on schedule", connection=conn.name, detail=status.detail)
        return status.healthy

    def run_poll(self, connection_id: int, started_at: datetime) -> int:
        """Poll a connection into the inbox; how many new records were stored."""
        results = processing.poll_connection(self.app.db, self.flows, connection_id, started_at)
        self.wake.set()
        return sum(len(r.new_ids) for r in results)

    def run_job(self, kind: str, item_id: int, actor: str | None = None) -> None:
        if kind == "message":
            processing.process_message(self.app.db, self.flows, item_id, self.clock, actor)
        else:
            processing.retry_record(self.app.db, self.flows, item_id, self.clock, actor or "retry")

    def tick_forever(self, jobs: Jobs, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick(jobs)
            except Exception:
                log.exception("runtime tick failed")
            self.wake.wait(self.options.tick_seconds)
            self.wake.clear()
