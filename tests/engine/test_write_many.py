"""`Writer.write_many`: the batch path keeps `write`'s protocol, its trail and its crash safety."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from ml_connector.engine import ledger
from ml_connector.engine.batch import BatchSender
from ml_connector.engine.writer import Writer
from ml_connector.http.errors import RejectedError
from ml_connector.sandbox_kit.clock import ManualClock, utc_datetime
from ml_connector.store.db import Database
from ml_connector.store.models import LedgerEntry, LedgerState
from tests.engine.conftest import Pair
from tests.engine.fakes import FakeTarget, unknown
from tests.engine.test_writer import POLICY, kinds, make


class Crash(BaseException):
    """The process dies mid-batch (not an Exception: nothing in the engine may handle it)."""


class CrashingTarget(FakeTarget):
    """Dies on the n-th create, after that create reached the target (the worst moment)."""

    def __init__(self, crash_on: int) -> None:
        super().__init__()
        self.crash_on = crash_on

    def create(self, entity: str, payload: dict[str, Any]) -> str:
        created = super().create(entity, payload)
        if sum(1 for op, _ in self.calls if op == "create") == self.crash_on:
            raise Crash
        return created


def entries(db: Database) -> dict[str, LedgerEntry]:
    with db.session() as session:
        return {entry.source_id: entry for entry in session.scalars(select(LedgerEntry))}


def test_a_batch_creates_each_record_once_with_the_same_trail_as_write(db, pair: Pair, clock):
    writer, target = make(db, clock)
    results = writer.write_many([pair.intent(str(n)) for n in range(1, 6)])
    assert [(r.state, r.note) for r in results] == [(LedgerState.SENT, "created")] * 5
    assert [r.target_id for r in results] == [f"id-{n}" for n in range(1, 6)]  # in the caller's order
    assert target.calls == [("create", "SalesInvoices")] * 5  # nothing looked up first
    assert kinds(db, "shop:order:3") == ["fetched", "mapped", "attempt", "sent"]
    assert all(e.lease_owner is None and e.attempts == 1 for e in entries(db).values())
    again = writer.write_many([pair.intent(str(n)) for n in range(1, 6)])
    assert {r.note for r in again} == {"unchanged"} and len(target.calls) == 5


def test_a_record_named_twice_in_a_batch_is_written_once(db, pair, clock):
    writer, target = make(db, clock)
    first, second = writer.write_many([pair.intent("1"), pair.intent("1")])
    assert (first.note, second.note) == ("created", "unchanged")
    assert target.count("SalesInvoices", "WC-1-1") == 1


def test_records_with_history_take_the_one_by_one_protocol(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next("create", unknown(), after_commit=True)
    writer.write(pair.intent("1"))  # outcome unknown: it must be verified, never blindly re-sent
    writer.write(pair.intent("2"))  # sent
    clock.advance(3600)
    results = writer.write_many([pair.intent("1"), pair.intent("2"), pair.intent("3")])
    assert [r.note for r in results] == ["unchanged", "unchanged", "created"]
    assert [target.count("SalesInvoices", f"WC-1-{n}") for n in (1, 2, 3)] == [1, 1, 1]
    assert "found_by_reference" in kinds(db, "shop:order:1")


def test_a_rejection_in_a_batch_parks_that_record_and_the_rest_go_on(db, pair, clock):
    writer, target = make(db, clock)
    target.rejects_negative_amounts = True
    intents = [pair.intent("1"), pair.intent("2", amount=-5), pair.intent("3")]
    results = writer.write_many(intents)
    assert [r.state for r in results] == [LedgerState.SENT, LedgerState.FAILED, LedgerState.SENT]
    assert kinds(db, "shop:order:2")[-1] == "rejected"
    assert entries(db)["2"].lease_owner is None  # released for a replay


def test_an_unmappable_record_in_a_batch_is_parked_with_its_reason(db, pair, clock):
    writer, target = make(db, clock)

    def broken() -> dict[str, Any]:
        raise ValueError("no VAT code mapped for 21%: add it to the settings")

    bad = pair.intent("2")
    results = writer.write_many([pair.intent("1"), bad.__class__(**{**bad.__dict__, "payload": broken})])
    assert [r.state for r in results] == [LedgerState.SENT, LedgerState.FAILED]
    assert "VAT code" in (entries(db)["2"].last_error or "")
    assert target.calls == [("create", "SalesInvoices")]


def test_a_crash_mid_batch_leaves_evidence_and_nothing_is_duplicated(db, pair, clock):
    target = CrashingTarget(crash_on=3)
    writer = Writer(db, target, clock=clock, policy=POLICY, worker_id="dies")
    with pytest.raises(Crash):
        writer.write_many([pair.intent(str(n)) for n in range(1, 6)])
    # the process is gone: a row that may have been sent is `sending` (or sent, when recorded before the
    # crash); a row of a chunk not recorded yet was never sent and is still pending
    states = {n: entries(db)[str(n)].state for n in range(1, 6)}
    assert {states[n] for n in (1, 2, 3, 4)} <= {LedgerState.SENDING, LedgerState.SENT}
    assert states[3] == LedgerState.SENDING and states[5] in (LedgerState.SENDING, LedgerState.PENDING)
    clock.advance(POLICY.lease_seconds + 1)
    survivor = Writer(db, target, clock=clock, policy=POLICY, worker_id="survivor")
    results = survivor.write_many([pair.intent(str(n)) for n in range(1, 6)])
    assert {r.state for r in results} == {LedgerState.SENT}
    assert [target.count("SalesInvoices", f"WC-1-{n}") for n in range(1, 6)] == [1] * 5
    assert "found_by_reference" in kinds(db, "shop:order:3")  # written, then the crash: found, not re-sent
    assert kinds(db, "shop:order:5")[-2:] == ["attempt", "sent"]  # never sent (verified absent): sent now


def test_rows_another_worker_holds_are_left_to_it(db, pair, clock):
    writer, target = make(db, clock)
    other = Writer(db, target, clock=clock, policy=POLICY, worker_id="w2")
    writer.write(pair.intent("1", version="v0"))
    with db.session() as session:
        entry = session.get_one(LedgerEntry, 1)
        entry.state, entry.lease_owner = LedgerState.PENDING, "w1"
        entry.lease_until = entry.updated_at.replace(year=2100)
    busy, created = other.write_many([pair.intent("1"), pair.intent("2")])
    assert busy.note.startswith("busy") and created.note == "created"


def test_concurrent_batches_create_one_row_and_one_record_each(db, pair, clock):
    target = FakeTarget()
    writers = [Writer(db, target, clock=clock, policy=POLICY, worker_id=f"w{i}") for i in range(3)]
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def run(writer: Writer) -> None:
        barrier.wait()
        try:
            writer.write_many([pair.intent(str(n)) for n in range(1, 21)])
        except BaseException as exc:  # a locked database would show here
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 20
    assert [target.count("SalesInvoices", f"WC-1-{n}") for n in range(1, 21)] == [1] * 20


def test_a_long_batch_renews_its_leases_so_no_other_worker_takes_them(db, pair):
    clock = ManualClock(start=1_800_000_000)
    taken: list[set[int]] = []

    class SlowTarget(FakeTarget):
        def create(self, entity: str, payload: dict[str, Any]) -> str:
            clock.advance(POLICY.lease_seconds / 4)  # a rate-limited target: each call takes a while
            with db.session() as session:  # another worker tries to take the batch's rows
                taken.append(ledger.lease_many(session, range(1, 9), "intruder", utc_datetime(clock), 60))
            return super().create(entity, payload)

    writer = Writer(db, SlowTarget(), clock=clock, policy=POLICY, worker_id="w1")
    results = writer.write_many([pair.intent(str(n)) for n in range(1, 9)])
    assert clock.time() - 1_800_000_000 >= 2 * POLICY.lease_seconds  # two leases long
    assert {r.note for r in results} == {"created"}
    # during the call for row k, the intruder got at most the rows already recorded sent (1 .. k-1)
    assert all(ids <= set(range(1, k)) for k, ids in enumerate(taken, start=1))
    assert entries(db)["8"].state == LedgerState.SENT


def test_a_rejected_reference_lookup_does_not_stop_the_batch(db, pair, clock):
    writer, target = make(db, clock)
    target.fail_next("create", unknown())
    writer.write(pair.intent("1"))
    clock.advance(3600)
    target.fail_next("find", RejectedError("bad filter", system="fake", status=400))
    results = writer.write_many([pair.intent("1"), pair.intent("2")])
    assert [r.state for r in results] == [LedgerState.FAILED, LedgerState.SENT]


def _unmappable() -> dict[str, Any]:
    raise ValueError("tax class 'reduced' has no Exact VAT code")


def test_a_long_batch_goes_out_in_the_callers_order_chunk_after_chunk(db, pair, clock):
    writer, target = make(db, clock)
    intents = [pair.intent(str(n)) for n in range(1, 61)]
    intents[6] = replace(intents[6], payload=_unmappable)  # cannot be mapped: parked
    results = writer.write_many(intents)
    created = [r for r in results if r.note == "created"]
    assert len(created) == 59 and results[6].state == LedgerState.FAILED
    # the fake target numbers what it creates: the calls went out in the caller's order
    assert [r.target_id for r in created] == [f"id-{n}" for n in range(1, 60)]
    assert [target.count("SalesInvoices", f"WC-1-{n}") for n in range(1, 61)] == [1] * 6 + [0] + [1] * 53


def test_calls_not_begun_are_not_made_when_the_batch_fails(db, pair, clock, monkeypatch):
    writer, target = make(db, clock)
    record_sending = BatchSender._record_sending
    chunks: list[int] = []

    def failing(sender: BatchSender, sends: Any, results: Any) -> Any:  # fails on the second chunk
        chunks.append(len(sends))
        if len(chunks) == 2:
            raise OSError("disk I/O error")
        return record_sending(sender, sends, results)

    monkeypatch.setattr(BatchSender, "_record_sending", failing)
    with pytest.raises(OSError, match="disk I/O error"):
        writer.write_many([pair.intent(str(n)) for n in range(1, 31)])
    # at most the first chunk (recorded `sending`) was sent: the calls not begun were dropped
    assert 1 <= len(target.calls) <= chunks[0]
    assert all(target.count("SalesInvoices", f"WC-1-{n}") == 0 for n in range(chunks[0] + 1, 31))
    states = {e.source_id: e.state for e in entries(db).values()}
    assert all(states[str(n)] == LedgerState.SENDING for n in range(1, chunks[0] + 1))
    assert all(states[str(n)] == LedgerState.PENDING for n in range(chunks[0] + 1, 31))


def test_a_row_whose_lease_another_worker_took_while_the_batch_was_mapped_is_not_sent(db, pair, clock):
    writer, target = make(db, clock)
    intents = [pair.intent(str(n)) for n in range(1, 4)]
    build_second = intents[1].build_payload

    def taken_meanwhile() -> dict[str, Any]:  # mapping the second record: another worker takes its row
        with db.session() as session:
            entry = session.scalars(select(LedgerEntry).where(LedgerEntry.source_id == "2")).one()
            entry.lease_owner = "w2"
        payload: dict[str, Any] = build_second()
        return payload

    intents[1] = replace(intents[1], payload=taken_meanwhile)
    results = writer.write_many(intents)
    assert [r.note for r in results] == ["created", "lease lost to another worker", "created"]
    assert [target.count("SalesInvoices", f"WC-1-{n}") for n in range(1, 4)] == [1, 0, 1]
    rows = entries(db)
    assert (rows["2"].state, rows["2"].attempts, rows["2"].lease_owner) == (LedgerState.PENDING, 0, "w2")
    assert kinds(db, "shop:order:2") == []  # nothing recorded in another worker's name
