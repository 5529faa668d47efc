"""WooCommerce failures as the shared error types, with messages a merchant can act on.

WooCommerce answers errors with `{"code", "message", "data": {"status"}}`. The same 401 code means
different things per auth mode (captures in shared/woo-real): an unknown key under Basic or query-string
auth is not reported as such; the request just continues anonymously and fails with
`woocommerce_rest_cannot_view`, exactly like a request whose Authorization header a host stripped.
"""

from __future__ import annotations

import json

import httpx

from ml_connector.http.errors import (
    AuthError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RemoteError,
    TransientError,
)
from ml_connector.http.retry import retry_after_seconds

SYSTEM = "woocommerce"
KEYS_PAGE = "WooCommerce > Settings > Advanced > REST API"


class WooErrorMixin:
    code: str | None = None  # WooCommerce's error code, e.g. woocommerce_rest_cannot_view
    woo_message: str | None = None  # the store's own message, untranslated


class WooAuthError(WooErrorMixin, AuthError):
    """The store did not accept the key, or the key may not do this."""


class WooRejectedError(WooErrorMixin, RejectedError):
    """The store refused the request as it is (validation, unknown route)."""


class WooNotFoundError(WooRejectedError):
    """The resource does not exist (or is not visible to the key's user)."""


def _error_body(response: httpx.Response) -> tuple[str | None, str, object]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return body["code"], str(body.get("message", "")), body.get("data")
    snippet = " ".join(response.text.split())[:200]
    return None, snippet or response.reason_phrase, None


def _unauthorized_message(code: str | None, message: str, auth_mode: str, plain_http: bool) -> str:
    lowered = message.lower()
    if "consumer secret is invalid" in lowered:
        return (
            "the consumer key is known but the consumer secret does not match: paste the secret again "
            f"(WooCommerce shows it only once; if it is lost, create a new key under {KEYS_PAGE})"
        )
    if "consumer key is invalid" in lowered or "consumer key is missing" in lowered:
        return f"WooCommerce does not know this consumer key: check it under {KEYS_PAGE} or create a new one"
    if "invalid signature" in lowered:
        return (
            "the OAuth signature does not match: the consumer secret is wrong, or the connection's base "
            "URL differs from the store's Site Address (scheme, www, port or sub-folder); fix the secret "
            "or the URL"
        )
    if "invalid timestamp" in lowered:
        return (
            "the store rejected the request time: this computer's clock is off by more than 15 minutes "
            "(enable NTP)"
        )
    if "nonce" in lowered:
        return f"the store saw this signed request before ({message}); retry, it gets a fresh nonce"
    if "write permissions" in lowered or "read permissions" in lowered:
        return (
            f"the API key is not allowed to do this ({message}): edit the key under {KEYS_PAGE} "
            "and set Permissions to Read/Write"
        )
    if code == "woocommerce_rest_authentication_missing_parameter":
        return f"the OAuth parameters did not reach the store ({message}): a proxy may drop the query string"
    if code is not None and code.startswith("woocommerce_rest_cannot_"):
        if plain_http and auth_mode in ("basic", "query"):
            return (
                "the store ignores consumer keys sent over plain HTTP: use the https:// address, "
                "or auth_mode=oauth1 if the store has no HTTPS"
            )
        hint = (
            "if the key is right, the web server strips the Authorization header: "
            "switch the connection to auth_mode=query"
            if auth_mode == "basic"
            else "if the key is right, check that the key's user still exists"
        )
        return (
            "the store treated the request as anonymous: the consumer key is unknown "
            f"(check it under {KEYS_PAGE}) or never arrived; {hint}"
        )
    return f"the store refused the credentials: {message}"


def error_for_response(
    response: httpx.Response, *, endpoint: str, auth_mode: str, write: bool
) -> RemoteError:
    """The exception for a non-2xx WooCommerce response."""
    status = response.status_code
    code, message, data = _error_body(response)
    detail = json.dumps(data) if data is not None else None

    def make(kind: type[RemoteError], text: str) -> RemoteError:
        error = kind(text, system=SYSTEM, endpoint=endpoint, status=status, detail=detail)
        if isinstance(error, WooErrorMixin):
            error.code, error.woo_message = code, message
        if isinstance(error, TransientError):
            error.retry_after = retry_after_seconds(response)
        return error

    if response.is_redirect:
        return make(
            WooRejectedError,
            f"the store redirects to {response.headers.get('Location', '?')}: set the connection's base URL "
            "to the store's final address (credentials are not sent after a redirect)",
        )
    if status == 401:
        return make(
            WooAuthError, _unauthorized_message(code, message, auth_mode, response.url.scheme != "https")
        )
    if status == 403:
        return make(
            WooAuthError,
            f"the API key's user may not do this ({message}): create the key for an administrator or "
            f"shop manager under {KEYS_PAGE}",
        )
    if status == 429:
        return make(RateLimitedError, "the store's host is rate limiting requests")
    if status >= 500:
        text = f"the store failed with HTTP {status}: {message}"
        if write:
            return make(OutcomeUnknownError, f"{text} (the write may have happened; verify before retrying)")
        return make(TransientError, text)
    if status == 404 and code == "rest_no_route":
        return make(
            WooRejectedError,
            f"the store has no route {endpoint}: WooCommerce is not active or too old, or permalinks are "
            "set to Plain (Settings > Permalinks: choose any other structure)",
        )
    if status in (404, 410) or (code or "").endswith("_invalid_id"):
        return make(WooNotFoundError, f"not found: {message}")
    return make(WooRejectedError, f"the store rejected the request: {message}")
