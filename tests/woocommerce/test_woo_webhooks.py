from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ml_connector.app import App
from ml_connector.secrets import secret
from ml_connector.store.connections import add_connection
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.webhooks import Reply, Verified, WebhookRejected
from ml_connector.woocommerce import signature
from ml_connector.woocommerce.auth import build_auth
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.webhooks import (
    TOPICS,
    HookState,
    delivery_url_for,
    ensure_webhooks,
    reactivate_disabled,
    verify_webhook,
    webhook_health,
)
from tests.woocommerce.fake_store import KEY, SECRET, FakeStore
from tests.woocommerce.woo_captures import WOO_REAL, Delivery, deliveries, delivery, sample

SIGNED = [d for d in deliveries() if "x-wc-webhook-signature" in {k.lower() for k in d.headers}]
URL = "https://connector.example/webhooks/woocommerce/shop"


def test_every_capture_is_found() -> None:
    assert len(SIGNED) == 7
    assert len(deliveries()) == 8  # plus the ping


# -- signature ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("capture", SIGNED, ids=lambda d: d.name)
def test_every_real_delivery_verifies_and_a_one_byte_change_does_not(capture: Delivery) -> None:
    provided = capture.headers["X-WC-Webhook-Signature"]
    assert signature.verify(capture.body, provided, capture.secret)
    for position in (0, len(capture.body) // 2, len(capture.body) - 1):
        changed = bytearray(capture.body)
        changed[position] ^= 0x01
        assert not signature.verify(bytes(changed), provided, capture.secret)
    assert not signature.verify(capture.body, provided, capture.secret + "x")
    # a re-serialisation of the parsed JSON is NOT what was signed (PHP escapes "/" as "\/")
    reserialised = json.dumps(json.loads(capture.body), separators=(",", ":")).encode()
    assert not signature.verify(reserialised, provided, capture.secret)


def test_core_test_vector_and_docs_sample() -> None:
    vector = sample("signature-test-vector.json")
    assert signature.sign(vector["payload"].encode(), vector["secret"]) == vector["expected_signature"]
    constructed = sample("webhook-delivery-order-updated.json")
    assert signature.verify(
        constructed["raw_body"].encode(),
        constructed["headers"]["X-WC-Webhook-Signature"],
        constructed["secret"],
    )


def test_secret_is_html_entity_decoded_like_wp_specialchars_decode() -> None:
    body = b'{"id":1}'
    assert signature.sign(body, "a&amp;b&quot;c&#039;d&lt;") == signature.sign(body, "a&b\"c'd<")
    assert signature.sign(body, "&#0039;&#X27;&#x0022;") == signature.sign(body, "''\"")
    assert signature.decode_secret("&amp;lt;") == "&lt;"  # one pass, as PHP strtr
    assert signature.sign(body, "&euro;") != signature.sign(body, "€")  # only the entities WordPress decodes


def test_missing_or_garbage_signature_is_false() -> None:
    assert not signature.verify(b"{}", None, "s")
    assert not signature.verify(b"{}", "", "s")
    assert not signature.verify(b"{}", "n\u00e4h", "s")


# -- verify_webhook (the web app's entry point) -----------------------------------------------------------


@pytest.fixture
def conn_for(app: App) -> Callable[..., Connection]:
    made: dict[str, Connection] = {}

    def make(webhook_secret: str, name: str = "shop") -> Connection:
        if name not in made:
            with app.db.session() as session:
                made[name] = add_connection(
                    session,
                    app.vault,
                    name=name,
                    kind=ConnectionKind.WOOCOMMERCE,
                    base_url="https://127.0.0.1:8443",
                    credentials={
                        "consumer_key": KEY,
                        "consumer_secret": SECRET,
                        "webhook_secret": webhook_secret,
                    },
                )
                session.flush()
                session.expunge(made[name])
        return made[name]

    return make


@pytest.mark.parametrize("capture", SIGNED, ids=lambda d: d.name)
def test_verify_webhook_accepts_every_real_delivery(app: App, conn_for, capture: Delivery) -> None:
    conn = conn_for(capture.secret, name=capture.secret)
    result = verify_webhook(app, conn, capture.body, capture.headers)
    assert isinstance(result, Verified)
    payload = json.loads(capture.body)
    resource = capture.headers["X-WC-Webhook-Resource"]
    assert result.dedup_key.startswith(f"{resource}:{payload['id']}:{payload['date_modified_gmt']}:")
    assert result.topic == capture.headers["X-WC-Webhook-Topic"]
    assert result.resource_id == str(payload["id"])
    assert result.reply.status == 200
    changed = capture.body[:-2] + bytes([capture.body[-2] ^ 0x01]) + capture.body[-1:]
    with pytest.raises(WebhookRejected) as rejected:
        verify_webhook(app, conn, changed, capture.headers)
    assert rejected.value.status == 401


def test_the_ping_is_answered_with_exactly_200(app: App, conn_for) -> None:
    ping = delivery(WOO_REAL / "webhook-ping.http.txt")
    result = verify_webhook(app, conn_for(ping.secret), ping.body, ping.headers)
    assert result == Reply(200)


def test_created_and_updated_from_one_request_are_one_event_but_delivery_id_is_not_the_key(
    app: App, conn_for
) -> None:
    created = delivery(WOO_REAL / "webhook-order-created.http.txt")
    updated = delivery(WOO_REAL / "webhook-order-updated-same-request-as-create.http.txt")
    later = delivery(WOO_REAL / "webhook-order-updated.http.txt")
    conn = conn_for(created.secret)
    keys = [verify_webhook(app, conn, d.body, d.headers).dedup_key for d in (created, updated, later)]  # type: ignore[union-attr]
    assert keys[0] == keys[1]  # byte-identical body: the same state of order 25
    assert keys[2] != keys[0]  # a later change of the same order is a new event
    # The real store reuses Delivery-IDs within a second: a different order under the same ID is a new event.
    body = created.body.replace(b'"id":25', b'"id":26', 1)
    other = dict(created.headers, **{"X-WC-Webhook-Signature": signature.sign(body, created.secret)})
    assert verify_webhook(app, conn, body, other).dedup_key != keys[0]  # type: ignore[union-attr]


def test_a_change_in_the_same_second_is_a_new_event(app: App, conn_for) -> None:
    updated = delivery(WOO_REAL / "webhook-order-updated.http.txt")
    conn = conn_for(updated.secret)
    payload = json.loads(updated.body)
    payload["refunds"] = [{"id": 99, "reason": "", "total": "-5.00"}]  # refunded, date_modified unchanged
    body = json.dumps(payload).encode()
    headers = dict(updated.headers, **{"X-WC-Webhook-Signature": signature.sign(body, updated.secret)})
    before = verify_webhook(app, conn, updated.body, updated.headers)
    after = verify_webhook(app, conn, body, headers)
    assert isinstance(before, Verified) and isinstance(after, Verified)
    assert after.dedup_key != before.dedup_key


def test_deleted_payload_without_date_is_keyed_by_body_hash(app: App, conn_for) -> None:
    conn = conn_for("s3cr3t-value")
    body = b'{"id":25}'
    headers = {
        "x-wc-webhook-topic": "order.deleted",  # lower-case header names work too
        "x-wc-webhook-resource": "order",
        "x-wc-webhook-signature": signature.sign(body, "s3cr3t-value"),
    }
    result = verify_webhook(app, conn, body, headers)
    assert isinstance(result, Verified)
    assert result.resource_id == "25"
    assert result.dedup_key.startswith("order:25:sha256:")


def test_unsigned_or_wrongly_signed_deliveries_are_rejected(app: App, conn_for) -> None:
    capture = SIGNED[0]
    conn = conn_for("another-secret-entirely")
    with pytest.raises(WebhookRejected, match="does not match"):
        verify_webhook(app, conn, capture.body, capture.headers)
    unsigned = {k: v for k, v in capture.headers.items() if k != "X-WC-Webhook-Signature"}
    with pytest.raises(WebhookRejected, match="without X-WC-Webhook-Signature"):
        verify_webhook(app, conn, capture.body, unsigned)


def test_delivery_url_comes_from_settings_or_public_url(app: App, conn_for) -> None:
    conn = conn_for("whatever")
    assert delivery_url_for(app, conn) is None
    app.settings.public_url = "https://connector.example/"
    assert delivery_url_for(app, conn) == "https://connector.example/webhooks/woocommerce/shop"
    conn.settings = {"webhook_url": "https://elsewhere.example/hook"}
    assert delivery_url_for(app, conn) == "https://elsewhere.example/hook"


# -- subscriptions ----------------------------------------------------------------------------------------


def _client(store: FakeStore) -> WooClient:
    return WooClient(
        "https://shop.example",
        build_auth("basic", KEY, secret(SECRET)),
        auth_mode="basic",
        transport=store.transport(),
    )


def test_ensure_creates_all_topics_with_our_secret_then_is_stable() -> None:
    store = FakeStore()
    result = ensure_webhooks(_client(store), URL, secret("our-secret-123"))
    assert sorted(result.created) == sorted(TOPICS)
    assert {h["topic"] for h in store.webhooks.values()} == set(TOPICS)
    assert set(store.webhook_secrets.values()) == {"our-secret-123"}
    again = ensure_webhooks(_client(store), URL, secret("our-secret-123"))
    assert again.created == []
    assert len(store.webhooks) == len(TOPICS)
    assert webhook_health(_client(store), URL).healthy


def test_existing_hook_with_unknown_secret_is_rewritten_and_duplicates_removed() -> None:
    store = FakeStore()
    client = _client(store)
    for _ in range(2):
        client.create_webhook({"topic": "order.updated", "delivery_url": URL, "secret": "someone-elses"})
    client.create_webhook({"topic": "order.updated", "delivery_url": "https://other.example/", "secret": "x"})
    result = ensure_webhooks(client, URL, secret("our-secret-123"))
    assert "order.updated" in result.updated
    assert result.removed_duplicates == [2]
    ours = [h for h in store.webhooks.values() if h["delivery_url"] == URL]
    assert len(ours) == len(TOPICS)
    assert all(store.webhook_secrets[h["id"]] == "our-secret-123" for h in ours)
    assert store.webhook_secrets[3] == "x"  # somebody else's webhook is left alone


def test_disabled_webhook_is_detected_and_reactivated() -> None:
    store = FakeStore()
    client = _client(store)
    ensure_webhooks(client, URL, secret("our-secret-123"))
    hook_id = next(h["id"] for h in store.webhooks.values() if h["topic"] == "order.updated")
    store.webhooks[hook_id]["status"] = "disabled"  # what the 7th failed delivery does
    health = webhook_health(client, URL)
    assert not health.healthy
    assert health.states["order.updated"] is HookState.DISABLED
    assert reactivate_disabled(client, URL) == [hook_id]
    disabled_query = [r for r in store.requests if r.url.params.get("status") == "disabled"]
    assert disabled_query  # asked with GET /webhooks?status=disabled
    assert store.webhooks[hook_id]["status"] == "active"
    assert webhook_health(client, URL).healthy


def test_missing_topic_is_reported_and_recreated() -> None:
    store = FakeStore()
    client = _client(store)
    ensure_webhooks(client, URL, secret("our-secret-123"))
    gone = next(h["id"] for h in store.webhooks.values() if h["topic"] == "customer.created")
    client.delete_webhook(gone)
    health = webhook_health(client, URL)
    assert health.states["customer.created"] is HookState.MISSING
    assert "customer.created: missing" in health.describe()
    assert ensure_webhooks(client, URL, secret("our-secret-123")).created == ["customer.created"]
