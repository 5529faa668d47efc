"""The Adobe Commerce to Exact demo: a seeded Magento shop and a fresh Exact division, synced end to end.

Both sandboxes run on loopback in this process, on a fresh SQLite data dir. The steps are the product's
own code paths: OAuth for Exact, encrypted connections, the GL master-data refresh, `mapping import`
(validated against that master data), sync passes, a parked document, the fixed mapping and `replay`.
The mapping deliberately lacks the rule for the shop's zero-rated products at first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from ml_connector.adobe_commerce.client import AdobeClient
from ml_connector.adobe_commerce.sandbox import AdobeSandbox
from ml_connector.adobe_commerce.sandbox import create_app as create_adobe
from ml_connector.app import App, open_app
from ml_connector.config import load_settings
from ml_connector.demo.adobe_setup import (
    adobe_sync_settings,
    connect_adobe,
    install_mapping,
    mapping_yaml,
    prepare_books,
    shop_skus,
    zero_rated_skus,
)
from ml_connector.demo.connect import connect_exact
from ml_connector.engine import processing
from ml_connector.engine.replay import list_failed, replay_all_failed
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.exact.sandbox import create_app as create_exact
from ml_connector.runtime.core import Runtime
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import get_connection
from ml_connector.store.models import CachedRecord, LedgerEntry, LedgerState

SHOP, BOOKS = "magento", "books"
DEMO_MINUTELY_LIMIT = 1000
SEEDED_ORDERS = 30
INVOICE_TYPE, CREDIT_NOTE_TYPE = 8020, 8021


@dataclass
class AdobeDemo:
    app: App
    exact: ExactSandbox
    exact_info: dict[str, Any]
    adobe: AdobeSandbox
    console: Console
    problems: list[str] = field(default_factory=list)
    runtime: Runtime = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = Runtime(self.app)  # one process: the flow keeps its caches between passes

    @property
    def division(self) -> Any:
        return self.exact.state.division(int(self.exact_info["division"]))

    def exact_calls(self) -> int:
        calls: int = self.exact.state.stats()["divisions"][str(self.exact_info["division"])]["api_calls"]
        return calls

    def documents(self, entity: str) -> dict[str, list[dict[str, Any]]]:
        by_ref: dict[str, list[dict[str, Any]]] = {}
        for row in self.division.table(entity).values():
            by_ref.setdefault(str(row.get("YourRef")), []).append(row)
        return by_ref

    def step(self, title: str, outcome: str) -> None:
        self.console.print(f"[bold cyan]>[/bold cyan] {title}: {outcome}")

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)
            self.console.print(f"[red]  problem:[/red] {problem}")


def run_adobe_demo(console: Console, data_dir: Path) -> dict[str, Any]:
    exact = create_exact(seed=11, minutely_limit=DEMO_MINUTELY_LIMIT)
    adobe = create_adobe(seed=11, orders=SEEDED_ORDERS)
    with ThreadedServer(exact.asgi) as exact_server, ThreadedServer(adobe.asgi) as adobe_server:
        app = open_app(
            load_settings(None, data_dir=data_dir), announce=lambda message: console.print(message)
        )
        try:
            demo = AdobeDemo(app, exact, exact.info(exact_server.base_url), adobe, console)
            return _run(demo, adobe.info(adobe_server.base_url))
        finally:
            app.close()
            exact.close()


def _run(demo: AdobeDemo, adobe_info: dict[str, Any]) -> dict[str, Any]:
    app = demo.app
    division = connect_exact(app, BOOKS, demo.exact_info)
    demo.step("Exact authorized through OAuth", f"division {division}, tokens stored encrypted")
    connect_adobe(app, SHOP, adobe_info, adobe_sync_settings(BOOKS, zero_rate=False))
    with AdobeClient.for_connection(app, SHOP) as client:
        items = prepare_books(demo.exact_info, shop_skus(client))
        zero_rated = zero_rated_skus(client)
    demo.step("Adobe Commerce connected (OAuth 1.0a integration)", f"{items} items already in Exact")

    version = install_mapping(app, SHOP, mapping_yaml(), author="demo", comment="first mapping")
    demo.step("GL master data synced", _master_data_counts(app))
    demo.step(
        f"mapping v{version} imported", "product, shipping, discount and adjustment rules (0% rule missing)"
    )
    calls_before = demo.exact_calls()

    _sync(demo, "first sync pass")
    parked = list_failed(app, SHOP, None)
    demo.check(bool(parked), "no document was parked although the 0% rule is missing")
    if parked:
        demo.step("parked", f"{len(parked)} document(s), e.g. {parked[0].record}:")
        demo.console.print(f"  [yellow]{(parked[0].last_error or '').splitlines()[0]}[/yellow]")

    version = install_mapping(
        app, SHOP, mapping_yaml(zero_rated=zero_rated), author="demo", comment="zero-rated products"
    )
    results = replay_all_failed(app, SHOP)
    replayed = sum(1 for r in results if r.state == LedgerState.SENT.value)
    demo.step(f"mapping v{version} (the 0% rule added), `replay --all-failed`", f"{replayed} written")
    demo.check(replayed == len(results), f"{len(results) - replayed} replayed record(s) still not written")

    documents_before = _document_count(demo)
    steady_before = demo.exact_calls()
    _live_documents(demo)
    _sync(demo, "the next pass")
    steady_calls = demo.exact_calls() - steady_before
    steady_documents = _document_count(demo) - documents_before
    demo.step(
        "steady state",
        f"{steady_calls} Exact calls for {steady_documents} new documents "
        "(3 master-data reads; 1 POST per SalesOrder, 2 per invoice or credit note: create, process)",
    )
    per_document = round(steady_calls / max(steady_documents, 1), 3)
    return _summary(demo, len(parked), demo.exact_calls() - calls_before, per_document)


def _document_count(demo: AdobeDemo) -> int:
    return sum(len(demo.division.table(entity)) for entity in ("SalesOrders", "SalesInvoices"))


def _live_documents(demo: AdobeDemo) -> None:
    """A new order invoiced in two parts and partly refunded with adjustments, as a shop admin would."""
    store = demo.adobe.store
    customer_id = next(iter(store.customers))
    order = store.place_order([("SIM-001", 2), ("CFG-01-M", 1)], customer_id=customer_id, discount_pct=10)
    first = order["items"][0]
    store.invoice(order["entity_id"], {first["item_id"]: first["qty_ordered"]})
    store.invoice(order["entity_id"])
    store.refund(order["entity_id"], {first["item_id"]: 1}, adjustment_positive=2.5, adjustment_negative=1)
    demo.step(
        f"order {order['increment_id']} placed in Adobe Commerce",
        "invoiced in two parts, then a credit memo with adjustments",
    )


def _sync(demo: AdobeDemo, title: str) -> None:
    """A scheduled pass as `ml-connector run` makes it: poll every stream, then process what waits."""
    runtime = demo.runtime
    with demo.app.db.session() as session:
        shop_id = get_connection(session, SHOP).id
    new = runtime.run_poll(shop_id, runtime.now())
    jobs = [
        job for job in processing.waiting_work(demo.app.db, runtime.now()) if job.connection_id == shop_id
    ]
    for job in jobs:
        runtime.run_job(job.kind, job.id, actor="demo")
    with demo.app.db.session() as session:
        states = Counter(state.value for state in session.scalars(select(LedgerEntry.state)))
    demo.step(title, f"{new} new records read, {len(jobs)} processed, ledger {dict(states)}")


def _master_data_counts(app: App) -> str:
    with app.db.session() as session:
        entities = list(session.scalars(select(CachedRecord.entity)))
    counts = {
        name: entities.count(name) for name in ("GLAccounts", "CostCenters", "VATCodes", "Journals", "Items")
    }
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _summary(demo: AdobeDemo, parked: int, sync_calls: int, per_document: float) -> dict[str, Any]:
    """`exact_calls` counts the whole run (master data, Accounts, parking and replay included);
    `exact_calls_per_document` is the steady-state pass's."""
    store = demo.adobe.store
    orders, invoices = demo.documents("SalesOrders"), demo.documents("SalesInvoices")
    duplicates = sum(len(rows) - 1 for rows in [*orders.values(), *invoices.values()])
    wanted = [(orders, o["increment_id"]) for o in store.orders.values()]
    wanted += [(invoices, f"I{i['increment_id']}") for i in store.invoices.values()]
    wanted += [(invoices, f"C{c['increment_id']}") for c in store.creditmemos.values()]
    missing = [ref for found, ref in wanted if ref not in found]
    rows = [row for group in invoices.values() for row in group]
    unprocessed = [row["YourRef"] for row in rows if row.get("Status") != 50]
    demo.check(duplicates == 0, f"{duplicates} duplicate document(s) in Exact")
    demo.check(not missing, f"{len(missing)} document(s) missing in Exact: {missing[:5]}")
    demo.check(not unprocessed, f"invoices not processed into the revenue journal: {unprocessed[:5]}")
    return {
        "orders": len(store.orders),
        "sales_orders_created": len(orders),
        "invoices_created": sum(1 for row in rows if row.get("Type") == INVOICE_TYPE),
        "credit_notes_created": sum(1 for row in rows if row.get("Type") == CREDIT_NOTE_TYPE),
        "parked_then_replayed": parked,
        "duplicates": duplicates,
        "exact_calls": sync_calls,
        "exact_calls_per_document": per_document,
        "ok": not demo.problems,
        "problems": demo.problems,
    }
