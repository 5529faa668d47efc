"""`ml-connector connections authorize NAME`: the one-time browser consent that starts a token chain.

Prints the authorize URL (with a random `state`), takes the code from a pasted redirect URL, a bare
code, or a one-shot loopback listener on the redirect URI's port, exchanges it, stores the pair
(before it is used), then reads the division from `current/Me` unless one was chosen and checks
that the token can open it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from ml_connector.app import App
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.exact.connection import new_http_client, oauth_client, require_exact
from ml_connector.exact.errors import SYSTEM
from ml_connector.exact.oauth import OAuthClient, TokenEndpointError, TokenPair
from ml_connector.exact.rate import RateGovernor
from ml_connector.exact.tokens import count_token_call, lock_token_row, store_pair
from ml_connector.http.errors import AuthError
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.store.connections import get_connection, set_status
from ml_connector.store.models import ConnectionStatus, OAuthToken

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LISTEN_TIMEOUT_S = 300.0


class AuthorizationError(ValueError):
    """The authorization could not be completed; the message says why and what to do."""


def code_from_redirect(pasted: str, state: str | None) -> str:
    """The code from a pasted redirect URL (checking `state` when present) or a bare code."""
    text = pasted.strip()
    if "?" not in text and "=" not in text:
        if not text:
            raise AuthorizationError("no code was pasted")
        return text
    query = parse_qs(urlsplit(text).query if "?" in text else text)
    if "error" in query:
        raise AuthorizationError(
            f"Exact refused the authorization: {query['error'][0]} "
            f"{query.get('error_description', [''])[0]}".strip()
        )
    if state is not None and "state" in query and query["state"][0] != state:
        raise AuthorizationError("the redirect's state does not match this authorization; start it again")
    if "code" not in query:
        raise AuthorizationError(
            "the pasted URL has no 'code' parameter; paste the full address Exact redirected to"
        )
    return query["code"][0]


class _StaticToken:
    """The freshly issued token, for the calls made while authorizing."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def access_token(self) -> SecretStr:
        return self._token

    def after_unauthorized(self, rejected: SecretStr) -> SecretStr:
        raise AuthError("Exact refused the token it just issued", system=SYSTEM, status=401)


def authorize_with_code(
    app: App, name: str, code: str, division: int | None = None, *, clock: Clock | None = None
) -> int:
    """Exchange `code`, store the tokens, settle the division; returns the division."""
    clock = clock or SystemClock()
    http = new_http_client()
    try:
        with app.db.session() as session:
            conn = get_connection(session, name)
            require_exact(conn)
            oauth = oauth_client(session, app.vault, conn, http)
            conn_id = conn.id
        sent_at = utc_datetime(clock)
        try:
            tokens = oauth.exchange_code(code)
        except TokenEndpointError as exc:
            raise AuthorizationError(
                f"Exact did not accept the authorization code ({exc}); codes work once and for 3 minutes: "
                f"run `ml-connector connections authorize {name}` again"
            ) from None
        _store_initial_tokens(app, conn_id, tokens, sent_at, utc_datetime(clock))
        chosen = _settle_division(oauth, tokens, division, clock)
        with app.db.session() as session:
            conn = get_connection(session, name)
            conn.division = chosen
            set_status(session, conn, ConnectionStatus.ACTIVE, None)
        return chosen
    finally:
        http.close()


def _store_initial_tokens(
    app: App, connection_id: int, tokens: TokenPair, sent_at: datetime, answered_at: datetime
) -> None:
    with app.db.locked_session() as session:
        row = lock_token_row(session, connection_id)
        if row is None:
            row = OAuthToken(connection_id=connection_id, token_calls_today=0, version=0)
            session.add(row)
        count_token_call(row, answered_at)
        store_pair(row, app.vault, tokens, sent_at)


def _settle_division(oauth: OAuthClient, tokens: TokenPair, division: int | None, clock: Clock) -> int:
    probe = ExactClient(
        base_url=oauth.base_url,
        division=division or 0,
        tokens=_StaticToken(tokens.access_token),
        governor=RateGovernor(division or 0, clock=clock),
        http=oauth.http,
    )
    me = probe.me()
    chosen = division if division is not None else me.CurrentDivision
    if chosen is None:
        raise AuthorizationError("Exact's current/Me did not name a current division; pass --division")
    probe.division = chosen
    # One cheap read proves access (a WrongDivision 403 raises a clear error) and yields no 404.
    probe.first("Accounts", odata.Query(select=("ID",), top=1))
    return chosen


def _listen_for_code(redirect_uri: str, state: str, timeout: float) -> str:
    target = urlsplit(redirect_uri)
    if target.hostname not in LOOPBACK_HOSTS or target.port is None:
        raise AuthorizationError(
            f"--listen needs a loopback redirect URI with a port (e.g. http://127.0.0.1:8765/callback), "
            f"not {redirect_uri}; paste the redirect URL instead"
        )
    received: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != (target.path or "/"):  # e.g. a browser's favicon request
                self.send_error(404)
                return
            try:
                received["code"] = code_from_redirect(self.path, state)
                status, text = 200, "Authorized. You can close this window and return to ml-connector."
            except AuthorizationError as exc:
                received["error"] = str(exc)
                status, text = 400, f"Authorization failed: {exc}"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, format: str, *args: object) -> None:  # the query holds the code: never log it
            return

    deadline = time.monotonic() + timeout
    with HTTPServer((target.hostname, target.port), Handler) as server:
        while not received and (left := deadline - time.monotonic()) > 0:
            server.timeout = left
            server.handle_request()
    if "code" in received:
        return received["code"]
    raise AuthorizationError(received.get("error", f"no redirect arrived within {timeout:.0f} s; try again"))


def run_authorize(
    app: App,
    name: str,
    *,
    division: int | None = None,
    pasted: str | None = None,
    listen: bool = False,
    echo: Callable[[str], None] = print,
    listen_timeout: float = LISTEN_TIMEOUT_S,
) -> int:
    http = new_http_client()
    try:
        with app.db.session() as session:
            conn = get_connection(session, name)
            require_exact(conn)
            oauth = oauth_client(session, app.vault, conn, http)
    finally:
        http.close()
    state = secrets.token_urlsafe(24)
    echo("Open this address in a browser, sign in to Exact Online and allow access:")
    echo(oauth.authorize_url(state))
    if listen:
        echo(f"Waiting for Exact to redirect to {oauth.redirect_uri} ...")
        code = _listen_for_code(oauth.redirect_uri, state, listen_timeout)
    else:
        if pasted is None:
            pasted = input("Paste the address Exact redirected to (or the code): ")
        code = code_from_redirect(pasted, state)
    chosen = authorize_with_code(app, name, code, division)
    echo(f"Connection '{name}' is authorized for Exact division {chosen}.")
    return chosen
