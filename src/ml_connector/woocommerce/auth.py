"""The three ways WooCommerce accepts a REST API key, as small httpx.Auth classes.

Core `class-wc-rest-authentication.php`: over HTTPS the key/secret come from the query string (checked
first) or HTTP Basic; over plain HTTP only one-legged OAuth 1.0a is tried, and Basic/query credentials are
silently ignored (the store answers as if no credentials were sent).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Generator
from typing import Literal

import httpx
from pydantic import SecretStr

from ml_connector.http.errors import AuthError
from ml_connector.http.oauth1 import OAuth1Signer, SignatureMethod
from ml_connector.woocommerce.errors import SYSTEM

AuthMode = Literal["basic", "query", "oauth1"]
AUTH_MODES: tuple[AuthMode, ...] = ("basic", "query", "oauth1")


class InsecureTransportError(AuthError):
    """Refusing to send a consumer secret in clear text: the connection's settings must change."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_tls(url: httpx.URL, mode: str) -> None:
    if url.scheme != "https" and not is_loopback(url.host):
        raise InsecureTransportError(
            f"refusing to send the WooCommerce consumer secret over plain HTTP to {url.host} ({mode} auth); "
            "use the store's https:// address, or auth_mode=oauth1 for a store without HTTPS",
            system=SYSTEM,
            endpoint=f"{url.path}",
        )


class BasicAuth(httpx.Auth):
    """Consumer key as user name, consumer secret as password; HTTPS (or a loopback sandbox) only."""

    def __init__(self, consumer_key: str, consumer_secret: SecretStr) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret

    def __repr__(self) -> str:
        return f"BasicAuth(consumer_key={self._consumer_key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _require_tls(request.url, "basic")
        inner = httpx.BasicAuth(self._consumer_key, self._consumer_secret.get_secret_value())
        yield from inner.auth_flow(request)


class QueryStringAuth(httpx.Auth):
    """`?consumer_key=...&consumer_secret=...`, for hosts that strip the Authorization header."""

    def __init__(self, consumer_key: str, consumer_secret: SecretStr) -> None:
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret

    def __repr__(self) -> str:
        return f"QueryStringAuth(consumer_key={self._consumer_key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _require_tls(request.url, "query-string")
        request.url = request.url.copy_merge_params(
            {"consumer_key": self._consumer_key, "consumer_secret": self._consumer_secret.get_secret_value()}
        )
        yield request


def build_auth(
    mode: AuthMode,
    consumer_key: str,
    consumer_secret: SecretStr,
    *,
    signature_method: SignatureMethod = "HMAC-SHA256",
) -> httpx.Auth:
    if mode == "basic":
        return BasicAuth(consumer_key, consumer_secret)
    if mode == "query":
        return QueryStringAuth(consumer_key, consumer_secret)
    if mode == "oauth1":
        # Query placement: hosts that strip Authorization for Basic strip it for OAuth too.
        return OAuth1Signer(
            consumer_key, consumer_secret, signature_method=signature_method, placement="query"
        )
    raise ValueError(f"unknown WooCommerce auth_mode {mode!r}; use one of {', '.join(AUTH_MODES)}")
