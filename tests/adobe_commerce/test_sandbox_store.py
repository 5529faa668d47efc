"""The sandbox shop: seeded like a real store, deterministic per seed, and a store API whose saves bump
updated_at (UTC) and produce Magento-shaped documents that the typed models read."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from ml_connector.adobe_commerce.client import CREDIT_MEMOS, INVOICES, ORDERS, AdobeClient
from ml_connector.adobe_commerce.models import CreditMemo, Invoice, InvoiceState, Order
from ml_connector.adobe_commerce.sandbox import create_app
from ml_connector.adobe_commerce.search import Filter, SearchCriteria
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import free_port
from tests.adobe_commerce.conftest import Running, store_connection

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def _without_keys(sandbox_orders: dict[int, dict[str, object]]) -> str:
    return json.dumps(sandbox_orders, sort_keys=True)


def test_seed_is_deterministic_and_counts_scale():
    first = create_app(seed=5, orders=60, clock=ManualClock(start=START))
    second = create_app(seed=5, orders=60, clock=ManualClock(start=START))
    other = create_app(seed=6, orders=60, clock=ManualClock(start=START))
    assert _without_keys(first.store.orders) == _without_keys(second.store.orders)
    assert _without_keys(first.store.orders) != _without_keys(other.store.orders)
    assert (len(first.store.invoices), len(first.store.creditmemos)) == (72, 3)
    kinds = {i["product_type"] for o in first.store.orders.values() for i in o["items"]}
    assert {"simple", "configurable", "bundle"} <= kinds
    rates = {
        t["percent"] for o in first.store.orders.values() for t in o["extension_attributes"]["applied_taxes"]
    }
    assert {21.0, 9.0} <= rates
    assert any(o["discount_amount"] < 0 for o in first.store.orders.values())


def test_seeded_orders_read_as_typed_models_with_parent_child_lines():
    sandbox = create_app(seed=5, orders=60, clock=ManualClock(start=START))
    orders = [Order.model_validate(o) for o in sandbox.store.orders.values()]
    configurable = next(o for o in orders if any(i.product_type == "configurable" for i in o.items))
    parent = next(i for i in configurable.items if i.product_type == "configurable")
    (child,) = configurable.children_of(parent.item_id)
    assert (child.price, child.row_total) == (Decimal(0), Decimal(0))
    assert (child.parent_item_id, child.sku) == (parent.item_id, parent.sku)
    bundle_order = next(o for o in orders if any(i.product_type == "bundle" for i in o.items))
    bundle = next(i for i in bundle_order.items if i.product_type == "bundle")
    kids = bundle_order.children_of(bundle.item_id)
    assert sum(k.row_total for k in kids) == bundle.row_total and bundle.tax_percent is None
    for order in orders:
        booked = [i for i in order.items if not i.is_child]
        assert order.subtotal == sum(i.row_total for i in booked)
        assert order.tax_amount == sum(t.amount for t in order.applied_taxes)  # Magento's own amounts
        assert (
            order.grand_total
            == order.subtotal + order.shipping_amount + order.tax_amount + order.discount_amount
        )
        assert order.shipping_address is not None and order.shipping_address.address_type == "shipping"


def test_store_api_partial_invoice_refund_with_adjustments_and_updated_at(app):
    clock = ManualClock(start=START)
    sandbox = create_app(seed=2, orders=3, clock=clock)
    store = sandbox.store
    clock.advance(3600)
    order = store.place_order(
        [("SIM-003", 3), ("CFG-01-M", 1)], customer_id=4, discount_pct=10, shipping=6.95
    )
    assert order["created_at"] == order["updated_at"] == "2026-03-01 13:00:00"  # UTC, Magento's format
    simple = next(i for i in order["items"] if i["sku"] == "SIM-003")
    clock.advance(60)
    partial = Invoice.model_validate(store.invoice(order["entity_id"], {simple["item_id"]: 1}))
    assert partial.state == InvoiceState.PAID and partial.total_qty == 1
    assert partial.shipping_amount == Decimal("6.95")  # shipping goes on the first invoice
    clock.advance(60)
    rest = Invoice.model_validate(store.invoice(order["entity_id"]))
    assert rest.shipping_amount == 0
    placed = Order.model_validate(order)
    assert partial.grand_total + rest.grand_total == placed.grand_total
    clock.advance(60)
    memo = CreditMemo.model_validate(
        store.refund(
            order["entity_id"], {simple["item_id"]: 1}, adjustment_positive=5, adjustment_negative=1.5
        )
    )
    assert (memo.adjustment_positive, memo.adjustment_negative, memo.adjustment) == (
        Decimal(5),
        Decimal("1.5"),
        Decimal("3.5"),
    )
    # tax_amount already holds the shipping tax; adjustments come on top, without a VAT split
    parts = memo.subtotal + memo.tax_amount + memo.shipping_amount + memo.discount_amount
    assert memo.grand_total == parts + Decimal("3.5")
    after = Order.model_validate(store.orders[order["entity_id"]])
    assert after.updated_at == datetime(2026, 3, 1, 13, 3, tzinfo=UTC)
    assert after.total_refunded == memo.grand_total
    clock.advance(60)
    customer = store.update_customer(4, lastname="Janssen")
    assert (customer["lastname"], customer["updated_at"]) == ("Janssen", "2026-03-01 13:04:00")


def test_store_api_over_http_and_searches_by_updated_at(app, paas: Running):
    base = paas.server.base_url
    placed = httpx.post(
        f"{base}/_sandbox/orders", json={"items": [{"sku": "BND-01", "qty": 1}], "shipping": 0}
    )
    order_id = placed.json()["entity_id"]
    invoice = httpx.post(f"{base}/_sandbox/orders/{order_id}/invoice", json={}).json()
    memo = httpx.post(f"{base}/_sandbox/orders/{order_id}/refund", json={"adjustment_negative": 2}).json()
    store_connection(app, paas)
    with AdobeClient.for_connection(app, "shop") as client:
        since = SearchCriteria().where(Filter("updated_at", placed.json()["created_at"], "gteq"))
        assert order_id in [o.entity_id for o in client.iterate(ORDERS, since)]
        assert invoice["entity_id"] in [i.entity_id for i in client.iterate(INVOICES, since)]
        assert [m.adjustment_negative for m in client.iterate(CREDIT_MEMOS, since)] == [2]
        assert client.credit_memo(memo["entity_id"]).order_id == order_id
        assert client.invoice(invoice["entity_id"]).items[0].order_item_id


def test_serve_prints_one_json_line_with_credentials():
    port = free_port()
    code = f"from ml_connector.adobe_commerce.sandbox import serve; serve({port}, seed=1, mode='saas')"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert info["base_url"] == f"http://127.0.0.1:{port}"
    assert info["ims_token_url"] == f"http://127.0.0.1:{port}/ims/token/v3"
    assert {"client_id", "client_secret", "org_id", "tenant", "webhook_public_key_pem"} <= set(info)
