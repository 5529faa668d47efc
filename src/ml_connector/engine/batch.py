"""`Writer.write_many`'s batch path: a batch's plain first creates, sent in order by one sender thread.

The rows were claimed and leased together. They are mapped and recorded `sending` in chunks (the same
trail `write` leaves: fetched, mapped, attempt), and each chunk is handed to a sender thread that makes
the calls one at a time, in the caller's order, while the next chunk is mapped and the outcomes of the
calls made are recorded in groups. A row is `sending` before its call goes out, so a crash at any point
leaves evidence that is verified by reference before any new attempt.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ml_connector.engine import ledger
from ml_connector.engine.audit import event_row, record_events, summarize
from ml_connector.engine.intent import WriteIntent, payload_digest
from ml_connector.http.errors import OutcomeUnknownError, RemoteError
from ml_connector.store.models import LedgerEntry, LedgerState

if TYPE_CHECKING:
    from ml_connector.engine.writer import Writer, WriteResult

# Successful sends are recorded in groups of this many, or after this many seconds.
_FLUSH_EVERY = 50
_FLUSH_SECONDS = 1.0
# Creates are recorded `sending` in chunks that grow from the first (so that the first call goes out
# early) to the largest (fewer transactions).
_FIRST_CHUNK, _MAX_CHUNK = 4, 32


@dataclass(frozen=True)
class PlannedCreate:
    """A plain first create of `write_many`: claimed, leased, not mapped yet."""

    index: int  # position in the caller's list
    entry: LedgerEntry
    intent: WriteIntent
    created: bool  # the row was new


def plain_create(entry: LedgerEntry, now: datetime) -> bool:
    """A first create with nothing to verify: `write_many` sends it in its batch."""
    return (
        entry.state == LedgerState.PENDING
        and entry.target_id is None
        and not ledger.must_verify(entry)
        and (entry.next_attempt_at is None or entry.next_attempt_at <= now)
    )


@dataclass
class _Send:
    """A planned create, mapped and waiting for its call."""

    index: int
    entry: LedgerEntry
    intent: WriteIntent
    payload: dict[str, Any]
    digest: str
    fetched: bool  # a new row or a new source version: the trail notes the version read


class _NotSent(Exception):
    """The sender did not make this call (its lease went to another worker, or the batch was aborted)."""


class _Outcomes:
    """The successful sends of a batch, recorded in groups: every `_FLUSH_EVERY` records or seconds."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.rows: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self._since = writer.clock.time()

    def sent(self, send: _Send, message: str) -> None:
        now = self.writer._now()
        self.rows.append(
            {
                "ledger_id": send.entry.id,
                "state": LedgerState.SENT,
                "target_id": send.entry.target_id,
                "written_hash": send.digest,
                "last_error": None,
                "error_kind": None,
                "next_attempt_at": None,
                "lease_owner": None,
                "lease_until": None,
                "updated_at": now,
            }
        )
        self.events.append(
            event_row(
                record_key=self.writer._record_key(send.entry),
                kind="sent",
                at=now,
                ledger_id=send.entry.id,
                connection_id=send.entry.source_connection_id,
                from_state=LedgerState.SENDING.value,
                to_state=LedgerState.SENT.value,
                message=message,
                detail={"response": {"target_id": send.entry.target_id}},
            )
        )
        if len(self.rows) >= _FLUSH_EVERY or self.writer.clock.time() - self._since >= _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._since = self.writer.clock.time()
        if not self.rows:
            return
        with self.writer.db.locked_session() as session:
            ledger.update_rows(session, self.writer.worker_id, self.rows)
            record_events(session, self.events)
        self.rows, self.events = [], []

    def release(self, ledger_id: int) -> None:
        with self.writer.db.locked_session() as session:
            ledger.release_leases(session, [ledger_id], self.writer.worker_id)


class _Lease:
    """The leases of a batch's rows while the sender works through them. The sender renews them when half
    gone (it is the thread that knows how long the calls take); a row whose lease went to another worker
    meanwhile is not sent."""

    def __init__(self, writer: Writer, until: datetime) -> None:
        self.writer, self.until = writer, until
        self.ids: list[int] = []  # the rows recorded `sending` so far
        self.lost: set[int] = set()
        self.aborted = False  # a call died with the process: no further call is made

    def keep_up(self) -> None:
        seconds = self.writer.policy.lease_seconds
        now = self.writer._now()
        if now < self.until - timedelta(seconds=seconds / 2):
            return
        until, ids = now + timedelta(seconds=seconds), list(self.ids)
        with self.writer.db.locked_session() as session:
            held = ledger.renew_leases(session, ids, self.writer.worker_id, until)
        self.lost.update(set(ids) - held)  # rows already recorded (lease released) are never sent again
        self.until = until


class BatchSender:
    """Sends one batch of planned creates for its `Writer` (see the module docstring)."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def send(self, planned: Sequence[PlannedCreate], now: datetime) -> dict[int, WriteResult]:
        """Map, record `sending`, send and record the planned creates; results by caller's index."""
        writer = self.writer
        results: dict[int, WriteResult] = {}
        unmappable: list[PlannedCreate] = []  # parked with the reason by `write`'s steps (which map again)
        lease = _Lease(writer, now + timedelta(seconds=writer.policy.lease_seconds))
        outcomes = _Outcomes(writer)
        in_flight: deque[tuple[_Send, Future[str]]] = deque()
        sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer-send")
        context = copy_context()  # the caller's (actor, log fields) for the calls; one thread runs them
        try:
            start, size = 0, _FIRST_CHUNK
            while start < len(planned):
                sends = []
                for plan in planned[start : start + size]:
                    send = _mapped(plan)
                    if send is None:
                        unmappable.append(plan)
                    else:
                        sends.append(send)
                start, size = start + size, min(2 * size, _MAX_CHUNK)
                for send in self._record_sending(sends, results):
                    lease.ids.append(send.entry.id)
                    in_flight.append((send, sender.submit(context.run, self._call, send, lease)))
                self._settle(in_flight, outcomes, results, wait=False)
            self._settle(in_flight, outcomes, results, wait=True)
        finally:  # after a failure here, calls not begun are not made: their rows stay `sending`
            sender.shutdown(wait=True, cancel_futures=True)
        outcomes.flush()
        for plan in unmappable:
            results[plan.index] = writer._write_leased(plan.entry.id, plan.intent, plan.created)
        return results

    def _record_sending(self, sends: list[_Send], results: dict[int, WriteResult]) -> list[_Send]:
        """Record the sends `sending` (with their trail) in one transaction; those whose lease is held."""
        if not sends:
            return []
        writer = self.writer
        with writer.db.locked_session() as session:
            now = writer._now()
            lease_until = now + timedelta(seconds=writer.policy.lease_seconds)
            # the update applies only to the rows whose lease this worker still holds
            rows = [_sending_row(send, now, lease_until) for send in sends]
            if not ledger.update_rows(session, writer.worker_id, rows):
                held = ledger.still_leased(session, [send.entry.id for send in sends], writer.worker_id)
                for send in sends:
                    if send.entry.id not in held:
                        results[send.index] = writer._result(send.entry, "lease lost to another worker")
                sends = [send for send in sends if send.entry.id in held]
            events = [event for send in sends for event in self._sending_events(send, now)]
            for send in sends:
                send.entry.state, send.entry.attempts = LedgerState.SENDING, send.entry.attempts + 1
                send.entry.content_hash, send.entry.source_version = send.digest, send.intent.source.version
            record_events(session, events)
        return sends

    def _call(self, send: _Send, lease: _Lease) -> str:
        """The sender thread's part: the call, unless the row's lease went to another worker or an earlier
        call died with the process (then no further call is made: the rows stay `sending`)."""
        if lease.aborted:
            raise _NotSent
        lease.keep_up()
        if send.entry.id in lease.lost:
            raise _NotSent
        try:
            return self.writer.target.create(send.intent.entity, send.payload)
        except Exception:
            raise
        except BaseException:  # interrupted, exiting: the caller re-raises it; stop sending
            lease.aborted = True
            raise

    def _settle(
        self,
        in_flight: deque[tuple[_Send, Future[str]]],
        outcomes: _Outcomes,
        results: dict[int, WriteResult],
        *,
        wait: bool,
    ) -> None:
        """Record the outcomes of the calls made, in call order; `wait` for all of them."""
        writer = self.writer
        while in_flight and (wait or in_flight[0][1].done()):
            send, call = in_flight.popleft()
            try:
                target_id = call.result()
            except _NotSent:
                results[send.index] = writer._result(send.entry, "lease lost to another worker")
            except Exception as exc:
                unknown = OutcomeUnknownError(f"unexpected {type(exc).__name__}: {exc}", system="engine")
                outcomes.flush()  # earlier outcomes first, in the trail as in time
                results[send.index] = writer._after_send_error(
                    send.entry, exc if isinstance(exc, RemoteError) else unknown
                )
                outcomes.release(send.entry.id)
            else:
                send.entry.state, send.entry.target_id = LedgerState.SENT, target_id
                outcomes.sent(send, f"created {send.intent.entity} {target_id}")
                results[send.index] = writer._result(send.entry, "created")

    def _sending_events(self, send: _Send, now: datetime) -> list[dict[str, Any]]:
        """The events `write` records up to the call: fetched (when new), mapped, attempt."""
        intent, entry = send.intent, send.entry
        common: dict[str, Any] = {
            "record_key": self.writer._record_key(entry),
            "at": now,
            "ledger_id": entry.id,
            "connection_id": entry.source_connection_id,
        }
        events = []
        if send.fetched:
            version = intent.source.version
            events.append(
                event_row(
                    **common,
                    kind="fetched",
                    message=f"source version {version or '(none)'}",
                    detail={"version": version},
                )
            )
        events.append(
            event_row(
                **common,
                kind="mapped",
                message=f"payload digest {send.digest[:12]}",
                detail={"payload_digest": send.digest},
            )
        )
        request = {
            "operation": "create",
            "entity": intent.entity,
            "external_ref": intent.external_ref,
            "payload": send.payload,
        }
        events.append(
            event_row(
                **common,
                kind="attempt",
                from_state=LedgerState.PENDING.value,
                to_state=LedgerState.SENDING.value,
                message=f"create {intent.entity} (attempt {entry.attempts + 1})",
                detail={"request": summarize(request)},
            )
        )
        return events


def _mapped(plan: PlannedCreate) -> _Send | None:
    try:
        payload = plan.intent.build_payload()
    except Exception:
        return None
    fetched = plan.created or plan.entry.source_version != plan.intent.source.version
    return _Send(plan.index, plan.entry, plan.intent, payload, payload_digest(payload), fetched)


def _sending_row(send: _Send, now: datetime, lease_until: datetime) -> dict[str, Any]:
    return {
        "ledger_id": send.entry.id,
        "state": LedgerState.SENDING,
        "attempts": send.entry.attempts + 1,
        "content_hash": send.digest,
        "source_version": send.intent.source.version,
        "lease_until": lease_until,
        "updated_at": now,
    }
