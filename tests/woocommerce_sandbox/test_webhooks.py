"""Webhooks like WooCommerce 7.9: ping, async delivery, PHP-style signed bodies, failure counting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from ml_connector.woocommerce.sandbox import WooSandbox
from ml_connector.woocommerce.signature import sign, verify

from .captures import deliveries, load, raw
from .conftest import API
from .receiver import Receiver
from .shapes import assert_same_shape

USER_AGENT = "WooCommerce/7.9.0 Hookshot (WordPress/6.1.9)"
EIGHT = (
    "Content-Type",
    "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
)
SECRET = "realwoo-webhook-secret-1"  # a captured secret


def _subscribe(
    client: httpx.Client, receiver: Receiver, topic: str, secret: str = SECRET
) -> dict[str, object]:
    response = client.post(
        f"{API}/webhooks",
        json={
            "name": f"test {topic}",
            "topic": topic,
            "secret": secret,
            "delivery_url": f"{receiver.base_url}/wc/{topic}",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _order_body(customer_id: int = 0) -> dict[str, object]:
    return {
        "set_paid": True,
        "payment_method": "bacs",
        "customer_id": customer_id,
        "line_items": [{"sku": "RW-TEA-250", "quantity": 2}],
    }


def test_captured_deliveries_verify_with_the_shared_signer() -> None:
    captured = [d for d in deliveries() if "X-WC-Webhook-Signature" in d.headers]
    assert len(captured) == 7
    for delivery in captured:
        assert sign(delivery.body, delivery.secret) == delivery.headers["X-WC-Webhook-Signature"], (
            delivery.name
        )
        tampered = delivery.body[:-2] + bytes([delivery.body[-2] ^ 1]) + delivery.body[-1:]
        assert not verify(tampered, delivery.headers["X-WC-Webhook-Signature"], delivery.secret)
    vector = json.loads(raw("../reference/woo-samples/signature-test-vector.json"))
    assert sign(vector["payload"].encode(), vector["secret"]) == vector["expected_signature"]


def test_create_sends_the_ping_and_never_returns_the_secret(client: httpx.Client, receiver: Receiver) -> None:
    webhook = _subscribe(client, receiver, "order.created")
    assert "secret" not in webhook
    assert_same_shape(webhook, load("webhook-create-response.json"))
    assert webhook["hooks"] == ["woocommerce_new_order"]
    [ping] = receiver.requests
    assert ping.body == f"webhook_id={webhook['id']}".encode()
    assert ping.headers["content-type"] == "application/x-www-form-urlencoded"
    assert ping.headers["user-agent"] == USER_AGENT
    assert not any(name.startswith("x-wc-") for name in ping.headers)


def test_rest_order_create_delivers_created_and_updated(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    created_hook = _subscribe(client, receiver, "order.created")
    updated_hook = _subscribe(client, receiver, "order.updated", secret="another&amp;secret")
    order = client.post(f"{API}/orders", json=_order_body(min(sandbox.store.customers))).json()
    assert sandbox.wait_for_webhooks()
    first, second = receiver.deliveries()
    by_topic = {d.headers["x-wc-webhook-topic"]: d for d in (first, second)}
    assert set(by_topic) == {"order.created", "order.updated"}
    for topic, delivery in by_topic.items():
        assert all(name.lower() in delivery.headers for name in EIGHT)
        assert delivery.headers["user-agent"] == USER_AGENT
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["x-wc-webhook-source"] == "http://127.0.0.1:8080/"
        assert delivery.headers["x-wc-webhook-resource"] == "order"
        assert delivery.headers["x-wc-webhook-event"] == topic.split(".")[1]
        hook = created_hook if topic == "order.created" else updated_hook
        assert delivery.headers["x-wc-webhook-id"] == str(hook["id"])
        assert len(delivery.headers["x-wc-webhook-delivery-id"]) == 32
    # Same body for both (as captured); raw-byte HMAC with the HTML-entity-decoded secret.
    assert by_topic["order.created"].body == by_topic["order.updated"].body
    body = by_topic["order.created"].body
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert by_topic["order.created"].headers["x-wc-webhook-signature"] == expected
    assert verify(body, by_topic["order.updated"].headers["x-wc-webhook-signature"], "another&secret")
    assert b"\\/" in body and json.loads(body)["id"] == order["id"]
    assert body == client.get(f"{API}/orders/{order['id']}").content  # the REST representation, PHP-encoded
    assert_same_shape(json.loads(body), load("webhook-order-created.body.json"))


def test_delivery_id_is_webhook_id_plus_second_so_not_unique(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    hook = _subscribe(client, receiver, "order.created")
    client.post(f"{API}/orders", json=_order_body())
    client.post(f"{API}/orders", json=_order_body())  # same sandbox second: the clock is manual
    assert sandbox.wait_for_webhooks()
    one, two = receiver.deliveries()
    assert json.loads(one.body)["id"] != json.loads(two.body)["id"]
    assert one.headers["x-wc-webhook-delivery-id"] == two.headers["x-wc-webhook-delivery-id"]
    salt = sandbox.store.salt.encode()
    wp_hash = hmac.new(salt, f"{hook['id']}{sandbox.store.now()}".encode(), hashlib.md5).hexdigest()
    assert one.headers["x-wc-webhook-delivery-id"] == wp_hash


def test_payload_is_built_at_send_time_and_pending_events_collapse(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    _subscribe(client, receiver, "order.created")
    _subscribe(client, receiver, "order.updated")
    sandbox.dispatcher.pause()  # like a store whose cron has not run yet
    order = client.post(f"{API}/orders", json=_order_body()).json()
    client.put(f"{API}/orders/{order['id']}", json={"status": "completed"})
    client.put(f"{API}/orders/{order['id']}", json={"customer_note": "late change"})
    sandbox.dispatcher.resume()
    assert sandbox.wait_for_webhooks()
    deliveries_ = receiver.deliveries()
    assert sorted(d.headers["x-wc-webhook-topic"] for d in deliveries_) == ["order.created", "order.updated"]
    for delivery in deliveries_:
        sent = json.loads(delivery.body)
        assert (sent["status"], sent["customer_note"]) == ("completed", "late change")


def test_refund_delete_and_customer_topics(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    for topic in ("order.updated", "order.deleted", "customer.created", "customer.updated"):
        _subscribe(client, receiver, topic)
    order = client.post(f"{API}/orders", json=_order_body()).json()
    assert sandbox.wait_for_webhooks()
    receiver.requests.clear()
    refund = client.post(f"{API}/orders/{order['id']}/refunds", json={"amount": "2.00", "api_refund": False})
    assert refund.status_code == 201
    assert sandbox.wait_for_webhooks()
    [updated] = receiver.deliveries()
    assert updated.headers["x-wc-webhook-topic"] == "order.updated"
    assert json.loads(updated.body)["refunds"][0]["total"] == "-2.00"
    receiver.requests.clear()
    client.delete(f"{API}/orders/{order['id']}")
    assert sandbox.wait_for_webhooks()
    [deleted] = receiver.deliveries()
    assert (deleted.headers["x-wc-webhook-topic"], deleted.body) == (
        "order.deleted",
        f'{{"id":{order["id"]}}}'.encode(),
    )
    receiver.requests.clear()
    customer = client.post(
        f"{API}/customers", json={"email": "nieuw@example.test", "first_name": "Nina"}
    ).json()
    assert sandbox.wait_for_webhooks()
    topics = sorted(d.headers["x-wc-webhook-topic"] for d in receiver.deliveries())
    assert topics == ["customer.created", "customer.updated"]
    receiver.requests.clear()
    client.put(f"{API}/customers/{customer['id']}", json={"last_name": "Jong"})
    assert sandbox.wait_for_webhooks()
    [changed] = receiver.deliveries()
    assert json.loads(changed.body)["last_name"] == "Jong"
    assert_same_shape(json.loads(changed.body), load("webhook-customer-updated.body.json"))


def _fail_once(sandbox: WooSandbox, client: httpx.Client, order_id: int, note: str) -> None:
    client.put(f"{API}/orders/{order_id}", json={"customer_note": note})
    assert sandbox.wait_for_webhooks()


def test_seventh_consecutive_failure_disables_and_reactivation_keeps_the_count(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver
) -> None:
    receiver.status = 500
    hook = _subscribe(client, receiver, "order.updated")
    webhook = sandbox.store.webhooks[int(str(hook["id"]))]
    assert webhook.pending_delivery  # the ping got 500
    order_id = client.get(f"{API}/orders").json()[0]["id"]
    for attempt in range(1, 7):
        _fail_once(sandbox, client, order_id, f"attempt {attempt}")
        assert (webhook.status, webhook.failure_count) == ("active", attempt)
    _fail_once(sandbox, client, order_id, "attempt 7")
    assert (webhook.status, webhook.failure_count) == ("disabled", 6)  # as observed on the real store
    assert len(receiver.deliveries()) == 7
    assert len(receiver.pings()) == 8  # the create ping, then one after every failed delivery while pending
    _fail_once(sandbox, client, order_id, "not delivered")
    assert len(receiver.deliveries()) == 7
    disabled = client.get(f"{API}/webhooks", params={"status": "disabled"}).json()
    assert [w["id"] for w in disabled] == [hook["id"]]
    assert_same_shape(disabled[0], load("webhook-disabled-after-failures.json"))
    # Re-activating does not reset the count: the next failure disables it again.
    assert client.put(f"{API}/webhooks/{hook['id']}", json={"status": "active"}).json()["status"] == "active"
    _fail_once(sandbox, client, order_id, "fails again")
    assert (webhook.status, webhook.failure_count) == ("disabled", 6)
    # Only a success (200..302) resets it; no failed delivery is ever retried.
    receiver.status = 302
    client.put(f"{API}/webhooks/{hook['id']}", json={"status": "active"})
    _fail_once(sandbox, client, order_id, "works")
    assert (webhook.status, webhook.failure_count) == ("active", 0)
    assert len(receiver.deliveries()) == 9


@pytest.mark.parametrize("status", [199, 303, 404])
def test_answers_outside_200_to_302_count_as_failures(
    sandbox: WooSandbox, client: httpx.Client, receiver: Receiver, status: int
) -> None:
    hook = _subscribe(client, receiver, "order.updated")
    receiver.status = status
    _fail_once(sandbox, client, client.get(f"{API}/orders").json()[0]["id"], "x")
    assert sandbox.store.webhooks[int(str(hook["id"]))].failure_count == 1


def test_webhook_validation_and_delete(client: httpx.Client, receiver: Receiver) -> None:
    bad_topic = client.post(
        f"{API}/webhooks", json={"topic": "order.exploded", "delivery_url": receiver.base_url}
    )
    assert (bad_topic.status_code, bad_topic.json()["code"]) == (
        400,
        "woocommerce_rest_webhook_invalid_topic",
    )
    bad_url = client.post(f"{API}/webhooks", json={"topic": "order.updated", "delivery_url": "ftp://x"})
    assert bad_url.status_code == 400
    hook = _subscribe(client, receiver, "order.updated")
    assert client.delete(f"{API}/webhooks/{hook['id']}").status_code == 501
    assert client.delete(f"{API}/webhooks/{hook['id']}", params={"force": "true"}).status_code == 200
    assert client.get(f"{API}/webhooks/{hook['id']}").status_code == 404
