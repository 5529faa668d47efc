"""Reads: Me, divisions, OData options, paging with __next, bulk, sync, $count (exact-online.md §3-4)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Exact


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["d"]["results"]
    return rows


def make_accounts(exact: Exact, api: httpx.Client, count: int) -> None:
    for n in range(count):
        response = api.post(
            f"/{exact.division}/crm/Accounts", json={"Name": f"Klant {n:04d}", "City": "Delft"}
        )
        assert response.status_code == 201, response.text


def test_me_has_current_division(exact: Exact, api: httpx.Client) -> None:
    me = results(api.get("/current/Me", params={"$select": "CurrentDivision"}))
    assert me == [{"__metadata": me[0]["__metadata"], "CurrentDivision": exact.division}]
    assert me[0]["__metadata"]["type"] == "Exact.Web.Api.System.Me"


def test_divisions_lists_only_accessible_ones_and_others_are_forbidden(
    exact: Exact, api: httpx.Client
) -> None:
    codes = {row["Code"] for row in results(api.get(f"/{exact.division}/system/Divisions"))}
    state = exact.sandbox.state
    assert codes == set(state.accessible) and exact.division in codes and len(codes) == 3
    for other in codes:
        assert api.get(f"/{other}/crm/Accounts", params={"$top": "1"}).status_code == 200
    forbidden = api.get(f"/{state.forbidden_division}/crm/Accounts")
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "error": {"code": "", "message": {"lang": "", "value": "Forbidden - WrongDivision"}}
    }


def test_accept_json_is_required(exact: Exact, api: httpx.Client) -> None:
    response = api.get(f"/{exact.division}/crm/Accounts", headers={"Accept": "*/*"})
    assert response.status_code == 406


def test_missing_token_is_401(exact: Exact) -> None:
    response = exact.http.get(
        f"/api/v1/{exact.division}/crm/Accounts", headers={"Accept": "application/json"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("Code eq 'P1001'", {"P1001"}),
        ("Code eq 'p1001   '", {"P1001"}),  # SQL Server: case-insensitive, trailing spaces ignored
        ("Code ne 'P1001' and startswith(Code, 'P100')", {f"P100{n}" for n in range(2, 9)}),
        ("(Code eq 'SHIPPING' or Code eq 'DISCOUNT') and not (Code eq 'DISCOUNT')", {"SHIPPING"}),
        ("substringof('FEE', Code) eq true", {"PAYMENTFEE"}),
        ("endswith(Code, 'ING')", {"SHIPPING"}),
        ("Code gt 'P1006' and Code le 'P1008'", {"P1007", "P1008"}),
        ("Description eq 'Theepot' or Description eq 'O''Neill'", {"P1002"}),
        ("GLCosts eq null and Code lt 'B'", set()),
        ("trim(SalesVatCode) eq '1'", {"P1007"}),
        ("length(Code) eq 10", {"PAYMENTFEE"}),
    ],
)
def test_filter_operators(exact: Exact, api: httpx.Client, filter_: str, expected: set[str]) -> None:
    rows = results(
        api.get(f"/{exact.division}/logistics/Items", params={"$filter": filter_, "$select": "Code"})
    )
    assert {row["Code"] for row in rows} == expected


def test_filter_literals_guid_datetime_long(exact: Exact, api: httpx.Client) -> None:
    item = exact.first(api, "logistics/Items", "Code eq 'P1003'", "ID,Created")
    by_guid = results(
        api.get(f"/{exact.division}/logistics/Items", params={"$filter": f"ID eq guid'{item['ID']}'"})
    )
    assert [row["ID"] for row in by_guid] == [item["ID"]]
    # Created is Amsterdam wall-clock time: 10:00 UTC on 10 March is 11:00 in Amsterdam.
    assert item["Created"] == "/Date(1773140400000)/"
    before = results(
        api.get(
            f"/{exact.division}/logistics/Items",
            params={"$filter": "Created lt datetime'2026-03-10T11:00:00'"},
        )
    )
    at = results(
        api.get(
            f"/{exact.division}/logistics/Items",
            params={"$filter": "Created ge datetime'2026-03-10T11:00:00'"},
        )
    )
    assert before == [] and len(at) == 11
    assert (
        results(api.get(f"/{exact.division}/logistics/Items", params={"$filter": "SecurityLevel gt 5L"}))
        == []
    )


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ("ID eq '0b8f6c1e-0000-0000-0000-000000000000'", "incompatible"),
        ("Created gt '2026-01-01'", "incompatible"),
        ("Nope eq 1", "No property 'Nope'"),
        ("Code eq", "Expression expected"),
        ("Code eq 'x' and", "Expression expected"),
        ("unknownfn(Code)", "Unknown function"),
        ("ID eq guid'not-a-guid'", "Unrecognized"),
    ],
)
def test_bad_filters_get_exact_error_bodies(
    exact: Exact, api: httpx.Client, filter_: str, message: str
) -> None:
    response = api.get(f"/{exact.division}/logistics/Items", params={"$filter": filter_})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]["value"]


def test_select_orderby_top_skip_inlinecount(exact: Exact, api: httpx.Client) -> None:
    path = f"/{exact.division}/logistics/Items"
    ordered = results(
        api.get(path, params={"$select": "Code", "$orderby": "Code desc", "$top": "3", "$skip": "1"})
    )
    assert [row["Code"] for row in ordered] == ["PAYMENTFEE", "P1008", "P1007"]  # after SHIPPING
    assert set(ordered[0]) == {"__metadata", "Code"}
    counted = api.get(path, params={"$select": "Code", "$top": "2", "$inlinecount": "allpages"}).json()["d"]
    assert counted["__count"] == "11" and len(counted["results"]) == 2
    bad = api.get(path, params={"$select": "Code,Nope"})
    assert (
        bad.json()["error"]["message"]["value"]
        == "Type 'Exact.Web.Api.Models.Item' does not have a property named 'Nope'."
    )


def test_paging_60_rows_with_absolute_next_until_done(exact: Exact, api: httpx.Client) -> None:
    make_accounts(exact, api, 130)
    base = f"{exact.info['base_url']}/api/v1/{exact.division}"
    url: str | None = f"{base}/crm/Accounts?$select=ID,Name&$filter=City eq 'Delft'"
    seen: list[str] = []
    pages = 0
    while url:
        body = api.get(url).json()["d"]
        pages += 1
        assert len(body["results"]) <= 60
        seen += [row["ID"] for row in body["results"]]
        url = body.get("__next")
        if url:
            assert url.startswith(exact.info["base_url"] + "/api/v1/")
            assert "$skiptoken=guid'" in url
    assert pages == 3 and len(seen) == 130 == len(set(seen))


def test_paging_respects_top_and_orderby(exact: Exact, api: httpx.Client) -> None:
    make_accounts(exact, api, 70)
    first = api.get(
        f"/{exact.division}/crm/Accounts",
        params={"$select": "Name", "$orderby": "Name", "$top": "65", "$filter": "City eq 'Delft'"},
    ).json()["d"]
    assert len(first["results"]) == 60
    rest = api.get(first["__next"]).json()["d"]
    names = [r["Name"] for r in first["results"] + rest["results"]]
    assert names == [f"Klant {n:04d}" for n in range(65)] and "__next" not in rest


def test_count_endpoint(exact: Exact, api: httpx.Client) -> None:
    response = api.get(f"/{exact.division}/financial/GLAccounts/$count")
    assert response.text == "14"


def test_bulk_requires_select_and_pages_by_1000(exact: Exact, api: httpx.Client) -> None:
    missing = api.get(f"/{exact.division}/bulk/CRM/Accounts")
    assert missing.status_code == 400
    assert (
        missing.json()["error"]["message"]["value"]
        == "Please add a $select or a $top=1 statement to the query string."
    )
    make_accounts(exact, api, 1000)
    body = api.get(f"/{exact.division}/bulk/CRM/Accounts", params={"$select": "ID"}).json()["d"]
    assert len(body["results"]) == 1000
    assert len(results(api.get(body["__next"]))) == 5


def test_sync_returns_changes_in_timestamp_order_and_only_filters_on_timestamp(
    exact: Exact, api: httpx.Client
) -> None:
    path = f"/{exact.division}/sync/CRM/Accounts"
    first = results(api.get(path, params={"$filter": "Timestamp gt 1L", "$select": "ID,Name,Timestamp"}))
    stamps = [row["Timestamp"] for row in first]
    assert stamps == sorted(stamps) and len(first) == 5
    top = stamps[-1]
    assert results(api.get(path, params={"$filter": f"Timestamp gt {top}L"})) == []
    target = first[0]["ID"]
    assert (
        api.put(f"/{exact.division}/crm/Accounts(guid'{target}')", json={"Phone": "010-1234567"}).status_code
        == 204
    )
    changed = results(
        api.get(path, params={"$filter": f"Timestamp gt {top}L", "$select": "ID,Phone,Timestamp"})
    )
    assert [(row["ID"], row["Phone"]) for row in changed] == [(target, "010-1234567")]
    assert changed[0]["Timestamp"] > top
    refused = api.get(path, params={"$filter": "Name eq 'x'"})
    assert refused.status_code == 400


def test_sync_pages_by_1000_with_timestamp_skiptoken(exact: Exact, api: httpx.Client) -> None:
    make_accounts(exact, api, 1100)
    body = api.get(
        f"/{exact.division}/sync/CRM/Accounts",
        params={"$filter": "Timestamp gt 1L", "$select": "ID,Timestamp"},
    ).json()["d"]
    assert len(body["results"]) == 1000 and "$skiptoken=" in body["__next"]
    rest = results(api.get(body["__next"]))
    assert len(rest) == 105 and rest[0]["Timestamp"] > body["results"][-1]["Timestamp"]


def test_single_record_by_key_and_404(exact: Exact, api: httpx.Client) -> None:
    gl = exact.first(api, "financial/GLAccounts", "Code eq '8000'")
    single = api.get(f"/{exact.division}/financial/GLAccounts(guid'{gl['ID']}')").json()
    assert single["d"]["Code"] == "8000" and single["d"]["Type"] == 110 and single["d"]["BalanceType"] == "W"
    missing = api.get(f"/{exact.division}/financial/GLAccounts(guid'00000000-0000-4000-8000-000000000000')")
    assert missing.status_code == 404


def test_navigation_properties(exact: Exact, api: httpx.Client) -> None:
    account = exact.first(api, "crm/Accounts", "Name eq 'Atelier Lemaire'")["ID"]
    bank = api.get(f"/{exact.division}/crm/Accounts(guid'{account}')/BankAccounts").json()
    assert bank == {"d": {"results": []}}
    assert api.get(f"/{exact.division}/crm/Accounts(guid'{account}')/Nope").status_code == 404


def test_skiptoken_paging_keeps_top(exact: Exact, api: httpx.Client) -> None:
    make_accounts(exact, api, 100)
    path = f"/{exact.division}/crm/Accounts"
    first = api.get(path, params={"$select": "ID", "$top": "70", "$filter": "City eq 'Delft'"}).json()["d"]
    assert "$top=10" in first["__next"]
    rest = api.get(first["__next"]).json()["d"]
    assert len(rest["results"]) == 10 and "__next" not in rest
    assert not {r["ID"] for r in rest["results"]} & {r["ID"] for r in first["results"]}


def test_sync_sales_invoices_streams_header_and_lines_and_bumps_both(exact: Exact, api: httpx.Client) -> None:
    account = exact.first(api, "crm/Accounts", "Name eq 'Atelier Lemaire'")["ID"]
    item = exact.first(api, "logistics/Items", "Code eq 'P1002'")["ID"]
    body = {"OrderedBy": account, "YourRef": "S-1", "SalesInvoiceLines": [{"Item": item}, {"Item": item}]}
    invoice = api.post(f"/{exact.division}/salesinvoice/SalesInvoices", json=body).json()["d"]["InvoiceID"]
    path = f"/{exact.division}/sync/SalesInvoice/SalesInvoices"
    params = {"$filter": "Timestamp gt 1L", "$select": "ID,InvoiceID,LineNumber,YourRef,Timestamp"}
    rows = results(api.get(path, params=params))
    assert sorted(row["LineNumber"] for row in rows) == [0, 1, 2]
    assert {row["InvoiceID"] for row in rows} == {invoice} and {row["YourRef"] for row in rows} == {"S-1"}
    assert [row["Timestamp"] for row in rows] == sorted(row["Timestamp"] for row in rows)
    top = rows[-1]["Timestamp"]
    api.put(
        f"/{exact.division}/salesinvoice/SalesInvoices(guid'{invoice}')", json={"Description": "Gewijzigd"}
    )
    changed = results(api.get(path, params={**params, "$filter": f"Timestamp gt {top}L"}))
    assert sorted(row["LineNumber"] for row in changed) == [0, 1, 2]
