"""The send protocol against the Exact sandbox and the real Exact client (in-process, both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ml_connector.engine.audit import render_timeline
from ml_connector.engine.flows import FlowCache
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.replay import list_failed, replay_one
from ml_connector.http.backoff import Backoff
from ml_connector.runtime.web import create_web_app
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.faults import FaultRule
from ml_connector.store.connections import add_connection, get_connection
from ml_connector.store.models import ConnectionKind
from tests.engine.testflow import ShopFile
from tests.runtime.conftest import Sandbox, make_app
from tests.runtime.world import Counted, add_shop, an_item, connect_exact, register_exact_flow

POLICY = RetryPolicy(backoff=Backoff(base=10, factor=2, cap=100, max_attempts=4))


@pytest.fixture
def exact_world(db, sandboxes, secret_key, tmp_path: Path):
    register_exact_flow()
    app = make_app(db, tmp_path / "data", secret_key)
    box: Sandbox = sandboxes()
    exact_id = connect_exact(app, "books", box.url, box.exact)
    shop = ShopFile(tmp_path / "shop.json")
    shop_id = add_shop(app, "shop", shop.path, exact_id)
    return app, box, shop, an_item(app, "books"), shop_id


def test_commit_then_drop_never_duplicates(exact_world):
    app, box, shop, item, shop_id = exact_world
    shop.put("1", item=item, amount=5)
    box.exact.faults.add(FaultRule(kind="commit_then_drop", path="SalesInvoices", method="POST", count=1))
    clock = ManualClock()
    flows = FlowCache(app, clock=clock, policy=POLICY)
    flows.get(shop_id).process("order", "1")  # the invoice is written, the answer is lost: unknown
    clock.advance(3600)
    flows.get(shop_id).process("order", "1")  # looked up by YourRef, found: not written again
    assert Counted.of(app, "books").by_ref == {"WC-1": 1}
    events = json.loads(render_timeline(app, "shop:order:1", as_json=True))
    invoice = [(e["kind"], e["to_state"]) for e in events if e["ledger_id"] == 2]
    assert ("outcome_unknown", "unknown") in invoice and invoice[-1] == ("found_by_reference", "sent")


def test_a_rejection_parks_with_exacts_message_and_replay_succeeds_after_the_fix(exact_world):
    app, _box, shop, item, shop_id = exact_world
    shop.put("2", item="00000000-0000-0000-0000-00000000beef", amount=5)
    FlowCache(app).get(shop_id).process("order", "2")
    [failed] = list_failed(app, "shop", "does not exist")
    assert failed.record == "shop:order:2" and "Items 00000000-0000-0000-0000-00000000beef" in (
        failed.last_error or ""
    )
    assert Counted.of(app, "books").by_ref == {}

    shop.put("2", item=item)  # the user fixes the order
    [result] = replay_one(app, "shop:order:2")
    assert result.state == "sent"
    assert Counted.of(app, "books").by_ref == {"WC-2": 1}


def test_the_oauth_callback_authorizes_a_connection(db, sandboxes, secret_key, tmp_path):
    app = make_app(db, tmp_path / "data", secret_key)
    box = sandboxes()
    info = box.exact.info(box.url)
    with app.db.session() as session:
        add_connection(
            session,
            app.vault,
            name="books",
            kind=ConnectionKind.EXACT,
            base_url=box.url,
            credentials={"client_secret": info["client_secret"]},
            settings={"client_id": info["client_id"], "redirect_uri": info["redirect_uri"]},
        )
    consent = httpx.get(
        f"{box.url}/api/oauth2/auth",
        params={
            "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"],
            "response_type": "code",
            "state": "books",
        },
    )
    callback = httpx.URL(consent.headers["location"])
    answer = TestClient(create_web_app(app)).get("/oauth/exact/callback", params=dict(callback.params))
    assert answer.status_code == 200 and "authorized" in answer.text
    with app.db.session() as session:
        assert get_connection(session, "books").division == info["division"]
    reused = TestClient(create_web_app(app)).get("/oauth/exact/callback", params=dict(callback.params))
    assert reused.status_code == 400 and "codes work once" in reused.text
