from __future__ import annotations

import threading

from sqlalchemy import func, select

from ml_connector.engine.audit import acting_as, timeline
from ml_connector.engine.intent import SourceRecord, UpdateRule, update_when
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.writer import Writer
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import AuthError, RateLimitedError, RejectedError, TransientError
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.db import Database
from ml_connector.store.models import LedgerEntry, LedgerState
from tests.engine.conftest import Pair
from tests.engine.fakes import FakeTarget, unknown

POLICY = RetryPolicy(
    backoff=Backoff(base=10, factor=2, cap=1000, max_attempts=3), lease_seconds=60, settle_seconds=0
)


def make(db: Database, clock: ManualClock, target: FakeTarget | None = None) -> tuple[Writer, FakeTarget]:
    target = target or FakeTarget()
    return Writer(db, target, clock=clock, policy=POLICY, worker_id="w1"), target


def kinds(db: Database, record: str) -> list[str]:
    with db.session() as session:
        return [event.kind for event in timeline(session, record)]


def test_first_write_creates_once_and_repeats_are_no_ops(db, pair: Pair, clock):
    writer, target = make(db, clock)
    first = writer.write(pair.intent("1"))
    again = writer.write(pair.intent("1"))
    assert (first.state, first.note) == (LedgerState.SENT, "created")
    assert (again.state, again.target_id, again.note) == (LedgerState.SENT, first.target_id, "unchanged")
    assert target.calls == [("create", "SalesInvoices")]  # a fresh record is not looked up first
    assert kinds(db, "shop:order:1") == ["fetched", "mapped", "attempt", "sent"]


def test_committed_then_dropped_response_is_found_by_reference_not_resent(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next("create", unknown(), after_commit=True)
    result = writer.write(pair.intent("7"))
    assert result.state == LedgerState.UNKNOWN
    clock.advance(3600)
    retry = writer.write(pair.intent("7"))
    assert (retry.state, retry.note) == (LedgerState.SENT, "unchanged")
    assert target.count("SalesInvoices", "WC-1-7") == 1
    assert target.calls == [("create", "SalesInvoices"), ("find", "SalesInvoices")]
    assert "found_by_reference" in kinds(db, "shop:order:7")


def test_unknown_outcome_that_did_not_write_is_sent_again_after_lookup(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next("create", unknown())
    writer.write(pair.intent("8"))
    clock.advance(3600)
    assert writer.write(pair.intent("8")).state == LedgerState.SENT
    assert target.calls == [
        ("create", "SalesInvoices"),
        ("find", "SalesInvoices"),
        ("create", "SalesInvoices"),
    ]
    assert target.count("SalesInvoices", "WC-1-8") == 1


def test_retries_back_off_exponentially_then_the_record_is_dead(db, pair, clock):
    writer, target = make(db, clock)
    waits = []
    for _ in range(3):
        target.fail_next("create", unknown())
        result = writer.write(pair.intent("9"))
        with db.session() as session:
            entry = session.get_one(LedgerEntry, result.ledger_id)
        if entry.next_attempt_at is not None:
            waits.append(entry.next_attempt_at.timestamp() - clock.time())
            assert writer.write(pair.intent("9")).note.startswith("waiting")  # not yet due: no call
            clock.advance(waits[-1])
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20  # full jitter within the doubling bound
    assert entry.state == LedgerState.DEAD and entry.attempts == 3
    assert kinds(db, "shop:order:9")[-1] == "dead"


def test_an_unknown_outcome_is_looked_up_only_once_the_write_has_settled(db, pair, clock):
    target = FakeTarget()
    writer = Writer(db, target, clock=clock, policy=RetryPolicy(settle_seconds=120), worker_id="w1")
    target.fail_next("create", unknown())  # the POST may still be running at the target
    result = writer.write(pair.intent("10"))
    with db.session() as session:
        entry = session.get_one(LedgerEntry, result.ledger_id)
    assert entry.state == LedgerState.UNKNOWN and entry.next_attempt_at is not None
    assert entry.next_attempt_at.timestamp() - clock.time() >= 120  # not after the 30 s backoff
    clock.advance(60)
    assert writer.write(pair.intent("10")).note.startswith("waiting")
    assert target.calls == [("create", "SalesInvoices")]  # no lookup yet


def test_a_rejection_parks_the_record_with_the_targets_message(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next(
        "create", RejectedError("Invalid VAT code", system="exact", status=400, detail="VATCode 9")
    )
    result = writer.write(pair.intent("10"))
    assert result.state == LedgerState.FAILED
    clock.advance(10_000)
    assert writer.write(pair.intent("10")).note == "parked: replay it after fixing the cause"
    with db.session() as session:
        entry = session.get_one(LedgerEntry, result.ledger_id)
    assert "Invalid VAT code" in (entry.last_error or "") and "VATCode 9" in (entry.last_error or "")
    assert target.calls == [("create", "SalesInvoices")]


def test_a_changed_source_after_a_failure_tries_again_with_verification(db, pair, clock):
    writer, target = make(db, clock)
    writer.write(pair.intent("11", amount=-1))  # the fake rejects negative amounts
    assert writer.write(pair.intent("11", version="v2", amount=5)).state == LedgerState.SENT
    assert target.calls == [
        ("create", "SalesInvoices"),
        ("find", "SalesInvoices"),
        ("create", "SalesInvoices"),
    ]


def test_rate_limits_and_auth_problems_do_not_use_up_attempts(db, pair, clock):
    writer, target = make(db, clock)
    for error in (
        RateLimitedError("slow down", system="exact", retry_after=42),
        AuthError("re-authorize", system="exact"),
    ):
        target.fail_next("create", error)
        writer.write(pair.intent("12"))
        with db.session() as session:
            entry = session.get_one(LedgerEntry, 1)
        assert entry.attempts == 0 and entry.state == LedgerState.PENDING
        clock.advance(400)
    assert entry.next_attempt_at is not None
    assert writer.write(pair.intent("12")).state == LedgerState.SENT


def test_transient_errors_count_as_attempts(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next("create", TransientError("503 before processing", system="exact", status=503))
    writer.write(pair.intent("13"))
    with db.session() as session:
        entry = session.get_one(LedgerEntry, 1)
    assert (entry.state, entry.attempts) == (LedgerState.PENDING, 1)


def test_a_worker_that_died_while_sending_is_verified_before_retrying(db, pair, clock):
    writer, target = make(db, clock)
    writer.write(pair.intent("14"))  # created in the target
    with db.session() as session:  # rewind to the moment of the crash: sending, lease held by a dead worker
        entry = session.get_one(LedgerEntry, 1)
        entry.state, entry.target_id, entry.lease_owner = LedgerState.SENDING, None, "dead-worker"
        entry.lease_until = entry.updated_at
        entry.written_hash = None
    clock.advance(1)
    result = writer.write(pair.intent("14"))
    assert (result.state, result.target_id) == (LedgerState.SENT, "id-1")
    assert target.count("SalesInvoices", "WC-1-14") == 1
    assert kinds(db, "shop:order:14")[-4:] == ["lease_expired", "mapped", "verified", "found_by_reference"]


def test_a_held_lease_keeps_other_workers_out(db, pair, clock):
    writer, target = make(db, clock)
    other = Writer(db, target, clock=clock, policy=POLICY, worker_id="w2")
    writer.write(pair.intent("15", version="v0"))
    with db.session() as session:
        entry = session.get_one(LedgerEntry, 1)
        entry.state, entry.lease_owner = LedgerState.PENDING, "w1"
        entry.lease_until = entry.updated_at.replace(year=2100)
    assert other.write(pair.intent("15")).note.startswith("busy")


def test_updates_follow_the_flows_rule(db, pair, clock):
    writer, target = make(db, clock)
    writer.write(pair.intent("16", update=UpdateRule.ALWAYS, entity="Accounts"))
    updated = writer.write(
        pair.intent("16", version="v2", amount=99, update=UpdateRule.ALWAYS, entity="Accounts")
    )
    assert updated.note == "updated"
    assert target.records["Accounts"]["id-1"]["Amount"] == 99

    writer.write(pair.intent("17"))
    frozen = writer.write(pair.intent("17", version="v2", amount=50))
    assert (frozen.state, frozen.note) == (LedgerState.SENT, "changed after posting")
    assert target.records["SalesInvoices"]["id-2"]["Amount"] == 10
    assert kinds(db, "shop:order:17")[-1] == "changed_after_posting"
    assert writer.write(pair.intent("17", version="v3", amount=50)).note == "unchanged"  # reported once


def test_update_when_reads_the_target_state(db, pair, clock):
    writer, target = make(db, clock)
    draft = update_when("Status", 10)
    writer.write(pair.intent("18", update=draft))
    target.records["SalesInvoices"]["id-1"]["Status"] = 10
    assert writer.write(pair.intent("18", version="v2", amount=2, update=draft)).note == "updated"
    target.records["SalesInvoices"]["id-1"]["Status"] = 50
    assert (
        writer.write(pair.intent("18", version="v3", amount=3, update=draft)).note == "changed after posting"
    )


def test_a_mapping_error_parks_the_record_with_the_reason(db, pair, clock):
    writer, target = make(db, clock)
    intent = pair.intent("19")

    def broken() -> dict[str, object]:
        raise ValueError("no GL account mapped for tax class 'reduced'; add it to the mapping")

    result = writer.write(intent.__class__(**{**intent.__dict__, "payload": broken}))
    assert result.state == LedgerState.FAILED and target.calls == []
    with db.session() as session:
        assert "tax class 'reduced'" in (session.get_one(LedgerEntry, 1).last_error or "")


def test_skip_and_link(db, pair, clock):
    writer, _ = make(db, clock)
    writer.write(pair.intent("20", entity="Accounts"))
    assert writer.link(SourceRecord(pair.shop_id, "order", "20"), "Accounts") == "id-1"
    assert writer.link(SourceRecord(pair.shop_id, "order", "21"), "Accounts") is None
    with acting_as("webhook"):
        writer.skip(SourceRecord(pair.shop_id, "order", "21", "v1"), "order is cancelled")
    with db.session() as session:
        events = timeline(session, "shop:order:21")
    assert [(e.kind, e.actor, e.message) for e in events] == [("skipped", "webhook", "order is cancelled")]


def test_concurrent_writers_create_one_row_and_one_record(db, pair, clock):
    target = FakeTarget()
    writers = [Writer(db, target, clock=clock, policy=POLICY, worker_id=f"w{i}") for i in range(4)]
    barrier = threading.Barrier(4)
    results = []

    def run(writer: Writer) -> None:
        barrier.wait()
        results.append(writer.write(pair.intent("22")).state)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert target.count("SalesInvoices", "WC-1-22") == 1
    assert len(results) == 4  # no writer failed (e.g. on a locked database)


def test_skip_many_records_each_reason_and_settles_a_parked_row(db, pair, clock):
    writer, target = make(db, clock)
    target.rejects_negative_amounts = True
    writer.write(pair.intent("30", amount=-5))  # rejected: parked, waiting for a fix or a skip
    writer.skip_many(
        [
            (SourceRecord(pair.shop_id, "order", "30", "v2"), "order 30 was cancelled before it was posted"),
            (SourceRecord(pair.shop_id, "order", "31", "v1"), "order 31 was trashed before it was posted"),
        ]
    )
    with db.session() as session:
        assert [(e.kind, e.message) for e in timeline(session, "shop:order:31")] == [
            ("skipped", "order 31 was trashed before it was posted")
        ]
        thirty = [(e.kind, e.to_state) for e in timeline(session, "shop:order:30")]
        entry = session.scalars(select(LedgerEntry).where(LedgerEntry.source_id == "30")).one()
    assert entry.state == LedgerState.SKIPPED
    assert thirty[-2:] == [("skipped", None), ("skipped", "skipped")]  # the note, then the row's move
