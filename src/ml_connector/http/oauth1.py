"""OAuth 1.0a request signing (RFC 5849) as an httpx.Auth, with HMAC-SHA256 besides HMAC-SHA1.

System-neutral: WooCommerce uses it one-legged (consumer key/secret only, over plain HTTP) and Adobe
Commerce integrations with a token. authlib supplies the base string, the parameter encoding, HMAC-SHA1
and the Authorization header; it has no HMAC-SHA256 signer, so one is added here. authlib's ClientAuth is
not used: its request wrapper refuses http:// URLs unless AUTHLIB_INSECURE_TRANSPORT is set for the whole
process, and plain HTTP is exactly where WooCommerce requires OAuth.
Signatures never cover the body: neither WooCommerce nor Magento checks an `oauth_body_hash`, and
non-form bodies are not part of the RFC 5849 base string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Generator
from typing import Literal

import httpx
from authlib.common.security import generate_token
from authlib.oauth1.rfc5849.parameters import prepare_headers
from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.util import escape
from pydantic import SecretStr

SignatureMethod = Literal["HMAC-SHA256", "HMAC-SHA1"]
Placement = Literal["header", "query"]


def hmac_sha256_signature(base_string: str, client_secret: str | None, token_secret: str | None) -> str:
    """RFC 5849 section 3.4.2 with SHA-256: key = escape(client secret) & escape(token secret)."""
    key = f"{escape(client_secret or '')}&{escape(token_secret or '')}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


SIGNERS: dict[str, Callable[[str, str | None, str | None], str]] = {
    "HMAC-SHA1": hmac_sha1_signature,
    "HMAC-SHA256": hmac_sha256_signature,
}


def strip_oauth_params(url: httpx.URL | str) -> httpx.URL:
    """`url` without any `oauth_*` query parameters (WooCommerce echoes them into its `Link` header)."""
    url = httpx.URL(url)
    return url.copy_with(params=drop_params(url.params, lambda key: key.startswith("oauth_")))


def drop_params(params: httpx.QueryParams, unwanted: Callable[[str], bool]) -> httpx.QueryParams:
    kept: list[tuple[str, str | int | float | bool | None]] = [
        (key, value) for key, value in params.multi_items() if not unwanted(key)
    ]
    return httpx.QueryParams(kept)


class OAuth1Signer(httpx.Auth):
    """Signs every request with a fresh oauth_nonce/oauth_timestamp. Stale oauth_* query parameters on
    the request (e.g. from a followed `Link`) are dropped first, so each request carries one signature.
    """

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: SecretStr,
        *,
        token: str | None = None,
        token_secret: SecretStr | None = None,
        signature_method: SignatureMethod = "HMAC-SHA256",
        placement: Placement = "header",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: generate_token(30),
    ) -> None:
        if signature_method not in SIGNERS:
            raise ValueError(f"unsupported OAuth1 signature method {signature_method!r}")
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self._token = token
        self._token_secret = token_secret
        self.signature_method = signature_method
        self.placement = placement
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"OAuth1Signer(consumer_key={self._consumer_key!r}, {self.signature_method}, {self.placement})"

    def oauth_params(self, method: str, url: httpx.URL) -> list[tuple[str, str]]:
        """The protocol parameters, oauth_signature last, for a request to `url` (without oauth_*)."""
        params = [
            ("oauth_nonce", self._nonce()),
            ("oauth_timestamp", str(int(self._clock()))),
            ("oauth_version", "1.0"),
            ("oauth_signature_method", self.signature_method),
            ("oauth_consumer_key", self._consumer_key),
        ]
        if self._token:
            params.append(("oauth_token", self._token))
        base_string = construct_base_string(method.upper(), str(url), [*url.params.multi_items(), *params])
        token_secret = self._token_secret.get_secret_value() if self._token_secret else None
        signature = SIGNERS[self.signature_method](
            base_string, self._consumer_secret.get_secret_value(), token_secret
        )
        return [*params, ("oauth_signature", signature)]

    def sign(self, request: httpx.Request) -> None:
        """Add the OAuth parameters and signature to `request` in place."""
        url = strip_oauth_params(request.url)
        params = self.oauth_params(request.method, url)
        if self.placement == "query":
            request.url = url.copy_with(params=httpx.QueryParams([*url.params.multi_items(), *params]))
        else:
            request.url = url
            request.headers["Authorization"] = prepare_headers(params, {})["Authorization"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request
