"""One poll of one stream: changes into the inbox, then the watermark, in the same transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ml_connector.engine import cursors, inbox
from ml_connector.engine.flows import Change, Flow
from ml_connector.store.db import Database

BATCH = 100


@dataclass
class PollResult:
    stream: str
    seen: int = 0
    new_ids: list[int] = field(default_factory=list)
    watermark: datetime | None = None


def poll_stream(
    db: Database,
    flow: Flow,
    connection_id: int,
    stream: str,
    started_at: datetime,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> PollResult:
    """Read `stream` from its watermark (or `since`) and store what changed in the inbox.

    Batches are committed as they come, so a crash keeps what was stored; the watermark is written
    with the last batch, so a crash before it means the next poll reads the same range again
    (stored records are not stored twice).
    """
    with db.session() as session:
        start = cursors.load(session, connection_id, stream)
    advance = cursors.Advance(start, started_at)
    result = PollResult(stream)
    batch: list[Change] = []
    for change in flow.poll(stream, since if since is not None else start.since(flow.overlap)):
        if start.already_taken(change):
            continue
        if len(batch) == BATCH:
            with db.locked_session() as session:
                _store(session, connection_id, batch, started_at, result, progress)
            batch = []
        batch.append(change)
        advance.observe(change)
    with db.locked_session() as session:
        _store(session, connection_id, batch, started_at, result, progress)
        cursors.save(session, connection_id, stream, advance.reached)  # never behind `start`
    result.watermark = advance.reached.value
    return result


def _store(
    session: Session,
    connection_id: int,
    changes: list[Change],
    now: datetime,
    result: PollResult,
    progress: Callable[[int], None] | None,
) -> None:
    result.new_ids += inbox.store_changes(session, connection_id, changes, now)
    result.seen += len(changes)
    if progress:
        progress(len(changes))
