"""Failed records and replay: `ml-connector failed list`, `replay RECORD`, `replay --all-failed`.

A replay resets the record's parked ledger rows to `pending` (a fresh attempt budget, marked as a
replay so the send protocol looks the record up by reference before creating it) and asks the flow
to process the record again: it is re-read from the source and re-mapped, so a fixed mapping or a
corrected source record is used. Nothing else in the batch is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ml_connector.app import App
from ml_connector.engine.audit import acting_as, record_event
from ml_connector.engine.flows import close_flow, flow_for
from ml_connector.engine.ledger import PARKED, RETRYABLE
from ml_connector.engine.records import ResolvedRecord, record_key, resolve_record
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.store.connections import get_connection
from ml_connector.store.models import Connection, LedgerEntry, LedgerState

REPLAYABLE = (*PARKED, *RETRYABLE)
ACTOR = "cli:replay"


class NothingToReplayError(LookupError):
    """The record has no failed, dead or waiting write."""


@dataclass(frozen=True)
class FailedRecord:
    ledger_id: int
    record: str  # "<connection>:<type>:<id>"
    entity: str
    external_ref: str
    state: str
    attempts: int
    error_kind: str | None
    last_error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ReplayResult:
    record: str
    ledger_id: int
    state: str
    target_id: str | None
    last_error: str | None


def list_failed(app: App, connection: str | None, reason: str | None) -> list[FailedRecord]:
    """Parked records (failed and dead), oldest first; `reason` matches the error text, any case."""
    with app.db.session() as session:
        query = select(LedgerEntry).where(LedgerEntry.state.in_(PARKED)).order_by(LedgerEntry.id)
        if connection is not None:
            query = query.where(LedgerEntry.source_connection_id == get_connection(session, connection).id)
        if reason:
            query = query.where(LedgerEntry.last_error.ilike(f"%{reason}%"))
        return [_failed(session, entry) for entry in session.scalars(query)]


def _failed(session: Session, entry: LedgerEntry) -> FailedRecord:
    return FailedRecord(
        ledger_id=entry.id,
        record=record_key(session, entry.source_connection_id, entry.source_type, entry.source_id),
        entity=entry.target_entity,
        external_ref=entry.external_ref,
        state=entry.state.value,
        attempts=entry.attempts,
        error_kind=entry.error_kind,
        last_error=entry.last_error,
        updated_at=entry.updated_at,
    )


def replay_one(app: App, record: str, clock: Clock | None = None) -> list[ReplayResult]:
    """Replay one record ("<connection>:<type>:<id>" or a ledger id); the results per ledger row."""
    clock = clock or SystemClock()
    resolved, ids = _reset(app, record, utc_datetime(clock))
    flow = flow_for(app, resolved.connection_id, clock=clock)
    try:
        with acting_as(ACTOR):
            flow.process(resolved.source_type, resolved.source_id)
    finally:
        close_flow(flow)
    return _results(app, resolved.key, ids)


def _reset(app: App, record: str, now: datetime) -> tuple[ResolvedRecord, list[int]]:
    """Put the record's replayable rows back to `pending`, each with a `replay` event."""
    with app.db.locked_session() as session:
        resolved = resolve_record(session, record)
        query = select(LedgerEntry).where(
            LedgerEntry.source_connection_id == resolved.connection_id,
            LedgerEntry.source_type == resolved.source_type,
            LedgerEntry.source_id == resolved.source_id,
            LedgerEntry.state.in_(REPLAYABLE),
        )
        if resolved.ledger_id is not None:
            query = query.where(LedgerEntry.id == resolved.ledger_id)
        entries = list(session.scalars(query.with_for_update()))
        if not entries:
            raise NothingToReplayError(
                f"{record} has no failed, dead or waiting write to replay "
                f"(see `ml-connector audit {record}` for its history)"
            )
        with acting_as(ACTOR):
            for entry in entries:
                record_event(
                    session,
                    record_key=resolved.key,
                    kind="replay",
                    at=now,
                    ledger_id=entry.id,
                    connection_id=entry.source_connection_id,
                    from_state=entry.state.value,
                    to_state=LedgerState.PENDING.value,
                    message=f"replay requested; last error: {entry.last_error or 'none'}",
                )
                # A write that may have reached the target is verified by reference first; one that never
                # left (it could not be mapped) needs no lookup.
                was_sent = entry.attempts > 0 or entry.error_kind not in (None, "mapping")
                entry.state = LedgerState.PENDING
                entry.attempts = 0
                entry.error_kind = "replay" if was_sent else None
                entry.next_attempt_at = None
                entry.updated_at = now
        return resolved, [entry.id for entry in entries]


def _results(app: App, key: str, ids: list[int], problem: str | None = None) -> list[ReplayResult]:
    with app.db.session() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_(ids)).order_by(LedgerEntry.id))
        return [
            ReplayResult(key, row.id, row.state.value, row.target_id, problem or row.last_error)
            for row in rows
        ]


def replay_all_failed(app: App, connection: str, clock: Clock | None = None) -> list[ReplayResult]:
    """Replay every parked record of a source connection, one record at a time.

    A record whose replay fails (its source cannot be read, ...) is reported and the others go on;
    its rows stay `pending`, so the workers try it again later.
    """
    clock = clock or SystemClock()
    with app.db.session() as session:
        conn: Connection = get_connection(session, connection)
        keys = session.execute(
            select(LedgerEntry.source_type, LedgerEntry.source_id)
            .where(LedgerEntry.source_connection_id == conn.id, LedgerEntry.state.in_(PARKED))
            .distinct()
            .order_by(LedgerEntry.source_type, LedgerEntry.source_id)
        ).all()
    flow = flow_for(app, conn.id, clock=clock)
    results: list[ReplayResult] = []
    try:
        for source_type, source_id in keys:
            resolved, ids = _reset(app, f"{connection}:{source_type}:{source_id}", utc_datetime(clock))
            problem = None
            with acting_as(ACTOR):
                try:
                    flow.process(source_type, source_id)
                except Exception as exc:
                    problem = f"replay failed: {type(exc).__name__}: {exc}"
            results += _results(app, resolved.key, ids, problem)
    finally:
        close_flow(flow)
    return results
