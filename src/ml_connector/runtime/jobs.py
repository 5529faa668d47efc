"""DBOS as the durable job runner. The only module that imports DBOS.

- One queue for writes, partitioned by the target's partition key (an Exact division): partition
  concurrency 1 and a partition rate limit, enforced across every worker sharing the system database.
- One queue for polls (they read the sources, not Exact).
- Every job is started under a workflow id naming its attempt, so a job queued twice runs once.
- The system database is a SQLite file in the data dir by default, or PostgreSQL when the app's
  database is PostgreSQL (several workers on several machines then share the queues).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID
from sqlalchemy.engine import make_url

import ml_connector
from ml_connector.engine.processing import Job
from ml_connector.runtime.core import Runtime

WRITE_QUEUE = "ml-connector-writes"
POLL_QUEUE = "ml-connector-polls"
_runtime: Runtime | None = None


def _current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the DBOS job runner is not started (start it with DbosJobs.launch)")
    return _runtime


@DBOS.workflow(name="ml_connector.job")
def job_workflow(kind: str, item_id: int) -> None:
    job_step(kind, item_id)


@DBOS.step(name="ml_connector.job.run")
def job_step(kind: str, item_id: int) -> None:
    _current().run_job(kind, item_id)


@DBOS.workflow(name="ml_connector.poll")
def poll_workflow(connection_id: int, started_at: str) -> int:
    return poll_step(connection_id, started_at)


@DBOS.step(name="ml_connector.poll.run")
def poll_step(connection_id: int, started_at: str) -> int:
    return _current().run_poll(connection_id, datetime.fromisoformat(started_at))


def system_database_url(runtime: Runtime) -> str:
    url = make_url(runtime.app.db.url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return f"sqlite:///{runtime.app.settings.data_dir / 'jobs.sqlite'}"


class DbosJobs:
    """The `Jobs` port on DBOS. One per process (DBOS is a process-wide singleton)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def launch(self) -> None:
        global _runtime
        _runtime = self.runtime
        options = self.runtime.options
        config: DBOSConfig = {
            "name": "ml-connector",
            "system_database_url": system_database_url(self.runtime),
            # One version for every worker of a release, so that any worker takes any queued job.
            "application_version": ml_connector.__version__,
            "executor_id": options.executor_id,
            "dbos_system_schema": options.dbos_schema,
            "log_level": "WARNING",
        }
        DBOS(config=config)
        DBOS.launch()
        self.writes = DBOS.register_queue(
            WRITE_QUEUE,
            partition_concurrency=1,
            partition_limiter={"limit": options.partition_limit, "period": options.partition_period},
            worker_concurrency=options.worker_concurrency,
            polling_interval_sec=options.queue_polling_seconds,
            on_conflict="always_update",
        )
        self.polls = DBOS.register_queue(
            POLL_QUEUE,
            worker_concurrency=2,
            polling_interval_sec=options.queue_polling_seconds,
            on_conflict="always_update",
        )

    def submit(self, job: Job, partition: str) -> None:
        with SetWorkflowID(job.key), SetEnqueueOptions(queue_partition_key=partition):
            self.writes.enqueue(job_workflow, job.kind, job.id)

    def poll(self, connection_id: int, started_at: datetime) -> None:
        with SetWorkflowID(f"poll:{connection_id}:{started_at.isoformat()}"):
            self.polls.enqueue(poll_workflow, connection_id, started_at.isoformat())

    def release_stale(self) -> int:
        """Cancel write jobs running longer than a record's lease: their worker died.

        A dead worker's job would otherwise hold its partition (concurrency 1) forever; the record it
        held is picked up again by the engine's own lease expiry, under a new job key.
        """
        cutoff = datetime.now(UTC) - timedelta(seconds=self.runtime.options.policy.lease_seconds)
        stale = DBOS.list_workflows(
            status="PENDING",
            queue_name=WRITE_QUEUE,
            dequeued_before=cutoff.isoformat(),
            load_input=False,
            load_output=False,
        )
        if stale:
            DBOS.cancel_workflows([workflow.workflow_id for workflow in stale])
        return len(stale)

    def shutdown(self) -> None:
        """Stop taking jobs, let the running ones finish (bounded), then stop."""
        global _runtime
        DBOS.destroy(workflow_completion_timeout_sec=self.runtime.options.shutdown_grace_seconds)
        _runtime = None
