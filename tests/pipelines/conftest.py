"""Running sandboxes and authorized connections to them, for pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ml_connector.app import App
from ml_connector.demo.connect import connect_exact
from ml_connector.demo.setup import connect_woocommerce, mirror_catalogue, shop_skus, woo_sync_settings
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox, create_app
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.sandbox import WooSandbox
from ml_connector.woocommerce.sandbox import create_app as create_woo


@pytest.fixture
def exact_sandbox() -> Iterator[tuple[ExactSandbox, dict[str, Any]]]:
    sandbox = create_app(seed=7, rate_limits=False)
    with ThreadedServer(sandbox.asgi) as server:
        yield sandbox, sandbox.info(server.base_url)
    sandbox.close()


@pytest.fixture
def exact_client(app: App, exact_sandbox: tuple[ExactSandbox, dict[str, Any]]) -> Iterator[ExactClient]:
    _sandbox, info = exact_sandbox
    connect_exact(app, "books", info)
    client = ExactClient.for_connection(app, "books")
    yield client
    client.close()


@pytest.fixture
def woo_sandbox() -> Iterator[tuple[WooSandbox, dict[str, Any]]]:
    sandbox = create_woo(seed=3, orders=40)
    with ThreadedServer(sandbox.asgi) as server:
        yield sandbox, sandbox.info(server.base_url)


@pytest.fixture
def shop(app: App, exact_sandbox, woo_sandbox) -> dict[str, Any]:
    _exact, exact_info = exact_sandbox
    _woo, woo_info = woo_sandbox
    connect_exact(app, "books", exact_info)
    connect_woocommerce(app, "shop", woo_info, woo_sync_settings("books"))
    exact = ExactClient.for_connection(app, "books")
    with WooClient.for_connection(app, "shop") as client:
        mirror_catalogue(exact, exact_info, shop_skus(client))
    exact.close()
    return {"exact": exact_info, "woo": woo_info}
