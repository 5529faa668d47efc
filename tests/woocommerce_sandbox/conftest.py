"""Fixtures: a sandbox on a manual clock set to the capture time, served on loopback.

Clients send `Host: 127.0.0.1:8080` (the captured store's address) so that captured OAuth1 signatures, which
cover the host, verify against the sandbox unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.woocommerce.sandbox import WooSandbox, create_app

from .captures import CAPTURE_HOST, CAPTURE_TIME
from .receiver import Receiver, running_receiver

API = "/wp-json/wc/v3"
CAPTURE_HOST_HEADER = {"Host": CAPTURE_HOST.removeprefix("http://")}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=CAPTURE_TIME)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[WooSandbox]:
    woo = create_app(seed=7, orders=40, clock=clock)
    yield woo
    woo.close()


@pytest.fixture
def served(sandbox: WooSandbox) -> Iterator[str]:
    with ThreadedServer(sandbox.asgi) as server:
        sandbox.info(CAPTURE_HOST)
        yield server.base_url


@pytest.fixture
def client(sandbox: WooSandbox, served: str) -> Iterator[httpx.Client]:
    """The read_write key as HTTP Basic (the sandbox treats loopback HTTP as HTTPS for Basic)."""
    credentials = sandbox.store.read_write
    auth = (credentials.consumer_key, credentials.consumer_secret)
    with httpx.Client(base_url=served, auth=auth, headers=CAPTURE_HOST_HEADER) as http_client:
        yield http_client


@pytest.fixture
def anonymous(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, headers=CAPTURE_HOST_HEADER) as http_client:
        yield http_client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r
