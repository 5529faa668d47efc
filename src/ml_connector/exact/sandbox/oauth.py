"""Exact's OAuth 2.0 server with its real lifetimes and rules (exact-online.md §1).

- authorization codes: single use, valid 3 minutes;
- access tokens: 600 s from issue (`expires_in` is the string "600");
- refresh tokens rotate on every refresh and are single use: a used one answers 401
  `unauthorized_client` "Old refresh token used."; an unused one expires after 30 days
  (400 `invalid_request`);
- no new access token within 570 s of the previous one: 400 `access_denied` "Rate limit exceeded:
  access_token not expired" with a `Reason: TooEarlyToRefreshTokens` header;
- at most 200 token-endpoint calls per app per day (UTC); the sandbox answers 400 `access_denied` beyond it
  (Exact's body for this case is not documented).

The user is auto-approved: the authorize endpoint redirects straight back with a code.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import SecretStr

from ml_connector.sandbox_kit.clock import Clock

from .formats import us_timestamp

ACCESS_TOKEN_SECONDS = 600
CODE_SECONDS = 180
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
TOO_EARLY_SECONDS = 570
DAY = 86400


@dataclass(frozen=True)
class AppRegistration:
    """What the Exact App Center holds for one app."""

    client_id: str
    client_secret: SecretStr
    redirect_uri: str
    webhook_secret: SecretStr


@dataclass
class _Code:
    redirect_uri: str
    issued_at: float
    used: bool = False


@dataclass
class _Chain:
    """One authorization's token chain: the live refresh token and when the last access token was issued."""

    user_id: str
    refresh_token: str
    refresh_issued_at: float
    access_issued_at: float


@dataclass(frozen=True)
class Grant:
    """Who an access token speaks for."""

    user_id: str
    client_id: str


@dataclass
class TokenResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class OAuthError(Exception):
    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.result = TokenResult(status, {"error": error, "error_description": description}, headers or {})


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class OAuthServer:
    def __init__(
        self, app: AppRegistration, user_id: str, clock: Clock, daily_token_limit: int = 200
    ) -> None:
        self.app = app
        self.user_id = user_id
        self.clock = clock
        self.daily_token_limit = daily_token_limit
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._chains: dict[str, _Chain] = {}  # live refresh token -> its chain
        self._old_refresh_tokens: set[str] = set()
        self._access_tokens: dict[str, tuple[Grant, float]] = {}  # token -> (grant, expires_at)
        self._calls_per_day: Counter[int] = Counter()
        self.outcomes: Counter[str] = Counter()  # token-endpoint results by kind, for /_sandbox/stats
        self.issued = 0  # access tokens handed out

    # ------------------------------------------------------------ authorize

    def redirect_uri_allowed(self, uri: str) -> bool:
        """The registered URI, or any loopback http URI (native-app rule, so a CLI can pick its port)."""
        return uri == self.app.redirect_uri or _is_loopback(uri)

    def authorize(self, params: dict[str, str]) -> str:
        """Auto-approve and return the URL to redirect the browser to (code and state in its query)."""
        if params.get("client_id") != self.app.client_id:
            raise OAuthError(400, "invalid_client", "Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(redirect_uri):
            raise OAuthError(
                400, "invalid_request", "redirect_uri does not match the registered redirect URI."
            )
        if params.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "Only response_type=code is supported.")
        code = "code-" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(redirect_uri, self.clock.time())
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return f"{redirect_uri}{separator}{urlencode(query)}"

    # ------------------------------------------------------------ token endpoint

    def token(self, form: dict[str, str]) -> TokenResult:
        with self._lock:
            try:
                result = self._token(form)
                self.outcomes[form.get("grant_type", "unknown")] += 1
                return result
            except OAuthError as error:
                self.outcomes[str(error.result.body["error_description"])] += 1
                return error.result

    def _token(self, form: dict[str, str]) -> TokenResult:
        now = self.clock.time()
        day = int(now // DAY)
        self._calls_per_day[day] += 1
        if self._calls_per_day[day] > self.daily_token_limit:
            raise OAuthError(400, "access_denied", "Rate limit exceeded: too many token requests today")
        if form.get("client_id") != self.app.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.app.client_secret.get_secret_value()
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed.")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, now)
        if grant_type == "refresh_token":
            return self._refresh(form.get("refresh_token", ""), now)
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type '{grant_type}'.")

    def _exchange_code(self, form: dict[str, str], now: float) -> TokenResult:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or now - code.issued_at > CODE_SECONDS:
            raise OAuthError(
                400, "invalid_grant", "The authorization code is invalid, expired or already used."
            )
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(
                400, "invalid_grant", "redirect_uri does not match the one of the authorization request."
            )
        code.used = True
        return self._issue(_Chain(self.user_id, "", now, now), now)

    def _refresh(self, refresh_token: str, now: float) -> TokenResult:
        if refresh_token in self._old_refresh_tokens:
            raise OAuthError(401, "unauthorized_client", "Old refresh token used.")
        chain = self._chains.get(refresh_token)
        if chain is None:
            raise OAuthError(
                400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId"
            )
        expires_at = chain.refresh_issued_at + REFRESH_TOKEN_SECONDS
        if now > expires_at:
            raise OAuthError(
                400,
                "invalid_request",
                f"The refresh token expired at {us_timestamp(expires_at)} and it is now {us_timestamp(now)}.",
            )
        if now - chain.access_issued_at < TOO_EARLY_SECONDS:
            description = "Rate limit exceeded: access_token not expired"
            raise OAuthError(
                400, "access_denied", description, {"Reason": f"TooEarlyToRefreshTokens: {description}"}
            )
        self._old_refresh_tokens.add(chain.refresh_token)
        del self._chains[chain.refresh_token]
        return self._issue(chain, now)

    def _issue(self, chain: _Chain, now: float) -> TokenResult:
        access = "AAEA" + secrets.token_urlsafe(32)
        chain.refresh_token = "__1P!I" + secrets.token_urlsafe(32)
        chain.refresh_issued_at = now
        chain.access_issued_at = now
        self._chains[chain.refresh_token] = chain
        self._access_tokens[access] = (Grant(chain.user_id, self.app.client_id), now + ACCESS_TOKEN_SECONDS)
        self.issued += 1
        self._forget_expired(now)
        body = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": str(ACCESS_TOKEN_SECONDS),
            "refresh_token": chain.refresh_token,
        }
        return TokenResult(200, body)

    def _forget_expired(self, now: float) -> None:
        expired = [token for token, (_, expires_at) in self._access_tokens.items() if expires_at < now - 3600]
        for token in expired:
            del self._access_tokens[token]

    # ------------------------------------------------------------ API calls

    def authenticate(self, authorization: str | None) -> tuple[Grant | None, str]:
        """(grant, "") for a live bearer token; else the known grant if any (an expired token) and why not."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None, "Unauthorized: no bearer token"
        token = authorization[7:].strip()
        with self._lock:
            entry = self._access_tokens.get(token)
        if entry is None:
            return None, "Unauthorized: unknown access token"
        grant, expires_at = entry
        if self.clock.time() >= expires_at:
            return grant, "Unauthorized: access token expired"
        return grant, ""

    def token_calls_today(self) -> int:
        with self._lock:
            return self._calls_per_day[int(self.clock.time() // DAY)]

    def live_refresh_tokens(self) -> int:
        """How many refresh tokens work now (one per authorization; tests use it to check rotation)."""
        with self._lock:
            return len(self._chains)
