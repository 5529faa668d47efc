"""Running sandboxes and authorized connections to them, for pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ml_connector.app import App
from ml_connector.demo.connect import connect_exact
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox, create_app
from ml_connector.sandbox_kit.serve import ThreadedServer


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
