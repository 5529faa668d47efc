"""Worker processes as deployed: kill -9 while sending; `run` serving, scheduling, stopping on SIGTERM."""

from __future__ import annotations

import json
import signal

import httpx
import pytest
from sqlalchemy import select

from ml_connector.engine.audit import render_timeline
from ml_connector.sandbox_kit.faults import FaultRule
from ml_connector.sandbox_kit.serve import free_port
from ml_connector.store.models import LedgerEntry, LedgerState
from tests.engine.testflow import ShopFile
from tests.runtime.conftest import make_app, start_process, wait_for
from tests.runtime.test_web import woo_headers
from tests.runtime.world import Counted, add_shop, an_item, connect_exact, register_exact_flow

FAST = {"tick_seconds": 0.3, "queue_polling_seconds": 0.1, "partition_limit": 100, "partition_period": 1.0}


@pytest.fixture
def world(sqlite_db, sandboxes, secret_key, tmp_path):
    register_exact_flow()
    app = make_app(sqlite_db, tmp_path / "data", secret_key)
    box = sandboxes()
    exact_id = connect_exact(app, "books", box.url, box.exact)
    shop = ShopFile(tmp_path / "shop.json")
    return app, box, shop, exact_id, an_item(app, "books")


def record_state(app, order: str) -> LedgerState | None:
    with app.db.session() as session:
        state: LedgerState | None = session.scalar(
            select(LedgerEntry.state).where(
                LedgerEntry.target_entity == "SalesInvoices", LedgerEntry.source_id == order
            )
        )
        return state


def invoice_state(app) -> LedgerState | None:
    return record_state(app, "1")


@pytest.mark.slow
def test_a_worker_killed_while_sending_is_recovered_by_verification_without_a_duplicate(
    world, secret_key, tmp_path
):
    app, box, shop, exact_id, item = world
    shop.put("1", item=item, amount=7)
    add_shop(app, "shop", shop.path, exact_id, schedule="1h")
    # Exact takes 3 s to answer the invoice POST (and then writes it): the worker is killed in between.
    slow = FaultRule(kind="slow", path="SalesInvoices", method="POST", delay=3, count=1)
    box.exact.faults.add(slow)
    options = {**FAST, "lease": 2}
    first = start_process(app, secret_key, "worker", options, tmp_path / "w1.log")
    try:  # recorded `sending`, and the call reached Exact (the row is recorded before the call goes out)
        wait_for(
            lambda: invoice_state(app) == LedgerState.SENDING and slow.fired == 1,
            60,
            "the invoice call to be in flight",
            [first],
        )
    finally:
        first.popen.kill()  # SIGKILL: no cleanup of any kind
        first.popen.wait(10)
    wait_for(lambda: Counted.of(app, "books").by_ref == {"WC-1": 1}, 20, "Exact to commit the lost write")
    assert invoice_state(app) == LedgerState.SENDING

    second = start_process(app, secret_key, "worker", options, tmp_path / "w2.log")
    try:
        wait_for(lambda: invoice_state(app) == LedgerState.SENT, 60, "recovery", [second])
    finally:
        second.popen.send_signal(signal.SIGTERM)
        assert second.popen.wait(30) == 0, second.output()
    assert Counted.of(app, "books").by_ref == {"WC-1": 1}
    kinds = [e["kind"] for e in json.loads(render_timeline(app, "shop:order:1", as_json=True))]
    assert kinds[-3:] == ["mapped", "verified", "found_by_reference"] and "lease_expired" in kinds


@pytest.mark.slow
def test_run_serves_webhooks_runs_the_schedule_and_stops_on_sigterm(world, secret_key, tmp_path):
    app, box, shop, exact_id, item = world
    for order in ("1", "2"):
        shop.put(order, item=item, amount=int(order))
    add_shop(app, "shop", shop.path, exact_id, schedule="2s")
    port = free_port()
    process = start_process(
        app, secret_key, "run", FAST, tmp_path / "run.log", ML_CONNECTOR_WEB_PORT=str(port)
    )
    base = f"http://127.0.0.1:{port}"

    def invoices() -> dict[str, int]:
        return Counted.of(app, "books").by_ref

    try:
        wait_for(lambda: _up(base), 30, "the web app", [process])
        wait_for(lambda: invoices() == {"WC-1": 1, "WC-2": 1}, 30, "the first scheduled poll", [process])

        shop.put("3", item=item, amount=3, modified="2030-01-01T00:00:00+00:00")  # announced by a webhook
        body = json.dumps({"id": 3, "date_modified_gmt": "2030-01-01T00:00:00"}).encode()
        delivered = httpx.post(f"{base}/webhooks/woocommerce/shop", content=body, headers=woo_headers(body))
        assert delivered.status_code == 200
        wait_for(lambda: "WC-3" in invoices(), 30, "the webhook's record", [process])

        shop.put("4", item=item, amount=4)  # not announced: the next scheduled poll finds it
        wait_for(lambda: "WC-4" in invoices(), 30, "the next scheduled poll", [process])

        # SIGTERM while a write is in flight: the process finishes it before it exits
        box.exact.faults.add(FaultRule(kind="slow", path="SalesInvoices", method="POST", delay=2, count=1))
        shop.put("5", item=item, amount=5)
        wait_for(lambda: record_state(app, "5") == LedgerState.SENDING, 30, "order 5 in flight", [process])
    finally:
        process.popen.send_signal(signal.SIGTERM)
        code = process.popen.wait(40)
    assert code == 0, process.output()
    assert record_state(app, "5") == LedgerState.SENT
    assert invoices() == {f"WC-{n}": 1 for n in range(1, 6)}


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
