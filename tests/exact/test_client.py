"""ExactClient against mocked HTTP: headers, paths, error mapping, retries, 401 and 429 handling."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.exact.errors import ExactRejectedError, WrongDivisionError
from ml_connector.exact.rate import RateGovernor
from ml_connector.exact.target import ExactTarget
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import OutcomeUnknownError, TransientError
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.secrets import secret

from .conftest import BASE_URL, DIVISION, START

API = f"{BASE_URL}/api/v1/{DIVISION}"
GUID = "c00ee12c-2b39-4e84-b332-54a3c722e5dd"


class FakeTokens:
    def __init__(self) -> None:
        self.token = secret("access-A")
        self.renewals = 0

    def access_token(self) -> SecretStr:
        return self.token

    def after_unauthorized(self, rejected: SecretStr) -> SecretStr:
        self.renewals += 1
        self.token = secret("access-B")
        return self.token


@pytest.fixture
def client():
    clock = ManualClock(start=START)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    c = ExactClient(
        base_url=BASE_URL,
        division=DIVISION,
        tokens=FakeTokens(),
        governor=RateGovernor(DIVISION, clock=clock, sleep=sleep),
        http=httpx.Client(headers={"Accept": "application/json"}),
        backoff=Backoff(base=0.01, max_attempts=3),
        sleep=sleep,
    )
    c.sleeps = sleeps  # type: ignore[attr-defined]
    return c


def page(rows: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"results": rows}
    if next_url:
        d["__next"] = next_url
    return {"d": d}


def error(value: str) -> dict[str, Any]:
    return {"error": {"code": "", "message": {"lang": "", "value": value}}}


@respx.mock
def test_reads_carry_division_accept_and_bearer(client):
    route = respx.get(f"{API}/crm/Accounts").respond(200, json=page([{"ID": GUID}]))
    assert client.list("Accounts", odata.Query(select=("ID",), filter=odata.eq("Name", "O'Brien"))) == [
        {"ID": GUID}
    ]
    request = route.calls.last.request
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Bearer access-A"
    assert request.url.params["$filter"] == "Name eq 'O''Brien'"


@respx.mock
def test_writes_carry_the_client_headers_bearer_and_httpx_json_body(client):
    payload = {"Name": "Café Ünal", "Amount": 12.5, "Lines": [{"Item": GUID}]}
    created = {"d": {"ID": GUID}}
    route = respx.post(f"{API}/crm/Accounts").respond(201, json=created, headers={"Set-Cookie": "lb=7"})
    assert client.create("Accounts", payload) == {"ID": GUID}
    client.create("Accounts", payload)
    request = route.calls.last.request
    expected = httpx.Request("POST", f"{API}/crm/Accounts", json=payload)
    assert request.content == expected.content  # byte for byte what `json=` sends
    assert request.headers["content-length"] == str(len(expected.content))
    assert request.headers["content-type"] == "application/json"
    assert request.headers["prefer"] == "return=representation"
    assert request.headers["accept"] == "application/json"  # the client's default headers stay
    assert request.headers["authorization"] == "Bearer access-A"
    assert request.headers["cookie"] == "lb=7"  # what the server set goes back, as with `http.post`


@respx.mock
def test_paging_follows_next_verbatim_and_lazily(client):
    next_url = f"{API}/logistics/Items?$skiptoken=guid'abc'"
    route = respx.get(f"{API}/logistics/Items").mock(
        side_effect=[
            httpx.Response(200, json=page([{"ID": "1"}], next_url)),
            httpx.Response(200, json=page([{"ID": "2"}])),
        ]
    )
    rows = client.iterate("Items")
    assert not route.called  # lazy
    assert next(rows) == {"ID": "1"}
    assert route.call_count == 1
    assert list(rows) == [{"ID": "2"}]
    assert str(route.calls.last.request.url) == next_url


@respx.mock
def test_get_uses_a_filtered_collection_not_a_key_lookup(client):
    route = respx.get(f"{API}/salesinvoice/SalesInvoices").respond(200, json=page([]))
    assert client.get("SalesInvoices", GUID, ["InvoiceID"]) is None
    assert route.calls.last.request.url.params["$filter"] == f"InvoiceID eq guid'{GUID}'"


@respx.mock
def test_get_is_retried_on_5xx(client):
    route = respx.get(f"{API}/crm/Accounts").mock(
        side_effect=[httpx.Response(503, json=error("busy")), httpx.Response(200, json=page([{"ID": GUID}]))]
    )
    assert client.list("Accounts") == [{"ID": GUID}]
    assert route.call_count == 2


@respx.mock
def test_post_5xx_is_outcome_unknown_and_not_retried(client):
    route = respx.post(f"{API}/salesinvoice/SalesInvoices").respond(
        500, json=error("A problem has occurred.")
    )
    with pytest.raises(OutcomeUnknownError, match="may or may not have happened"):
        client.create("SalesInvoices", {"YourRef": "WC-1"})
    assert route.call_count == 1


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")])
@respx.mock
def test_post_timeout_or_reset_is_outcome_unknown(client, exc):
    route = respx.post(f"{API}/salesinvoice/SalesInvoices").mock(side_effect=exc)
    with pytest.raises(OutcomeUnknownError):
        client.create("SalesInvoices", {"YourRef": "WC-1"})
    assert route.call_count == 1


@respx.mock
def test_post_that_never_connected_is_transient(client):
    respx.post(f"{API}/salesinvoice/SalesInvoices").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError) as caught:
        client.create("SalesInvoices", {"YourRef": "WC-1"})
    assert not isinstance(caught.value, OutcomeUnknownError)


@respx.mock
def test_validation_error_carries_exacts_message_endpoint_and_division(client):
    respx.post(f"{API}/salesorder/SalesOrders").respond(400, json=error("Mandatory: OrderedBy"))
    with pytest.raises(ExactRejectedError) as caught:
        client.create("SalesOrders", {"YourRef": "WC-1"})
    assert caught.value.message == "Mandatory: OrderedBy"
    assert caught.value.endpoint == "salesorder/SalesOrders"
    assert caught.value.division == DIVISION and caught.value.status == 400


@respx.mock
def test_wrong_division_is_a_clear_error(client):
    respx.get(f"{API}/crm/Accounts").respond(403, json=error("Forbidden - WrongDivision"))
    with pytest.raises(WrongDivisionError, match=f"cannot access division {DIVISION}"):
        client.list("Accounts")


@respx.mock
def test_401_renews_the_token_once_and_resends(client):
    route = respx.put(f"{API}/crm/Accounts(guid'{GUID}')").mock(
        side_effect=[httpx.Response(401), httpx.Response(204)]
    )
    client.update("Accounts", GUID, {"Name": "x"})
    assert client.tokens.renewals == 1
    assert route.calls.last.request.headers["authorization"] == "Bearer access-B"


@respx.mock
def test_429_waits_for_the_minutely_reset_then_resends(client):
    reset_ms = int((START + 30) * 1000)
    limited = {
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": "0",
        "X-RateLimit-Minutely-Reset": str(reset_ms),
    }
    route = respx.post(f"{API}/crm/Accounts").mock(
        side_effect=[httpx.Response(429, headers=limited), httpx.Response(201, json={"d": {"ID": GUID}})]
    )
    assert ExactTarget(client).create("Accounts", {"Name": "x"}) == GUID
    assert route.call_count == 2
    assert sum(client.sleeps) >= 30


@respx.mock
def test_html_maintenance_page_on_a_read_is_transient(client):
    respx.get(f"{API}/crm/Accounts").respond(
        200, text="<html>Maintenance</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(TransientError, match="maintenance"):
        client.list("Accounts")


@respx.mock
def test_bulk_requires_select_and_sync_filters_on_timestamp(client):
    with pytest.raises(ValueError, match=r"\$select"):
        client.bulk("Items", [])
    route = respx.get(f"{API}/sync/Logistics/Items").respond(200, json=page([{"ID": "1", "Timestamp": 9}]))
    assert list(client.sync("Items", 5)) == [{"ID": "1", "Timestamp": 9}]
    assert route.calls.last.request.url.params["$filter"] == "Timestamp gt 5L"


@respx.mock
def test_deleted_filters_by_entity_type(client):
    respx.get(f"{API}/sync/Deleted").respond(
        200,
        json=page(
            [
                {"Timestamp": 2, "EntityKey": GUID, "EntityType": 2},
                {"Timestamp": 3, "EntityKey": GUID, "EntityType": 9},
            ]
        ),
    )
    assert [r.Timestamp for r in client.deleted(1, "Items")] == [3]


@respx.mock
def test_me_has_no_division_in_the_path(client):
    respx.get(f"{BASE_URL}/api/v1/current/Me").respond(
        200, json=page([{"UserID": GUID, "CurrentDivision": 42, "FullName": "Test"}])
    )
    assert client.me().CurrentDivision == 42
