"""The WooCommerce to Exact demo: a seeded shop and a fresh Exact division, synced end to end.

Everything runs on loopback in this process: both sandboxes, the connector's web app (webhooks) and a
worker thread, on a fresh SQLite data dir. The steps are the product's own code paths: OAuth, encrypted
connections, the sync pass, live webhooks both ways, the polling fallback, replay and reconciliation.
The Exact sandbox keeps its rate-limit headers on, with the minutely budget raised so that the demo
takes seconds, not minutes (the client's governor still reads and obeys the headers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import delete, select, update

from ml_connector.app import App, open_app
from ml_connector.config import load_settings
from ml_connector.demo.connect import connect_exact
from ml_connector.demo.setup import connect_woocommerce, mirror_catalogue, shop_skus, woo_sync_settings
from ml_connector.engine import processing
from ml_connector.engine.replay import replay_all_failed
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.exact.sandbox import create_app as create_exact
from ml_connector.exact.webhooks import subscribe
from ml_connector.pipelines.reconcile import run_reconcile
from ml_connector.runtime.commands import sync_once
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.web import create_web_app
from ml_connector.sandbox_kit.serve import ThreadedServer, free_port
from ml_connector.store.connections import get_connection
from ml_connector.store.models import LedgerEntry, LedgerState, SyncCursor
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.models import Order
from ml_connector.woocommerce.sandbox import WooSandbox
from ml_connector.woocommerce.sandbox import create_app as create_woo
from ml_connector.woocommerce.webhooks import ensure_connection_webhooks

SHOP, BOOKS = "shop", "books"
DEMO_MINUTELY_LIMIT = 1000
WAIT_SECONDS = 20.0


@dataclass
class Demo:
    """The running pieces and the figures the summary reports."""

    app: App
    exact: ExactSandbox
    exact_info: dict[str, Any]
    woo: WooSandbox
    woo_info: dict[str, Any]
    console: Console
    problems: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def division(self) -> Any:
        return self.exact.state.division(int(self.exact_info["division"]))

    def exact_calls(self) -> int:
        calls: int = self.exact.state.stats()["divisions"][str(self.exact_info["division"])]["api_calls"]
        return calls

    def documents(self) -> dict[str, list[dict[str, Any]]]:
        by_ref: dict[str, list[dict[str, Any]]] = {}
        for row in self.division.table("SalesInvoices").values():
            by_ref.setdefault(str(row.get("YourRef")), []).append(row)
        return by_ref

    def step(self, title: str, outcome: str) -> None:
        self.steps.append((title, outcome))
        self.console.print(f"[bold cyan]>[/bold cyan] {title}: {outcome}")

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)
            self.console.print(f"[red]  problem:[/red] {problem}")


def _wait_for(condition: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@contextmanager
def _worker(app: App) -> Iterator[None]:
    """What `ml-connector run` does between schedules: pick up stored deliveries and due retries."""
    runtime = Runtime(app)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for job in processing.waiting_work(app.db, runtime.now()):
                runtime.run_job(job.kind, job.id)
            stop.wait(0.1)

    thread = threading.Thread(target=loop, name="demo-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _woo_orders(app: App) -> list[Order]:
    with WooClient.for_connection(app, SHOP) as client:
        return list(client.orders(status="any"))


def _sync(demo: Demo, title: str) -> None:
    report = sync_once(demo.app, SHOP, since=None, progress=True)
    demo.step(title, f"{report.seen} read, {report.processed} processed, ledger {report.states}")


def _initial_sync(demo: Demo) -> None:
    _sync(demo, "first sync pass")
    parked = [e for e in _ledger(demo.app) if e.state in (LedgerState.FAILED, LedgerState.DEAD)]
    if not parked:
        return
    reasons = sorted({(e.last_error or "").split(". Fix:")[0] for e in parked})
    demo.step("parked, with the reason and the fix", f"{len(parked)} record(s): {reasons[0]}")
    # The merchant follows the fix: a SKU for each such product in the shop, the same code in Exact, replay.
    fixed = {}
    for product in demo.woo.store.catalog.products.values():
        if not product.sku and product.type == "simple":
            sku = f"RW-FIX-{product.id}"
            demo.woo.store.update_product(product.id, sku=sku)
            fixed[sku] = product.name
    exact = ExactClient.for_connection(demo.app, BOOKS)
    try:
        mirror_catalogue(exact, demo.exact_info, fixed)
    finally:
        exact.close()
    results = replay_all_failed(demo.app, SHOP)
    sent = sum(1 for r in results if r.state == LedgerState.SENT.value)
    demo.step("SKU added, `replay --all-failed`", f"{sent} of {len(results)} replayed records written")


def _live_orders(demo: Demo, count: int) -> list[int]:
    customers = sorted(demo.woo.store.customers)[:count]
    skus = [p for p in demo.woo.store.catalog.products.values() if p.sku and p.type == "simple"]
    created = []
    for index, customer_id in enumerate(customers):
        order = demo.woo.store.create_order(
            line_items=[{"product_id": skus[index % len(skus)].id, "quantity": 1 + index % 3}],
            customer_id=customer_id,
            status="processing",
            set_paid=True,
        )
        created.append(order.id)
    return created


def _live_webhooks(demo: Demo) -> None:
    ids = _live_orders(demo, 5)
    invoiced = _wait_for(lambda: all(f"WC-SHOP1-{i}" in demo.documents() for i in ids))
    demo.check(invoiced, f"orders {ids} placed in the shop were not invoiced from their webhooks")
    demo.step("5 orders placed in the shop (webhooks)", "invoiced" if invoiced else "NOT invoiced")

    link = next(e for e in _ledger(demo.app) if e.source_type == "customer" and e.state == LedgerState.SENT)
    edit = httpx.put(
        f"{demo.exact_info['base_url']}/_sandbox/edit/{demo.exact_info['division']}/Accounts/{link.target_id}",
        json={"City": "Zwolle", "AddressLine1": "Nieuwe Markt 1"},
        timeout=10,
    )
    edit.raise_for_status()

    def shop_has_it() -> bool:
        with WooClient.for_connection(demo.app, SHOP) as client:
            return client.customer(int(link.source_id)).billing.city == "Zwolle"

    followed = _wait_for(shop_has_it)
    demo.check(followed, f"the Account edited in Exact did not reach customer {link.source_id}")
    demo.step(
        "an Account edited in Exact (Exact webhook)",
        f"customer {link.source_id} updated in the shop" if followed else "NOT updated",
    )

    order_id = ids[0]
    order = demo.woo.store.get_order(order_id)
    assert order is not None
    demo.woo.store.create_refund(order_id, amount=Decimal("5.00"), reason="Demo: coulance")
    credited = _wait_for(lambda: any(ref.startswith(f"WC-SHOP1-{order_id}-R") for ref in demo.documents()))
    demo.check(credited, f"the refund on order {order_id} was not credited")
    demo.step(
        "a refund in the shop (order.updated webhook)", "credit note written" if credited else "MISSING"
    )


def _polling_fallback(demo: Demo) -> None:
    with WooClient.for_connection(demo.app, SHOP) as client:
        for hook in client.webhooks(status="all"):
            client.update_webhook(hook.id, {"status": "disabled"})
    ids = _live_orders(demo, 3)
    time.sleep(1.0)  # the disabled hooks deliver nothing: these orders wait for the poll
    waiting = [i for i in ids if f"WC-SHOP1-{i}" not in demo.documents()]
    _sync(demo, "webhooks disabled, 3 new orders, the scheduled poll")
    found = all(f"WC-SHOP1-{i}" in demo.documents() for i in ids)
    demo.check(found and len(waiting) == len(ids), f"polling did not pick up orders {ids}")
    with demo.app.db.session() as session:
        conn = get_connection(session, SHOP)
    result = ensure_connection_webhooks(demo.app, conn)
    demo.step("webhooks re-activated", f"{len(result.reactivated) if result else 0} topic(s) active again")


def _replay_everything(demo: Demo) -> int:
    before = {ref: len(rows) for ref, rows in demo.documents().items()}
    calls = demo.exact_calls()
    with demo.app.db.session() as session:
        conn_id = get_connection(session, SHOP).id
        session.execute(
            delete(SyncCursor).where(SyncCursor.connection_id == conn_id, SyncCursor.stream == "orders")
        )
        session.execute(
            update(LedgerEntry).where(LedgerEntry.source_connection_id == conn_id).values(source_version=None)
        )
    _sync(demo, "the whole run replayed from the start")
    after = demo.documents()
    duplicates = sum(len(rows) - 1 for rows in after.values())
    demo.check(duplicates == 0, f"{duplicates} duplicate document(s) in Exact")
    demo.check({ref: len(rows) for ref, rows in after.items()} == before, "the replay wrote documents")
    demo.step(
        "replay wrote", f"{len(after) - len(before)} new documents, {demo.exact_calls() - calls} Exact calls"
    )
    return duplicates


def _ledger(app: App) -> list[LedgerEntry]:
    with app.db.session() as session:
        return list(session.scalars(select(LedgerEntry)))


def _reconcile(demo: Demo, orders: list[Order]) -> bool:
    first = min(o.date_created_gmt for o in orders).date()
    last = datetime.now(UTC).date()
    report = run_reconcile(demo.app, SHOP, f"{first.isoformat()}..{last.isoformat()}")
    demo.step("reconcile", "everything agrees" if report.ok else f"{len(report.findings)} difference(s)")
    for finding in report.findings[:5]:
        demo.console.print(f"  {finding}")
    demo.check(report.ok, "reconcile found differences")
    return bool(report.ok)


def run_woocommerce_demo(console: Console, data_dir: Path) -> dict[str, Any]:
    exact = create_exact(seed=11, minutely_limit=DEMO_MINUTELY_LIMIT)
    woo = create_woo(seed=11, orders=200, customers=60, products=40)
    with ThreadedServer(exact.asgi) as exact_server, ThreadedServer(woo.asgi) as woo_server:
        web_port = free_port()
        settings = load_settings(
            None, data_dir=data_dir, public_url=f"http://127.0.0.1:{web_port}", web_port=web_port
        )
        app = open_app(settings, announce=lambda message: console.print(message))
        try:
            with ThreadedServer(create_web_app(app), port=web_port):
                demo = Demo(
                    app, exact, exact.info(exact_server.base_url), woo, woo.info(woo_server.base_url), console
                )
                return _run(demo)
        finally:
            app.close()
            exact.close()


def _run(demo: Demo) -> dict[str, Any]:
    app = demo.app
    division = connect_exact(app, BOOKS, demo.exact_info)
    demo.step("Exact authorized through OAuth", f"division {division}, tokens stored encrypted")
    connect_woocommerce(app, SHOP, demo.woo_info, woo_sync_settings(BOOKS))
    exact = ExactClient.for_connection(app, BOOKS)
    try:
        with WooClient.for_connection(app, SHOP) as client:
            items = mirror_catalogue(exact, demo.exact_info, shop_skus(client))
        subscribe(exact, "Accounts", f"{app.settings.public_url}/webhooks/exact/{BOOKS}")
    finally:
        exact.close()
    with app.db.session() as session:
        shop = get_connection(session, SHOP)
    ensure_connection_webhooks(app, shop)
    demo.step("shop connected", f"{items} items already in Exact; webhooks subscribed both ways")
    accounts_before = len(demo.division.table("Accounts"))
    calls_before = demo.exact_calls()

    _initial_sync(demo)
    with _worker(app):
        _live_webhooks(demo)
        _polling_fallback(demo)
    sync_calls = demo.exact_calls() - calls_before
    duplicates = _replay_everything(demo)
    orders = _woo_orders(app)
    reconcile_ok = _reconcile(demo, orders)

    documents = demo.documents()
    invoices = [r for rows in documents.values() for r in rows if r.get("Type") == 8020]
    credit_notes = [r for rows in documents.values() for r in rows if r.get("Type") == 8021]
    failed = [e for e in _ledger(app) if e.state in (LedgerState.FAILED, LedgerState.DEAD)]
    reasons = sorted({(e.last_error or "")[:160] for e in failed})
    demo.check(not failed, f"{len(failed)} record(s) still failed: {reasons[:3]}")
    return {
        "orders": len(orders),
        "invoices_created": len(invoices),
        "credit_notes_created": len(credit_notes),
        "accounts_created": len(demo.division.table("Accounts")) - accounts_before,
        "duplicates": duplicates,
        "failed": len(failed),
        "exact_calls": sync_calls,
        "exact_calls_per_order": round(sync_calls / max(len(invoices), 1), 3),
        "reconcile_ok": reconcile_ok,
        "problems": demo.problems,
    }
