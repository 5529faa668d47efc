from __future__ import annotations

from typing import Any

import httpx
import pytest

from ml_connector.app import App
from ml_connector.secrets import secret
from ml_connector.store.connections import add_connection
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.ping import run_checks
from ml_connector.woocommerce.webhooks import ensure_webhooks
from tests.woocommerce.fake_store import KEY, READ_KEY, READ_SECRET, SECRET, FakeStore


def _no_sleep(_seconds: float) -> None:
    pass


def _connection(app: App, *, key: str = KEY, sec: str = SECRET, **settings: Any) -> Connection:
    with app.db.session() as session:
        conn = add_connection(
            session,
            app.vault,
            name="shop",
            kind=ConnectionKind.WOOCOMMERCE,
            base_url="https://shop.example",
            credentials={"consumer_key": key, "consumer_secret": sec, "webhook_secret": "hook-secret-1"},
            settings=settings,
        )
        session.flush()
        session.expunge(conn)
    return conn


def _checks(app: App, conn: Connection, store: FakeStore) -> dict[str, Any]:
    def factory(**kwargs: Any) -> WooClient:
        return WooClient.for_connection_row(app, conn, transport=store.transport(), sleep=_no_sleep, **kwargs)

    checks = run_checks(app, conn, client_factory=factory)
    return {check.name: check for check in checks}


def test_for_connection_builds_the_configured_auth(app: App) -> None:
    _connection(app, auth_mode="query")
    client = WooClient.for_connection(app, "shop")
    assert client.auth_mode == "query"
    assert client.site_url == "https://shop.example"
    assert SECRET not in repr(client._http.auth)


def test_for_connection_rejects_bad_settings(app: App) -> None:
    _connection(app, auth_mode="digest")
    with pytest.raises(ValueError, match="auth_mode 'digest'"):
        WooClient.for_connection(app, "shop")


def test_all_green_against_a_healthy_store(app: App) -> None:
    app.settings.public_url = "https://connector.example"
    conn = _connection(app)
    store = FakeStore.with_orders(2)
    ensure_webhooks(
        WooClient.for_connection_row(app, conn, transport=store.transport()),
        "https://connector.example/webhooks/woocommerce/shop",
        secret("hook-secret-1"),
    )
    checks = _checks(app, conn, store)
    assert list(checks) == [
        "reachable",
        "tls",
        "permalinks",
        "auth",
        "permissions",
        "woocommerce version",
        "webhooks",
    ]
    assert all(check.ok for check in checks.values()), checks
    assert "7.9.0" in checks["woocommerce version"].detail


def test_stripped_authorization_header_suggests_query_auth(app: App) -> None:
    conn = _connection(app)
    store = FakeStore.with_orders(2)
    store.strip_authorization = True
    checks = _checks(app, conn, store)
    assert not checks["auth"].ok
    assert "strips the Authorization header" in checks["auth"].detail
    assert "auth_mode=query" in (checks["auth"].fix or "")


def test_wrong_secret_is_reported_without_suggesting_query(app: App) -> None:
    conn = _connection(app, sec="cs_wrong")
    checks = _checks(app, conn, FakeStore.with_orders(1))
    assert not checks["auth"].ok
    assert "secret does not match" in checks["auth"].detail


def test_read_only_key_fails_the_permission_check(app: App) -> None:
    conn = _connection(app, key=READ_KEY, sec=READ_SECRET)
    checks = _checks(app, conn, FakeStore.with_orders(1))
    assert checks["auth"].ok
    assert not checks["permissions"].ok
    assert "Read/Write" in (checks["permissions"].fix or "")


def test_old_woocommerce_and_missing_webhooks_are_flagged(app: App) -> None:
    app.settings.public_url = "https://connector.example"
    conn = _connection(app)
    store = FakeStore.with_orders(1)
    store.version = "5.6.0"
    checks = _checks(app, conn, store)
    assert not checks["woocommerce version"].ok
    assert "5.8" in (checks["woocommerce version"].fix or "")
    assert not checks["webhooks"].ok
    assert "order.created: missing" in checks["webhooks"].detail


def test_plain_permalinks_and_unreachable_store(app: App) -> None:
    conn = _connection(app)

    def plain_permalinks(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Page not found</html>")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    for handler, failing in ((plain_permalinks, "permalinks"), (down, "reachable")):
        checks = run_checks(
            app,
            conn,
            client_factory=lambda handler=handler, **kw: WooClient.for_connection_row(
                app, conn, transport=httpx.MockTransport(handler), sleep=_no_sleep, **kw
            ),
        )
        by_name = {check.name: check for check in checks}
        assert not by_name[failing].ok
        assert by_name[failing].fix
        assert "auth" not in by_name  # later checks are skipped once the API cannot be reached
