"""The client against the Exact sandbox (in-process server): authorization, paging, rate limits, faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from ml_connector.app import App
from ml_connector.exact import odata
from ml_connector.exact.authorize import authorize_with_code, run_authorize
from ml_connector.exact.client import ExactClient
from ml_connector.exact.errors import (
    DailyLimitReachedError,
    ErrorBudgetExhaustedError,
    ExactRejectedError,
    WrongDivisionError,
)
from ml_connector.exact.models import MODELS
from ml_connector.exact.ping import run_checks
from ml_connector.exact.target import ExactTarget
from ml_connector.http.errors import OutcomeUnknownError
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.faults import FaultRule
from ml_connector.sandbox_kit.serve import free_port
from ml_connector.store.connections import get_connection
from ml_connector.store.models import ConnectionStatus

from .conftest import stored_tokens
from .sandbox_support import Served, add_sandbox_connection, authorized, sandbox_code, served_sandbox


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()  # real time at the start, moved on by the tests


@pytest.fixture
def served(clock: ManualClock) -> Iterator[Served]:
    with served_sandbox(clock) as s:
        yield s


@pytest.fixture
def client(app: App, served: Served, clock: ManualClock) -> Iterator[ExactClient]:
    authorized(app, served, clock)
    c = ExactClient.for_connection(app, "exact", clock=clock)
    yield c
    c.close()


def test_authorize_with_a_loopback_listener_discovers_the_division(app, served):
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    add_sandbox_connection(app, app.vault, served)
    with app.db.session() as session:
        conn = get_connection(session, "exact")
        conn.settings = {**conn.settings, "redirect_uri": redirect}
    lines: list[str] = []
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            run_authorize(app, "exact", listen=True, echo=lines.append, listen_timeout=20)
        )
    )
    worker.start()
    while not any(line.startswith("http") for line in lines):
        time.sleep(0.01)
    url = next(line for line in lines if line.startswith("http"))
    assert "state=" in url
    time.sleep(0.2)  # let the listener bind
    assert httpx.get(url, follow_redirects=True).status_code == 200  # the "browser" lands on the listener
    worker.join(20)
    assert result == [served.info["division"]]
    with app.db.session() as session:
        assert get_connection(session, "exact").division == served.info["division"]
    assert stored_tokens(app, 1)[0].startswith("AAEA")


def test_authorize_with_a_pasted_redirect_url_and_another_division(app, served):
    add_sandbox_connection(app, app.vault, served)
    other = next(
        d
        for d in httpx.get(f"{served.base_url}/_sandbox/info").json()["divisions"]
        if d != served.info["division"]
    )
    pasted = f"{served.info['redirect_uri']}?code={sandbox_code(served)}"
    assert run_authorize(app, "exact", division=other, pasted=pasted, echo=lambda _line: None) == other


def test_a_forbidden_division_is_a_clear_error(app, served, clock):
    add_sandbox_connection(app, app.vault, served)
    forbidden = httpx.get(f"{served.base_url}/_sandbox/info").json()["forbidden_division"]
    with pytest.raises(WrongDivisionError, match=f"cannot access division {forbidden}"):
        authorize_with_code(app, "exact", sandbox_code(served), division=forbidden, clock=clock)


def test_ping_passes_against_the_sandbox(app, served, clock):
    authorized(app, served, clock)
    with app.db.session() as session:
        conn = get_connection(session, "exact")
    checks = run_checks(app, conn)
    assert [c for c in checks if not c.ok] == []
    assert {"exact host", "access token", "division access", "read SalesInvoices", "read VATCodes"} <= {
        c.name for c in checks
    }


def test_access_token_is_refreshed_after_expiry_without_too_early_errors(client, served, clock, app):
    first = client.list("VATCodes", odata.Query(select=("ID",), top=1))
    clock.advance(575)  # inside the last 30 s
    assert client.list("VATCodes", odata.Query(select=("ID",), top=1)) == first
    clock.advance(600)
    client.list("VATCodes", odata.Query(select=("ID",), top=1))
    outcomes = served.stats()["token_outcomes"]
    assert outcomes == {"authorization_code": 1, "refresh_token": 2}
    with app.db.session() as session:
        assert get_connection(session, "exact").status == ConnectionStatus.ACTIVE


def test_paging_over_more_than_1000_records(client, served):
    division = served.info["division"]
    existing = sum(1 for _ in client.iterate("Accounts", odata.Query(select=("ID",))))
    served.sandbox.state.write(
        division,
        lambda books: [books.create("Accounts", {"Name": f"Paging {i}"}) for i in range(1030 - existing)],
    )
    pages = list(client.pages("crm/Accounts", odata.Query(select=("ID", "Name"), inlinecount=True)))
    ids = [row["ID"] for page in pages for row in page.rows]
    assert len(ids) == len(set(ids)) == 1030 == pages[0].count
    assert len(pages) == 18 and all(len(p.rows) == 60 for p in pages[:-1])  # 60 a page, __next followed
    bulk = list(client.bulk("Accounts", ["ID"]))
    assert len(bulk) == 1030


def test_sustained_run_at_the_minutely_limit_gets_no_429(app, clock):
    scaled = ManualClock(scale=60.0)  # a sandbox minute per real second
    with served_sandbox(scaled, minutely_limit=60, daily_limit=5000) as s:
        authorized(app, s, scaled)
        client = ExactClient.for_connection(
            app, "exact", clock=scaled, sleep=lambda sec: time.sleep(sec / 60.0)
        )
        start = scaled.time()
        errors: list[Exception] = []

        def work() -> None:
            try:
                for _ in range(40):
                    client.first("Items", odata.Query(select=("ID",), top=1))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        elapsed_minutes = (scaled.time() - start) / 60
        stats = s.stats()
    assert errors == []
    assert stats["rate_limited"] == 0
    assert elapsed_minutes > 1  # 160 calls at 60/minute span three clock minutes: the governor paced them


def test_commit_then_drop_surfaces_as_outcome_unknown_and_is_found_by_reference(client, served):
    account = client.first("Accounts", odata.Query(select=("ID",), top=1))
    item = client.first("Items", odata.Query(select=("ID",), top=1))
    assert account and item
    target = ExactTarget(client)
    served.sandbox.faults.add(FaultRule(kind="commit_then_drop", path="SalesOrders", method="POST", count=1))
    payload = {
        "OrderedBy": account["ID"],
        "YourRef": "WC-1-1001",
        "SalesOrderLines": [{"Item": item["ID"], "Quantity": 1, "NetPrice": 10}],
    }
    with pytest.raises(OutcomeUnknownError):
        target.create("SalesOrders", payload)
    found = target.find_by_ref("SalesOrders", "WC-1-1001")
    assert found is not None  # it was committed: the engine would mark it sent, not post again
    assert target.get("SalesOrders", found, ["YourRef"])["YourRef"] == "WC-1-1001"  # type: ignore[index]


def test_validation_error_from_the_sandbox_carries_exacts_message(client, served):
    with pytest.raises(ExactRejectedError) as caught:
        client.create("SalesOrders", {"YourRef": "WC-1-2"})
    assert caught.value.status == 400 and caught.value.division == served.info["division"]
    assert caught.value.endpoint == "salesorder/SalesOrders" and caught.value.message


def test_sync_and_deleted_streams(client, served):
    rows = list(client.sync("Accounts", 1, ["ID", "Timestamp"]))
    high = max(r["Timestamp"] for r in rows)
    created = client.create("Accounts", {"Name": "Sync me"})
    changed = list(client.sync("Accounts", high))
    assert [r["ID"] for r in changed] == [created["ID"]]
    client.delete("Accounts", created["ID"])
    deleted = list(client.deleted(1, "Accounts"))
    assert created["ID"] in {d.EntityKey for d in deleted}


def test_ping_names_the_fix_for_a_forbidden_division_and_a_dead_connection(app, served, clock):
    authorized(app, served, clock)
    forbidden = httpx.get(f"{served.base_url}/_sandbox/info").json()["forbidden_division"]
    with app.db.session() as session:
        conn = get_connection(session, "exact")
        conn.division = forbidden
    failing = [c for c in run_checks(app, conn) if not c.ok]
    assert [c.name for c in failing] == ["division access"]
    assert failing[0].fix and "--division" in failing[0].fix
    with app.db.session() as session:
        conn = get_connection(session, "exact")
        conn.status, conn.status_reason = ConnectionStatus.NEEDS_REAUTHORIZATION, "Old refresh token used."
    failing = [c for c in run_checks(app, conn) if not c.ok]
    assert failing[0].name == "connection status" and "authorize" in (failing[0].fix or "")


def test_daily_exhaustion_stops_with_the_resume_time(client, served):
    httpx.post(f"{served.base_url}/_sandbox/rate-limits", json={"daily_limit": 5})
    vat = odata.Query(select=("ID",), top=1)
    client.list("VATCodes", vat)  # learns the daily window from the headers
    day = client.governor.day
    assert day is not None and day.remaining is not None
    for _ in range(day.remaining):
        client.list("VATCodes", vat)
    with pytest.raises(
        DailyLimitReachedError, match=r"daily limit reached for Exact division \d+, resumes at 00:00 UTC"
    ):
        client.list("VATCodes", vat)
    assert served.stats()["rate_limited"] == 0  # stopped before Exact had to refuse


def test_error_budget_stops_calls_to_an_endpoint_before_exact_blocks_it(client, served):
    bad = odata.Query(filter="NoSuchField eq 1")
    for _ in range(9):
        with pytest.raises(ExactRejectedError):
            client.list("Items", bad)
    with pytest.raises(ErrorBudgetExhaustedError, match="logistics/Items"):
        client.list("Items", odata.Query(select=("ID",), top=1))
    assert client.list("VATCodes", odata.Query(select=("ID",), top=1))  # other endpoints are unaffected


@pytest.mark.parametrize("entity", sorted(MODELS))
def test_models_read_what_the_sandbox_serves(client, entity):
    rows = client.list(entity, odata.Query(top=3))
    for row in rows:
        MODELS[entity].model_validate(row)
