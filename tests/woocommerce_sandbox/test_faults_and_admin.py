"""Shared fault injection, the `/_sandbox` store API, determinism per seed, and serving from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client

from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.faults import FaultRule
from ml_connector.sandbox_kit.serve import free_port
from ml_connector.woocommerce.sandbox import WooSandbox, create_app
from ml_connector.woocommerce.sandbox.phpjson import php_json
from ml_connector.woocommerce.sandbox.render import Renderer

from .captures import CAPTURE_TIME
from .conftest import API
from .receiver import Receiver


def test_faults_are_injected_through_the_shared_middleware(sandbox: WooSandbox, client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="error", path="/orders$", count=1, status=502))
    assert client.get(f"{API}/orders").status_code == 502
    assert client.get(f"{API}/orders").status_code == 200
    client.post("/_sandbox/faults", json={"kind": "rate_limit", "path": "/customers", "count": 1, "delay": 7})
    limited = client.get(f"{API}/customers")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    sandbox.faults.add(FaultRule(kind="drop", path="/products", count=1))
    with pytest.raises(httpx.HTTPError):
        client.get(f"{API}/products")
    assert client.get(f"{API}/products").status_code == 200


def test_store_api_over_http_acts_like_a_shopper_and_fires_webhooks(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    client.post(
        f"{API}/webhooks", json={"topic": "order.created", "delivery_url": receiver.base_url, "secret": "s"}
    )
    customer = client.post(
        "/_sandbox/customers", json={"email": "b2b@example.test", "first_name": "Bea"}
    ).json()
    order = client.post(
        "/_sandbox/orders",
        json={
            "customer_id": customer["id"],
            "coupons": ["welkom10"],
            "fees": [["Cadeauverpakking", "2.50"]],
            "line_items": [{"sku": "RW-COF-1KG", "quantity": 2}, {"sku": "RW-TSHIRT-XL", "quantity": 1}],
        },
    ).json()
    assert order["created_via"] == "checkout" and order["status"] == "processing"
    assert order["coupon_lines"][0]["code"] == "welkom10" and order["fee_lines"]
    completed = client.post(f"/_sandbox/orders/{order['id']}", json={"status": "completed"}).json()
    assert completed["date_completed"] is not None
    line = order["line_items"][0]["id"]
    refund = client.post(
        f"/_sandbox/orders/{order['id']}/refunds", json={"lines": [[line, 1]], "reason": "r"}
    )
    assert refund.json()["line_items"][0]["quantity"] == -1
    assert client.post("/_sandbox/webhooks/wait", json={"timeout": 10}).json() == {"idle": True}
    assert [d["topic"] for d in client.get("/_sandbox/webhooks/deliveries").json()] == ["order.created"]
    state = client.get("/_sandbox/state").json()
    assert state["webhooks"][0]["failure_count"] == 0
    over = client.post(f"/_sandbox/orders/{order['id']}/refunds", json={"amount": "100000.00"})
    assert (over.status_code, over.json()["code"]) == (400, "woocommerce_rest_cannot_create_order_refund")
    assert client.post("/_sandbox/clock", json={"advance": 60}).json()["time"] == CAPTURE_TIME + 60
    assert client.post("/_sandbox/settings", json={"wc_version": "5.6.0"}).json()["wc_version"] == "5.6.0"


def test_seeded_data_is_deterministic_per_seed() -> None:
    def snapshot(seed: int) -> bytes:
        woo = create_app(seed=seed, orders=30, clock=ManualClock(start=CAPTURE_TIME))
        try:
            renderer = Renderer(woo.store.catalog, "http://127.0.0.1:8080")
            orders = [renderer.order(woo.store.get_order(i)) for i in woo.store.iter_orders()]  # type: ignore[arg-type]
            customers = [renderer.customer(c) for c in woo.store.customers.values()]
            return php_json([orders, customers])
        finally:
            woo.close()

    assert snapshot(11) == snapshot(11)
    assert snapshot(11) != snapshot(12)


def test_a_large_store_stays_cheap() -> None:
    """100,000 orders are generated lazily: the store starts quickly and a page is built on demand."""
    woo = create_app(seed=1, orders=100_000, clock=ManualClock(start=CAPTURE_TIME))
    try:
        last = woo.store.order_index.ids[-1]
        assert woo.store.get_order(last) is not None
        assert woo.store.materialised_orders == 0  # nothing held as objects until something changes
        woo.store.update_order(last, status="completed")
        assert woo.store.materialised_orders == 1
        assert woo.store.get_order(last).status == "completed"  # type: ignore[union-attr]
    finally:
        woo.close()


def test_serve_prints_one_json_line_with_credentials() -> None:
    port = free_port()
    code = f"from ml_connector.woocommerce.sandbox import serve; serve({port}, seed=2, orders=12)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert set(info) == {"base_url", "consumer_key", "consumer_secret"}
        assert info["base_url"] == f"http://127.0.0.1:{port}"
        response = httpx.get(
            f"{info['base_url']}{API}/orders", auth=(info["consumer_key"], info["consumer_secret"])
        )
        assert response.headers["x-wp-total"] == "12"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_plain_permalinks_route_only_rest_route(sandbox: WooSandbox, client: httpx.Client) -> None:
    sandbox.store.settings.pretty_permalinks = False
    assert client.get("/wp-json/").status_code == 404
    assert client.get(f"{API}/orders").status_code == 404
    via_query = client.get("/", params={"rest_route": "/wc/v3/orders", "per_page": "3"})
    assert via_query.status_code == 200 and len(via_query.json()) == 3


def test_rest_refunds_follow_woocommerce(sandbox: WooSandbox, client: httpx.Client) -> None:
    lines = [{"sku": "RW-TEA-250", "quantity": 2}, {"sku": "RW-GRN-01", "quantity": 1}]
    order = client.post(
        f"{API}/orders", json={"set_paid": True, "payment_method": "bacs", "line_items": lines}
    ).json()
    tea, grinder = order["line_items"]
    # api_refund defaults to true, and bank transfer cannot refund automatically: WooCommerce answers 500.
    refused = client.post(f"{API}/orders/{order['id']}/refunds", json={"amount": "1.00"})
    assert (refused.status_code, refused.json()["code"]) == (
        500,
        "woocommerce_rest_cannot_create_order_refund",
    )
    tea_refund = {
        "id": tea["id"],
        "quantity": 1,
        "refund_total": "6.50",
        "refund_tax": [{"id": 2, "refund_total": "0.59"}],
    }
    nothing = {"id": grinder["id"], "quantity": 0}
    explicit = client.post(
        f"{API}/orders/{order['id']}/refunds",
        json={"api_refund": False, "amount": "7.09", "line_items": [tea_refund, nothing]},
    )
    assert explicit.status_code == 201, explicit.text
    line = explicit.json()["line_items"]
    assert [(x["quantity"], x["total"], x["total_tax"]) for x in line] == [(-1, "-6.50", "-0.59")]
    assert explicit.headers["location"].endswith(f"/refunds/{explicit.json()['id']}")
    after = client.get(f"{API}/orders/{order['id']}").json()
    assert after["refunds"] == [{"id": explicit.json()["id"], "reason": "", "total": "-7.09"}]
    rest = client.post(
        f"{API}/orders/{order['id']}/refunds", json={"api_refund": False, "amount": after["total"]}
    )
    assert rest.json()["code"] == "woocommerce_rest_cannot_create_order_refund"  # more than is left
    remaining = str(round(float(after["total"]) - 7.09, 2))
    final = client.post(
        f"{API}/orders/{order['id']}/refunds", json={"api_refund": False, "amount": remaining}
    )
    assert final.status_code == 201
    assert client.get(f"{API}/orders/{order['id']}").json()["status"] == "refunded"


def test_eu_business_buyers_are_reverse_charged(sandbox: WooSandbox) -> None:
    store = sandbox.store
    b2b = next(c for c in store.customers.values() if any(m.key == "vat_number" for m in c.meta))
    assert b2b.billing["country"] == "BE" and b2b.billing["company"]
    order = store.create_order(customer_id=b2b.id, line_items=[{"sku": "RW-COF-1KG", "quantity": 4}])
    rendered = Renderer(store.catalog, "http://127.0.0.1:8080").order(order)
    assert rendered["total_tax"] == "0.00" and rendered["tax_lines"] == []
    assert {m["key"]: m["value"] for m in rendered["meta_data"]} == {
        "vat_number": "BE0123456749",
        "is_vat_exempt": "yes",
    }
    dutch = store.create_order(
        customer_id=0,
        billing={"country": "NL", "company": "Koffie B.V."},
        line_items=[{"sku": "RW-COF-1KG", "quantity": 1}],
        meta_data=[{"key": "vat_number", "value": "NL123456789B01"}],
    )
    assert Renderer(store.catalog, "").order(dutch)["total_tax"] != "0.00"  # a Dutch business pays Dutch VAT


def test_oauth1_over_rest_route_signs_the_url_as_sent(sandbox: WooSandbox, served: str) -> None:
    sandbox.store.settings.pretty_permalinks = False
    credentials = sandbox.store.read_write
    signer = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        timestamp=str(sandbox.store.now()),
        nonce="plainpermalinks1",
        signature_type=SIGNATURE_TYPE_QUERY,
    )
    signed_url, _, _ = signer.sign(f"{served}/?rest_route=/wc/v3/orders&per_page=2")
    response = httpx.get(signed_url)
    assert response.status_code == 200, response.text
    assert len(response.json()) == 2


def test_concurrent_writes_keep_the_store_consistent(sandbox: WooSandbox, client: httpx.Client) -> None:
    before = int(client.get(f"{API}/orders").headers["x-wp-total"])

    def shop(worker: int) -> list[int]:
        return [
            sandbox.store.create_order(line_items=[{"sku": "RW-TEA-250", "quantity": 1 + worker % 3}]).id
            for _ in range(25)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [order_id for batch in pool.map(shop, range(8)) for order_id in batch]
    assert len(set(ids)) == 200
    assert int(client.get(f"{API}/orders").headers["x-wp-total"]) == before + 200
    newest = client.get(f"{API}/orders", params={"orderby": "id", "per_page": 100}).json()
    assert [o["id"] for o in newest] == sorted(ids, reverse=True)[:100]
