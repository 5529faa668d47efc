"""The inbox: every verified webhook delivery and every polled change, stored before it is processed.

Rows are unique on (connection, dedup key), so a repeated delivery or a record seen again by an
overlapping poll is stored once. Processing claims a row, so one worker handles it at a time; a claim
older than the lease is taken over (the worker died), which is harmless because processing re-reads
the source record and the ledger de-duplicates the writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ml_connector.engine.flows import Change, InboxItem
from ml_connector.engine.upsert import insert_ignoring_conflict
from ml_connector.http.backoff import Backoff
from ml_connector.store.models import InboxMessage, InboxState
from ml_connector.webhooks import Verified

POLL_TOPIC_PREFIX = "poll:"  # topic of changes found by polling: "poll:<source type>"
LEASE = timedelta(minutes=10)
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})  # never stored
RETRY = Backoff(base=60.0, factor=2.0, cap=6 * 3600.0, max_attempts=10)


def _insert(session: Session, row: dict[str, Any]) -> int | None:
    """INSERT .. ON CONFLICT DO NOTHING: the new row's id, or None when the key was stored before."""
    statement = insert_ignoring_conflict(session, InboxMessage, ["connection_id", "dedup_key"])
    new_id: int | None = session.scalar(statement.values(**row).returning(InboxMessage.id))
    return new_id


def store_delivery(
    session: Session,
    connection_id: int,
    delivery: Verified,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> int | None:
    """Store a verified delivery; its inbox id, or None when the same event was stored before."""
    row = _message(connection_id, delivery.dedup_key, delivery.topic, delivery.resource_id, body, now)
    row["headers"] = {
        name: value for name, value in headers.items() if name.lower() not in _CREDENTIAL_HEADERS
    }
    return _insert(session, row)


def store_changes(
    session: Session, connection_id: int, changes: Sequence[Change], now: datetime
) -> list[int]:
    """Store polled changes; the ids of the ones not seen before (same record, same version)."""
    new_ids = []
    for change in changes:
        version = change.version or change.modified_at.isoformat()
        row = _message(
            connection_id,
            f"poll:{change.source_type}:{change.source_id}:{version}",
            POLL_TOPIC_PREFIX + change.source_type,
            change.source_id,
            b"",
            now,
        )
        new_id = _insert(session, row)
        if new_id is not None:
            new_ids.append(new_id)
    return new_ids


def _message(
    connection_id: int, key: str, topic: str | None, resource_id: str | None, body: bytes, now: datetime
) -> dict[str, Any]:
    return {
        "connection_id": connection_id,
        "dedup_key": key[:200],
        "topic": topic,
        "resource_id": resource_id,
        "body": body,
        "state": InboxState.NEW,
        "attempts": 0,
        "received_at": now,
    }


def claim(session: Session, message_id: int, now: datetime) -> InboxItem | None:
    """Take a message for processing (new, failed and due, or abandoned); None when it is not ours."""
    result = session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == message_id, _claimable(now))
        .values(state=InboxState.PROCESSING, attempts=InboxMessage.attempts + 1, processed_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    row = session.get_one(InboxMessage, message_id)
    return InboxItem(
        row.id, row.connection_id, row.topic, row.resource_id, row.body, row.headers or {}, row.received_at
    )


def _claimable(now: datetime) -> Any:
    # processed_at holds the start of the latest attempt: an old PROCESSING claim belongs to a dead worker.
    return or_(
        InboxMessage.state == InboxState.NEW,
        and_(InboxMessage.state == InboxState.PROCESSING, InboxMessage.processed_at < now - LEASE),
        and_(InboxMessage.state == InboxState.FAILED, InboxMessage.attempts < RETRY.max_attempts),
    )


def finish(session: Session, message_id: int, now: datetime, error: str | None = None) -> None:
    values: dict[str, Any] = {"processed_at": now, "error": error}
    values["state"] = InboxState.FAILED if error else InboxState.DONE
    session.execute(update(InboxMessage).where(InboxMessage.id == message_id).values(**values))


def due(
    session: Session, now: datetime, limit: int = 500, connection_id: int | None = None
) -> list[InboxMessage]:
    """Messages waiting for a worker: new, abandoned, or failed and past their backoff."""
    query = select(InboxMessage).where(_claimable(now))
    if connection_id is not None:
        query = query.where(InboxMessage.connection_id == connection_id)
    rows = session.scalars(query.order_by(InboxMessage.id).limit(limit)).all()
    return [
        row
        for row in rows
        if row.state != InboxState.FAILED
        or row.processed_at is None
        or row.processed_at + timedelta(seconds=RETRY.delay(row.attempts)) <= now
    ]


def last_delivery_at(session: Session, connection_id: int) -> datetime | None:
    """When the last webhook (not poll) delivery of a connection arrived."""
    return session.scalar(
        select(func.max(InboxMessage.received_at)).where(
            InboxMessage.connection_id == connection_id,
            or_(InboxMessage.topic.is_(None), ~InboxMessage.topic.startswith(POLL_TOPIC_PREFIX)),
        )
    )


def purge(session: Session, before: datetime) -> int:
    """Delete processed messages received before `before`; how many."""
    result = session.execute(
        delete(InboxMessage).where(InboxMessage.state == InboxState.DONE, InboxMessage.received_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
