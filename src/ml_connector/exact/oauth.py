"""Exact's OAuth 2.0 authorization-code flow: the authorize URL and the token endpoint.

Client credentials go in the form body and no `Authorization` header is sent to the token endpoint
(Exact answers 401 to a bearer header there). Token bodies are read whatever the status: a refused
refresh can still carry a new pair, which must not be lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from ml_connector.exact.regions import AUTHORIZE_PATH, TOKEN_PATH
from ml_connector.secrets import secret


@dataclass(frozen=True)
class TokenPair:
    access_token: SecretStr
    refresh_token: SecretStr
    expires_in: int  # seconds; Exact sends a string ("600")

    @classmethod
    def from_body(cls, body: Any) -> TokenPair | None:
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            return None
        try:
            expires_in = int(body.get("expires_in", 600))
        except (TypeError, ValueError):
            expires_in = 600
        return cls(secret(str(body["access_token"])), secret(str(body["refresh_token"])), expires_in)


class TokenEndpointError(Exception):
    """The token endpoint refused; classified so the token manager can react to each documented case."""

    def __init__(
        self, status: int, error: str, description: str, reason: str | None, tokens: TokenPair | None
    ):
        super().__init__(f"{error}: {description}" if description else error)
        self.status = status
        self.error = error
        self.description = description
        self.reason = reason
        self.tokens = tokens

    @property
    def too_early(self) -> bool:
        """400 (observed) or 401 (Exact's KB): a new token within 570 s of the previous one."""
        return "access_token not expired" in self.description or "TooEarlyToRefreshTokens" in (
            self.reason or ""
        )

    @property
    def chain_dead(self) -> bool:
        """The refresh token can never work again: reused, expired, or its chain is invalid."""
        text = self.description.lower()
        return (
            self.error == "invalid_grant"
            or "old refresh token used" in text
            or ("refresh token" in text and "expired" in text)
        )


@dataclass(frozen=True)
class OAuthClient:
    http: httpx.Client
    base_url: str
    client_id: str
    client_secret: SecretStr
    redirect_uri: str

    def authorize_url(self, state: str, *, force_login: bool = False) -> str:
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "state": state,
        }
        if force_login:
            query["force_login"] = "1"
        return f"{self.base_url}{AUTHORIZE_PATH}?{urlencode(query)}"

    def exchange_code(self, code: str) -> TokenPair:
        return self._token_call(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        )

    def refresh(self, refresh_token: SecretStr) -> TokenPair:
        return self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        )

    def _token_call(self, form: dict[str, str]) -> TokenPair:
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret.get_secret_value()}
        response = self.http.post(
            f"{self.base_url}{TOKEN_PATH}", data=form, headers={"Accept": "application/json"}
        )
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        tokens = TokenPair.from_body(body)
        if response.status_code == 200 and tokens is not None:
            return tokens
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        description = (
            str(body.get("error_description", "")) if isinstance(body, dict) else response.text[:200]
        )
        raise TokenEndpointError(
            response.status_code,
            error or f"HTTP {response.status_code}",
            description,
            response.headers.get("Reason"),
            tokens,
        )
