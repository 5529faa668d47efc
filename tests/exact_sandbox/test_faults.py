"""Fault injection through sandbox_kit: set by option or over /_sandbox/faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.faults import FaultInjector, FaultRule
from ml_connector.sandbox_kit.serve import ThreadedServer

from .conftest import Exact, Switch, start


def names(exact: Exact, api: httpx.Client, name: str) -> int:
    response = api.get(
        f"/{exact.division}/crm/Accounts", params={"$filter": f"Name eq '{name}'", "$select": "ID"}
    )
    return len(response.json()["d"]["results"])


def test_commit_then_drop_writes_but_the_client_sees_no_answer(exact: Exact, api: httpx.Client) -> None:
    rules = exact.http.post(
        "/_sandbox/faults",
        json={"kind": "commit_then_drop", "path": "crm/Accounts$", "method": "POST", "count": 1},
    )
    assert rules.status_code == 200
    with pytest.raises(httpx.TransportError):
        api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Geschreven"})
    assert names(exact, api, "Geschreven") == 1  # the write happened


def test_error_and_drop_write_nothing(exact: Exact, api: httpx.Client) -> None:
    exact.http.post(
        "/_sandbox/faults",
        json=[
            {"kind": "error", "path": "crm/Accounts$", "method": "POST", "count": 1, "status": 503},
            {"kind": "drop", "path": "crm/Accounts$", "method": "POST", "count": 1},
        ],
    )
    assert api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Nooit"}).status_code == 503
    with pytest.raises(httpx.TransportError):
        api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Nooit"})
    assert names(exact, api, "Nooit") == 0
    assert exact.http.delete("/_sandbox/faults").json() == {"rules": []}


@pytest.fixture
def stormy(server: tuple[ThreadedServer, Switch], clock: ManualClock) -> Iterator[Exact]:
    injector = FaultInjector(seed=1)
    injector.add(FaultRule(kind="rate_limit", path="logistics/Items", count=3, delay=1))
    yield from start(server, clock, rate_limits=False, faults=injector)


def test_faults_set_by_option_429_storm(stormy: Exact) -> None:
    with stormy.api() as api:
        statuses = [
            api.get(f"/{stormy.division}/logistics/Items", params={"$top": "1"}).status_code for _ in range(4)
        ]
    assert statuses == [429, 429, 429, 200]
