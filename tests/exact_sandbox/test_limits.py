"""Rate limits: headers, minutely and daily windows, 429 bodies, the errors-per-endpoint block (§2)."""

from __future__ import annotations

import httpx

from .conftest import START, Exact

MINUTE_HEADERS = {
    "x-ratelimit-minutely-limit",
    "x-ratelimit-minutely-remaining",
    "x-ratelimit-minutely-reset",
}
DAY_HEADERS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


def rate_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")}


def test_every_call_carries_six_headers_with_epoch_ms_resets(limited: Exact) -> None:
    with limited.api() as api:
        response = api.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"})
    headers = rate_headers(response)
    assert set(headers) == MINUTE_HEADERS | DAY_HEADERS
    assert headers["x-ratelimit-limit"] == "5000" and headers["x-ratelimit-remaining"] == "4999"
    assert headers["x-ratelimit-minutely-limit"] == "60" and headers["x-ratelimit-minutely-remaining"] == "59"
    assert int(headers["x-ratelimit-minutely-reset"]) == (int(START // 60) + 1) * 60_000
    assert int(headers["x-ratelimit-reset"]) == (int(START // 86400) + 1) * 86_400_000  # next 00:00 UTC


def test_minutely_limit_gives_429_with_only_minutely_headers_then_resets(limited: Exact) -> None:
    with limited.api() as api:
        path = f"/{limited.division}/logistics/Items"
        for _ in range(60):
            ok = api.get(path, params={"$top": "1"})
            assert ok.status_code == 200
        assert ok.headers["x-ratelimit-minutely-remaining"] == "0"
        refused = api.get(path, params={"$top": "1"})
        assert refused.status_code == 429
        assert set(rate_headers(refused)) == MINUTE_HEADERS
        assert refused.json()["error"]["message"]["value"]
        limited.clock.advance(60)
        again = api.get(path, params={"$top": "1"})
    assert again.status_code == 200 and again.headers["x-ratelimit-minutely-remaining"] == "59"
    assert again.headers["x-ratelimit-remaining"] == "4939"  # refused calls are not counted


def test_daily_limit_gives_429_with_only_daily_headers_until_midnight(limited: Exact) -> None:
    settings = limited.http.post("/_sandbox/rate-limits", json={"daily_limit": 3}).json()
    assert settings["daily_limit"] == 3
    with limited.api() as api:
        path = f"/{limited.division}/crm/Accounts"
        for _ in range(3):
            assert api.get(path, params={"$top": "1"}).status_code == 200
        refused = api.get(path, params={"$top": "1"})
        assert refused.status_code == 429 and set(rate_headers(refused)) == DAY_HEADERS
        other_division = next(iter(limited.sandbox.state.accessible - {limited.division}))
        assert api.get(f"/{other_division}/crm/Accounts", params={"$top": "1"}).status_code == 200
        limited.clock.advance(14 * 3600)  # past 00:00 UTC
        with limited.api() as fresh:
            assert fresh.get(path, params={"$top": "1"}).status_code == 200


def test_ten_errors_on_an_endpoint_block_it_for_an_hour(limited: Exact) -> None:
    with limited.api() as api:
        missing = f"/{limited.division}/crm/Accounts(guid'00000000-0000-4000-8000-000000000000')"
        for _ in range(10):
            assert api.get(missing).status_code == 404
        blocked = api.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"})
        assert blocked.status_code == 429 and "Too many errors" in blocked.json()["error"]["message"]["value"]
        assert api.get(f"/{limited.division}/logistics/Items", params={"$top": "1"}).status_code == 200
        limited.clock.advance(3600)
        with limited.api() as fresh:
            assert fresh.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"}).status_code == 200


def test_block_status_is_configurable(limited: Exact) -> None:
    limited.http.post("/_sandbox/rate-limits", json={"error_limit": 2, "error_block_status": 403})
    with limited.api() as api:
        for _ in range(2):
            api.get(f"/{limited.division}/crm/Accounts", params={"$filter": "Nope eq 1"})
        assert api.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"}).status_code == 403


def test_disabled_limits_send_no_headers_and_never_refuse(exact: Exact, api: httpx.Client) -> None:
    for _ in range(70):
        response = api.get(f"/{exact.division}/crm/Accounts", params={"$top": "1"})
        assert response.status_code == 200
    assert rate_headers(response) == {}
    stats = exact.http.get("/_sandbox/stats").json()
    assert stats["divisions"][str(exact.division)]["api_calls"] == 70


def test_rate_limit_settings_reject_unknown_names(exact: Exact) -> None:
    assert exact.http.post("/_sandbox/rate-limits", json={"per_second": 5}).status_code == 400


def test_calls_with_an_expired_token_count_as_errors(limited: Exact) -> None:
    limited.http.post("/_sandbox/rate-limits", json={"error_limit": 3})
    expired = limited.login()
    limited.clock.advance(600)
    with limited.api(expired) as api:
        for _ in range(3):
            assert api.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"}).status_code == 401
    with limited.api() as fresh:
        assert fresh.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"}).status_code == 429
