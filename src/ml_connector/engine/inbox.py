"""The inbox: every verified webhook delivery and every polled change, stored before it is processed.

Rows are unique on (connection, dedup key), so a repeated delivery or a record seen again by an
overlapping poll is stored once. Processing claims a row, so one worker handles it at a time; a claim
older than the lease is taken over (the worker died), which is harmless because processing re-reads
the source record and the ledger de-duplicates the writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
) -> list[tuple[int, Change]]:
    """Store polled changes; the ones not seen before (same record, same version), with their inbox ids.

    Three statements per batch: the keys stored before, one INSERT of the rest, their new ids.
    """
    keyed: dict[str, Change] = {}
    for change in changes:
        version = change.version or change.modified_at.isoformat()
        keyed.setdefault(f"poll:{change.source_type}:{change.source_id}:{version}"[:200], change)
    if not keyed:
        return []
    known = set(_ids_by_key(session, connection_id, keyed))
    rows = [
        _message(connection_id, key, POLL_TOPIC_PREFIX + change.source_type, change.source_id, b"", now)
        for key, change in keyed.items()
        if key not in known
    ]
    if not rows:
        return []
    statement = insert_ignoring_conflict(session, InboxMessage, ["connection_id", "dedup_key"])
    inserted = session.execute(statement.returning(InboxMessage.dedup_key, InboxMessage.id), rows)
    # a concurrent poll's rows are not returned: they are its to process
    ids: dict[str, int] = dict(inserted.all())
    return [(ids[key], change) for key, change in keyed.items() if key in ids]


def _ids_by_key(session: Session, connection_id: int, keys: Iterable[str]) -> dict[str, int]:
    query = select(InboxMessage.dedup_key, InboxMessage.id).where(
        InboxMessage.connection_id == connection_id, InboxMessage.dedup_key.in_(list(keys))
    )
    return dict(session.execute(query).all())


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


def claim_many(session: Session, message_ids: Sequence[int], now: datetime) -> set[int]:
    """`claim` for several messages in one UPDATE; the ids this call took."""
    claimed = session.scalars(
        update(InboxMessage)
        .where(InboxMessage.id.in_(message_ids), _claimable(now))
        .values(state=InboxState.PROCESSING, attempts=InboxMessage.attempts + 1, processed_at=now)
        .returning(InboxMessage.id)
    )
    return set(claimed)


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


def finish_many(session: Session, outcomes: Mapping[int, str | None], now: datetime) -> None:
    """`finish` for several messages: message id -> its error, or None when done."""
    done = [message_id for message_id, error in outcomes.items() if error is None]
    if done:
        session.execute(
            update(InboxMessage)
            .where(InboxMessage.id.in_(done))
            .values(state=InboxState.DONE, processed_at=now, error=None)
        )
    for message_id, error in outcomes.items():
        if error is not None:
            finish(session, message_id, now, error)


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
