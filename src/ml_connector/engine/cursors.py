"""Incremental read positions: a watermark per connection and stream, with an overlap window.

Each poll reads from `watermark - overlap` (late updates, equal timestamps, WooCommerce's strict
`modified_after`); records at exactly the watermark that were already taken are skipped by id
(boundary de-duplication, as in dlt's `incremental`), and anything else seen again is de-duplicated
by the inbox and the ledger. The watermark moves only together with the inbox rows it covers (same
transaction), and never past the time the poll started: a record modified during a poll is read again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ml_connector.engine.flows import Change
from ml_connector.store.models import SyncCursor


@dataclass
class Watermark:
    value: datetime | None = None
    boundary: set[str] = field(default_factory=set)  # "<type>:<id>" of records at exactly `value`

    def since(self, overlap: timedelta) -> datetime | None:
        return None if self.value is None else self.value - overlap

    def already_taken(self, change: Change) -> bool:
        return change.modified_at == self.value and _key(change) in self.boundary


def _key(change: Change) -> str:
    # with the version: a record changed again within the watermark's second is not taken already
    return f"{change.source_type}:{change.source_id}:{change.version or ''}"


def load(session: Session, connection_id: int, stream: str) -> Watermark:
    row = session.get(SyncCursor, (connection_id, stream))
    if row is None or row.value is None:
        return Watermark()
    boundary = set((row.boundary_ids or {}).get("ids", []))
    return Watermark(datetime.fromisoformat(row.value), boundary)


def save(session: Session, connection_id: int, stream: str, mark: Watermark) -> None:
    row = session.get(SyncCursor, (connection_id, stream))
    if row is None:
        row = SyncCursor(connection_id=connection_id, stream=stream)
        session.add(row)
    row.value = mark.value.isoformat() if mark.value else None
    row.boundary_ids = {"ids": sorted(mark.boundary)}


@dataclass
class Advance:
    """The watermark a poll reaches, capped at the poll's start time."""

    start: Watermark
    started_at: datetime
    reached: Watermark = field(default_factory=Watermark)

    def __post_init__(self) -> None:
        self.reached = Watermark(self.start.value, set(self.start.boundary))

    def observe(self, change: Change) -> None:
        if change.modified_at > self.started_at:
            return  # modified during this poll: the next poll takes it again
        if self.reached.value is None or change.modified_at > self.reached.value:
            self.reached = Watermark(change.modified_at, {_key(change)})
        elif change.modified_at == self.reached.value:
            self.reached.boundary.add(_key(change))
