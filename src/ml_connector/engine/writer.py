"""The send protocol: every write of every flow goes through `Writer.write`.

1. claim the ledger row (atomic) and take its lease;
2. a create with any history is first looked up by its external reference (verify-before-retry);
3. commit `sending` BEFORE the call, so that a crash leaves evidence;
4. 2xx -> `sent` with the target id; definite rejection -> `failed` (parked, replayable);
   ambiguous -> `unknown` (verified next time); nothing happened -> retried later with backoff;
   rate limits and authentication problems wait without using up attempts.
Every step appends to the audit trail.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ml_connector.engine import ledger
from ml_connector.engine.audit import event_row, record_event, record_events, summarize
from ml_connector.engine.batch import BatchSender, PlannedCreate, plain_create
from ml_connector.engine.intent import RecordKey, SourceRecord, UpdateRule, WriteIntent, payload_digest
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.records import record_key
from ml_connector.engine.target import Target
from ml_connector.http.errors import (
    AuthError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RemoteError,
    TransientError,
)
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.store.connections import NotFoundError, connection_name
from ml_connector.store.db import Database
from ml_connector.store.models import LedgerEntry, LedgerState


@dataclass(frozen=True)
class WriteResult:
    ledger_id: int
    state: LedgerState
    target_id: str | None
    note: str  # what this call did, in words: "created", "found by reference", "unchanged", ...


@dataclass(frozen=True)
class _QueuedEvent:
    ledger_id: int
    connection_id: int
    source_type: str
    source_id: str
    kind: str
    message: str
    detail: dict[str, Any] | None
    at: datetime


class _LeaseLost(Exception):
    """Another worker took over the row (our lease expired); stop without writing anything."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Writer:
    """Writes intents to one target, effectively once. One per target and worker; thread-safe."""

    def __init__(
        self,
        db: Database,
        target: Target,
        *,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.target = target
        self.clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self.worker_id = worker_id or default_worker_id()
        self._events = threading.local()  # events queued by this thread's write, see _event
        self._names: dict[int, str] = {}  # connection names by id, for record keys (names never change)

    # -- the API flows use ------------------------------------------------------------------------

    def write(self, intent: WriteIntent) -> WriteResult:
        """Bring the target in line with the intent; the result says what this call did.

        Target errors are handled here (recorded, retried or parked). Only an update check
        (`update_when`) that cannot reach the target raises, so that the caller tries the record later.
        """
        now = self._now()
        with self.db.locked_session() as session:
            ledger_id, created = ledger.claim(session, intent, now)
            if not ledger.acquire_lease(session, ledger_id, self.worker_id, now, self.policy.lease_seconds):
                entry = session.get_one(LedgerEntry, ledger_id)
                return WriteResult(ledger_id, entry.state, entry.target_id, "busy: another worker holds it")
        return self._write_leased(ledger_id, intent, created)

    def _write_leased(self, ledger_id: int, intent: WriteIntent, created: bool) -> WriteResult:
        """The protocol from step 2, for a row whose lease this writer holds; releases it at the end."""
        try:
            return self._advance(ledger_id, intent, created)
        except _LeaseLost:
            return WriteResult(ledger_id, LedgerState.SENDING, None, "lease lost to another worker")
        finally:
            with self.db.locked_session() as session:
                self._flush_events(session)
                ledger.release_lease(session, ledger_id, self.worker_id)

    def write_many(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        """`write` for several intents, results in the same order, in a few transactions per batch.

        First creates (the bulk of a sync pass) go together: one transaction claims and leases them; they
        are mapped and recorded `sending` in chunks, each chunk handed to a sender thread that makes the
        calls one at a time, in order, while the next chunk is mapped and the outcomes are recorded in
        groups. The protocol is `write`'s: a row is `sending` before its call, so a crash in between
        leaves evidence that is verified by reference before any new attempt. Everything else (retries,
        verification, updates, parked rows, a record named twice) takes `write`'s steps one at a time.
        """
        results: dict[int, WriteResult] = {}
        first: dict[ledger.RowKey, int] = {}
        for index, intent in enumerate(intents):
            first.setdefault(ledger.row_key(intent), index)
        batch = [(index, intents[index]) for index in first.values()]
        if batch:
            now = self._now()
            with self.db.locked_session() as session:
                claimed = ledger.claim_many(session, [intent for _, intent in batch], now)
                ids = [claimed[ledger.row_key(intent)][0] for _, intent in batch]
                leased = ledger.lease_many(session, ids, self.worker_id, now, self.policy.lease_seconds)
                rows = session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_(ids)))
                entries = {entry.id: entry for entry in rows}
            planned: list[PlannedCreate] = []
            for (index, intent), ledger_id in zip(batch, ids, strict=True):
                entry, created = entries[ledger_id], claimed[ledger.row_key(intent)][1]
                if ledger_id not in leased:
                    results[index] = self._result(entry, "busy: another worker holds it")
                elif plain_create(entry, now):
                    planned.append(PlannedCreate(index, entry, intent, created))
                else:
                    results[index] = self._write_leased(ledger_id, intent, created)
            results.update(BatchSender(self).send(planned, now))
        for index, intent in enumerate(intents):
            if index not in results:  # the same record again: after the first, on its own
                results[index] = self.write(intent)
        return [results[index] for index in range(len(intents))]

    def skip(self, source: SourceRecord, reason: str) -> None:
        """Record that the flow deliberately does not write this record (e.g. a cancelled order)."""
        self.skip_many([(source, reason)])

    def skip_many(self, skips: Sequence[tuple[SourceRecord, str]]) -> None:
        """`skip` for several records (each with its reason), in one transaction."""
        if not skips:
            return
        now = self._now()
        reasons = {(s.connection_id, s.type, s.id): reason for s, reason in skips}
        with self.db.locked_session() as session:
            record_events(
                session,
                [
                    event_row(
                        record_key=self.key_of(source.connection_id, source.type, source.id),
                        kind="skipped",
                        at=now,
                        message=reason,
                        connection_id=source.connection_id,
                        detail={"version": source.version},
                    )
                    for source, reason in skips
                ],
            )
            for entry in ledger.entries_of_many(session, [source for source, _ in skips]):
                if entry.state in (LedgerState.PENDING, *ledger.PARKED):
                    reason = reasons[(entry.source_connection_id, entry.source_type, entry.source_id)]
                    self._set(
                        session, entry, LedgerState.SKIPPED, "skipped", reason, now, next_attempt_at=None
                    )

    def links(self, sources: Sequence[SourceRecord], entity: str) -> dict[tuple[str, str], str]:
        """`link` for several records of one connection: (source type, source id) -> target id."""
        if not sources:
            return {}
        with self.db.read_session() as session:
            return ledger.linked_ids(session, sources, entity)

    def link(self, source: SourceRecord, entity: str) -> str | None:
        """The target id already created for `source` (e.g. the Account of a customer), or None."""
        with self.db.read_session() as session:
            return ledger.linked_id(session, source, entity)

    # -- the protocol -----------------------------------------------------------------------------

    def _advance(self, ledger_id: int, intent: WriteIntent, created: bool) -> WriteResult:
        now = self._now()
        entry = self._load(ledger_id)
        if created or entry.source_version != intent.source.version:
            self._event(
                entry,
                "fetched",
                f"source version {intent.source.version or '(none)'}",
                detail={"version": intent.source.version},
            )
        if entry.state == LedgerState.SENDING:
            entry = self._change(
                entry,
                LedgerState.UNKNOWN,
                "lease_expired",
                ledger.CRASHED_WHILE_SENDING,
                error_kind="crash",
            )
        if entry.state == LedgerState.SENT:
            return self._reconcile_sent(entry, intent)
        if entry.state in ledger.PARKED:
            return self._recheck_parked(entry, intent)
        if entry.next_attempt_at is not None and entry.next_attempt_at > now:
            return self._result(entry, f"waiting until {entry.next_attempt_at.isoformat()}")
        return self._send(entry, intent)

    def _recheck_parked(self, entry: LedgerEntry, intent: WriteIntent) -> WriteResult:
        """A parked record is tried again by itself only when the source changed (the cause may be fixed)."""
        try:
            digest = payload_digest(intent.build_payload())
        except Exception:
            return self._result(entry, "parked: still cannot be mapped")
        if digest == entry.content_hash:
            return self._result(entry, "parked: replay it after fixing the cause")
        entry = self._change(
            entry,
            LedgerState.PENDING,
            "source_changed",
            "the source changed after the failure: trying again",
            attempts=0,
            next_attempt_at=None,
        )
        return self._send(entry, intent)

    def _reconcile_sent(self, entry: LedgerEntry, intent: WriteIntent) -> WriteResult:
        try:
            payload = intent.build_payload()
        except Exception as exc:  # the record stays as written; the user learns why the change is not
            self._event(entry, "mapping_failed", f"the changed source cannot be mapped: {exc}")
            return self._result(entry, "sent; the change cannot be mapped")
        digest = payload_digest(payload)
        if digest in (entry.written_hash, entry.content_hash):
            self._touch(entry, source_version=intent.source.version)
            return self._result(entry, "unchanged")
        assert entry.target_id is not None
        if not self._update_allowed(intent, entry.target_id):
            self._touch(entry, source_version=intent.source.version, content_hash=digest)
            self._event(
                entry,
                "changed_after_posting",
                f"the source changed after it was written to {intent.entity} {entry.target_id}, "
                "which no longer accepts changes: correct it in the target (e.g. a credit note)",
                detail={"payload_digest": digest},
            )
            return self._result(entry, "changed after posting")
        entry = self._change(
            entry,
            LedgerState.PENDING,
            "source_changed",
            "the source changed: updating",
            attempts=0,
            next_attempt_at=None,
        )
        return self._send(entry, intent, payload)

    def _update_allowed(self, intent: WriteIntent, target_id: str) -> bool:
        if isinstance(intent.update, UpdateRule):
            return intent.update == UpdateRule.ALWAYS
        return intent.update(self.target, intent.entity, target_id)

    def _send(
        self, entry: LedgerEntry, intent: WriteIntent, payload: dict[str, Any] | None = None
    ) -> WriteResult:
        if payload is None:
            try:
                payload = intent.build_payload()
            except Exception as exc:  # a mapping problem is the user's to fix: park it with the reason
                entry = self._change(
                    entry,
                    LedgerState.FAILED,
                    "mapping_failed",
                    str(exc),
                    last_error=str(exc),
                    error_kind="mapping",
                    content_hash=None,
                )
                return self._result(entry, "failed: cannot be mapped")
        digest = payload_digest(payload)
        self._event(entry, "mapped", f"payload digest {digest[:12]}", detail={"payload_digest": digest})
        if ledger.must_verify(entry):
            try:
                found = self.target.find_by_ref(intent.entity, intent.external_ref)
            except RemoteError as exc:
                return self._not_sent(entry, exc, stage="verification")
            self._event(
                entry,
                "verified",
                f"{intent.entity} with reference {intent.external_ref}: "
                + (f"found {found}" if found else "not found"),
                detail={"found": found},
            )
            if found is not None:
                entry = self._change(
                    entry,
                    LedgerState.SENT,
                    "found_by_reference",
                    f"already in the target as {found}: not sent again",
                    target_id=found,
                    written_hash=entry.content_hash,
                    last_error=None,
                    error_kind=None,
                    next_attempt_at=None,
                )
                return self._reconcile_sent(entry, intent)
        operation = "update" if entry.target_id else "create"
        entry = self._change(
            entry,
            LedgerState.SENDING,
            "attempt",
            f"{operation} {intent.entity} (attempt {entry.attempts + 1})",
            require_lease=True,
            attempts=entry.attempts + 1,
            content_hash=digest,
            source_version=intent.source.version,
            lease_until=self._now() + timedelta(seconds=self.policy.lease_seconds),
            detail={
                "request": summarize(
                    {
                        "operation": operation,
                        "entity": intent.entity,
                        "external_ref": intent.external_ref,
                        "payload": payload,
                    }
                )
            },
        )
        try:
            if entry.target_id:
                self.target.update(intent.entity, entry.target_id, payload)
                target_id = entry.target_id
            else:
                target_id = self.target.create(intent.entity, payload)
        except RemoteError as exc:
            return self._after_send_error(entry, exc)
        except Exception as exc:  # an unexpected failure mid-call: nobody knows whether it was written
            unknown = OutcomeUnknownError(f"unexpected {type(exc).__name__}: {exc}", system="engine")
            return self._after_send_error(entry, unknown)
        entry = self._change(
            entry,
            LedgerState.SENT,
            "sent",
            f"{operation}d {intent.entity} {target_id}",
            target_id=target_id,
            written_hash=digest,
            last_error=None,
            error_kind=None,
            next_attempt_at=None,
            detail={"response": {"target_id": target_id}},
        )
        return self._result(entry, f"{operation}d")

    def _record_key(self, entry: LedgerEntry) -> str:
        return self.key_of(entry.source_connection_id, entry.source_type, entry.source_id)

    def key_of(self, connection_id: int, source_type: str, source_id: str) -> str:
        """The record's audit key ("<connection>:<type>:<id>"), the connection's name read once."""
        name = self._names.get(connection_id)
        if name is None:
            with self.db.read_session() as session:
                name = connection_name(session, connection_id)
            if name is None:
                raise NotFoundError(f"connection id {connection_id} does not exist")
            self._names[connection_id] = name
        return str(RecordKey(name, source_type, source_id))

    def _after_send_error(self, entry: LedgerEntry, exc: RemoteError) -> WriteResult:
        response = {
            "response": summarize(
                {
                    "error": type(exc).__name__,
                    "status": exc.status,
                    "message": exc.message,
                    "detail": exc.detail,
                }
            )
        }
        message = str(exc) + (f": {exc.detail}" if exc.detail else "")
        if isinstance(exc, RejectedError):
            entry = self._change(
                entry,
                LedgerState.FAILED,
                "rejected",
                message,
                last_error=message,
                error_kind="rejected",
                next_attempt_at=None,
                detail=response,
            )
            return self._result(entry, "failed: rejected by the target")
        if isinstance(exc, OutcomeUnknownError):
            return self._retry_or_die(
                entry, LedgerState.UNKNOWN, "outcome_unknown", message, "unknown", response
            )
        return self._not_sent(entry, exc, stage="send", detail=response, refund=1)

    def _not_sent(
        self,
        entry: LedgerEntry,
        exc: RemoteError,
        *,
        stage: str,
        detail: dict[str, Any] | None = None,
        refund: int = 0,
    ) -> WriteResult:
        """Nothing was written. Rate limits and auth problems wait without using up an attempt."""
        message = f"{stage}: {exc}"
        back = LedgerState.UNKNOWN if entry.error_kind in ("unknown", "crash") else LedgerState.PENDING
        if isinstance(exc, RejectedError):  # e.g. the reference lookup itself was refused
            entry = self._change(
                entry,
                LedgerState.FAILED,
                "rejected",
                message,
                last_error=message,
                error_kind="rejected",
                next_attempt_at=None,
                detail=detail,
            )
            return self._result(entry, "failed: rejected by the target")
        if isinstance(exc, RateLimitedError | AuthError):
            if isinstance(exc, AuthError):
                kind, wait = "auth", self.policy.auth_wait_seconds
            else:
                kind, wait = "rate_limited", exc.retry_after or self.policy.rate_wait_seconds
            entry = self._change(
                entry,
                back,
                kind,
                message,
                attempts=entry.attempts - refund,
                next_attempt_at=self._now() + timedelta(seconds=wait),
                detail=detail,
                last_error=message,
                error_kind=entry.error_kind if refund == 0 else kind,
            )
            return self._result(entry, f"waiting: {kind}")
        assert isinstance(exc, TransientError)
        if stage == "verification":  # retried later without counting: nothing was sent
            return self._schedule(entry, back, "verify_failed", message, detail)
        return self._retry_or_die(entry, back, "transient", message, entry.error_kind or "transient", detail)

    def _retry_or_die(
        self,
        entry: LedgerEntry,
        state: LedgerState,
        kind: str,
        message: str,
        error_kind: str,
        detail: dict[str, Any] | None,
    ) -> WriteResult:
        if self.policy.backoff.exhausted(entry.attempts):
            entry = self._change(
                entry,
                LedgerState.DEAD,
                "dead",
                f"gave up after {entry.attempts} attempts: {message}",
                last_error=message,
                error_kind=error_kind,
                next_attempt_at=None,
                detail=detail,
            )
            return self._result(entry, "dead: attempts exhausted")
        entry = self._change(
            entry,
            state,
            kind,
            message,
            error_kind=error_kind,
            last_error=message,
            detail=detail,
            next_attempt_at=self._retry_time(entry.attempts, settle=state == LedgerState.UNKNOWN),
        )
        return self._result(entry, f"retrying at {entry.next_attempt_at}")

    def _schedule(
        self, entry: LedgerEntry, state: LedgerState, kind: str, message: str, detail: dict[str, Any] | None
    ) -> WriteResult:
        entry = self._change(
            entry,
            state,
            kind,
            message,
            last_error=message,
            detail=detail,
            next_attempt_at=self._retry_time(max(entry.attempts, 1)),
        )
        return self._result(entry, f"retrying at {entry.next_attempt_at}")

    # -- persistence helpers -------------------------------------------------------------------

    def _retry_time(self, attempt: int, *, settle: bool = False) -> datetime:
        """When to try again; after an unknown outcome not before the write that may still be running at
        the target has settled, so that the lookup by reference cannot miss it (and send it twice)."""
        wait = self.policy.backoff.delay(attempt)
        return self._now() + timedelta(seconds=max(wait, self.policy.settle_seconds) if settle else wait)

    def _now(self) -> datetime:
        return utc_datetime(self.clock)

    def _load(self, ledger_id: int) -> LedgerEntry:
        with self.db.read_session() as session:
            return session.get_one(LedgerEntry, ledger_id)

    def _change(
        self,
        entry: LedgerEntry,
        state: LedgerState,
        kind: str,
        message: str,
        *,
        require_lease: bool = False,
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> LedgerEntry:
        """Move the row to `state` and append the event, in one transaction."""
        with self.db.locked_session() as session:
            row = session.get_one(LedgerEntry, entry.id, with_for_update=require_lease)
            if require_lease and row.lease_owner != self.worker_id:
                raise _LeaseLost
            self._set(session, row, state, kind, message, self._now(), detail=detail, **fields)
            return row

    def _set(
        self,
        session: Session,
        row: LedgerEntry,
        state: LedgerState,
        kind: str,
        message: str,
        now: datetime,
        *,
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        self._flush_events(session)  # earlier events of this write come first in the timeline
        previous = row.state
        row.state = state
        row.updated_at = now
        for name, value in fields.items():
            setattr(row, name, value)
        key = record_key(session, row.source_connection_id, row.source_type, row.source_id)
        record_event(
            session,
            record_key=key,
            kind=kind,
            at=now,
            ledger_id=row.id,
            connection_id=row.source_connection_id,
            from_state=previous.value,
            to_state=state.value,
            message=message,
            detail=detail,
        )

    def _touch(self, entry: LedgerEntry, **fields: Any) -> None:
        with self.db.locked_session() as session:
            self._flush_events(session)
            session.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values(**fields))

    def _event(
        self, entry: LedgerEntry, kind: str, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Queue an event that changes no state; it is written in the transaction of the row's next change
        (or when the write ends), which saves a transaction per event on the hot path."""
        self._queue().append(
            _QueuedEvent(
                entry.id,
                entry.source_connection_id,
                entry.source_type,
                entry.source_id,
                kind,
                message,
                detail,
                self._now(),
            )
        )

    def _queue(self) -> list[_QueuedEvent]:
        queue: list[_QueuedEvent] | None = getattr(self._events, "queue", None)
        if queue is None:
            queue = self._events.queue = []
        return queue

    def _flush_events(self, session: Session) -> None:
        queue = self._queue()
        for event in queue:
            record_event(
                session,
                record_key=record_key(session, event.connection_id, event.source_type, event.source_id),
                kind=event.kind,
                at=event.at,
                ledger_id=event.ledger_id,
                connection_id=event.connection_id,
                message=event.message,
                detail=event.detail,
            )
        queue.clear()

    @staticmethod
    def _result(entry: LedgerEntry, note: str) -> WriteResult:
        return WriteResult(entry.id, entry.state, entry.target_id, note)
