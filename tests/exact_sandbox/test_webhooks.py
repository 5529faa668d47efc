"""Webhooks: validation POST, duplicate topic, signed notifications on create/update/delete, retries (§6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.sandbox_kit.serve import ThreadedServer

from .conftest import Exact

CONTENT_FIELDS = ("Topic", "ClientId", "Division", "Action", "Key", "ExactOnlineEndpoint", "EventCreatedOn")


class Receiver:
    """A webhook endpoint that records raw bodies and answers with scripted statuses."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []  # consumed first; then 200
        self.lock = threading.Lock()
        self.server = ThreadedServer(Starlette(routes=[Route("/hook", self.handle, methods=["POST"])]))

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.bodies.append(body)
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/hook"

    def notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for body in self.bodies if body]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


def subscribe(exact: Exact, api: httpx.Client, receiver: Receiver, topic: str = "Accounts") -> httpx.Response:
    return api.post(
        f"/{exact.division}/webhooks/WebhookSubscriptions",
        json={"CallbackURL": receiver.url, "Topic": topic},
        headers={"Prefer": "return=representation"},
    )


def delivered(exact: Exact) -> None:
    assert exact.sandbox.state.webhooks.wait_idle(10)


def verify(raw: bytes, secret: str) -> dict[str, Any]:
    """Check HashCode the way picqer does: HMAC over the raw Content bytes, uppercase hex."""
    match = re.match(rb'^\{"Content":(.*),"HashCode":"(.*)"\}$', raw)
    assert match, raw
    expected = hmac.new(secret.encode(), match.group(1), hashlib.sha256).hexdigest().upper()
    assert hmac.compare_digest(expected.encode(), match.group(2))
    content: dict[str, Any] = json.loads(match.group(1))
    return content


def test_subscribe_sends_an_empty_validation_post_and_rejects_duplicates(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    response = subscribe(exact, api, receiver)
    assert response.status_code == 201, response.text
    record = response.json()["d"]
    assert (
        record["Topic"] == "Accounts"
        and record["ClientID"] == exact.info["client_id"]
        and record["Division"] == exact.division
    )
    assert receiver.bodies == [b""]
    listed = api.get(f"/{exact.division}/webhooks/WebhookSubscriptions").json()["d"]["results"]
    assert [row["ID"] for row in listed] == [record["ID"]]
    duplicate = subscribe(exact, api, receiver)
    assert (
        duplicate.status_code == 500
        and duplicate.json()["error"]["message"]["value"] == "Data already exists"
    )


def test_subscription_fails_when_the_callback_does_not_answer_2xx(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    response = subscribe(exact, api, receiver)
    assert response.status_code == 500
    assert (
        response.json()["error"]["message"]["value"]
        == "Invalid: Post to callback URL endpoint returns 503 Service Unavailable"
    )
    unreachable = api.post(
        f"/{exact.division}/webhooks/WebhookSubscriptions",
        json={"CallbackURL": "http://127.0.0.1:9/hook", "Topic": "Items"},
    )
    assert (
        unreachable.status_code == 500 and "An error occurred while sending the request" in unreachable.text
    )
    assert api.get(f"/{exact.division}/webhooks/WebhookSubscriptions").json()["d"]["results"] == []
    instant = api.post(
        f"/{exact.division}/webhooks/WebhookSubscriptions",
        json={"CallbackURL": receiver.url, "Topic": "Accounts", "IsInstant": True},
    )
    assert instant.status_code == 400 and "GoodsDeliveries" in instant.text
    bad_topic = api.post(
        f"/{exact.division}/webhooks/WebhookSubscriptions",
        json={"CallbackURL": receiver.url, "Topic": "Nope"},
    )
    assert bad_topic.status_code == 400


def test_create_update_delete_send_signed_notifications(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    assert subscribe(exact, api, receiver).status_code == 201
    account = api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Webhook B.V."}).json()["d"]["ID"]
    url = f"/{exact.division}/crm/Accounts(guid'{account}')"
    api.put(url, json={"City": "Zwolle"})
    api.delete(url)
    delivered(exact)
    raw = [body for body in receiver.bodies if body]
    contents = [verify(body, exact.info["webhook_secret"]) for body in raw]
    assert [(c["Action"], c["Key"]) for c in contents] == [
        ("Update", account),
        ("Update", account),
        ("Delete", account),
    ]
    first = contents[0]
    assert (
        first["Topic"] == "Accounts"
        and first["Division"] == exact.division
        and first["ClientId"] == exact.info["client_id"]
    )
    assert (
        first["ExactOnlineEndpoint"]
        == f"{exact.info['base_url']}/api/v1/{exact.division}/crm/Accounts(guid'{account}')"
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", first["EventCreatedOn"])
    assert list(first) == list(CONTENT_FIELDS)  # Exact's fields in Exact's order (exact-online.md §6.3)
    assert [list(json.loads(body)) for body in raw] == [["Content", "HashCode"]] * 3


def test_edit_in_exact_web_ui_fires_the_webhook_and_moves_the_timestamp(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    subscribe(exact, api, receiver)
    account = exact.first(api, "crm/Accounts", "Name eq 'Atelier Lemaire'", "ID")["ID"]
    before = api.get(
        f"/{exact.division}/sync/CRM/Accounts",
        params={"$filter": "Timestamp gt 1L", "$select": "ID,Timestamp"},
    ).json()["d"]["results"]
    top = max(row["Timestamp"] for row in before)
    edit = exact.http.put(
        f"/_sandbox/edit/{exact.division}/Accounts/{account}",
        json={"Email": "nieuw@lemaire.example", "City": "Brugge"},
    )
    assert edit.status_code == 204
    delivered(exact)
    assert [(c["Key"], c["Action"]) for c in receiver.notifications() for c in [c["Content"]]] == [
        (account, "Update")
    ]
    changed = api.get(
        f"/{exact.division}/sync/CRM/Accounts",
        params={"$filter": f"Timestamp gt {top}L", "$select": "ID,Email,ModifierFullName"},
    ).json()["d"]["results"]
    assert [(row["ID"], row["Email"], row["ModifierFullName"]) for row in changed] == [
        (account, "nieuw@lemaire.example", "Willem Webgebruiker")
    ]
    assert (
        exact.http.get("/_sandbox/stats").json()["divisions"][str(exact.division)]["api_calls"] == 4
    )  # subscribe, lookup, two syncs: edits are not API calls


def test_line_change_notifies_the_invoice_topic_with_the_header_key(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    subscribe(exact, api, receiver, topic="SalesInvoices")
    account = exact.first(api, "crm/Accounts", "Name eq 'Atelier Lemaire'")["ID"]
    item = exact.first(api, "logistics/Items", "Code eq 'P1001'")["ID"]
    body = {"OrderedBy": account, "SalesInvoiceLines": [{"Item": item, "Quantity": 1}]}
    invoice = api.post(f"/{exact.division}/salesinvoice/SalesInvoices", json=body).json()["d"]["InvoiceID"]
    delivered(exact)
    assert [(c["Content"]["Topic"], c["Content"]["Key"]) for c in receiver.notifications()] == [
        ("SalesInvoices", invoice)
    ]


def test_failed_delivery_is_retried(exact: Exact, api: httpx.Client, receiver: Receiver) -> None:
    subscribe(exact, api, receiver)
    receiver.statuses = [500, 502]
    api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Later"})
    waited = exact.http.post("/_sandbox/webhooks/wait", json={"timeout": 10}).json()
    assert waited["idle"] is True and waited["delivered"] == 1 and waited["retried"] == 2
    assert len(receiver.notifications()) == 3


def test_deleted_subscription_stops_notifications(
    exact: Exact, api: httpx.Client, receiver: Receiver
) -> None:
    subscription = subscribe(exact, api, receiver).json()["d"]["ID"]
    assert (
        api.delete(f"/{exact.division}/webhooks/WebhookSubscriptions(guid'{subscription}')").status_code
        == 204
    )
    api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Stil"})
    delivered(exact)
    assert receiver.notifications() == []
