"""One poll of one stream: changes into the inbox, then the watermark, in the same transactions."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ml_connector.engine import cursors, inbox
from ml_connector.engine.flows import Change, Flow
from ml_connector.store.db import Database

BATCH = 100
# With a handler, the first batch is stored and handed over early: its writes start while the poll reads on.
_FIRST_BATCH = 20
_IN_HAND = 3  # stored batches in hand at most: waiting for the handler, or being handled
# Called with the new changes of a batch (inbox id, change) once they are stored.
StoredHandler = Callable[[list[tuple[int, Change]]], None]


@dataclass
class PollResult:
    stream: str
    seen: int = 0
    new_ids: list[int] = field(default_factory=list)
    processed: int = 0  # new changes processed in the pass itself (see `on_stored`)
    watermark: datetime | None = None


def poll_stream(
    db: Database,
    flow: Flow,
    connection_id: int,
    stream: str,
    started_at: datetime,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    on_stored: StoredHandler | None = None,
) -> PollResult:
    """Read `stream` from its watermark (or `since`) and store what changed in the inbox.

    Batches are committed as they come, so a crash keeps what was stored; the watermark is written
    with the last batch, so a crash before it means the next poll reads the same range again
    (stored records are not stored twice). `on_stored` gets each batch's new changes once they are
    stored, to process them while the records read are at hand: on a thread of its own, one batch at
    a time, so that reading the next batch overlaps with writing this one (see `_Handoff`).
    """
    with db.session() as session:
        start = cursors.load(session, connection_id, stream)
    advance = cursors.Advance(start, started_at)
    result = PollResult(stream)
    batch: list[Change] = []
    with _Handoff(on_stored, result) as handoff:
        for change in flow.poll(stream, since if since is not None else start.since(flow.overlap)):
            if start.already_taken(change):
                continue
            if len(batch) == (_FIRST_BATCH if on_stored and not result.seen else BATCH):
                with db.locked_session() as session:
                    stored = _store(session, connection_id, batch, started_at, result, progress)
                handoff.submit(stored)  # outside the transaction: the handler needs the database too
                batch = []
            batch.append(change)
            advance.observe(change)
        with db.locked_session() as session:
            stored = _store(session, connection_id, batch, started_at, result, progress)
            cursors.save(session, connection_id, stream, advance.reached)  # never behind `start`
        handoff.submit(stored)
    result.watermark = advance.reached.value
    return result


class _Handoff:
    """Runs the handler of stored batches on one thread of its own, in order, while the poll reads on.

    The handler takes every batch waiting when it is free, as one: fewer, larger write batches when the
    poll reads faster than the writes go out (each write batch has a fixed cost in transactions and in
    time the Exact calls wait), and the first batch still starts as soon as it is stored. At most
    `_IN_HAND` batches are in hand, waiting or being handled (memory stays flat). Leaving the block waits
    for them, also when the poll failed (they are stored: process them), and re-raises the handler's
    first error.
    """

    def __init__(self, handler: StoredHandler | None, result: PollResult) -> None:
        self.handler, self.result = handler, result
        self._waiting: list[list[tuple[int, Change]]] = []
        self._handling = 0  # batches the handler took and has not finished
        self._changed = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = (
            threading.Thread(target=self._run, name="stored", args=(contextvars.copy_context(),))
            if handler
            else None
        )

    def submit(self, stored: list[tuple[int, Change]]) -> None:
        if self._thread is None or not stored:
            return
        with self._changed:
            self._changed.wait_for(lambda: len(self._waiting) + self._handling < _IN_HAND)
            self._waiting.append(stored)
            self._changed.notify_all()
        self.result.processed += len(stored)

    def _run(self, context: contextvars.Context) -> None:
        assert self.handler is not None
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting or self._closed)
                if not self._waiting:
                    return
                taken = [change for stored in self._waiting for change in stored]
                self._handling = len(self._waiting)
                self._waiting.clear()
            try:
                context.run(self.handler, taken)
            except BaseException as exc:  # the rest is still processed; the first error is re-raised
                self._error = self._error or exc
            with self._changed:
                self._handling = 0
                self._changed.notify_all()

    def __enter__(self) -> _Handoff:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread is None:
            return
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()
        if self._error is not None:
            raise self._error


def _store(
    session: Session,
    connection_id: int,
    changes: list[Change],
    now: datetime,
    result: PollResult,
    progress: Callable[[int], None] | None,
) -> list[tuple[int, Change]]:
    stored = inbox.store_changes(session, connection_id, changes, now)
    result.new_ids += [message_id for message_id, _ in stored]
    result.seen += len(changes)
    if progress:
        progress(len(changes))
    return stored
