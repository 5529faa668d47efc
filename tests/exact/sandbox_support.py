"""Helpers for running the client against the Exact sandbox: a served sandbox and an authorized connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ml_connector.app import App
from ml_connector.exact.authorize import authorize_with_code
from ml_connector.exact.sandbox import ExactSandbox, create_app
from ml_connector.sandbox_kit.clock import Clock, ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import add_connection
from ml_connector.store.models import ConnectionKind
from ml_connector.vault import Vault


@dataclass
class Served:
    sandbox: ExactSandbox
    base_url: str
    info: dict[str, Any]

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/_sandbox/stats").json()  # type: ignore[no-any-return]


@contextmanager
def served_sandbox(clock: Clock, **options: Any) -> Iterator[Served]:
    sandbox = create_app(seed=7, clock=clock, **options)
    try:
        with ThreadedServer(sandbox.asgi) as server:
            yield Served(sandbox, server.base_url, sandbox.info(server.base_url))
    finally:
        sandbox.close()


def add_sandbox_connection(app: App | Any, vault: Vault, served: Served, name: str = "exact") -> int:
    """Store a connection with the sandbox's app registration (`app` may be an App or anything with `.db`)."""
    info = served.info
    with app.db.session() as session:
        conn = add_connection(
            session,
            vault,
            name=name,
            kind=ConnectionKind.EXACT,
            credentials={"client_secret": info["client_secret"], "webhook_secret": info["webhook_secret"]},
            base_url=served.base_url,
            settings={"client_id": info["client_id"], "redirect_uri": info["redirect_uri"]},
        )
        return conn.id


def sandbox_code(served: Served, redirect_uri: str | None = None) -> str:
    """Follow the sandbox's auto-approving authorize endpoint and return the code from the redirect."""
    response = httpx.get(
        f"{served.base_url}/api/oauth2/auth",
        params={
            "client_id": served.info["client_id"],
            "redirect_uri": redirect_uri or served.info["redirect_uri"],
            "response_type": "code",
            "state": "s",
        },
    )
    assert response.status_code == 302, response.text
    return httpx.URL(response.headers["location"]).params["code"]


def authorized(app: App, served: Served, clock: ManualClock, name: str = "exact") -> int:
    add_sandbox_connection(app, app.vault, served, name)
    return authorize_with_code(app, name, sandbox_code(served), clock=clock)
