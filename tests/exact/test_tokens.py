"""Token manager rules, against a mocked token endpoint and a real (SQLite) store."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from ml_connector.app import App
from ml_connector.exact.errors import NeedsReauthorizationError, TokenCallRefusedError
from ml_connector.exact.oauth import OAuthClient
from ml_connector.exact.tokens import TokenManager
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.secrets import secret
from ml_connector.store.models import Connection, ConnectionStatus, OAuthToken

from .conftest import BASE_URL, advance_to_refresh_window, seed_tokens, stored_tokens

TOKEN_URL = f"{BASE_URL}/api/oauth2/token"


def manager(app: App, conn_id: int, clock: ManualClock, http: httpx.Client | None = None, cap: int = 200):
    oauth = OAuthClient(
        http=http or httpx.Client(),
        base_url=BASE_URL,
        client_id="client-id-1",
        client_secret=secret("client-secret-value"),
        redirect_uri="https://app.test/callback",
    )
    return TokenManager(
        db=app.db,
        vault=app.vault,
        connection_id=conn_id,
        connection_name="exact",
        oauth=oauth,
        clock=clock,
        daily_token_call_cap=cap,
    )


def token_body(n: int) -> dict[str, str]:
    return {
        "access_token": f"access-{n}",
        "token_type": "bearer",
        "expires_in": "600",
        "refresh_token": f"refresh-{n}",
    }


@respx.mock
def test_fresh_token_is_used_without_a_token_call(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL)
    clock.advance(569)  # 31 s left: still outside the refresh window
    assert manager(app, conn_id, clock).access_token().get_secret_value() == "access-0"
    assert not route.called


@respx.mock
def test_refresh_in_last_30_s_persists_the_new_pair_before_use(app, conn_id, clock, tokens_seeded):
    seen_in_db: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-0"
        assert form["client_id"] == "client-id-1" and form["client_secret"] == "client-secret-value"
        assert "authorization" not in request.headers  # Exact refuses a bearer header on the token endpoint
        return httpx.Response(200, json=token_body(1))

    respx.post(TOKEN_URL).mock(side_effect=answer)
    advance_to_refresh_window(clock, tokens_seeded)
    tokens = manager(app, conn_id, clock)
    token = tokens.access_token().get_secret_value()
    seen_in_db.append(stored_tokens(app, conn_id)[0])
    _, refresh, row = stored_tokens(app, conn_id)
    assert token == "access-1" == seen_in_db[0]
    assert refresh == "refresh-1"
    assert row.version == 2 and row.token_calls_today == 1
    assert row.access_expires_at == datetime.fromtimestamp(clock.time(), tokens_seeded.tzinfo) + timedelta(
        seconds=600
    )


@respx.mock
def test_a_401_within_570_s_of_the_last_token_call_is_not_refreshed(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL)
    clock.advance(100)
    tokens = manager(app, conn_id, clock)
    with pytest.raises(TokenCallRefusedError) as caught:
        tokens.after_unauthorized(secret("access-0"))
    assert not route.called
    assert caught.value.retry_after == pytest.approx(472, abs=1)  # 570 s + 2 s skew margin - 100 s


@pytest.mark.parametrize("status", [400, 401])
@respx.mock
def test_too_early_answer_in_both_forms_keeps_the_current_token(app, conn_id, clock, tokens_seeded, status):
    respx.post(TOKEN_URL).respond(
        status,
        json={"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"},
        headers={"Reason": "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"},
    )
    advance_to_refresh_window(clock, tokens_seeded)
    assert manager(app, conn_id, clock).access_token().get_secret_value() == "access-0"
    _, refresh, row = stored_tokens(app, conn_id)
    assert refresh == "refresh-0" and row.token_calls_today == 1


@respx.mock
def test_a_clock_running_ahead_of_exacts_keeps_the_token_exact_still_accepts(
    app, conn_id, clock, tokens_seeded
):
    route = respx.post(TOKEN_URL).respond(
        400,
        json={"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"},
        headers={"Reason": "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"},
    )
    clock.advance(tokens_seeded.timestamp() + 900 - clock.time())  # expired by our clock, not by Exact's
    tokens = manager(app, conn_id, clock)
    assert tokens.access_token().get_secret_value() == "access-0"  # Exact says it is valid: use it
    clock.advance(10)
    assert tokens.access_token().get_secret_value() == "access-0"
    assert route.call_count == 1  # not asked again at every call
    clock.advance(30)
    tokens.access_token()
    assert route.call_count == 2  # asked again after the wait


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "unauthorized_client", "error_description": "Old refresh token used."}),
        (
            400,
            {
                "error": "invalid_grant",
                "error_description": "Token is not allowed, because of invalid chainId",
            },
        ),
        (
            400,
            {
                "error": "invalid_request",
                "error_description": "The refresh token expired at 11/3/2021 2:50:46 PM",
            },
        ),
    ],
)
@respx.mock
def test_dead_chain_marks_the_connection_for_reauthorization(
    app, conn_id, clock, tokens_seeded, status, body
):
    route = respx.post(TOKEN_URL).respond(status, json=body)
    advance_to_refresh_window(clock, tokens_seeded)
    tokens = manager(app, conn_id, clock)
    with pytest.raises(NeedsReauthorizationError, match="authorize again"):
        tokens.access_token()
    with app.db.session() as session:
        conn = session.get(Connection, conn_id)
        assert conn is not None
        assert conn.status == ConnectionStatus.NEEDS_REAUTHORIZATION
        assert body["error_description"] in (conn.status_reason or "")
    # No further token calls while the connection waits for a person.
    with pytest.raises(NeedsReauthorizationError):
        tokens.access_token()
    assert route.call_count == 1


@respx.mock
def test_tokens_in_a_refused_answer_are_kept(app, conn_id, clock, tokens_seeded):
    respx.post(TOKEN_URL).respond(429, json=token_body(7))
    advance_to_refresh_window(clock, tokens_seeded)
    assert manager(app, conn_id, clock).access_token().get_secret_value() == "access-7"
    assert stored_tokens(app, conn_id)[1] == "refresh-7"


@respx.mock
def test_daily_token_call_cap(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL)
    with app.db.session() as session:
        row = session.get(OAuthToken, conn_id)
        assert row is not None
        row.token_calls_day, row.token_calls_today = tokens_seeded.date().isoformat(), 200
    advance_to_refresh_window(clock, tokens_seeded)
    with pytest.raises(TokenCallRefusedError, match="200 token calls today"):
        manager(app, conn_id, clock).access_token()
    assert not route.called


@respx.mock
def test_old_refresh_token_warns(app, conn_id, clock, tokens_seeded):
    respx.post(TOKEN_URL).respond(200, json=token_body(1))
    with app.db.session() as session:
        row = session.get(OAuthToken, conn_id)
        assert row is not None
        row.refresh_issued_at = tokens_seeded - timedelta(days=26)
    advance_to_refresh_window(clock, tokens_seeded)
    with capture_logs() as logs:
        manager(app, conn_id, clock).access_token()
    assert any(entry["event"] == "exact.refresh_token_old" and entry["age_days"] == 26 for entry in logs)


@respx.mock
def test_a_second_process_uses_the_pair_the_first_stored(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL).respond(200, json=token_body(1))
    first, second = manager(app, conn_id, clock), manager(app, conn_id, clock)
    assert second.access_token().get_secret_value() == "access-0"  # cached in "process" two
    advance_to_refresh_window(clock, tokens_seeded)
    assert first.access_token().get_secret_value() == "access-1"
    assert second.access_token().get_secret_value() == "access-1"  # re-read, not refreshed with refresh-0
    assert route.call_count == 1


@respx.mock
def test_after_a_401_a_newer_stored_token_is_used(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL)
    tokens = manager(app, conn_id, clock)
    tokens.access_token()
    seed_tokens(app, conn_id, "access-9", "refresh-9", tokens_seeded)  # another process refreshed
    assert tokens.after_unauthorized(secret("access-0")).get_secret_value() == "access-9"
    assert not route.called


@respx.mock
def test_concurrent_threads_refresh_once(app, conn_id, clock, tokens_seeded):
    route = respx.post(TOKEN_URL).respond(200, json=token_body(1))
    advance_to_refresh_window(clock, tokens_seeded)
    tokens = manager(app, conn_id, clock)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(tokens.access_token().get_secret_value()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["access-1"] * 8
    assert route.call_count == 1


@respx.mock
def test_slow_token_answer_counts_570_s_from_the_answer_and_keeps_the_token_meanwhile(
    app, conn_id, clock, tokens_seeded
):
    def slow(request: httpx.Request) -> httpx.Response:
        clock.advance(20)  # Exact issued the pair somewhere within these 20 s
        return httpx.Response(200, json=token_body(1))

    route = respx.post(TOKEN_URL).mock(side_effect=slow)
    advance_to_refresh_window(clock, tokens_seeded)
    tokens = manager(app, conn_id, clock)
    assert tokens.access_token().get_secret_value() == "access-1"
    _, _, row = stored_tokens(app, conn_id)
    assert row.access_expires_at is not None and row.last_token_call_at is not None
    assert row.last_token_call_at - row.access_expires_at == timedelta(seconds=20 - 600)
    # 575 s after sending: in the token's last 30 s, but Exact may have issued it only 555 s ago.
    clock.advance(555)
    assert tokens.access_token().get_secret_value() == "access-1"
    assert route.call_count == 1
    clock.advance(20)  # now 572 s past the answer: a refresh is allowed
    assert tokens.access_token().get_secret_value() == "access-1"  # the mock hands out the same pair again
    assert route.call_count == 2
