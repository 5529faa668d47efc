"""Fixtures for the Exact sandbox tests: a seeded sandbox on a manual clock, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.exact.sandbox import ExactSandbox, create_app
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer

START = 1_773_136_800.0  # 2026-03-10 10:00:00 UTC: a fixed moment, day and minute boundaries predictable


@dataclass
class Exact:
    """A running sandbox plus the calls every test needs."""

    sandbox: ExactSandbox
    clock: ManualClock
    http: httpx.Client
    info: dict[str, Any]

    @property
    def division(self) -> int:
        return int(self.info["division"])

    def authorize(self, state: str = "s1", redirect_uri: str | None = None) -> str:
        response = self.http.get(
            "/api/oauth2/auth",
            params={
                "client_id": self.info["client_id"],
                "redirect_uri": redirect_uri or self.info["redirect_uri"],
                "response_type": "code",
                "state": state,
            },
        )
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["state"] == [state]
        return query["code"][0]

    def token_call(self, **form: str) -> httpx.Response:
        body = {"client_id": self.info["client_id"], "client_secret": self.info["client_secret"], **form}
        return self.http.post("/api/oauth2/token", data=body)

    def exchange(self, code: str, redirect_uri: str | None = None) -> httpx.Response:
        uri = redirect_uri or self.info["redirect_uri"]
        return self.token_call(grant_type="authorization_code", code=code, redirect_uri=uri)

    def login(self) -> dict[str, str]:
        response = self.exchange(self.authorize())
        assert response.status_code == 200, response.text
        tokens: dict[str, str] = response.json()
        return tokens

    def api(self, tokens: dict[str, str] | None = None) -> httpx.Client:
        """A client that sends what Exact needs on every call: the bearer token and Accept JSON."""
        access = (tokens or self.login())["access_token"]
        headers = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
        return httpx.Client(base_url=f"{self.info['base_url']}/api/v1", headers=headers, timeout=10)

    def first(self, api: httpx.Client, path: str, filter_: str, select: str = "ID") -> dict[str, Any]:
        response = api.get(f"/{self.division}/{path}", params={"$filter": filter_, "$select": select})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["d"]["results"]
        assert results, f"nothing in {path} for {filter_}"
        return results[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=START)


class Switch:
    """One loopback server for the whole session; each test plugs in its own fresh sandbox."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no sandbox plugged in"
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[ThreadedServer, Switch]]:
    switch = Switch()
    with ThreadedServer(switch) as running:
        yield running, switch


def start(server: tuple[ThreadedServer, Switch], clock: ManualClock, **options: Any) -> Iterator[Exact]:
    running, switch = server
    sandbox = create_app(seed=7, clock=clock, webhook_retry_base=0.05, **options)
    switch.app = sandbox.asgi
    try:
        with httpx.Client(base_url=running.base_url, timeout=10) as http:
            yield Exact(sandbox, clock, http, sandbox.info(running.base_url))
    finally:
        switch.app = None
        sandbox.close()


@pytest.fixture
def exact(server: tuple[ThreadedServer, Switch], clock: ManualClock) -> Iterator[Exact]:
    """A sandbox with rate limits off, for tests about other rules."""
    yield from start(server, clock, rate_limits=False)


@pytest.fixture
def limited(server: tuple[ThreadedServer, Switch], clock: ManualClock) -> Iterator[Exact]:
    """A sandbox with Exact's default limits (60/minute, 5000/day)."""
    yield from start(server, clock)


@pytest.fixture
def api(exact: Exact) -> Iterator[httpx.Client]:
    with exact.api() as client:
        yield client
