"""Entry points the CLI calls: `run`, `worker`, `web` and `sync NAME --once`."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy import func, select

from ml_connector.app import App
from ml_connector.engine import processing
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.heap import freeze_start_up
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.runtime.web import create_web_app
from ml_connector.store.connections import get_connection
from ml_connector.store.models import Connection, LedgerEntry, LedgerState


@dataclass
class SyncReport:
    connection: str
    seen: int = 0  # records the poll returned
    new: int = 0  # of which not seen before (same record, same version)
    processed: int = 0  # inbox messages and retries handled in this pass
    states: dict[str, int] = field(default_factory=dict)  # ledger states of the connection afterwards
    failed: list[str] = field(default_factory=list)  # "<record> <entity>: <error>" of parked records


def _server(app: App, runtime: Runtime | None, options: RuntimeOptions) -> uvicorn.Server:
    web = create_web_app(
        app,
        on_stored=runtime.wake.set if runtime else None,
        max_body_bytes=options.max_body_bytes,
        clock=options.clock,
    )
    config = uvicorn.Config(
        web,
        host=app.settings.web_host,
        port=app.settings.web_port,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    return uvicorn.Server(config)


def _on_stop_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (instead of dying), for a shutdown that finishes the work in hand.

    uvicorn handles the signals while it serves and re-raises them once it has stopped: they land here.
    """
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    return stopped


class _Workers:
    """The job runner plus the ticking thread that feeds it."""

    def __init__(self, runtime: Runtime) -> None:
        from ml_connector.runtime.jobs import DbosJobs  # DBOS only where jobs run

        self.runtime = runtime
        self.jobs = DbosJobs(runtime)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=runtime.tick_forever, args=(self.jobs, self.stop), name="ticker"
        )

    def start(self) -> None:
        self.jobs.launch()
        self.thread.start()

    def shutdown(self) -> None:
        self.stop.set()
        self.runtime.wake.set()
        self.thread.join()
        self.jobs.shutdown()  # stops taking jobs, lets in-flight ones finish within the grace period
        self.runtime.flows.close()


def run(app: App, options: RuntimeOptions | None = None) -> None:
    """Scheduler, workers and web app in one process, until SIGTERM or Ctrl-C."""
    options = options or RuntimeOptions()
    runtime = Runtime(app, options)
    workers = _Workers(runtime)
    stopped = _on_stop_signals()
    freeze_start_up()
    workers.start()
    try:
        if not stopped.is_set():  # a signal during start-up: do not start serving
            _server(app, runtime, options).run()  # returns on SIGTERM/SIGINT once requests are answered
    finally:
        workers.shutdown()


def worker(app: App, options: RuntimeOptions | None = None) -> None:
    """Scheduler and workers without the web app, until SIGTERM or Ctrl-C."""
    workers = _Workers(Runtime(app, options))
    stopped = _on_stop_signals()
    freeze_start_up()
    workers.start()
    try:
        stopped.wait()
    finally:
        workers.shutdown()


def web(app: App, options: RuntimeOptions | None = None) -> None:
    """The web app alone; workers elsewhere pick stored deliveries up on their next tick."""
    _on_stop_signals()
    _server(app, None, options or RuntimeOptions()).run()


def sync_once(app: App, name: str, since: datetime | None, progress: bool) -> SyncReport:
    """One pass for one connection in the foreground: poll, then process what is waiting."""
    runtime = Runtime(app)
    with app.db.session() as session:
        conn = get_connection(session, name)
    report = SyncReport(name)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=True) as bar:
            _read(runtime, conn, since, report, bar)
            _write(runtime, conn, report, bar)
    finally:
        runtime.flows.close()
    _summarize(app, conn, report)
    return report


def _read(
    runtime: Runtime, conn: Connection, since: datetime | None, report: SyncReport, bar: Progress
) -> None:
    """Poll every stream; each stored batch is written at once (see `processing.process_stored`)."""
    reading = bar.add_task(f"reading {conn.name}", total=None)
    for result in processing.poll_connection(
        runtime.app.db,
        runtime.flows,
        conn.id,
        runtime.now(),
        since,
        inline=True,
        clock=runtime.clock,
        actor=f"cli:sync:{conn.name}",
        progress=lambda n: bar.advance(reading, n),
    ):
        report.seen += result.seen
        report.new += len(result.new_ids)
        report.processed += result.processed


def _write(runtime: Runtime, conn: Connection, report: SyncReport, bar: Progress) -> None:
    """Process waiting work in rounds until a round brings nothing new (failures wait for their backoff)."""
    writing = bar.add_task(f"writing {conn.name}", total=0)
    done: set[str] = set()
    while jobs := _new_jobs(runtime, conn, done):
        bar.update(writing, total=len(done) + len(jobs))
        for job in jobs:
            runtime.run_job(job.kind, job.id, actor=f"cli:sync:{conn.name}")
            done.add(job.key)
            report.processed += 1
            bar.advance(writing)


def _new_jobs(runtime: Runtime, conn: Connection, done: set[str]) -> list[processing.Job]:
    waiting = processing.waiting_work(runtime.app.db, runtime.now(), connection_id=conn.id)
    return [job for job in waiting if job.key not in done]


def _summarize(app: App, conn: Connection, report: SyncReport) -> None:
    """Ledger states counted in the database; only the parked rows are loaded (memory stays flat)."""
    mine = LedgerEntry.source_connection_id == conn.id
    with app.db.read_session() as session:
        counts = session.execute(
            select(LedgerEntry.state, func.count()).where(mine).group_by(LedgerEntry.state)
        )
        report.states = {state.value: count for state, count in counts}
        parked = session.execute(
            select(
                LedgerEntry.source_type,
                LedgerEntry.source_id,
                LedgerEntry.target_entity,
                LedgerEntry.last_error,
            ).where(mine, LedgerEntry.state.in_((LedgerState.FAILED, LedgerState.DEAD)))
        )
        report.failed = [
            f"{conn.name}:{kind}:{ident} {entity}: {error}" for kind, ident, entity, error in parked
        ]
