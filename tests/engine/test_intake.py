from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ml_connector.engine import inbox
from ml_connector.engine.cursors import load
from ml_connector.engine.flows import Change, FlowCache
from ml_connector.engine.intake import PollResult, _Handoff, poll_stream
from ml_connector.engine.processing import poll_connection, process_message, waiting_work
from ml_connector.store.models import InboxMessage, InboxState
from ml_connector.webhooks import Verified
from tests.engine.conftest import ShopWorld
from tests.engine.testflow import ShopFlow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def poll(world: ShopWorld, started: float, since: datetime | None = None):
    flow = FlowCache(world.app).get(world.shop_id)
    return poll_stream(world.app.db, flow, world.shop_id, "orders", T0 + timedelta(seconds=started), since)


def test_polls_store_each_change_once_and_advance_the_watermark(world: ShopWorld):
    for order, modified in (("1", 0), ("2", 5), ("3", 5)):
        world.shop.put(order, modified=at(modified))
    first = poll(world, started=60)
    assert (first.seen, len(first.new_ids), first.watermark) == (3, 3, T0 + timedelta(seconds=5))
    with world.app.db.session() as session:
        mark = load(session, world.shop_id, "orders")
    assert mark.boundary == {
        f"order:2:{at(5)}",
        f"order:3:{at(5)}",
    }  # the records at the watermark, by version

    world.shop.put("4", modified=at(5))  # same second as the boundary, arrived late
    world.shop.put("1", modified=at(30))  # changed again
    second = poll(world, started=61)
    # reads from watermark - overlap: 2 and 3 are boundary duplicates, 4 and the new version of 1 are new
    assert second.seen == 2 and len(second.new_ids) == 2
    with world.app.db.session() as session:
        keys = sorted(m.dedup_key for m in session.scalars(select(InboxMessage)))
    expected = [("1", 0), ("2", 5), ("3", 5), ("4", 5), ("1", 30)]
    assert keys == sorted(f"poll:order:{order}:{at(t)}" for order, t in expected)


def test_the_watermark_never_passes_the_poll_start(world: ShopWorld):
    world.shop.put("1", modified=at(10))
    world.shop.put("2", modified=at(100))  # modified while the poll ran
    result = poll(world, started=50)
    assert result.watermark == T0 + timedelta(seconds=10)
    assert len(poll(world, started=200).new_ids) == 0  # 2 was stored once; it is read again, not re-stored


def test_a_since_in_the_past_does_not_move_the_watermark_back(world: ShopWorld):
    world.shop.put("1", modified=at(10))
    poll(world, started=50)
    poll(world, started=60, since=T0 - timedelta(days=1))
    with world.app.db.session() as session:
        assert load(session, world.shop_id, "orders").value == T0 + timedelta(seconds=10)


def test_inbox_ignores_duplicate_deliveries(world: ShopWorld):
    delivery = Verified(dedup_key="order:7:2026-03-01T12:00:00", topic="order.updated", resource_id="7")
    with world.app.db.session() as session:
        first = inbox.store_delivery(session, world.shop_id, delivery, b'{"id": 7}', {"x": "1"}, T0)
        again = inbox.store_delivery(session, world.shop_id, delivery, b'{"id": 7}', {"x": "2"}, T0)
    assert first is not None and again is None


def test_messages_are_processed_once_and_failures_retry(world: ShopWorld):
    world.shop.put("7", modified=at(0))
    with world.app.db.session() as session:
        message_id = inbox.store_delivery(
            session, world.shop_id, Verified("k7", "order.updated", "7"), b'{"id": 7}', {}, T0
        )
        broken_id = inbox.store_delivery(
            session, world.shop_id, Verified("k404", "order.updated", "404"), b'{"id": 404}', {}, T0
        )
    assert message_id is not None and broken_id is not None
    flows = FlowCache(world.app)
    assert process_message(world.app.db, flows, message_id)
    assert not process_message(world.app.db, flows, message_id)  # done: a second run does nothing
    assert world.target.count("SalesInvoices", "WC-7") == 1
    assert process_message(world.app.db, flows, broken_id)
    with world.app.db.session() as session:
        broken = session.get_one(InboxMessage, broken_id)
    assert broken.state == InboxState.FAILED and "KeyError" in (broken.error or "")
    now = datetime.now(UTC)
    assert [j.id for j in waiting_work(world.app.db, now) if j.kind == "message"] == []  # backing off
    later = [j for j in waiting_work(world.app.db, now + timedelta(hours=1)) if j.kind == "message"]
    assert [(j.id, j.key) for j in later] == [(broken_id, f"message:{broken_id}:1:failed")]


def test_changes_carry_their_version_into_the_inbox_key(world: ShopWorld):
    with world.app.db.session() as session:
        ids = inbox.store_changes(session, world.shop_id, [Change("order", "1", T0, "v9")], T0)
        again = inbox.store_changes(session, world.shop_id, [Change("order", "1", T0, "v9")], T0)
    assert len(ids) == 1 and again == []


def test_processed_messages_are_purged_after_the_retention(world: ShopWorld):
    with world.app.db.session() as session:
        old = inbox.store_delivery(session, world.shop_id, Verified("old", "t", "1"), b"{}", {}, T0)
        new = inbox.store_delivery(session, world.shop_id, Verified("new", "t", "2"), b"{}", {}, T0)
        waiting = inbox.store_delivery(session, world.shop_id, Verified("wait", "t", "3"), b"{}", {}, T0)
        assert old and new and waiting
        inbox.finish(session, old, T0)
        inbox.finish(session, new, T0)
        session.get_one(InboxMessage, new).received_at = T0 + timedelta(days=2)
    with world.app.db.session() as session:
        assert inbox.purge(session, T0 + timedelta(days=1)) == 1
        assert sorted(m.dedup_key for m in session.scalars(select(InboxMessage))) == ["new", "wait"]


def test_an_inline_poll_writes_each_stored_batch_and_leaves_nothing_waiting(world: ShopWorld):
    for n in range(1, 251):  # three batches of the poll
        world.shop.put(str(n), modified=at(n))
    world.shop.put("251", modified=at(251), status="cancelled")
    flows = FlowCache(world.app)
    [result] = poll_connection(world.app.db, flows, world.shop_id, T0 + timedelta(hours=1), inline=True)
    assert (result.seen, len(result.new_ids), result.processed) == (251, 251, 251)
    assert [world.target.count("SalesInvoices", f"WC-{n}") for n in range(1, 251)] == [1] * 250
    assert world.target.count("SalesInvoices", "WC-251") == 0
    with world.app.db.session() as session:
        states = {m.state for m in session.scalars(select(InboxMessage))}
    assert states == {InboxState.DONE}
    assert waiting_work(world.app.db, datetime.now(UTC) + timedelta(days=1)) == []


def test_an_inline_poll_leaves_a_failing_record_to_its_retry_and_writes_the_rest(
    world: ShopWorld, monkeypatch: pytest.MonkeyPatch
):
    for n in range(1, 6):
        world.shop.put(str(n), modified=at(n))
    process = ShopFlow.process

    def failing_on_3(self: ShopFlow, source_type: str, source_id: str) -> None:
        if source_id == "3":
            raise ConnectionError("shop unreachable for order 3")
        process(self, source_type, source_id)

    monkeypatch.setattr(ShopFlow, "process", failing_on_3)
    flows = FlowCache(world.app)
    poll_connection(world.app.db, flows, world.shop_id, T0 + timedelta(hours=1), inline=True)
    assert [world.target.count("SalesInvoices", f"WC-{n}") for n in (1, 2, 4, 5)] == [1] * 4
    with world.app.db.session() as session:
        failed = [(m.resource_id, m.state) for m in session.scalars(select(InboxMessage)) if m.error]
    assert failed == [("3", InboxState.FAILED)]


def test_an_inline_poll_hands_its_first_20_records_to_the_writer_before_reading_on(
    world: ShopWorld, monkeypatch: pytest.MonkeyPatch
):
    for n in range(1, 151):
        world.shop.put(str(n), modified=at(n))
    first_handed = threading.Event()
    read = ShopFlow.poll

    def read_on_once_handed(self: ShopFlow, stream: str, since: datetime | None) -> Iterator[Change]:
        for index, change in enumerate(read(self, stream, since)):
            if index == 21:  # the 21st record closed the first batch: the 22nd waits for the writer
                assert first_handed.wait(10)
            yield change

    sizes: list[int] = []

    def writer(stored: list[tuple[int, Change]]) -> None:
        sizes.append(len(stored))
        first_handed.set()

    monkeypatch.setattr(ShopFlow, "poll", read_on_once_handed)
    flow = FlowCache(world.app).get(world.shop_id)
    poll_stream(world.app.db, flow, world.shop_id, "orders", T0 + timedelta(hours=1), on_stored=writer)
    assert sizes[0] == 20 and sum(sizes) == 150


def _stored(*ids: int) -> list[tuple[int, Change]]:
    return [(i, Change("order", str(i), T0)) for i in ids]


class HeldWriter:
    """A stored-batch handler that holds on to its first batch until `go_on` is set (`fail`: then raises)."""

    def __init__(self, fail: bool = False) -> None:
        self.taken: list[list[int]] = []
        self.first_taken, self.go_on = threading.Event(), threading.Event()
        self.fail = fail

    def __call__(self, stored: list[tuple[int, Change]]) -> None:
        self.taken.append([message_id for message_id, _ in stored])
        self.first_taken.set()
        if len(self.taken) == 1:
            assert self.go_on.wait(10)
            if self.fail:
                raise RuntimeError("the database went away")

    def holding(self, handoff: _Handoff, *first: int) -> None:
        handoff.submit(_stored(*first))
        assert self.first_taken.wait(10)  # the first batch starts at once, alone


def test_the_writer_takes_every_stored_batch_waiting_as_one_batch():
    writer, result = HeldWriter(), PollResult("orders")
    with _Handoff(writer, result) as handoff:
        writer.holding(handoff, 1, 2)
        handoff.submit(_stored(3))
        handoff.submit(_stored(4, 5))
        writer.go_on.set()
    assert writer.taken == [[1, 2], [3, 4, 5]]
    assert result.processed == 5


def test_a_failing_stored_batch_does_not_stop_the_next_and_its_error_is_raised_at_the_end():
    writer = HeldWriter(fail=True)
    handoff = _Handoff(writer, PollResult("orders")).__enter__()
    writer.holding(handoff, 1)
    handoff.submit(_stored(2))
    writer.go_on.set()
    with pytest.raises(RuntimeError, match="went away"):
        handoff.__exit__(None, None, None)
    assert writer.taken == [[1], [2]]


def test_the_poll_waits_while_three_batches_are_in_hand_waiting_or_being_written():
    writer = HeldWriter()
    with _Handoff(writer, PollResult("orders")) as handoff:
        writer.holding(handoff, 1)
        handoff.submit(_stored(2))
        handoff.submit(_stored(3))  # in hand: one being written, two waiting
        fourth_stored = threading.Event()

        def store_the_fourth() -> None:
            handoff.submit(_stored(4))
            fourth_stored.set()

        poll = threading.Thread(target=store_the_fourth)
        poll.start()
        assert not fourth_stored.wait(0.3)  # memory stays bounded: the poll does not read on
        writer.go_on.set()
        assert fourth_stored.wait(10)
        poll.join()
    assert writer.taken[0] == [1]
    assert [i for batch in writer.taken for i in batch] == [1, 2, 3, 4]  # all of them, in order
