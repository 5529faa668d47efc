from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ml_connector.engine.audit import render_timeline
from ml_connector.engine.flows import FlowCache
from ml_connector.engine.processing import retry_record, waiting_work
from ml_connector.engine.replay import NothingToReplayError, list_failed, replay_all_failed, replay_one
from ml_connector.store.models import LedgerEntry, LedgerState
from tests.engine.conftest import ShopWorld


def process(world: ShopWorld, order: str) -> None:
    FlowCache(world.app).get(world.shop_id).process("order", order)


def test_a_rejected_record_is_listed_and_replays_after_the_fix(world: ShopWorld):
    world.shop.put("5", amount=-3)
    world.shop.put("6", amount=4)
    process(world, "5")
    process(world, "6")
    failed = list_failed(world.app, "store", None)
    assert [(f.record, f.entity, f.state) for f in failed] == [("store:order:5", "SalesInvoices", "failed")]
    assert "negative amounts" in (failed[0].last_error or "")
    assert list_failed(world.app, None, "NEGATIVE") == failed
    assert list_failed(world.app, None, "timeout") == []

    world.shop.put("5", amount=3)  # the cause is fixed in the source, same version stamp
    calls_before = len(world.target.calls)
    results = replay_one(world.app, "store:order:5")
    assert [(r.state, r.target_id is not None) for r in results] == [("sent", True)]
    # the replay verified by reference before creating, and touched nothing but order 5
    assert world.target.calls[calls_before:] == [("find", "SalesInvoices"), ("create", "SalesInvoices")]
    assert world.target.count("SalesInvoices", "WC-5") == 1
    timeline = json.loads(render_timeline(world.app, "store:order:5", as_json=True))
    replay = next(e for e in timeline if e["kind"] == "replay")
    assert replay["actor"] == "cli:replay" and replay["from_state"] == "failed"
    assert timeline[-1]["kind"] == "sent" and timeline[-1]["actor"] == "cli:replay"
    with pytest.raises(NothingToReplayError):
        replay_one(world.app, "store:order:5")


def test_replay_by_ledger_id_and_all_failed(world: ShopWorld):
    for order in ("7", "8"):
        world.shop.put(order, amount=-1)
        process(world, order)
    ids = [f.ledger_id for f in list_failed(world.app, "store", None)]
    world.shop.put("7", amount=1)
    assert [r.state for r in replay_one(world.app, str(ids[0]))] == ["sent"]
    world.shop.put("8", amount=1)
    assert [(r.record, r.state) for r in replay_all_failed(world.app, "store")] == [("store:order:8", "sent")]
    assert list_failed(world.app, "store", None) == []


def test_the_timeline_renders_for_people(world: ShopWorld):
    world.shop.put("9")
    process(world, "9")
    text = render_timeline(world.app, "store:order:9", as_json=False)
    assert "audit trail of store:order:9" in text
    for kind in ("fetched", "mapped", "attempt", "sent"):
        assert kind in text
    with pytest.raises(ValueError, match="is not a record"):
        render_timeline(world.app, "nonsense", as_json=True)
    with pytest.raises(LookupError, match="no audit events for store:order:77"):
        render_timeline(world.app, "store:order:77", as_json=False)
    with pytest.raises(LookupError, match="no connection named 'elsewhere'"):
        render_timeline(world.app, "elsewhere:order:9", as_json=False)


def test_skipped_orders_leave_an_audit_entry_and_no_write(world: ShopWorld):
    world.shop.put("10", status="cancelled")
    process(world, "10")
    assert world.target.calls == []
    events = json.loads(render_timeline(world.app, "store:order:10", as_json=True))
    assert [(e["kind"], e["message"]) for e in events] == [
        ("skipped", "order is cancelled: nothing to invoice")
    ]


def test_a_retry_the_flow_cannot_serve_waits_instead_of_spinning(world: ShopWorld):
    world.shop.put("11")
    with world.app.db.session() as session:
        session.add(
            LedgerEntry(
                source_connection_id=world.shop_id,
                source_type="order",
                source_id="404",
                target_connection_id=world.exact_id,
                target_entity="SalesInvoices",
                external_ref="WC-404",
                state=LedgerState.UNKNOWN,
                attempts=1,
            )
        )
    retry_record(world.app.db, FlowCache(world.app), 1)  # order 404 is gone from the shop: KeyError
    with world.app.db.session() as session:
        entry = session.get_one(LedgerEntry, 1)
    assert entry.state == LedgerState.UNKNOWN and entry.next_attempt_at is not None
    events = json.loads(render_timeline(world.app, "1", as_json=True))
    assert events[-1]["kind"] == "postponed" and "KeyError" in events[-1]["message"]


def test_a_crashed_send_the_flow_cannot_take_up_again_is_verified_later_not_due_for_ever(world: ShopWorld):
    with world.app.db.session() as session:
        session.add(
            LedgerEntry(
                source_connection_id=world.shop_id,
                source_type="order",
                source_id="405",  # gone from the shop: the flow cannot process it
                target_connection_id=world.exact_id,
                target_entity="SalesInvoices",
                external_ref="WC-405",
                state=LedgerState.SENDING,
                attempts=1,
                lease_owner="dead-worker",
                lease_until=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
    due = [job.key for job in waiting_work(world.app.db, datetime.now(UTC))]
    retry_record(world.app.db, FlowCache(world.app), 1)
    with world.app.db.session() as session:
        entry = session.get_one(LedgerEntry, 1)
    assert (entry.state, entry.error_kind, entry.lease_owner) == (LedgerState.UNKNOWN, "crash", None)
    assert entry.next_attempt_at is not None  # waits for its backoff, then is looked up by reference
    assert [job.key for job in waiting_work(world.app.db, datetime.now(UTC))] != due
    kinds = [event["kind"] for event in json.loads(render_timeline(world.app, "1", as_json=True))]
    assert kinds[-2:] == ["lease_expired", "postponed"]


def test_replay_all_goes_on_when_one_record_cannot_be_read(world: ShopWorld):
    for order in ("12", "13"):
        world.shop.put(order, amount=-1)
        process(world, order)
    orders = world.shop.orders()
    del orders["12"]  # gone from the shop
    world.shop.path.write_text(json.dumps(orders))
    world.shop.put("13", amount=2)
    results = replay_all_failed(world.app, "store")
    assert [(r.record, r.state) for r in results] == [
        ("store:order:12", "pending"),
        ("store:order:13", "sent"),
    ]
    assert (results[0].last_error or "").startswith("replay failed: KeyError")
