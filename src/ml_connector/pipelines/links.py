"""What the pipelines remember about links beyond the ledger: the master-data hash of the last sync
(to recognise our own write when it echoes back) and the reverse lookup target id -> source id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from ml_connector.engine.upsert import upsert
from ml_connector.store.db import Database
from ml_connector.store.models import LedgerEntry, LedgerState, SyncCursor

_PREFIX = "link:"


class LinkHashes:
    """Per source record, the fingerprint of the master data both sides held after the last sync.

    Kept in `sync_cursors` under the stream `link:<type>:<id>`: a small per-record marker, like a cursor.
    """

    def __init__(self, db: Database, connection_id: int) -> None:
        self.db = db
        self.connection_id = connection_id

    def get(self, source_type: str, source_id: str) -> str | None:
        with self.db.session() as session:
            row = session.get(SyncCursor, (self.connection_id, f"{_PREFIX}{source_type}:{source_id}"))
            return row.value if row is not None else None

    def get_many(self, records: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """`get` for several (source type, source id), in one query: those with a hash."""
        streams = {f"{_PREFIX}{kind}:{ident}": (kind, ident) for kind, ident in records}
        if not streams:
            return {}
        with self.db.read_session() as session:
            rows = session.execute(
                select(SyncCursor.stream, SyncCursor.value).where(
                    SyncCursor.connection_id == self.connection_id, SyncCursor.stream.in_(list(streams))
                )
            )
            return {streams[stream]: value for stream, value in rows if value is not None}

    def set(self, source_type: str, source_id: str, fingerprint: str) -> None:
        self.set_many([(source_type, source_id, fingerprint)])

    def set_many(self, fingerprints: Sequence[tuple[str, str, str]]) -> None:
        """(source type, source id, fingerprint) of several records, in one transaction."""
        if not fingerprints:
            return
        now = datetime.now(UTC)
        rows = {f"{_PREFIX}{kind}:{ident}": fingerprint for kind, ident, fingerprint in fingerprints}
        with self.db.session() as session:  # one upsert: SyncCursor's updated_at is set by its default
            session.execute(
                upsert(session, SyncCursor, ["connection_id", "stream"], ["value", "updated_at"]),
                [
                    {"connection_id": self.connection_id, "stream": stream, "value": value, "updated_at": now}
                    for stream, value in rows.items()
                ],
            )


def source_of(db: Database, connection_id: int, source_type: str, entity: str, target_id: str) -> str | None:
    """The source id whose write created `target_id` (e.g. the customer behind an Account)."""
    with db.session() as session:
        return session.scalar(
            select(LedgerEntry.source_id).where(
                LedgerEntry.source_connection_id == connection_id,
                LedgerEntry.source_type == source_type,
                LedgerEntry.target_entity == entity,
                LedgerEntry.target_id == target_id,
                LedgerEntry.state == LedgerState.SENT,
            )
        )
