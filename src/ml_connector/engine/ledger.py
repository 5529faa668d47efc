"""Ledger rows: atomic claim, leases for multi-worker safety, and the queries the runtime needs."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from ml_connector.engine.audit import record_event
from ml_connector.engine.intent import SourceRecord, WriteIntent
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.records import record_key
from ml_connector.engine.upsert import insert_ignoring_conflict
from ml_connector.store.models import LedgerEntry, LedgerState

_UNIQUE = ("source_connection_id", "source_type", "source_id", "target_entity")
RETRYABLE = (LedgerState.PENDING, LedgerState.UNKNOWN)
CRASHED_WHILE_SENDING = (
    "a worker stopped while sending: the outcome is unknown and is verified by reference "
    "before any new attempt"
)
PARKED = (LedgerState.FAILED, LedgerState.DEAD)


# A ledger row's identity: (source connection, source type, source id, target entity).
RowKey = tuple[int, str, str, str]


def row_key(intent: WriteIntent) -> RowKey:
    return (intent.source.connection_id, intent.source.type, intent.source.id, intent.entity)


def _new_row(intent: WriteIntent, now: datetime) -> dict[str, Any]:
    return {
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


def claim(session: Session, intent: WriteIntent, now: datetime) -> tuple[int, bool]:
    """The ledger id of the intended write, inserting it when new; `True` when this call created it.

    INSERT .. ON CONFLICT DO NOTHING: two workers claiming the same record get the same row, never two.
    """
    statement = insert_ignoring_conflict(session, LedgerEntry, list(_UNIQUE))
    inserted = session.scalar(statement.values(**_new_row(intent, now)).returning(LedgerEntry.id))
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


def claim_many(
    session: Session, intents: Sequence[WriteIntent], now: datetime
) -> dict[RowKey, tuple[int, bool]]:
    """`claim` for several intents in three statements: per row key, the ledger id and whether it is new."""
    existing = _ids_by_key(session, intents)
    missing = [_new_row(intent, now) for intent in intents if row_key(intent) not in existing]
    if not missing:
        return {key: (ledger_id, False) for key, ledger_id in existing.items()}
    session.execute(insert_ignoring_conflict(session, LedgerEntry, list(_UNIQUE)), missing)
    return {key: (ledger_id, key not in existing) for key, ledger_id in _ids_by_key(session, intents).items()}


def _ids_by_key(session: Session, intents: Sequence[WriteIntent]) -> dict[RowKey, int]:
    wanted = {row_key(intent) for intent in intents}
    rows = session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.source_connection_id,
            LedgerEntry.source_type,
            LedgerEntry.source_id,
            LedgerEntry.target_entity,
        ).where(  # a superset by column, narrowed to the exact keys below
            LedgerEntry.source_connection_id.in_({key[0] for key in wanted}),
            LedgerEntry.source_type.in_({key[1] for key in wanted}),
            LedgerEntry.source_id.in_({key[2] for key in wanted}),
            LedgerEntry.target_entity.in_({key[3] for key in wanted}),
        )
    )
    found = {(conn, kind, ident, entity): ledger_id for ledger_id, conn, kind, ident, entity in rows}
    return {key: found[key] for key in wanted if key in found}


def lease_many(
    session: Session, ledger_ids: Collection[int], owner: str, now: datetime, seconds: float
) -> set[int]:
    """`acquire_lease` for several rows in one UPDATE; the ids whose lease this call took."""
    leased = session.scalars(
        update(LedgerEntry)
        .where(
            LedgerEntry.id.in_(ledger_ids),
            or_(LedgerEntry.lease_until.is_(None), LedgerEntry.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        .returning(LedgerEntry.id)
    )
    return set(leased)


def still_leased(session: Session, ledger_ids: Collection[int], owner: str) -> set[int]:
    """Of `ledger_ids`, those whose lease `owner` still holds (locked for the rest of the transaction)."""
    held = session.scalars(
        select(LedgerEntry.id)
        .where(LedgerEntry.id.in_(ledger_ids), LedgerEntry.lease_owner == owner)
        .with_for_update()
    )
    return set(held)


def renew_leases(session: Session, ledger_ids: Collection[int], owner: str, until: datetime) -> set[int]:
    """Extend the leases `owner` still holds; the ids it holds."""
    renewed = session.scalars(
        update(LedgerEntry)
        .where(LedgerEntry.id.in_(ledger_ids), LedgerEntry.lease_owner == owner)
        .values(lease_until=until)
        .returning(LedgerEntry.id)
    )
    return set(renewed)


def update_rows(session: Session, owner: str, rows: Iterable[dict[str, Any]]) -> bool:
    """Per-row updates in one executemany, each only while `owner` holds the row's lease; True when the
    database reports that every row was updated (False: some or all were not, or it cannot tell).

    Every dict holds `ledger_id` and the same set of column values.
    """
    rows = list(rows)
    if not rows:
        return True
    columns = [name for name in rows[0] if name != "ledger_id"]
    statement = (
        update(LedgerEntry)
        .where(LedgerEntry.id == bindparam("ledger_id"), LedgerEntry.lease_owner == owner)
        .values({name: bindparam(name) for name in columns})
    )
    connection = session.connection()
    result = connection.execute(statement, rows)
    return bool(connection.dialect.supports_sane_multi_rowcount and result.rowcount == len(rows))


def release_leases(session: Session, ledger_ids: Collection[int], owner: str) -> None:
    if ledger_ids:
        session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_(ledger_ids), LedgerEntry.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


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


def entries_of_many(session: Session, sources: Collection[SourceRecord]) -> list[LedgerEntry]:
    """The ledger rows of several source records of one connection (one per target entity), by id."""
    if not sources:
        return []
    connections = {source.connection_id for source in sources}
    assert len(connections) == 1, "entries_of_many reads one connection's records"
    wanted = {(source.type, source.id) for source in sources}
    rows = session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.source_connection_id == connections.pop(),
            LedgerEntry.source_type.in_({kind for kind, _ in wanted}),
            LedgerEntry.source_id.in_({ident for _, ident in wanted}),
        )
        .order_by(LedgerEntry.id)
    )
    return [entry for entry in rows if (entry.source_type, entry.source_id) in wanted]


def linked_ids(
    session: Session, sources: Collection[SourceRecord], entity: str
) -> dict[tuple[str, str], str]:
    """`linked_id` for several source records of one connection: (type, id) -> target id."""
    if not sources:
        return {}
    connections = {source.connection_id for source in sources}
    assert len(connections) == 1, "linked_ids reads one connection's records"
    rows = session.execute(
        select(LedgerEntry.source_type, LedgerEntry.source_id, LedgerEntry.target_id).where(
            LedgerEntry.source_connection_id == connections.pop(),
            LedgerEntry.source_type.in_({source.type for source in sources}),
            LedgerEntry.source_id.in_({source.id for source in sources}),
            LedgerEntry.target_entity == entity,
            LedgerEntry.target_id.is_not(None),
        )
    )
    wanted = {(source.type, source.id) for source in sources}
    return {(kind, ident): target for kind, ident, target in rows if (kind, ident) in wanted and target}


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


def leased(entry: LedgerEntry, now: datetime) -> bool:
    return entry.lease_until is not None and entry.lease_until >= now


def mark_unknown_after_crash(session: Session, entry: LedgerEntry, now: datetime) -> None:
    """A `sending` row whose worker is gone: the outcome is unknown, to be verified by reference."""
    entry.state, entry.error_kind, entry.updated_at = LedgerState.UNKNOWN, "crash", now
    entry.lease_owner = entry.lease_until = None
    record_event(
        session,
        record_key=record_key(session, entry.source_connection_id, entry.source_type, entry.source_id),
        kind="lease_expired",
        at=now,
        ledger_id=entry.id,
        connection_id=entry.source_connection_id,
        from_state=LedgerState.SENDING.value,
        to_state=LedgerState.UNKNOWN.value,
        message=CRASHED_WHILE_SENDING,
    )


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
