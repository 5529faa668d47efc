"""Entry points and helpers: serve() prints one JSON line, seeds are deterministic, /_sandbox helpers."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from ml_connector.exact.sandbox import create_app
from ml_connector.sandbox_kit.serve import free_port

from .conftest import Exact

INFO_KEYS = {"base_url", "client_id", "client_secret", "redirect_uri", "division", "webhook_secret"}


def test_serve_prints_one_json_line_when_ready() -> None:
    port = free_port()
    code = f"from ml_connector.exact.sandbox import serve; serve({port}, seed=3)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert set(info) == INFO_KEYS and info["base_url"] == f"http://127.0.0.1:{port}"
        assert info == create_app(seed=3).info(info["base_url"])
        assert httpx.get(f"{info['base_url']}/_sandbox/info").json()["division"] == info["division"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_same_seed_same_data_other_seed_other_data() -> None:
    def snapshot(seed: int) -> tuple[object, ...]:
        state = create_app(seed=seed).state
        division = state.divisions[state.current_division]
        items = sorted(
            (row["Code"], row["ID"], row["StandardSalesPrice"]) for row in division.table("Items").values()
        )
        return state.current_division, state.app.client_id, tuple(items)

    assert snapshot(5) == snapshot(5)
    assert snapshot(5) != snapshot(6)


def test_seeded_master_data_covers_the_flows(exact: Exact, api: httpx.Client) -> None:
    division = exact.division
    gl = {
        row["Code"]: row
        for row in api.get(
            f"/{division}/financial/GLAccounts", params={"$select": "Code,Type,IsBlocked,VATCode"}
        ).json()["d"]["results"]
    }
    assert (
        gl["1300"]["Type"] == 20
        and gl["1500"]["Type"] == 24
        and gl["8000"]["Type"] == 110
        and gl["8090"]["IsBlocked"]
    )
    vat = {
        row["Code"].strip(): row["Percentage"]
        for row in api.get(f"/{division}/vat/VATCodes", params={"$select": "Code,Percentage"}).json()["d"][
            "results"
        ]
    }
    assert {vat["2"], vat["1"], vat["6"]} == {0.21, 0.09, 0.0}
    journals = {
        row["Code"]: row["Type"]
        for row in api.get(f"/{division}/financial/Journals", params={"$select": "Code,Type"}).json()["d"][
            "results"
        ]
    }
    assert journals["50"] == 20
    for path in ("hrm/Costcenters", "hrm/Costunits", "cashflow/PaymentConditions", "crm/Contacts"):
        assert api.get(f"/{division}/{path}", params={"$select": "ID"}).json()["d"]["results"], path


def test_clock_endpoint_moves_the_sandbox_clock(exact: Exact) -> None:
    before = exact.http.get("/_sandbox/clock").json()["time"]
    after = exact.http.post("/_sandbox/clock", json={"advance": 3600}).json()["time"]
    assert after - before >= 3600 and exact.clock.time() >= after
    assert exact.http.post("/_sandbox/clock", json={}).status_code == 400


def test_stats_count_records_calls_and_token_calls(exact: Exact, api: httpx.Client) -> None:
    api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Geteld"})
    stats = exact.http.get("/_sandbox/stats").json()
    mine = stats["divisions"][str(exact.division)]
    assert mine["entities"]["Accounts"] == 6 and mine["api_calls"] == 1 and mine["current"]
    assert stats["token_calls_today"] == 1 and stats["token_outcomes"] == {"authorization_code": 1}


def test_create_as_web_user(exact: Exact, api: httpx.Client) -> None:
    response = exact.http.post(
        f"/_sandbox/create/{exact.division}/Items", json={"Code": "NEW-1", "Description": "Nieuw"}
    )
    assert response.status_code == 201
    assert (
        exact.first(api, "logistics/Items", "Code eq 'NEW-1'", "CreatorFullName")["CreatorFullName"]
        == "Willem Webgebruiker"
    )
    assert exact.http.put(f"/_sandbox/edit/{exact.division}/Nope/x", json={}).status_code == 404
    refused = exact.http.post(
        f"/_sandbox/create/{exact.division}/Items", json={"Code": "NEW-1", "Description": "x"}
    )
    assert refused.status_code == 400 and "already exists" in refused.json()["error"]["message"]["value"]
    assert exact.http.post("/_sandbox/clock", content=b"{not json").status_code == 400


def test_maintenance_mode_answers_200_with_html(exact: Exact, api: httpx.Client) -> None:
    assert exact.http.post("/_sandbox/maintenance", json={"enabled": True}).json() == {"enabled": True}
    response = api.get(f"/{exact.division}/crm/Accounts")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    exact.http.post("/_sandbox/maintenance", json={"enabled": False})
    assert api.get(f"/{exact.division}/crm/Accounts").headers["content-type"] == "application/json"
