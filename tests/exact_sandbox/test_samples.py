"""The sandbox answers in the shape of Exact's real responses (exact-samples/): keys, JSON types, envelope.

Records may carry more properties than the older samples (the field lists are newer); every property of a
sample must be present with the same JSON type wherever both sides have a value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.shared_data import REFERENCE

from .conftest import Exact
from .test_webhooks import Receiver, subscribe

SAMPLES = REFERENCE / "exact-samples"
DATE = re.compile(r"^/Date\(\d+\)/$")

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="reference samples not available")


def sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def json_type(value: Any) -> str:
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        dict: "object",
        list: "array",
    }.get(type(value), "null")


def assert_shape(real: Any, ours: Any, where: str = "") -> None:
    """Every key of `real` is in `ours`, with the same JSON type when both are non-null (recursively)."""
    if real is None or ours is None:
        return
    assert json_type(real) == json_type(ours), (
        f"{where}: {json_type(real)} in the sample, {json_type(ours)} here"
    )
    if isinstance(real, dict):
        missing = set(real) - set(ours)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key, value in real.items():
            assert_shape(value, ours[key], f"{where}.{key}")
    elif isinstance(real, list) and real and ours:
        assert_shape(real[0], ours[0], f"{where}[0]")
    elif isinstance(real, str) and DATE.match(real):
        assert DATE.match(ours), f"{where}: {ours!r} is not a /Date(ms)/ value"


@pytest.fixture
def invoice_id(exact: Exact, api: httpx.Client) -> str:
    account = exact.first(api, "crm/Accounts", "Name eq 'Van Dijk Interieur B.V.'")["ID"]
    item = exact.first(api, "logistics/Items", "Code eq 'P1001'")["ID"]
    body = {"OrderedBy": account, "SalesInvoiceLines": [{"Item": item, "Quantity": 300, "UnitPrice": 25}]}
    response = api.post(f"/{exact.division}/salesinvoice/SalesInvoices", json=body)
    assert response.status_code == 201
    invoice: str = response.json()["d"]["InvoiceID"]
    return invoice


def get(api: httpx.Client, url: str, **params: str) -> Any:
    response = api.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_token_response(exact: Exact) -> None:
    assert_shape(sample("token_response"), exact.exchange(exact.authorize()).json())
    assert set(sample("token_response")) == set(exact.login())


def test_oauth_errors(exact: Exact) -> None:
    tokens = exact.login()
    too_early = exact.token_call(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert too_early.json() == sample("oauth_error_too_early")
    exact.clock.advance(600)
    exact.token_call(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    old = exact.token_call(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert old.status_code == 401 and old.json() == sample("oauth_error_old_refresh_token")
    unknown = exact.token_call(grant_type="refresh_token", refresh_token="unknown")
    assert unknown.json() == sample("oauth_error_invalid_chain")
    fresh = exact.login()
    exact.clock.advance(31 * 86400)
    expired = exact.token_call(grant_type="refresh_token", refresh_token=fresh["refresh_token"]).json()
    real = sample("oauth_error_refresh_expired")
    assert_shape(real, expired)
    assert expired["error"] == real["error"]
    moment = r"\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M"
    pattern = rf"The refresh token expired at {moment} and it is now {moment}\."
    assert re.fullmatch(pattern, real["error_description"]) and re.fullmatch(
        pattern, expired["error_description"]
    )


def test_wrong_division_error(exact: Exact, api: httpx.Client) -> None:
    response = api.get(f"/{exact.sandbox.state.forbidden_division}/financial/GLAccounts")
    assert response.status_code == 403 and response.json() == sample("error_wrong_division")


def test_generic_error(exact: Exact, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("a sandbox bug")

    monkeypatch.setattr("ml_connector.exact.sandbox.documents.Books.create", broken)
    response = api.post(f"/{exact.division}/crm/Accounts", json={"Name": "x"})
    assert response.status_code == 500 and response.json() == sample("error_generic")


def test_accounts(exact: Exact, api: httpx.Client) -> None:
    listed = get(api, f"/{exact.division}/crm/Accounts")
    assert_shape(sample("accounts_list"), listed, "accounts_list")
    one = listed["d"]["results"][0]
    single = get(api, f"/{exact.division}/crm/Accounts(guid'{one['ID']}')")
    assert_shape(sample("account_single"), single, "account_single")
    assert single["d"]["BankAccounts"] == {"__deferred": {"uri": f"{one['__metadata']['uri']}/BankAccounts"}}
    assert len(single["d"]["Code"]) == 18 and single["d"]["Country"].endswith(" ")


def test_gl_accounts(exact: Exact, api: httpx.Client) -> None:
    listed = get(api, f"/{exact.division}/financial/GLAccounts")
    assert_shape({"d": {"results": sample("glaccounts_list")["d"]["results"]}}, listed, "glaccounts_list")
    gl = listed["d"]["results"][0]
    assert_shape(
        sample("glaccount_single"), get(api, f"/{exact.division}/financial/GLAccounts(guid'{gl['ID']}')")
    )


def test_gl_accounts_next_link_like_exact(exact: Exact, api: httpx.Client) -> None:
    real_next = sample("glaccounts_list")["d"]["__next"]
    ours = get(api, f"/{exact.division}/financial/GLAccounts", **{"$top": "100", "$select": "ID"})
    assert "__next" not in ours["d"]  # 14 rows: one page
    for n in range(60):
        api.post(
            f"/{exact.division}/financial/GLAccounts",
            json={"Code": f"7{n:03d}", "Description": f"Kosten {n}"},
        )
    paged = get(api, f"/{exact.division}/financial/GLAccounts")["d"]["__next"]
    shape = r"^https?://[^/]+/api/v1/\d+/financial/GLAccounts\?\$skiptoken=guid'[0-9a-f-]{36}'$"
    assert re.match(shape, real_next) and re.match(shape, paged)


def test_items(exact: Exact, api: httpx.Client) -> None:
    listed = get(api, f"/{exact.division}/logistics/Items")
    assert_shape(sample("items_list"), listed, "items_list")
    item = listed["d"]["results"][0]
    # item_single.json has "d" as a bare array (an older answer form); the record inside has the same shape.
    assert_shape(
        sample("item_single")["d"][0], get(api, f"/{exact.division}/logistics/Items(guid'{item['ID']}')")["d"]
    )


def test_sales_invoices_with_lines(exact: Exact, api: httpx.Client, invoice_id: str) -> None:
    single = get(api, f"/{exact.division}/salesinvoice/SalesInvoices(guid'{invoice_id}')")
    assert_shape(sample("salesinvoice_single"), single, "salesinvoice_single")
    listed = get(api, f"/{exact.division}/salesinvoice/SalesInvoices", **{"$expand": "SalesInvoiceLines"})
    assert_shape(sample("salesinvoices_list_with_lines"), listed, "salesinvoices_list_with_lines")
    line = listed["d"]["results"][0]["SalesInvoiceLines"]["results"][0]
    assert (line["AmountFC"], line["VATAmountFC"], line["VATPercentage"], line["VATCode"]) == (
        7500,
        1575,
        0.21,
        "2  ",
    )
    plain = get(api, f"/{exact.division}/salesinvoice/SalesInvoices")["d"]["results"][0]
    assert set(plain["SalesInvoiceLines"]) == {"__deferred"}
    assert set(single["d"]["SalesInvoiceOrderChargeLines"]) == {"__deferred"}  # only the lines come inline


def test_me(exact: Exact, api: httpx.Client) -> None:
    me = get(api, "/current/Me")
    assert_shape(sample("me"), me, "me")
    assert me["d"]["results"][0]["CurrentDivision"] == exact.division


def test_rate_limit_headers(limited: Exact) -> None:
    with limited.api() as api:
        response = api.get(f"/{limited.division}/crm/Accounts", params={"$top": "1"})
    real = sample("rate_limit_headers")
    for name, value in real.items():
        assert response.headers[name].isdigit() and value.isdigit(), name
        if name.endswith("Reset"):  # epoch milliseconds on both sides
            assert len(response.headers[name]) == len(value) == 13


def test_webhook_notification(exact: Exact, api: httpx.Client) -> None:
    receiver = Receiver()
    with receiver.server:
        assert subscribe(exact, api, receiver, topic="SalesOrders").status_code == 201
        account = exact.first(api, "crm/Accounts", "Name eq 'Atelier Lemaire'")["ID"]
        item = exact.first(api, "logistics/Items", "Code eq 'P1001'")["ID"]
        body = {"OrderedBy": account, "SalesOrderLines": [{"Item": item}]}
        assert api.post(f"/{exact.division}/salesorder/SalesOrders", json=body).status_code == 201
        assert exact.sandbox.state.webhooks.wait_idle(10)
    real = sample("webhook_notification")
    ours = receiver.notifications()[0]
    assert_shape(real, ours, "webhook_notification")
    assert list(ours) == list(real) and list(ours["Content"]) == list(real["Content"])
    assert re.fullmatch(r"[0-9A-F]{64}", ours["HashCode"]) and re.fullmatch(r"[0-9A-F]{64}", real["HashCode"])
