"""Read an Exact connection's settings and secrets from the store.

Layout: `Connection.region` or `Connection.base_url` (sandbox, proxy), `Connection.division`,
`Connection.settings["client_id"]` and `["redirect_uri"]`; credentials `client_secret` and
`webhook_secret` (vault-encrypted).
"""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session

from ml_connector.exact.oauth import OAuthClient
from ml_connector.exact.regions import base_url_for
from ml_connector.http.tls import tls_context
from ml_connector.store.connections import get_credential
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.vault import Vault

CLIENT_SECRET = "client_secret"
WEBHOOK_SECRET = "webhook_secret"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ConnectionSetupError(ValueError):
    """The connection lacks something the Exact client needs; the message names it and the fix."""


def require_exact(conn: Connection) -> None:
    if conn.kind != ConnectionKind.EXACT:
        raise ConnectionSetupError(
            f"connection '{conn.name}' is a {conn.kind.value} connection, not an Exact one"
        )


def setting(conn: Connection, key: str) -> str:
    value = (conn.settings or {}).get(key)
    if not value:
        raise ConnectionSetupError(
            f"Exact connection '{conn.name}' has no '{key}' setting; "
            "add it with `ml-connector connections add`"
        )
    return str(value)


def site_url(conn: Connection) -> str:
    try:
        return base_url_for(conn.region, conn.base_url)
    except ValueError as exc:
        raise ConnectionSetupError(f"connection '{conn.name}': {exc}") from None


def require_division(conn: Connection) -> int:
    if conn.division is None:
        raise ConnectionSetupError(
            f"Exact connection '{conn.name}' has no division yet; "
            f"run `ml-connector connections authorize {conn.name}`"
        )
    return int(conn.division)


def oauth_client(session: Session, vault: Vault, conn: Connection, http: httpx.Client) -> OAuthClient:
    require_exact(conn)
    return OAuthClient(
        http=http,
        base_url=site_url(conn),
        client_id=setting(conn, "client_id"),
        client_secret=get_credential(session, vault, conn, CLIENT_SECRET),
        redirect_uri=setting(conn, "redirect_uri"),
    )


def new_http_client() -> httpx.Client:
    # One client per connection: Exact's TLS handshakes are slow, keep connections alive.
    return httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"Accept": "application/json"}, verify=tls_context())
