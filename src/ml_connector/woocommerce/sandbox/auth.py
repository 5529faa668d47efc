"""WooCommerce's REST authentication (`WC_REST_Authentication`), reproduced with its error bodies.

- "HTTPS" (and, by default, loopback plain HTTP): query-string `consumer_key`/`consumer_secret` first, then
  HTTP Basic. An unknown key is not an error (the request goes on anonymously and the endpoint's permission
  check says 401 `woocommerce_rest_cannot_view`); a known key with a wrong secret is
  "Consumer secret is invalid."
- Then OAuth 1.0a one-legged (HMAC-SHA1/HMAC-SHA256, key `consumer_secret&`): parameters from the query,
  a form body or an `Authorization: OAuth` header; signature, then timestamp (+-15 min), then nonce reuse.
- A key's permissions gate methods: a read key writing gets 401 "...does not have write permissions.".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .errors import WooError, auth_error
from .models import ApiKey
from .store import WooStore

_OAUTH_REQUIRED = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_NONCE_WINDOW = 15 * 60
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))')
_SUBKEY = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class RequestFacts:
    method: str
    scheme: str
    host: str  # host[:port] as sent
    raw_path: str
    query: Sequence[tuple[str, str]]
    form: Sequence[tuple[str, str]]
    authorization: str | None


@dataclass(frozen=True)
class Authenticated:
    key: ApiKey | None  # None: anonymous (the endpoint decides)
    method: str  # "basic", "oauth1" or "none"


def rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986: PHP rawurlencode."""
    return quote(value, safe="~")


def _php_params(pairs: Sequence[tuple[str, str]]) -> dict[str, str | dict[str, str]]:
    """PHP's $_GET: `a[x]=1` nests, `a[]=1` gets the next index, a repeated plain key keeps the last value."""
    params: dict[str, str | dict[str, str]] = {}
    for key, value in pairs:
        base, _, rest = key.partition("[")
        if not rest:
            params[base] = value
            continue
        nested = params.get(base)
        if not isinstance(nested, dict):
            nested = {}
            params[base] = nested
        subkey = _SUBKEY.match("[" + rest)
        name = subkey.group(1) if subkey else ""
        nested[name or str(len(nested))] = value
    return params


def signature_base(method: str, url: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The string WooCommerce signs (check_oauth_signature): sorted params, each `k=v` encoded twice."""
    params = {k: v for k, v in _php_params(pairs).items() if k != "oauth_signature"}
    joined: list[str] = []
    for key in sorted(params, key=lambda k: k.encode()):
        value = params[key]
        encoded_key = rfc3986(key)
        if isinstance(value, dict):
            joined.extend(rfc3986(f"{encoded_key}%5B{sub}%5D={rfc3986(v)}") for sub, v in value.items())
        else:
            joined.append(rfc3986(f"{encoded_key}={rfc3986(value)}"))
    return f"{method.upper()}&{rfc3986(url)}&{'%26'.join(joined)}"


class Authenticator:
    def __init__(self, store: WooStore) -> None:
        self.store = store

    def authenticate(self, facts: RequestFacts) -> Authenticated:
        """The key of the request, anonymous, or a WooError with WooCommerce's body for the failure."""
        authorization = None if self.store.settings.strip_authorization else facts.authorization
        error: WooError | None = None
        if self._treat_as_ssl(facts):
            key, error = self._basic(facts, authorization)
            if key is not None:
                return Authenticated(key, "basic")
        key = self._oauth(facts, authorization)
        if key is not None:
            return Authenticated(key, "oauth1")
        if error is not None:
            raise error
        return Authenticated(None, "none")

    def _treat_as_ssl(self, facts: RequestFacts) -> bool:
        if facts.scheme == "https":
            return True
        hostname = facts.host.rsplit(":", 1)[0].strip("[]")
        return self.store.settings.basic_over_http and hostname in _LOOPBACK

    def _basic(self, facts: RequestFacts, authorization: str | None) -> tuple[ApiKey | None, WooError | None]:
        query = dict(facts.query)
        consumer_key, consumer_secret = query.get("consumer_key"), query.get("consumer_secret")
        if not (consumer_key and consumer_secret):
            consumer_key = consumer_secret = None
            if authorization and authorization[:6].lower() == "basic ":
                try:
                    user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user = password = ""
                consumer_key, consumer_secret = user or None, password or None
        if not (consumer_key and consumer_secret):
            return None, None
        key = self.store.keys.get(consumer_key.strip())
        if key is None:
            return None, None
        if not hmac.compare_digest(key.consumer_secret.encode(), consumer_secret.encode()):
            return None, auth_error("Consumer secret is invalid.")
        return key, None

    def _oauth_pairs(self, facts: RequestFacts, authorization: str | None) -> list[tuple[str, str]]:
        pairs = [*facts.query, *facts.form]
        if authorization and authorization[:6].lower() == "oauth ":
            for match in _HEADER_PARAM.finditer(authorization[6:]):
                pairs.append(
                    (
                        match.group(1),
                        unquote(match.group(2) if match.group(2) is not None else match.group(3)),
                    )
                )
        return pairs

    def _oauth(self, facts: RequestFacts, authorization: str | None) -> ApiKey | None:
        pairs = self._oauth_pairs(facts, authorization)
        params = dict(pairs)
        missing = [name for name in _OAUTH_REQUIRED if not params.get(name)]
        if len(missing) == len(_OAUTH_REQUIRED):
            return None
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise WooError(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {noun} {', '.join(missing)}",
                401,
            )
        with self.store.lock:
            key = self.store.keys.get(params["oauth_consumer_key"])
            if key is None:
                raise auth_error("Consumer key is invalid.")
            self._check_signature(key, facts, pairs, params)
            self._check_timestamp_and_nonce(key, params["oauth_timestamp"], params["oauth_nonce"])
        return key

    def _check_signature(
        self, key: ApiKey, facts: RequestFacts, pairs: list[tuple[str, str]], params: dict[str, str]
    ) -> None:
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise auth_error("Invalid signature - signature method is invalid.")
        # The signed URL is the site URL with the request path, in the scheme the request really used.
        base = signature_base(facts.method, f"{facts.scheme}://{facts.host}{facts.raw_path}", pairs)
        digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        expected = base64.b64encode(
            hmac.new(f"{key.consumer_secret}&".encode(), base.encode(), digest).digest()
        )
        provided = unquote(params["oauth_signature"].replace(" ", "+"))
        if not hmac.compare_digest(expected, provided.encode()):
            raise auth_error("Invalid signature - provided signature does not match.")

    def _check_timestamp_and_nonce(self, key: ApiKey, timestamp: str, nonce: str) -> None:
        now = self.store.now()
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if stamp < now - _NONCE_WINDOW or stamp > now + _NONCE_WINDOW:
            raise auth_error("Invalid timestamp.")
        if nonce in key.nonces.values():
            raise auth_error("Invalid nonce - nonce has already been used.")
        key.nonces[stamp] = nonce
        for old in [t for t in key.nonces if t < now - _NONCE_WINDOW]:
            del key.nonces[old]


def check_key_permissions(key: ApiKey, method: str) -> None:
    """rest_pre_dispatch `check_permissions`: the key's read/write scope against the HTTP method."""
    if key.allows(method):
        return
    if method in ("GET", "HEAD"):
        raise auth_error("The API key provided does not have read permissions.")
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        raise auth_error("The API key provided does not have write permissions.")
    raise auth_error("Unknown request method.")
