"""The client against the stateful WooCommerce sandbox (ml_connector.woocommerce.sandbox) on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from ml_connector.app import App
from ml_connector.http.oauth1 import OAuth1Signer
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.secrets import secret
from ml_connector.store.connections import add_connection
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.webhooks import Reply, Verified, WebhookRejected
from ml_connector.woocommerce.auth import AuthMode, build_auth
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.ping import run_checks
from ml_connector.woocommerce.sandbox import StoreSettings, WooSandbox, create_app
from ml_connector.woocommerce.webhooks import (
    TOPICS,
    HookState,
    ensure_webhooks,
    reactivate_disabled,
    verify_webhook,
    webhook_health,
)

WEBHOOK_SECRET = "our-webhook-secret-1"


class _Ahead:
    """A clock some seconds ahead of real time, so that a change lands after the incremental window start."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@dataclass
class Served:
    sandbox: WooSandbox
    base_url: str
    key: str
    secret: str

    def client(self, mode: AuthMode = "basic", transport: httpx.BaseTransport | None = None) -> WooClient:
        return WooClient(
            self.base_url,
            build_auth(mode, self.key, secret(self.secret)),
            auth_mode=mode,
            transport=transport,
        )


@contextmanager
def _serve(**kwargs: Any) -> Iterator[Served]:
    sandbox = create_app(**kwargs)
    try:
        with ThreadedServer(sandbox.asgi) as server:
            info = sandbox.info(server.base_url)
            yield Served(sandbox, info["base_url"], info["consumer_key"], info["consumer_secret"])
    finally:
        sandbox.close()


@pytest.fixture(scope="module")
def big_store() -> Iterator[Served]:
    with _serve(seed=11, orders=1000) as served:
        yield served


@pytest.fixture
def small_store() -> Iterator[Served]:
    with _serve(seed=5, orders=12) as served:
        yield served


# -- reading ----------------------------------------------------------------------------------------------


def test_thousand_orders_page_in_ten_calls_and_all_parse(big_store: Served) -> None:
    transport = CountingTransport()
    with big_store.client(transport=transport) as client:
        orders = list(client.orders())
    assert len(orders) == 1000
    assert len({order.id for order in orders}) == 1000
    assert [o.id for o in orders] == sorted(o.id for o in orders)
    assert len(transport.requests) == 10
    assert any(order.is_guest for order in orders)
    assert any(order.refunds for order in orders)


def test_oauth1_over_plain_http_pages_with_fresh_signatures(big_store: Served) -> None:
    transport = CountingTransport()
    signer = OAuth1Signer(big_store.key, secret(big_store.secret), placement="query")
    with WooClient(big_store.base_url, signer, auth_mode="oauth1", transport=transport) as client:
        ids = [order.id for order in client.orders(per_page=100, status=["completed"])]
    assert ids
    assert len(transport.requests) == -(-len(ids) // 100)
    nonces = [r.url.params["oauth_nonce"] for r in transport.requests]
    assert len(set(nonces)) == len(nonces)
    assert all(r.url.params.get_list("oauth_signature").__len__() == 1 for r in transport.requests)


def test_status_lists_filter_like_woocommerce(big_store: Served) -> None:
    with big_store.client() as client:
        statuses = {order.status for order in client.orders(status=["processing", "completed"])}
    assert statuses == {"processing", "completed"}


def test_query_string_auth_and_typed_reads(small_store: Served) -> None:
    with small_store.client("query") as client:
        customers = list(client.customers())
        products = list(client.products())
        assert customers
        assert products
        variable = next(p for p in products if p.variations)
        assert list(client.variations(variable.id))
        order = next(client.orders())
        assert client.order(order.id).id == order.id
        for summary in order.refunds:
            assert summary.total < 0
        assert list(client.tax_rates())
        assert client.woocommerce_version() == "7.9.0"
        assert client.supports_modified_after()


def test_incremental_read_sees_a_changed_order_once_per_window(small_store: Served) -> None:
    store = small_store.sandbox.store
    with small_store.client() as client:
        since = datetime.now(UTC) + timedelta(seconds=2)  # after every seeded change
        target = next(client.orders())
        assert list(client.changed_orders(since)) == []
        small_store.sandbox.store.clock = _Ahead(seconds=10)
        store.update_order(target.id, customer_note="changed by the test")
        changed = [o.id for o in client.changed_orders(since)]
    assert changed == [target.id]


def test_refunds_are_read_with_negative_lines(small_store: Served) -> None:
    with small_store.client() as client:
        for order in client.orders():
            if order.refunds:
                refunds = list(client.refunds(order.id))
                assert {r.id for r in refunds} == {r.id for r in order.refunds}
                return
    pytest.skip("seed produced no refunded order")


# -- webhooks ---------------------------------------------------------------------------------------------


@dataclass
class VerifyingReceiver:
    """Our receiving end: runs verify_webhook on every request and answers like the web app would."""

    app: App
    conn: Connection
    failing: bool = False
    results: list[Verified | Reply | WebhookRejected] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        result: Verified | Reply | WebhookRejected
        try:
            result = verify_webhook(self.app, self.conn, body, headers)
            status = 500 if self.failing else 200
        except WebhookRejected as rejected:
            result, status = rejected, rejected.status
        with self.lock:
            self.results.append(result)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def verified(self) -> list[Verified]:
        with self.lock:
            return [r for r in self.results if isinstance(r, Verified)]


def _woo_connection(app: App, served: Served, **settings: Any) -> Connection:
    with app.db.session() as session:
        conn = add_connection(
            session,
            app.vault,
            name="sandbox-shop",
            kind=ConnectionKind.WOOCOMMERCE,
            base_url=served.base_url,
            credentials={
                "consumer_key": served.key,
                "consumer_secret": served.secret,
                "webhook_secret": WEBHOOK_SECRET,
            },
            settings=settings,
        )
        session.flush()
        session.expunge(conn)
    return conn


def _new_order(served: Served) -> int:
    store = served.sandbox.store
    product = next(p for p in store.catalog.products.values() if not p.variations)
    order = store.create_order(line_items=[{"product_id": product.id, "quantity": 1}], set_paid=True)
    assert served.sandbox.wait_for_webhooks(10)
    return int(order.id)


def test_webhooks_are_verified_and_a_disabled_webhook_is_detected_and_reactivated(
    app: App, small_store: Served
) -> None:
    conn = _woo_connection(app, small_store)
    receiver = VerifyingReceiver(app, conn)
    with ThreadedServer(receiver) as hook_server, small_store.client() as client:
        url = f"{hook_server.base_url}/webhooks/woocommerce/{conn.name}"
        result = ensure_webhooks(client, url, secret(WEBHOOK_SECRET))
        assert sorted(result.created) == sorted(TOPICS)
        assert Reply(200) in receiver.results  # the creation pings were answered with exactly 200

        order_id = _new_order(small_store)
        topics = {(v.topic, v.resource_id) for v in receiver.verified()}
        assert {("order.created", str(order_id)), ("order.updated", str(order_id))} <= topics
        keys = {v.dedup_key for v in receiver.verified() if v.resource_id == str(order_id)}
        assert len(keys) == 1  # created + updated of one state: one event for the inbox

        receiver.failing = True
        for _ in range(6):
            _new_order(small_store)
        assert webhook_health(client, url).healthy  # six failures in a row: still active
        _new_order(small_store)  # WooCommerce disables on the 7th consecutive failure
        health = webhook_health(client, url)
        assert health.states["order.created"] is HookState.DISABLED
        assert health.states["order.updated"] is HookState.DISABLED
        assert health.states["customer.created"] is HookState.HEALTHY
        assert not health.healthy

        receiver.failing = False
        reactivated = reactivate_disabled(client, url)
        assert sorted(reactivated) == sorted(
            health.webhook_ids[t] for t in ("order.created", "order.updated")
        )
        assert webhook_health(client, url).healthy
        before = len(receiver.verified())
        latest = _new_order(small_store)
        assert any(v.resource_id == str(latest) for v in receiver.verified()[before:])


def test_ensure_rewrites_a_hook_whose_secret_we_do_not_know(app: App, small_store: Served) -> None:
    conn = _woo_connection(app, small_store)
    receiver = VerifyingReceiver(app, conn)
    with ThreadedServer(receiver) as hook_server, small_store.client() as client:
        url = f"{hook_server.base_url}/hook"
        client.create_webhook({"topic": "order.created", "delivery_url": url, "secret": "not-ours"})
        _new_order(small_store)
        assert any(isinstance(r, WebhookRejected) for r in receiver.results)  # their secret: rejected
        ensure_webhooks(client, url, secret(WEBHOOK_SECRET))
        hooks = [h for h in client.webhooks() if h.delivery_url == url]
        assert len(hooks) == len(TOPICS)
        order_id = _new_order(small_store)
        assert any(v.resource_id == str(order_id) for v in receiver.verified())


# -- ping -------------------------------------------------------------------------------------------------


def test_ping_against_the_sandbox(app: App, small_store: Served) -> None:
    app.settings.public_url = "http://127.0.0.1:9"  # nothing listens: webhooks are simply not set up yet
    conn = _woo_connection(app, small_store)
    checks = {check.name: check for check in run_checks(app, conn)}
    for name in ("reachable", "tls", "permalinks", "auth", "permissions", "woocommerce version"):
        assert checks[name].ok, checks[name]
    assert not checks["webhooks"].ok
    assert "missing" in checks["webhooks"].detail


def test_ping_detects_a_stripped_authorization_header() -> None:
    settings = StoreSettings(strip_authorization=True)
    with _serve(seed=2, orders=3, settings=settings) as served:
        app_checks = _checks_without_db(served)
        assert not app_checks["auth"].ok
        assert "auth_mode=query" in (app_checks["auth"].fix or "")


def _checks_without_db(served: Served) -> dict[str, Any]:
    from ml_connector.woocommerce import ping

    def factory(auth_mode: AuthMode | None = None, **_kw: Any) -> WooClient:
        return served.client(auth_mode or "basic")

    conn = Connection(name="s", kind=ConnectionKind.WOOCOMMERCE, base_url=served.base_url, settings={})
    return {c.name: c for c in ping.run_checks(None, conn, client_factory=factory)}  # type: ignore[arg-type]
