"""The append-only audit trail of every record, and its timeline for `ml-connector audit RECORD`."""

from __future__ import annotations

import contextvars
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from ml_connector.app import App
from ml_connector.engine.records import resolve_record
from ml_connector.secrets import redactor
from ml_connector.store.connections import NotFoundError
from ml_connector.store.models import AuditEvent

_SUMMARY_LIMIT = 2000  # characters of a request/response kept in the trail
_actor: contextvars.ContextVar[str] = contextvars.ContextVar("ml_connector_actor", default="system")


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute events recorded inside the block to `actor` ("schedule", "webhook", "cli:replay" ...)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()


def summarize(value: Any) -> str:
    """A redacted, bounded text form of a request or response for the trail."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = redactor.redact(text)
    return text if len(text) <= _SUMMARY_LIMIT else text[:_SUMMARY_LIMIT] + "…"


class EventFields(TypedDict, total=False):
    """What an event says; `record_key`, `kind` and `at` are required."""

    record_key: Required[str]  # "<connection>:<source type>:<source id>"
    kind: Required[str]
    at: Required[datetime]
    ledger_id: int | None
    connection_id: int | None
    from_state: str | None
    to_state: str | None
    message: str | None
    detail: dict[str, Any] | None


def record_event(session: Session, **fields: Unpack[EventFields]) -> None:
    session.add(AuditEvent(**event_row(**fields)))


def event_row(**fields: Unpack[EventFields]) -> dict[str, Any]:
    """The column values of one event, attributed to the current actor, its message redacted."""
    message = fields.get("message")
    return {
        "ledger_id": None,
        "connection_id": None,
        "from_state": None,
        "to_state": None,
        "detail": None,
        **fields,
        "message": redactor.redact(message) if message else None,
        "actor": current_actor(),
    }


def record_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append several events (from `event_row`) in one executemany."""
    if rows:  # a Core executemany: the ORM's per-row bookkeeping is not needed for append-only rows
        session.connection().execute(insert(AuditEvent), rows)


def timeline(session: Session, record: str) -> list[AuditEvent]:
    """Events of a record ("<connection>:<type>:<id>" or a ledger id), oldest first."""
    resolved = resolve_record(session, record)
    query = select(AuditEvent).where(AuditEvent.record_key == resolved.key)
    if resolved.ledger_id is not None:
        # A ledger id narrows to that write, plus the record-level events (fetched, skipped) it shares.
        query = query.where(or_(AuditEvent.ledger_id == resolved.ledger_id, AuditEvent.ledger_id.is_(None)))
    return list(session.scalars(query.order_by(AuditEvent.id)))


def _as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "record": event.record_key,
        "ledger_id": event.ledger_id,
        "actor": event.actor,
        "kind": event.kind,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "message": event.message,
        "detail": event.detail,
    }


def render_timeline(app: App, record: str, as_json: bool) -> str:
    with app.db.session() as session:
        events = timeline(session, record)
    if not events:
        raise NotFoundError(
            f"no audit events for {record}: it has not been read yet, or the name is misspelled "
            "(records are <connection>:<source type>:<source id>, e.g. shop:order:1042)"
        )
    if as_json:
        return json.dumps([_as_dict(e) for e in events], indent=2)
    table = Table(title=f"audit trail of {record}", show_lines=False)
    for column in ("time (UTC)", "actor", "event", "state", "message"):
        table.add_column(column)
    for event in events:
        change = f"{event.from_state or ''} → {event.to_state}" if event.to_state else ""
        table.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"), event.actor, event.kind, change, event.message or ""
        )
    buffer = io.StringIO()
    Console(file=buffer, width=140, force_terminal=False).print(table)
    return buffer.getvalue()
