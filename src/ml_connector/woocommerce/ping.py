"""`ml-connector ping NAME` for a WooCommerce connection: one Check per question, each with its fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ml_connector.app import App
from ml_connector.checks import Check
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import RemoteError
from ml_connector.store.models import Connection
from ml_connector.woocommerce.auth import AuthMode, is_loopback
from ml_connector.woocommerce.client import WooClient, WooTLSError
from ml_connector.woocommerce.errors import KEYS_PAGE, WooAuthError
from ml_connector.woocommerce.versions import MODIFIED_AFTER_SINCE, parse_version
from ml_connector.woocommerce.webhooks import delivery_url_for, webhook_health

ClientFactory = Callable[..., WooClient]
PING_BACKOFF = Backoff(base=0.5, max_attempts=2)  # a person is waiting: one retry, then say what is wrong


def _index_check(client: WooClient) -> tuple[list[Check], bool]:
    """Reachability, TLS and permalinks, from the public REST index at /wp-json/."""
    url = httpx.URL(client.site_url)
    index: httpx.Response | None
    try:
        index = client.send("GET", "/wp-json/", authenticated=False)
    except WooTLSError as exc:
        return [
            Check("reachable", True, f"{client.site_url} answers"),
            Check("tls", False, exc.message, fix="install a valid certificate or set the ca_bundle setting"),
        ], False
    except RemoteError as exc:
        if exc.status is None:
            return [
                Check("reachable", False, exc.message, fix="check the base URL and that the site is up")
            ], False
        index = None  # the site answered, but not with the REST index
    checks = [Check("reachable", True, f"{client.site_url} answers")]
    if url.scheme == "https":
        checks.append(Check("tls", True, "HTTPS with a trusted certificate"))
    elif is_loopback(url.host):
        checks.append(Check("tls", True, "plain HTTP on loopback (a local sandbox)"))
    else:
        checks.append(
            Check(
                "tls",
                False,
                "plain HTTP: order data travels unencrypted and only OAuth1 signatures authenticate",
                fix="enable HTTPS on the store and change the connection's base URL to https://",
            )
        )
    namespaces: list[Any] = []
    if index is not None:
        try:
            namespaces = list(index.json().get("namespaces") or [])
        except ValueError:
            namespaces = []
    if "wc/v3" in namespaces:
        checks.append(Check("permalinks", True, "/wp-json/ routes to the REST API and wc/v3 is available"))
        return checks, True
    if namespaces:
        checks.append(
            Check(
                "permalinks",
                False,
                "the REST API answers but has no wc/v3 namespace",
                fix="activate WooCommerce (3.5 or later) on the site",
            )
        )
        return checks, False
    checks.append(
        Check(
            "permalinks",
            False,
            "/wp-json/ does not return the WordPress REST index",
            fix="in WordPress, Settings > Permalinks: choose any structure except Plain, then save",
        )
    )
    return checks, False


def _try_read(client: WooClient) -> RemoteError | None:
    try:
        client.get("orders", {"per_page": 1})
    except RemoteError as exc:  # InsecureTransportError included
        return exc
    return None


def _auth_check(client: WooClient, alternative: Callable[[AuthMode], WooClient]) -> Check:
    failure = _try_read(client)
    if failure is None:
        return Check("auth", True, f"{client.auth_mode} authentication works")
    stripped = (
        client.auth_mode == "basic"
        and isinstance(failure, WooAuthError)
        and (failure.code or "").startswith("woocommerce_rest_cannot_")
    )
    if stripped:
        with alternative("query") as query_client:
            if _try_read(query_client) is None:
                return Check(
                    "auth",
                    False,
                    "Basic auth is refused but the same key works in the query string: the web server strips "
                    "the Authorization header",
                    fix="switch the connection to auth_mode=query (or let the server pass Authorization on)",
                )
    return Check("auth", False, failure.message, fix=f"check the consumer key and secret under {KEYS_PAGE}")


def _permission_check(client: WooClient) -> Check:
    """Write permission without writing: an update of webhook id 0 (never exists) is refused before routing
    for a read-only key and answered 'invalid id' for a read_write key."""
    try:
        client.put("webhooks/0", {})
    except WooAuthError as exc:
        if "write permissions" in (exc.woo_message or ""):
            return Check(
                "permissions",
                False,
                "the key is read-only: webhooks cannot be registered",
                fix=f"edit the key under {KEYS_PAGE} and set Permissions to Read/Write",
            )
        return Check(
            "permissions", False, exc.message, fix="create the key for an administrator or shop manager"
        )
    except RemoteError:
        pass  # 400/404: the write was allowed to reach the route
    return Check("permissions", True, "the key can read and write (needed for webhooks)")


def _version_check(client: WooClient) -> Check:
    try:
        version = client.woocommerce_version()
    except RemoteError as exc:
        return Check(
            "woocommerce version",
            False,
            f"cannot read system status: {exc.message}",
            fix="create the key for an administrator or shop manager (needs manage_woocommerce)",
        )
    if version is None:
        return Check(
            "woocommerce version", False, "system status did not report a version", fix="update WooCommerce"
        )
    if parse_version(version) < MODIFIED_AFTER_SINCE:
        return Check(
            "woocommerce version",
            False,
            f"WooCommerce {version} cannot filter on modified date: every sync re-scans the store",
            fix="update WooCommerce to 5.8 or later",
        )
    return Check("woocommerce version", True, f"WooCommerce {version}")


def _webhook_check(app: App, conn: Connection, client: WooClient) -> Check:
    url = delivery_url_for(app, conn)
    if url is None:
        return Check(
            "webhooks",
            False,
            "no delivery URL: webhooks cannot be registered, changes are found by polling only",
            fix="set public_url in the config (the address at which the store reaches this app)",
        )
    try:
        health = webhook_health(client, url)
    except RemoteError as exc:
        return Check("webhooks", False, f"cannot list webhooks: {exc.message}", fix="use a Read/Write key")
    if health.healthy:
        return Check("webhooks", True, f"all subscriptions active at {url}")
    return Check(
        "webhooks",
        False,
        health.describe(),
        fix=f"run `ml-connector webhooks ensure {conn.name}` to register and re-activate them",
    )


def run_checks(app: App, conn: Connection, client_factory: ClientFactory | None = None) -> list[Check]:
    factory = client_factory or (
        lambda **kw: WooClient.for_connection_row(app, conn, backoff=PING_BACKOFF, **kw)
    )
    with factory() as client:
        checks, api_ok = _index_check(client)
        if not api_ok:
            return checks

        def alternative(mode: AuthMode) -> WooClient:
            return factory(auth_mode=mode)

        auth = _auth_check(client, alternative)
        checks.append(auth)
        if not auth.ok:
            return checks
        checks.append(_permission_check(client))
        checks.append(_version_check(client))
        checks.append(_webhook_check(app, conn, client))
        return checks
