"""WooCommerce to Exact end to end on the sandboxes: invoices, accounts, refunds, replays, Exact to shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from ml_connector.app import App
from ml_connector.demo.connect import connect_exact
from ml_connector.demo.setup import connect_woocommerce, mirror_catalogue, shop_skus, woo_sync_settings
from ml_connector.engine import processing
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.replay import replay_one
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.http.backoff import Backoff
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import get_connection
from ml_connector.store.models import InboxMessage, InboxState, LedgerEntry, LedgerState, SyncCursor
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.sandbox import WooSandbox
from ml_connector.woocommerce.sandbox import create_app as create_woo

NO_SKU_PRODUCT = "Stroopwafels (8 stuks)"


@pytest.fixture
def woo_sandbox() -> Iterator[tuple[WooSandbox, dict[str, Any]]]:
    sandbox = create_woo(seed=3, orders=40)
    with ThreadedServer(sandbox.asgi) as server:
        yield sandbox, sandbox.info(server.base_url)


@pytest.fixture
def shop(app: App, exact_sandbox, woo_sandbox) -> dict[str, Any]:
    _exact, exact_info = exact_sandbox
    _woo, woo_info = woo_sandbox
    connect_exact(app, "books", exact_info)
    connect_woocommerce(app, "shop", woo_info, woo_sync_settings("books"))
    exact = ExactClient.for_connection(app, "books")
    with WooClient.for_connection(app, "shop") as client:
        mirror_catalogue(exact, exact_info, shop_skus(client))
    exact.close()
    return {"exact": exact_info, "woo": woo_info}


def _runtime(app: App) -> Runtime:
    quick = RetryPolicy(backoff=Backoff(base=1, factor=2, cap=30, max_attempts=8), rate_wait_seconds=5)
    return Runtime(app, RuntimeOptions(policy=quick, clock=ManualClock()))


def drain(app: App, runtime: Runtime, rounds: int = 60) -> None:
    """Poll the shop once, then run waiting work (new records and due retries) until nothing is left,
    moving the runtime's clock on when the only work left is waiting for its retry time."""
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    with app.db.session() as session:
        conn_id = get_connection(session, "shop").id
    processing.poll_connection(app.db, runtime.flows, conn_id, runtime.now())
    for _ in range(rounds):
        jobs = processing.waiting_work(app.db, runtime.now())
        if not jobs:
            if not processing.waiting_work(app.db, runtime.now() + timedelta(days=1)):
                return
            clock.advance(60)
            continue
        for job in jobs:
            runtime.run_job(job.kind, job.id)
    raise AssertionError("work was still waiting after every round")


def _inbox_errors(app: App) -> list[tuple[str | None, str | None, str]]:
    with app.db.session() as session:
        return [
            (m.topic, m.resource_id, m.state.value + ": " + (m.error or ""))
            for m in session.scalars(select(InboxMessage).where(InboxMessage.state != InboxState.DONE))
        ]


def _division(sandbox: ExactSandbox, info: dict[str, Any]) -> Any:
    return sandbox.state.division(int(info["division"]))


def _documents(sandbox: ExactSandbox, info: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in _division(sandbox, info).table("SalesInvoices").values():
        by_ref.setdefault(str(row.get("YourRef")), []).append(row)
    return by_ref


def _woo_orders(app: App) -> list[Any]:
    with WooClient.for_connection(app, "shop") as client:
        return list(client.orders(status="any"))


def test_orders_become_one_invoice_each_with_refunds_credited(
    app: App, shop: dict[str, Any], exact_sandbox, woo_sandbox
) -> None:
    sandbox, info = exact_sandbox
    drain(app, _runtime(app))

    documents = _documents(sandbox, info)
    assert all(len(rows) == 1 for rows in documents.values()), "a document was written twice"
    invoiced = 0
    for order in _woo_orders(app):
        ref = f"WC-SHOP1-{order.id}"
        has_no_sku = any(line.name == NO_SKU_PRODUCT for line in order.line_items)
        if order.status not in ("processing", "completed", "refunded") or has_no_sku:
            assert ref not in documents, f"order {order.id} ({order.status}) should not be invoiced"
            continue
        invoiced += 1
        invoice = documents[ref][0]
        assert Decimal(str(invoice["AmountFC"])) == order.total, f"order {order.id} total"
        for refund in order.refunds:
            credit = documents[f"WC-SHOP1-{order.id}-R{refund.id}"][0]
            assert Decimal(str(credit["AmountFC"])) == refund.total  # both negative
    assert invoiced > 10

    with app.db.session() as session:
        failed = session.scalars(select(LedgerEntry).where(LedgerEntry.state == LedgerState.FAILED)).all()
    assert failed, "the orders with a product without SKU must be parked"
    assert all("has no SKU" in (entry.last_error or "") for entry in failed)


def test_a_second_pass_writes_nothing_and_costs_almost_no_calls(app: App, shop, exact_sandbox) -> None:
    sandbox, info = exact_sandbox
    runtime = _runtime(app)
    drain(app, runtime)
    before_docs = _division(sandbox, info).counts()
    before_calls = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"]

    with app.db.session() as session:
        session.execute(update(LedgerEntry).values(source_version=None))  # force a full re-look
        session.execute(delete(SyncCursor).where(SyncCursor.stream == "orders"))
    drain(app, runtime)

    assert _division(sandbox, info).counts() == before_docs
    calls = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"] - before_calls
    assert calls <= 4, f"a pass over unchanged orders made {calls} Exact calls"


def test_a_parked_order_is_replayed_after_the_fix(app: App, shop, exact_sandbox, woo_sandbox) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    drain(app, _runtime(app))
    with app.db.session() as session:
        parked = session.scalars(select(LedgerEntry).where(LedgerEntry.state == LedgerState.FAILED)).first()
    assert parked is not None
    product = next(p for p in woo.store.catalog.products.values() if p.name == NO_SKU_PRODUCT)
    woo.store.update_product(product.id, sku="RW-WAF-8")
    exact = ExactClient.for_connection(app, "books")
    mirror_catalogue(exact, info, {"RW-WAF-8": NO_SKU_PRODUCT})
    exact.close()

    results = replay_one(app, f"shop:{parked.source_type}:{parked.source_id}")

    assert results, "replay did nothing"
    with app.db.session() as session:
        entry = session.get_one(LedgerEntry, parked.id)
    assert entry.state == LedgerState.SENT, entry.last_error
    assert len(_documents(sandbox, info)[f"WC-SHOP1-{parked.source_id}"]) == 1


def test_faults_never_duplicate_and_nothing_is_lost(app: App, shop, exact_sandbox) -> None:
    sandbox, info = exact_sandbox
    faults = httpx.post(
        f"{info['base_url']}/_sandbox/faults",
        json=[
            {"kind": "commit_then_drop", "path": "SalesInvoices", "method": "POST", "probability": 0.3},
            {"kind": "error", "path": "SalesInvoices", "method": "POST", "probability": 0.2, "status": 503},
            {"kind": "drop", "path": "crm/Accounts", "method": "POST", "probability": 0.2},
        ],
    )
    assert faults.status_code == 200
    runtime = _runtime(app)
    drain(app, runtime, rounds=60)
    httpx.delete(f"{info['base_url']}/_sandbox/faults")
    drain(app, runtime, rounds=60)

    documents = _documents(sandbox, info)
    assert all(len(rows) == 1 for rows in documents.values()), "a fault produced a duplicate"
    accounts = [row.get("Code") for row in _division(sandbox, info).table("Accounts").values()]
    assert len(accounts) == len(set(accounts)), "an account was created twice"
    with app.db.session() as session:
        unsettled = [
            (e.source_type, e.source_id, e.state.value, e.last_error)
            for e in session.scalars(select(LedgerEntry))
            if e.state not in (LedgerState.SENT, LedgerState.FAILED)
        ]
    assert not unsettled
    expected = [
        o
        for o in _woo_orders(app)
        if o.status in ("processing", "completed", "refunded")
        and not any(line.name == NO_SKU_PRODUCT for line in o.line_items)
    ]
    missing = [o.id for o in expected if f"WC-SHOP1-{o.id}" not in documents]
    assert not missing, (missing, _inbox_errors(app))


def test_an_account_edited_in_exact_updates_the_shop_customer_once(
    app: App, shop, exact_sandbox, woo_sandbox
) -> None:
    sandbox, info = exact_sandbox
    runtime = _runtime(app)
    drain(app, runtime)
    with app.db.session() as session:
        link = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.source_type == "customer", LedgerEntry.state == LedgerState.SENT
            )
        ).first()
    assert link is not None and link.target_id
    edited = httpx.put(
        f"{info['base_url']}/_sandbox/edit/{info['division']}/Accounts/{link.target_id}",
        json={"City": "Zwolle", "AddressLine1": "Nieuwe Markt 1"},
    )
    assert edited.status_code < 300, edited.text

    drain(app, runtime)

    with WooClient.for_connection(app, "shop") as client:
        customer = client.customer(int(link.source_id))
    assert customer.billing.city == "Zwolle" and customer.billing.address_1 == "Nieuwe Markt 1"
    exact_writes = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"]
    drain(app, runtime)  # the shop's echo of our own write must not go back to Exact
    assert sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"] - exact_writes <= 4
