"""`ml-connector ping NAME` for an Adobe Commerce connection: configuration, reachability, which auth mode
works (and why the other does not), store code, read rights on the synced collections, Magento version."""

from __future__ import annotations

from typing import Any

from ml_connector.adobe_commerce.client import (
    BEARER_HINT,
    CREDIT_MEMOS,
    CUSTOMERS,
    INVOICES,
    ORDERS,
    AdobeClient,
    Resource,
)
from ml_connector.adobe_commerce.config import AdobeConfigError, AuthMode
from ml_connector.adobe_commerce.search import SearchCriteria
from ml_connector.app import App
from ml_connector.checks import Check
from ml_connector.http.errors import AuthError, RemoteError, TransientError
from ml_connector.store.connections import NotFoundError
from ml_connector.store.models import Connection

ONE = SearchCriteria().page(1)


def run_checks(app: App, conn: Connection) -> list[Check]:
    try:
        client = AdobeClient.for_stored(app, conn)
    except (AdobeConfigError, NotFoundError) as exc:
        return [
            Check("configuration", False, str(exc), "fix the connection with `ml-connector connections add`")
        ]
    with client:
        checks = [Check("configuration", True, f"{client.config.deployment} API at {client.config.api_root}")]
        try:
            configs = client.store_configs()
        except TransientError as exc:
            return [*checks, Check("reachability", False, str(exc), "check base_url, DNS and firewall")]
        except AuthError as exc:
            checks.append(Check("reachability", True, f"{client.config.base_url} answers"))
            return [*checks, _auth_failure(app, conn, client.config.auth_mode, exc)]
        except RemoteError as exc:
            return [*checks, Check("reachability", False, str(exc), "check base_url points at the shop")]
        checks.append(Check("reachability", True, f"{client.config.base_url} answers"))
        checks.append(Check("authentication", True, _mode_label(client)))
        codes = [c.code for c in configs]
        wanted = client.config.store_code or "default"
        checks.append(
            Check("store code", True, f"store '{wanted}' exists")
            if wanted in codes or wanted == "all"
            else Check(
                "store code",
                False,
                f"store '{wanted}' not among {', '.join(codes)}",
                "set store_code to one of the listed store view codes",
            )
        )
        readable: tuple[Resource[Any], ...] = (ORDERS, INVOICES, CREDIT_MEMOS, CUSTOMERS)
        for resource in readable:
            name = f"read {resource.path}"
            try:
                total = client.search(resource, ONE).total_count
                checks.append(Check(name, True, f"{total} record(s)"))
            except RemoteError as exc:
                checks.append(
                    Check(
                        name,
                        False,
                        str(exc),
                        "grant the integration's API resource (System > Extensions > Integrations)",
                    )
                )
        version = client.magento_version()
        checks.append(Check("magento version", True, version or "not exposed by the shop"))
    return checks


def _mode_label(client: AdobeClient) -> str:
    config = client.config
    if config.auth_mode == "ims":
        return "Adobe IMS server-to-server token accepted"
    if config.auth_mode == "bearer":
        return "integration access token accepted as bearer token (enable_integration_as_bearer is on)"
    return f"OAuth1 {config.signature_method} signature accepted"


def _auth_failure(app: App, conn: Connection, mode: AuthMode, exc: AuthError) -> Check:
    if mode == "ims":
        return Check(
            "authentication",
            False,
            str(exc),
            "check client_id, org_id and ims_client_secret, and that the project has the commerce.accs scope",
        )
    other: AuthMode = "oauth1" if mode == "bearer" else "bearer"
    other_works = _works(app, conn, other)
    if mode == "bearer":
        fix = "set auth_mode=oauth1 (it works with these credentials)" if other_works else BEARER_HINT
        return Check("authentication", False, f"bearer token refused: {exc.message}", fix)
    fix = (
        "the OAuth1 signature is refused but the bearer token works: check consumer_secret and "
        "access_token_secret, and that the shop sees the same URL (proxies rewriting host or scheme break it)"
        if other_works
        else "re-copy the four integration credentials from System > Extensions > Integrations, "
        "activate the integration, and check the server clock (timestamps more than 10 min off are refused)"
    )
    return Check("authentication", False, f"OAuth1 refused: {exc.message}", fix)


def _works(app: App, conn: Connection, mode: AuthMode) -> bool:
    try:
        with AdobeClient.for_stored(app, conn, auth_mode=mode) as client:
            client.store_configs()
    except (RemoteError, AdobeConfigError, NotFoundError):
        return False
    return True
