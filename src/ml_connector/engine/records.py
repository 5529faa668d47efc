"""Naming records the way users do: "<connection>:<source type>:<source id>" or a ledger id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ml_connector.engine.intent import RecordKey
from ml_connector.store.connections import NotFoundError, connection_name, get_connection
from ml_connector.store.models import LedgerEntry


@dataclass(frozen=True)
class ResolvedRecord:
    key: str  # "<connection>:<type>:<id>"
    connection_id: int
    source_type: str
    source_id: str
    ledger_id: int | None  # set when the user named one ledger row


def record_key(session: Session, connection_id: int, source_type: str, source_id: str) -> str:
    name = connection_name(session, connection_id)
    if name is None:
        raise NotFoundError(f"connection id {connection_id} does not exist")
    return str(RecordKey(name, source_type, source_id))


def resolve_record(session: Session, record: str) -> ResolvedRecord:
    if record.isdigit():
        entry = session.get(LedgerEntry, int(record))
        if entry is None:
            raise NotFoundError(f"no ledger entry {record} (see `ml-connector failed list`)")
        key = record_key(session, entry.source_connection_id, entry.source_type, entry.source_id)
        return ResolvedRecord(key, entry.source_connection_id, entry.source_type, entry.source_id, entry.id)
    parsed = RecordKey.parse(record)
    conn = get_connection(session, parsed.connection)
    return ResolvedRecord(str(parsed), conn.id, parsed.type, parsed.id, None)
