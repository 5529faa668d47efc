"""Subscriptions and signed notifications end to end: sandbox -> callback -> verify_webhook -> fetch."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.exact.webhooks import (
    Notification,
    fetch_notified,
    list_subscriptions,
    subscribe,
    unsubscribe,
    verify_webhook,
)
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.connections import get_connection
from ml_connector.webhooks import Reply, Verified

from .sandbox_support import Served, authorized, served_sandbox


@pytest.fixture
def served() -> Iterator[Served]:
    with served_sandbox(ManualClock()) as s:
        yield s


def callback_app(app: App, received: list[Verified | Reply]) -> Starlette:
    async def receive(request: Request) -> Response:
        with app.db.session() as session:
            conn = get_connection(session, "exact")
        result = verify_webhook(app, conn, await request.body(), dict(request.headers))
        received.append(result)
        return Response(status_code=result.status if isinstance(result, Reply) else result.reply.status)

    return Starlette(routes=[Route("/hooks/exact", receive, methods=["POST"])])


def test_subscribe_receive_verify_and_fetch(app: App, served: Served):
    authorized(app, served, ManualClock())
    client = ExactClient.for_connection(app, "exact")
    received: list[Verified | Reply] = []
    with ThreadedServer(callback_app(app, received)) as callback:
        url = f"{callback.base_url}/hooks/exact"
        subscription = subscribe(client, "Accounts", url)
        assert received == [Reply(status=200)]  # the validation POST was answered
        assert subscribe(client, "Accounts", url).ID == subscription.ID  # idempotent
        division = served.info["division"]
        created = httpx.post(
            f"{served.base_url}/_sandbox/create/{division}/Accounts", json={"Name": "Hooked"}
        )
        key = created.json()["d"]["ID"]
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        event = received[1]
        assert isinstance(event, Verified) and event.topic == "Accounts" and event.resource_id == key
        record = fetch_notified(client, Notification("Accounts", "Update", key, division, None))
        assert record is not None and record["Name"] == "Hooked"
        unsubscribe(client, subscription.ID)
        assert list_subscriptions(client) == []
    client.close()
