"""httpx auths for the non-OAuth1 modes: integration token as bearer (opt-in) and Adobe IMS (SaaS)."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

from ml_connector.adobe_commerce.ims import ImsTokenSource


class IntegrationBearerAuth(httpx.Auth):
    """The integration's access token alone. Magento >= 2.4.4 rejects it unless the merchant enabled
    "Allow OAuth Access Tokens to be used as standalone Bearer tokens"; OAuth1 signing is the default."""

    def __init__(self, access_token: SecretStr) -> None:
        self._token = access_token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


class ImsAuth(httpx.Auth):
    """Bearer token from Adobe IMS plus the x-api-key and x-gw-ims-org-id headers; renews once on 401."""

    def __init__(self, tokens: ImsTokenSource, client_id: str, org_id: str) -> None:
        self._tokens = tokens
        self._client_id = client_id
        self._org_id = org_id

    def _apply(self, request: httpx.Request, token: SecretStr) -> None:
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        request.headers["x-api-key"] = self._client_id
        request.headers["x-gw-ims-org-id"] = self._org_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.token()
        self._apply(request, token)
        response = yield request
        if response.status_code == 401:
            self._apply(request, self._tokens.invalidate(token))
            yield request
