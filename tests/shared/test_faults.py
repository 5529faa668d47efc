"""The shared fault-injection middleware, over a real loopback server."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.faults import FaultInjector, FaultMiddleware, FaultRule
from ml_connector.sandbox_kit.serve import ThreadedServer


@pytest.fixture
def server():
    writes: list[int] = []

    async def create(request: Request) -> JSONResponse:
        writes.append(1)
        return JSONResponse({"n": len(writes)}, status_code=201)

    injector = FaultInjector(seed=1)
    app = FaultMiddleware(Starlette(routes=[Route("/things", create, methods=["POST", "GET"])]), injector)
    with ThreadedServer(app) as running:
        yield running, injector, writes


def test_no_rule_passes_through(server) -> None:
    running, _injector, writes = server
    assert httpx.post(f"{running.base_url}/things").status_code == 201
    assert writes == [1]


def test_error_and_rate_limit_do_not_reach_the_app(server) -> None:
    running, injector, writes = server
    injector.add(FaultRule(kind="error", status=502, count=1))
    injector.add(FaultRule(kind="rate_limit", delay=3, count=1))
    assert httpx.post(f"{running.base_url}/things").status_code == 502
    limited = httpx.post(f"{running.base_url}/things")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert writes == []
    assert httpx.post(f"{running.base_url}/things").status_code == 201  # counts are used up


def test_commit_then_drop_writes_but_the_client_gets_no_answer(server) -> None:
    running, injector, writes = server
    injector.add(FaultRule(kind="commit_then_drop", method="POST", count=1))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{running.base_url}/things")
    assert writes == [1]


def test_drop_does_not_write(server) -> None:
    running, injector, writes = server
    injector.add(FaultRule(kind="drop", path="^/things$", count=1))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{running.base_url}/things")
    assert writes == []


def test_rules_are_managed_over_http(server) -> None:
    running, _injector, _writes = server
    added = httpx.post(f"{running.base_url}/_sandbox/faults", json={"kind": "error", "method": "GET"})
    assert added.status_code == 200 and added.json()["rules"][0]["kind"] == "error"
    assert httpx.get(f"{running.base_url}/things").status_code == 503
    assert httpx.post(f"{running.base_url}/things").status_code == 201  # method filter
    assert httpx.delete(f"{running.base_url}/_sandbox/faults").json() == {"rules": []}
    bad = httpx.post(f"{running.base_url}/_sandbox/faults", json={"kind": "error", "bogus": 1})
    assert bad.status_code == 400


def test_manual_clock_moves_only_when_told_or_scaled() -> None:
    clock = ManualClock(start=1000.0)
    assert clock.time() == 1000.0
    clock.advance(570)
    assert clock.time() == 1570.0
    fast = ManualClock(start=0.0, scale=1000.0)
    assert fast.time() >= 0.0
