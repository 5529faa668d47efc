"""Ledger rows: atomic claim, leases for multi-worker safety, and the queries the runtime needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ml_connector.engine.audit import record_event
from ml_connector.engine.intent import SourceRecord, WriteIntent
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.records import record_key
from ml_connector.engine.upsert import insert_ignoring_conflict
from ml_connector.store.models import LedgerEntry, LedgerState

_UNIQUE = ("source_connection_id", "source_type", "source_id", "target_entity")
RETRYABLE = (LedgerState.PENDING, LedgerState.UNKNOWN)
PARKED = (LedgerState.FAILED, LedgerState.DEAD)


def claim(session: Session, intent: WriteIntent, now: datetime) -> tuple[int, bool]:
    """The ledger id of the intended write, inserting it when new; `True` when this call created it.

    INSERT .. ON CONFLICT DO NOTHING: two workers claiming the same record get the same row, never two.
    """
    values = {
        "source_connection_id": intent.source.connection_id,
        "source_type": intent.source.type,
        "source_id": intent.source.id,
        "source_version": intent.source.version,
        "target_connection_id": intent.target_connection_id,
        "target_entity": intent.entity,
        "external_ref": intent.external_ref,
        "state": LedgerState.PENDING,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    statement = insert_ignoring_conflict(session, LedgerEntry, list(_UNIQUE))
    inserted = session.scalar(statement.values(**values).returning(LedgerEntry.id))
    if inserted is not None:
        return inserted, True
    ledger_id = session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.source_connection_id == intent.source.connection_id,
            LedgerEntry.source_type == intent.source.type,
            LedgerEntry.source_id == intent.source.id,
            LedgerEntry.target_entity == intent.entity,
        )
    )
    assert ledger_id is not None  # the conflict means the row exists
    return ledger_id, False


def acquire_lease(session: Session, ledger_id: int, owner: str, now: datetime, seconds: float) -> bool:
    """Take the row's lease when free or expired: one conditional UPDATE, so only one worker wins."""
    result = session.execute(
        update(LedgerEntry)
        .where(
            LedgerEntry.id == ledger_id,
            or_(LedgerEntry.lease_until.is_(None), LedgerEntry.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, ledger_id: int, owner: str) -> None:
    session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == ledger_id, LedgerEntry.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def due(
    session: Session, now: datetime, limit: int = 500, connection_id: int | None = None
) -> Sequence[LedgerEntry]:
    """Rows that need another attempt now: retries whose time has come, and sends whose worker died."""
    free = or_(LedgerEntry.lease_until.is_(None), LedgerEntry.lease_until < now)
    waiting = and_(
        LedgerEntry.state.in_(RETRYABLE),
        or_(LedgerEntry.next_attempt_at.is_(None), LedgerEntry.next_attempt_at <= now),
    )
    crashed = LedgerEntry.state == LedgerState.SENDING
    query = select(LedgerEntry).where(free, or_(waiting, crashed))
    if connection_id is not None:
        query = query.where(LedgerEntry.source_connection_id == connection_id)
    return session.scalars(query.order_by(LedgerEntry.id).limit(limit)).all()


def entries_of(session: Session, source: SourceRecord) -> Sequence[LedgerEntry]:
    return session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.source_connection_id == source.connection_id,
            LedgerEntry.source_type == source.type,
            LedgerEntry.source_id == source.id,
        )
        .order_by(LedgerEntry.id)
    ).all()


def linked_id(session: Session, source: SourceRecord, entity: str) -> str | None:
    """The target id created for a source record, from the ledger alone (no call to the target)."""
    return session.scalar(
        select(LedgerEntry.target_id).where(
            LedgerEntry.source_connection_id == source.connection_id,
            LedgerEntry.source_type == source.type,
            LedgerEntry.source_id == source.id,
            LedgerEntry.target_entity == entity,
            LedgerEntry.target_id.is_not(None),
        )
    )


def must_verify(entry: LedgerEntry) -> bool:
    """A create that may have reached the target (an attempt, a failure after sending, a replay of one)
    is looked up by reference first; one that could not even be mapped has never been sent."""
    return entry.target_id is None and (entry.attempts > 0 or entry.error_kind not in (None, "mapping"))


def postpone(session: Session, entry: LedgerEntry, reason: str, now: datetime, policy: RetryPolicy) -> None:
    """Let a row wait for its next try without using up an attempt (the cause was not the target)."""
    entry.next_attempt_at = now + timedelta(seconds=policy.backoff.delay(entry.attempts + 1))
    entry.updated_at = now
    key = record_key(session, entry.source_connection_id, entry.source_type, entry.source_id)
    record_event(
        session,
        record_key=key,
        kind="postponed",
        at=now,
        ledger_id=entry.id,
        connection_id=entry.source_connection_id,
        message=f"{reason}; next try at {entry.next_attempt_at}",
    )
