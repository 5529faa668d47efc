"""OAuth rules: codes, lifetimes, rotation, too-early refresh, expiry, daily cap (exact-online.md §1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .conftest import Exact


def refresh(exact: Exact, token: str):
    return exact.token_call(grant_type="refresh_token", refresh_token=token)


def test_authorize_redirects_with_code_and_state_then_code_gives_tokens(exact: Exact) -> None:
    code = exact.authorize(state="abc 123")
    response = exact.exchange(code)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "600"  # a string, like Exact
    assert body["access_token"] != body["refresh_token"]


def test_loopback_redirect_uri_on_any_port_is_accepted_but_must_match_on_exchange(exact: Exact) -> None:
    code = exact.authorize(redirect_uri="http://127.0.0.1:54321/cb")
    assert exact.exchange(code, redirect_uri="http://127.0.0.1:9999/cb").status_code == 400
    other = exact.http.get(
        "/api/oauth2/auth",
        params={
            "client_id": exact.info["client_id"],
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
        },
    )
    assert other.status_code == 400


def test_code_is_single_use(exact: Exact) -> None:
    code = exact.authorize()
    assert exact.exchange(code).status_code == 200
    again = exact.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires_after_three_minutes(exact: Exact) -> None:
    code = exact.authorize()
    exact.clock.advance(181)
    assert exact.exchange(code).status_code == 400


def test_wrong_client_secret_is_refused(exact: Exact) -> None:
    response = exact.http.post(
        "/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": exact.authorize(),
            "client_id": exact.info["client_id"],
            "client_secret": "wrong",
            "redirect_uri": exact.info["redirect_uri"],
        },
    )
    assert response.status_code == 401


def test_access_token_lives_600_seconds(exact: Exact) -> None:
    tokens = exact.login()
    with exact.api(tokens) as api:
        assert api.get("/current/Me").status_code == 200
        exact.clock.advance(599)
        assert api.get("/current/Me").status_code == 200
        exact.clock.advance(1)
        expired = api.get("/current/Me")
    assert expired.status_code == 401
    assert expired.json()["error"]["message"]["value"]


def test_refresh_too_early_is_refused_with_reason_header_and_keeps_the_token(exact: Exact) -> None:
    tokens = exact.login()
    exact.clock.advance(569)
    early = refresh(exact, tokens["refresh_token"])
    assert early.status_code == 400
    assert early.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    assert early.headers["Reason"].startswith("TooEarlyToRefreshTokens")
    exact.clock.advance(1)
    assert refresh(exact, tokens["refresh_token"]).status_code == 200


def test_refresh_rotates_and_an_old_refresh_token_gets_401(exact: Exact) -> None:
    first = exact.login()
    exact.clock.advance(580)
    second = refresh(exact, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    exact.clock.advance(580)
    reused = refresh(exact, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    assert refresh(exact, second["refresh_token"]).status_code == 200
    assert exact.sandbox.state.oauth.live_refresh_tokens() == 1


def test_old_access_token_stays_valid_until_it_expires(exact: Exact) -> None:
    first = exact.login()
    exact.clock.advance(580)
    refresh(exact, first["refresh_token"])
    with exact.api(first) as api:
        assert api.get("/current/Me").status_code == 200


def test_refresh_token_expires_after_30_days(exact: Exact) -> None:
    tokens = exact.login()
    exact.clock.advance(30 * 86400 + 1)
    expired = refresh(exact, tokens["refresh_token"])
    assert expired.status_code == 400
    body = expired.json()
    assert body["error"] == "invalid_request"
    assert body["error_description"].startswith(
        "The refresh token expired at 4/9/2026 10:00:00 AM and it is now"
    )


def test_unknown_refresh_token_is_invalid_grant(exact: Exact) -> None:
    assert refresh(exact, "made-up").json()["error"] == "invalid_grant"


def test_token_endpoint_caps_calls_per_day(exact: Exact) -> None:
    exact.sandbox.state.oauth.daily_token_limit = 3
    tokens = exact.login()
    assert refresh(exact, "made-up").status_code == 400
    assert refresh(exact, "made-up").status_code == 400
    capped = refresh(exact, tokens["refresh_token"])
    assert capped.status_code == 400
    assert "too many token requests" in capped.json()["error_description"]
    exact.clock.advance(86400)
    assert refresh(exact, tokens["refresh_token"]).status_code == 200
    assert exact.http.get("/_sandbox/stats").json()["token_calls_today"] == 1


def test_authorization_header_on_token_endpoint_is_refused(exact: Exact) -> None:
    response = exact.http.post(
        "/api/oauth2/token", data={"grant_type": "refresh_token"}, headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401


def test_concurrent_refreshes_with_one_token_rotate_exactly_once(exact: Exact) -> None:
    tokens = exact.login()
    exact.clock.advance(580)
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: refresh(exact, tokens["refresh_token"]), range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 7
    assert {r.json()["error_description"] for r in responses if r.status_code == 401} == {
        "Old refresh token used."
    }
    stats = exact.http.get("/_sandbox/stats").json()
    assert stats["tokens_issued"] == 2 and stats["live_refresh_tokens"] == 1
