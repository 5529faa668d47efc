"""Fixtures: Adobe's 2.4.9 admin spec (loaded once per session), PaaS and SaaS sandboxes, connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_core import OpenAPI

from ml_connector.adobe_commerce.sandbox import AdobeSandbox, create_app
from ml_connector.app import App
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import add_connection
from ml_connector.store.models import Connection, ConnectionKind
from tests.adobe_commerce.openapi import ADMIN_SPEC, load


@pytest.fixture(scope="session")
def admin_spec() -> OpenAPI:
    return load(ADMIN_SPEC)


class Running:
    def __init__(self, sandbox: AdobeSandbox, server: ThreadedServer) -> None:
        self.sandbox = sandbox
        self.server = server
        self.info: dict[str, Any] = sandbox.info(server.base_url)


@pytest.fixture
def paas() -> Iterator[Running]:
    sandbox = create_app(seed=7, mode="paas", orders=40)
    with ThreadedServer(sandbox.asgi) as server:
        yield Running(sandbox, server)


@pytest.fixture
def saas() -> Iterator[Running]:
    sandbox = create_app(seed=7, mode="saas", orders=5)
    with ThreadedServer(sandbox.asgi) as server:
        yield Running(sandbox, server)


def store_connection(app: App, running: Running, name: str = "shop", **settings: Any) -> Connection:
    info = running.info
    with app.db.session() as session:
        if info["mode"] == "saas":
            credentials = {"ims_client_secret": info["client_secret"]}
            settings = {
                "deployment": "saas",
                "tenant": info["tenant"],
                "client_id": info["client_id"],
                "org_id": info["org_id"],
                "ims_token_url": info["ims_token_url"],
                **settings,
            }
        else:
            credentials = {
                k: info[k] for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
            }
        settings.setdefault("webhook_public_key_pem", info["webhook_public_key_pem"])
        conn = add_connection(
            session,
            app.vault,
            name=name,
            kind=ConnectionKind.ADOBE_COMMERCE,
            credentials=credentials,
            base_url=info["base_url"],
            store_code="default",
            settings=settings,
        )
        session.flush()
        session.expunge(conn)
    return conn
