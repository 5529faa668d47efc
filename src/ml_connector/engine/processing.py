"""Units of work the runtime schedules: one inbox message, one ledger retry, one poll of a connection.

Each is idempotent: running one twice (a redelivered job, a crashed worker) changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal

from ml_connector.engine import inbox, intake, ledger
from ml_connector.engine.audit import acting_as
from ml_connector.engine.flows import Change, Flow, FlowCache, process_changes
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.store.db import Database
from ml_connector.store.models import LedgerEntry, LedgerState

_ERROR_LIMIT = 2000


@dataclass(frozen=True)
class Job:
    """One unit of waiting work. `key` names this attempt: the same key is never run twice."""

    kind: Literal["message", "retry"]
    id: int
    connection_id: int
    key: str


def waiting_work(
    db: Database, now: datetime, limit: int = 500, connection_id: int | None = None
) -> list[Job]:
    """Inbox messages to process and ledger rows to retry, as of `now` (of one source connection)."""
    with db.session() as session:
        messages = [
            Job("message", m.id, m.connection_id, f"message:{m.id}:{m.attempts}:{m.state.value}")
            for m in inbox.due(session, now, limit, connection_id)
        ]
        retries = [
            Job(
                "retry", e.id, e.source_connection_id, f"retry:{e.id}:{e.attempts}:{e.updated_at.timestamp()}"
            )
            for e in ledger.due(session, now, limit, connection_id)
        ]
    return messages + retries


def process_message(
    db: Database, flows: FlowCache, message_id: int, clock: Clock | None = None, actor: str | None = None
) -> bool:
    """Process one inbox message; False when another worker has it or it is done already.

    The audit trail names `actor`, by default what brought the message: "schedule" or "webhook".
    """
    clock = clock or SystemClock()
    with db.locked_session() as session:
        item = inbox.claim(session, message_id, utc_datetime(clock))
    if item is None:
        return False
    polled = item.topic is not None and item.topic.startswith(inbox.POLL_TOPIC_PREFIX)
    error = None
    try:
        flow = flows.get(item.connection_id)
        with acting_as(actor or ("schedule" if polled else "webhook")):
            if polled:
                assert item.topic is not None and item.resource_id is not None
                flow.process(item.topic.removeprefix(inbox.POLL_TOPIC_PREFIX), item.resource_id)
            else:
                flow.handle_inbox(item)
    except Exception as exc:  # recorded on the message and retried with backoff; writes are in the ledger
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
    with db.locked_session() as session:
        inbox.finish(session, message_id, utc_datetime(clock), error)
    return True


def process_stored(
    db: Database,
    flow: Flow,
    stored: Sequence[tuple[int, Change]],
    clock: Clock | None = None,
    actor: str = "schedule",
) -> None:
    """Process polled changes right after the poll stored them, as one batch of their inbox messages.

    The messages are claimed and finished together; one that fails is retried on its own later,
    like any inbox message. Another worker's claim wins: those changes are left to it.
    """
    clock = clock or SystemClock()
    with db.locked_session() as session:
        claimed = inbox.claim_many(session, [message_id for message_id, _ in stored], utc_datetime(clock))
    mine = [(message_id, change) for message_id, change in stored if message_id in claimed]
    if not mine:
        return
    try:
        with acting_as(actor):
            outcomes = process_changes(flow, [change for _, change in mine])
    except Exception as exc:  # the whole batch failed (e.g. the database): every message is retried
        outcomes = [exc] * len(mine)
    errors = {
        message_id: None if exc is None else f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
        for (message_id, _), exc in zip(mine, outcomes, strict=True)
    }
    with db.locked_session() as session:
        inbox.finish_many(session, errors, utc_datetime(clock))


def retry_record(
    db: Database, flows: FlowCache, ledger_id: int, clock: Clock | None = None, actor: str = "retry"
) -> None:
    """Give a due ledger row its next attempt: the flow re-reads the source and writes again.

    When the flow cannot (the source is unreachable) or does not write the row, the row waits for a
    later try instead of being picked up again at once.
    """
    clock = clock or SystemClock()
    with db.session() as session:
        before = session.get_one(LedgerEntry, ledger_id)
    problem = None
    with acting_as(actor):
        try:
            flows.get(before.source_connection_id).process(before.source_type, before.source_id)
        except Exception as exc:  # the record waits; the reason is in its audit trail
            problem = f"the flow could not process the record: {type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
        with db.locked_session() as session:
            after = session.get_one(LedgerEntry, ledger_id, with_for_update=True)
            if after.updated_at != before.updated_at:
                return
            now = utc_datetime(clock)
            if after.state == LedgerState.SENDING and not ledger.leased(after, now):
                # its worker died while sending and the flow did not take the record up again: without
                # this the row would be due for ever; as `unknown` it is verified before any new attempt
                ledger.mark_unknown_after_crash(session, after, now)
            if after.state in ledger.RETRYABLE:
                reason = problem or "the flow did not write this record"
                ledger.postpone(session, after, reason, now, flows.policy)


def poll_connection(
    db: Database,
    flows: FlowCache,
    connection_id: int,
    started_at: datetime,
    since: datetime | None = None,
    *,
    inline: bool = False,
    clock: Clock | None = None,
    actor: str = "schedule",
    progress: Callable[[int], None] | None = None,
) -> list[intake.PollResult]:
    """Poll every stream of a connection into the inbox.

    The runtime then hands each stored change to the job runner, whose per-division queue paces the
    writes. `inline` processes each stored batch at once instead (`process_stored`), as
    `sync NAME --once` does: the records are at hand and are written in batches.
    """
    flow = flows.get(connection_id)
    handle = partial(process_stored, db, flow, clock=clock, actor=actor) if inline else None
    return [
        intake.poll_stream(db, flow, connection_id, s, started_at, since, progress, on_stored=handle)
        for s in flow.streams
    ]
