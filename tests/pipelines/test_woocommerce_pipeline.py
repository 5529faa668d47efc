"""WooCommerce to Exact end to end on the sandboxes: invoices, accounts, refunds, replays, Exact to shop."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from ml_connector.app import App
from ml_connector.demo.connect import connect_exact
from ml_connector.demo.setup import connect_woocommerce, mirror_catalogue, shop_skus, woo_sync_settings
from ml_connector.engine import inbox, processing
from ml_connector.engine.replay import replay_one
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.store.connections import get_connection
from ml_connector.store.models import (
    AuditEvent,
    LedgerEntry,
    LedgerState,
    SyncCursor,
)
from ml_connector.webhooks import Verified
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.sandbox import WooSandbox
from tests.pipelines.driving import drain, inbox_errors, quick_runtime

NO_SKU_PRODUCT = "Stroopwafels (8 stuks)"


@pytest.fixture(params=[False, True], ids=["jobs", "batched"])
def batched(request: pytest.FixtureRequest) -> bool:
    """Every scenario twice: records written one by one by the runtime's jobs, and in batches by the poll
    (as `sync --once`)."""
    return bool(request.param)


def _division(sandbox: ExactSandbox, info: dict[str, Any]) -> Any:
    return sandbox.state.division(int(info["division"]))


def _documents(sandbox: ExactSandbox, info: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in _division(sandbox, info).table("SalesInvoices").values():
        by_ref.setdefault(str(row.get("YourRef")), []).append(row)
    return by_ref


def _accounts_with_email(sandbox: ExactSandbox, info: dict[str, Any], email: str) -> list[dict[str, Any]]:
    rows = _division(sandbox, info).table("Accounts").values()
    return [row for row in rows if str(row.get("Email") or "").lower() == email]


def _woo_orders(app: App) -> list[Any]:
    with WooClient.for_connection(app, "shop") as client:
        return list(client.orders(status="any"))


def test_orders_become_one_invoice_each_with_refunds_credited(
    app: App, shop: dict[str, Any], exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    drain(app, quick_runtime(app), batched=batched)

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


def test_a_second_pass_writes_nothing_and_costs_almost_no_calls(
    app: App, shop, exact_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=batched)
    before_docs = _division(sandbox, info).counts()
    before_calls = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"]

    with app.db.session() as session:
        session.execute(update(LedgerEntry).values(source_version=None))  # force a full re-look
        session.execute(delete(SyncCursor).where(SyncCursor.stream == "orders"))
    drain(app, runtime, batched=batched)

    assert _division(sandbox, info).counts() == before_docs
    calls = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"] - before_calls
    assert calls <= 4, f"a pass over unchanged orders made {calls} Exact calls"


def test_a_parked_order_is_replayed_after_the_fix(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    drain(app, quick_runtime(app), batched=batched)
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


def test_faults_never_duplicate_and_nothing_is_lost(app: App, shop, exact_sandbox, batched: bool) -> None:
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
    runtime = quick_runtime(app)
    drain(app, runtime, rounds=60, batched=batched)
    httpx.delete(f"{info['base_url']}/_sandbox/faults")
    drain(app, runtime, rounds=60, batched=batched)

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
    assert not missing, (missing, inbox_errors(app))


def test_an_account_edited_in_exact_updates_the_shop_customer_once(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=batched)
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

    drain(app, runtime, batched=batched)

    with WooClient.for_connection(app, "shop") as client:
        customer = client.customer(int(link.source_id))
    assert customer.billing.city == "Zwolle" and customer.billing.address_1 == "Nieuwe Markt 1"
    exact_writes = sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"]
    drain(app, runtime)  # the shop's echo of our own write must not go back to Exact
    assert sandbox.state.stats()["divisions"][str(info["division"])]["api_calls"] - exact_writes <= 4


def _events(app: App, record: str) -> list[str]:
    with app.db.session() as session:
        return [e.kind for e in session.scalars(select(AuditEvent).where(AuditEvent.record_key == record))]


def test_changes_after_posting_are_reported_and_never_posted_again(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=batched)
    invoiced = [o for o in _woo_orders(app) if f"WC-SHOP1-{o.id}" in _documents(sandbox, info)]
    note_only, cancelled = invoiced[0], invoiced[1]
    woo.store.update_order(note_only.id, customer_note="Please ring twice")  # no accounting impact
    woo.store.update_order(cancelled.id, status="cancelled")
    before = _division(sandbox, info).counts()

    drain(app, runtime, batched=batched)

    assert _division(sandbox, info).counts() == before
    assert "changed_after_posting" not in _events(app, f"shop:order:{note_only.id}")
    assert "changed_after_posting" in _events(app, f"shop:order:{cancelled.id}")


def test_cancelled_before_posting_is_skipped_with_an_audit_entry(
    app: App, shop, woo_sandbox, batched: bool
) -> None:
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    order = woo.store.create_order(
        line_items=[{"product_id": _sku_product(woo), "quantity": 1}], status="cancelled"
    )
    drain(app, runtime, batched=batched)
    assert "skipped" in _events(app, f"shop:order:{order.id}")
    with app.db.session() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.source_id == str(order.id))).all()
    assert all(row.state != LedgerState.SENT for row in rows)


def test_a_guest_account_whose_order_no_longer_needs_it_is_still_settled(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=batched)  # the seeded store, without faults
    order = woo.store.create_order(
        line_items=[{"product_id": _sku_product(woo), "quantity": 1}],
        billing={"first_name": "Gus", "last_name": "Guest", "email": "Gus.Guest@Example.org"},
        status="processing",
    )
    faults = f"{info['base_url']}/_sandbox/faults"
    httpx.post(faults, json=[{"kind": "drop", "path": "crm/Accounts", "method": "POST"}]).raise_for_status()
    processing.poll_connection(app.db, runtime.flows, _shop_id(app), runtime.now(), inline=batched)
    if not batched:
        for job in processing.waiting_work(app.db, runtime.now()):
            runtime.run_job(job.kind, job.id)
    httpx.delete(faults).raise_for_status()
    woo.store.update_order(order.id, status="cancelled")  # before its invoice: it needs no Account now

    drain(app, runtime, batched=batched)

    with app.db.session() as session:
        guest = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.source_type == "guest", LedgerEntry.source_id == "gus.guest@example.org"
            )
        ).one()
    assert guest.state == LedgerState.SENT  # verified by its Code, created at most once
    codes = [row.get("Code") for row in _division(sandbox, info).table("Accounts").values()]
    assert len(codes) == len(set(codes))
    assert f"WC-SHOP1-{order.id}" not in _documents(sandbox, info)


def _shop_id(app: App) -> int:
    with app.db.session() as session:
        return get_connection(session, "shop").id


def _sku_product(woo: WooSandbox) -> int:
    return next(p.id for p in woo.store.catalog.products.values() if p.sku and p.type == "simple")


def test_a_customer_edited_in_the_shop_updates_its_exact_account(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=batched)
    with app.db.session() as session:
        link = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.source_type == "customer", LedgerEntry.state == LedgerState.SENT
            )
        ).first()
    assert link is not None and link.target_id
    customer = woo.store.customers[int(link.source_id)]
    woo.store.update_customer(customer.id, billing={**customer.billing, "city": "Deventer"})

    drain(app, runtime, batched=batched)

    account = _division(sandbox, info).table("Accounts").get(link.target_id)
    assert account is not None and account["City"] == "Deventer"


def test_a_missing_item_is_created_when_the_connection_allows_it(
    app: App, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    sandbox, exact_info = exact_sandbox
    _woo, woo_info = woo_sandbox
    connect_exact(app, "books", exact_info)
    connect_woocommerce(
        app,
        "shop",
        woo_info,
        {**woo_sync_settings("books"), "allow_item_creation": True, "new_item_revenue_gl": "8000"},
    )
    exact = ExactClient.for_connection(app, "books")
    with WooClient.for_connection(app, "shop") as client:
        skus = shop_skus(client)
    order = next(
        o
        for o in _woo_orders(app)
        if o.status in ("processing", "completed") and all(line.sku for line in o.line_items)
    )
    left_out = order.line_items[0].sku
    mirror_catalogue(exact, exact_info, {k: v for k, v in skus.items() if k != left_out})
    exact.close()

    drain(app, quick_runtime(app), batched=batched)

    items = [
        row for row in _division(sandbox, exact_info).table("Items").values() if row.get("Code") == left_out
    ]
    assert len(items) == 1, f"item {left_out} should have been created once"
    lines = _division(sandbox, exact_info).table("SalesInvoiceLines").values()
    from ml_connector.engine.audit import render_timeline

    documents = _documents(sandbox, exact_info)
    assert f"WC-SHOP1-{order.id}" in documents, render_timeline(app, f"shop:order:{order.id}", False)
    invoice = documents[f"WC-SHOP1-{order.id}"][0]
    assert any(
        line.get("Item") == items[0]["ID"] and line.get("InvoiceID") == invoice["InvoiceID"] for line in lines
    )


def test_a_disabled_shop_webhook_is_reactivated_by_the_flow(app: App, shop, woo_sandbox) -> None:
    from ml_connector.engine.flows import flow_for
    from ml_connector.woocommerce.webhooks import ensure_connection_webhooks

    app.settings.public_url = "http://127.0.0.1:9"
    with app.db.session() as session:
        conn = get_connection(session, "shop")
    ensure_connection_webhooks(app, conn)
    with WooClient.for_connection(app, "shop") as client:
        hook = next(iter(client.webhooks()))
        client.update_webhook(hook.id, {"status": "disabled"})
    flow = flow_for(app, "shop")

    first = flow.webhook_status()
    second = flow.webhook_status()

    assert not first.healthy  # this cycle polls
    assert second.healthy, second.detail


def test_ping_checks_the_sync_settings_against_exact(app: App, shop) -> None:
    from ml_connector.pipelines.checks import sync_checks

    with app.db.session() as session:
        conn = get_connection(session, "shop")
    assert [c.ok for c in sync_checks(app, conn)] == [True]

    with app.db.session() as session:
        conn = get_connection(session, "shop")
        sync = dict(conn.settings["sync"])
        sync["shipping"] = {"item_code": "NOPE"}
        sync["vat"] = {**sync["vat"], "rules": [{"rate": "1", "vat_code": "99"}]}
        conn.settings = {**conn.settings, "sync": sync}
    failing = [c for c in sync_checks(app, conn) if not c.ok]
    assert {c.name for c in failing} >= {"sync setting shipping.item_code"}
    assert any("99" in c.detail for c in failing)
    assert all(c.fix for c in failing)


def test_a_webhook_maps_the_order_as_it_is_now_not_as_an_earlier_poll_read_it(
    app: App, shop, exact_sandbox, woo_sandbox
) -> None:
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime)
    order = next(o for o in _woo_orders(app) if o.status == "completed" and not o.refunds)
    shop_id = _shop_id(app)
    flow = runtime.flows.get(shop_id)
    list(flow.poll("orders", None))  # a poll reads the order again (nothing new: no message is stored)
    woo.store.create_refund(order.id, amount=Decimal("1.00"), reason="after the poll")
    delivery = Verified(f"d-{order.id}", "order.updated", str(order.id))
    with app.db.session() as session:
        inbox.store_delivery(session, shop_id, delivery, b"{}", {}, runtime.now())
    for job in processing.waiting_work(app.db, runtime.now()):  # the delivery, before any new poll
        runtime.run_job(job.kind, job.id)

    credits = [ref for ref in _documents(sandbox, info) if ref.startswith(f"WC-SHOP1-{order.id}-R")]
    assert len(credits) == 1


def test_two_new_customers_sharing_a_billing_email_get_one_account(
    app: App, shop, exact_sandbox, woo_sandbox, batched: bool
) -> None:
    """A couple with one household e-mail: matched by e-mail, the second is booked on the first's Account
    (one at a time it finds the Account just created; in a batch it waits for it)."""
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    household = {"email": "de.vries.thuis@example.nl", "city": "Zwolle"}
    for first, login in (("Anna", "anna.devries@example.nl"), ("Bram", "bram.devries@example.nl")):
        woo.store.create_customer(email=login, first_name=first, last_name="de Vries", billing=household)

    drain(app, quick_runtime(app), batched=batched)

    accounts = _accounts_with_email(sandbox, info, household["email"])
    assert len(accounts) == 1, f"{len(accounts)} Accounts for one household e-mail"
    with app.db.session() as session:
        events = session.scalars(select(AuditEvent.record_key).where(AuditEvent.kind == "sent")).all()
    assert sum(key.startswith("shop:customer:") for key in events) >= 1


def test_a_household_customer_waits_for_the_account_being_created_for_the_first(
    app: App, shop, exact_sandbox, woo_sandbox
) -> None:
    """In one batch: the first customer's Account is refused (503); the second, with the same billing
    e-mail, waits for it instead of getting an Account of its own."""
    sandbox, info = exact_sandbox
    woo, _ = woo_sandbox
    runtime = quick_runtime(app)
    drain(app, runtime, batched=True)  # the seeded shop first: the next Account POST is the household's
    household = {"email": "familie.bakker@example.nl", "city": "Gouda"}
    for first, login in (("Cor", "cor.bakker@example.nl"), ("Dini", "dini.bakker@example.nl")):
        woo.store.create_customer(email=login, first_name=first, last_name="Bakker", billing=household)
    refused = {"kind": "error", "path": "crm/Accounts", "method": "POST", "status": 503, "count": 1}
    assert httpx.post(f"{info['base_url']}/_sandbox/faults", json=[refused]).status_code == 200

    drain(app, runtime, batched=True)

    accounts = _accounts_with_email(sandbox, info, household["email"])
    assert len(accounts) == 1, f"{len(accounts)} Accounts for one household e-mail"
    assert not inbox_errors(app)
