"""The sandbox's JSON has the keys (in order) and types of the real WooCommerce 7.9.0 captures."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from ml_connector.woocommerce.sandbox import WooSandbox

from .captures import WOO_REAL, load
from .conftest import API
from .shapes import assert_same_shape

MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _reference_order() -> dict[str, Any]:
    """One real order with every collection populated (coupon, fee, refunds all exist in some capture)."""
    order: dict[str, Any] = copy.deepcopy(load("order-registered-coupon-fee-mixed-tax.json"))
    order["refunds"] = load("order-with-refund.json")["refunds"]
    order["meta_data"] = [{"id": 1, "key": "vat_number", "value": "BE0123456749"}]
    return order


def _rich_order(sandbox: WooSandbox) -> int:
    """An order with a variation, a coupon, a fee, mixed VAT and both kinds of refund."""
    store = sandbox.store
    tshirt = next(p for p in store.catalog.products.values() if p.attribute == "Maat")
    tea = store.catalog.by_sku("RW-TEA-250")
    assert tea is not None
    order = store.create_order(
        customer_id=min(store.customers),
        line_items=[
            {"sku": "RW-TEA-250", "quantity": 2},
            {"variation_id": tshirt.variations[1].id, "quantity": 1},
        ],
        coupon_codes=("welkom10",),
        fees=(("Expresslevering toeslag", __import__("decimal").Decimal("3.00")),),
    )
    store.create_refund(order.id, lines=[(order.line_items[0].id, 1)], reason="Eén pakje beschadigd")
    store.create_refund(order.id, amount="5.00", reason="Goodwill")
    return order.id


def test_orders_have_the_real_shape(sandbox: WooSandbox, client: httpx.Client) -> None:
    rich = _rich_order(sandbox)
    orders = client.get(f"{API}/orders", params={"per_page": 100}).json()
    assert any(o["id"] == rich for o in orders)
    reference = _reference_order()
    guest_links = load("order-guest-coupon-completed.json")["_links"]
    for order in orders:
        expected = {**reference, "_links": guest_links} if order["customer_id"] == 0 else reference
        assert_same_shape(order, expected, f"order {order['id']}")
        for name in ("total", "total_tax", "discount_total", "shipping_total", "cart_tax"):
            assert MONEY.match(order[name]), (order["id"], name, order[name])
        assert isinstance(order["customer_id"], int)
        for refund in order["refunds"]:
            assert refund["total"].startswith("-")
    single = client.get(f"{API}/orders/{rich}").json()
    assert_same_shape(single, reference)
    assert single["coupon_lines"] and single["fee_lines"] and len(single["refunds"]) == 2


def test_seeded_shop_looks_like_a_real_one(sandbox: WooSandbox, client: httpx.Client) -> None:
    orders = client.get(f"{API}/orders", params={"per_page": 100}).json()
    statuses = {o["status"] for o in orders}
    assert {"processing", "completed", "on-hold"} <= statuses
    assert any(o["customer_id"] == 0 for o in orders), "no guest orders"
    assert any(o["customer_id"] != 0 for o in orders), "no registered customers' orders"
    lines = [line for o in orders for line in o["line_items"]]
    assert any(line["variation_id"] for line in lines), "no variation line items"
    assert any(line["sku"] == "" for line in lines) or any(
        p["sku"] == "" for p in client.get(f"{API}/products").json()
    )
    assert any(o["shipping_lines"] for o in orders)
    assert {t["rate_id"] for o in orders for t in o["tax_lines"]} == {1, 2}, "mixed VAT rates expected"
    assert any(any(m["key"] == "vat_number" for m in o["meta_data"]) for o in orders), "no EU B2B order"
    refunded = [o for o in orders if o["refunds"]]
    assert refunded, "no refunds in the seeded data"


def test_refunds_have_the_real_shape(sandbox: WooSandbox, client: httpx.Client) -> None:
    rich = _rich_order(sandbox)
    refunds = client.get(f"{API}/orders/{rich}/refunds").json()
    line_refund = next(r for r in refunds if r["line_items"])
    amount_only = next(r for r in refunds if not r["line_items"])
    assert_same_shape(line_refund, load("refunds.json")[0])
    assert_same_shape(amount_only, load("refund-create-post-response.json"))
    item = line_refund["line_items"][0]
    assert item["quantity"] < 0 and item["total"].startswith("-") and isinstance(item["price"], int | float)
    single = client.get(f"{API}/orders/{rich}/refunds/{line_refund['id']}").json()
    assert single == line_refund


@pytest.mark.parametrize(
    ("path", "capture"),
    [
        ("customers", "customers.json"),
        ("products", "products.json"),
        ("coupons", "coupons.json"),
        ("taxes", "taxes.json"),
    ],
)
def test_lists_have_the_real_shape(client: httpx.Client, path: str, capture: str) -> None:
    ours = client.get(f"{API}/{path}", params={"per_page": 100}).json()
    assert ours
    real = load(capture)
    for item in ours:
        expected = real[0]
        if path == "products" and item["type"] == "variable":
            expected = load("product-variable.json")
        if path == "customers" and len(item["meta_data"]) > 1:
            assert {m["key"] for m in item["meta_data"]} >= {"vat_number"}
        assert_same_shape(item, expected, f"{path} {item['id']}")


def test_variations_and_single_resources_have_the_real_shape(client: httpx.Client) -> None:
    products = client.get(f"{API}/products", params={"type": "variable"}).json()
    assert products
    variations = client.get(f"{API}/products/{products[0]['id']}/variations").json()
    for variation in variations:
        assert_same_shape(variation, load("variations.json")[0])
        assert variation["sku"]
    customer_id = client.get(f"{API}/customers").json()[0]["id"]
    assert_same_shape(client.get(f"{API}/customers/{customer_id}").json(), load("customer.json"))
    assert_same_shape(client.get(f"{API}/products/{products[0]['id']}").json(), load("product-variable.json"))


def test_created_resources_have_the_real_shape(client: httpx.Client, sandbox: WooSandbox) -> None:
    customer_id = min(sandbox.store.customers)
    created = client.post(
        f"{API}/orders",
        json={
            "payment_method": "bacs",
            "payment_method_title": "Direct bank transfer",
            "set_paid": True,
            "customer_id": customer_id,
            "line_items": [{"sku": "RW-COF-1KG", "quantity": 1}, {"sku": "RW-GRN-01", "quantity": 1}],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "4.95"}],
        },
    )
    assert created.status_code == 201
    assert created.headers["location"].endswith(f"/orders/{created.json()['id']}")
    real = load("order-create-post-response.json")
    assert_same_shape(created.json(), real)
    assert created.json()["created_via"] == "rest-api" and created.json()["status"] == "processing"
    assert created.json()["shipping_lines"][0]["instance_id"] == ""  # as in the capture
    customer = client.post(f"{API}/customers", json={"email": "femke@example.test", "first_name": "Femke"})
    assert customer.status_code == 201
    assert_same_shape(customer.json(), load("customer-create-post-response.json"))
    refund = client.post(
        f"{API}/orders/{created.json()['id']}/refunds", json={"amount": "5.00", "api_refund": False}
    )
    assert refund.status_code == 201
    assert refund.content.count(b"\\/") > 0  # PHP's escaped slashes, as in the captured body
    assert_same_shape(refund.json(), load("refund-create-post-response.json"))


_TRANSPORT = {"date", "server", "transfer-encoding", "content-length", "keep-alive", "connection"}


def _captured_header_names(name: str) -> set[str]:
    lines = [line for line in (WOO_REAL / name).read_text().splitlines() if line and not line.startswith("#")]
    return {line.split(":", 1)[0].lower() for line in lines[1:]} - _TRANSPORT


@pytest.mark.parametrize(
    ("path", "auth", "capture"),
    [
        ("orders?per_page=2", True, "orders-page.headers.txt"),
        ("orders?modified_after=yesterday", True, "error-modified-after-invalid.headers.txt"),
        ("orders/99999", True, "error-order-not-found.headers.txt"),
        ("orders", False, "error-no-auth.headers.txt"),
        ("customers", True, "customers.headers.txt"),
    ],
)
def test_response_headers_are_the_real_ones(
    client: httpx.Client, anonymous: httpx.Client, path: str, auth: bool, capture: str
) -> None:
    response = (client if auth else anonymous).get(f"{API}/{path}")
    assert set(response.headers) - _TRANSPORT == _captured_header_names(capture)
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
