"""Writes: mandatory and derived fields, invoices and their booking, deletes (exact-online.md §3.7, §5)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import pytest

from .conftest import Exact

FULL = {"Prefer": "return=representation"}


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()["d"]
    return record


def error_text(response: httpx.Response) -> str:
    text: str = response.json()["error"]["message"]["value"]
    return text


@pytest.fixture
def refs(exact: Exact, api: httpx.Client) -> dict[str, str]:
    """Keys of seeded records the documents point at."""
    return {
        "account": exact.first(api, "crm/Accounts", "Name eq 'Van Dijk Interieur B.V.'")["ID"],
        "mug": exact.first(api, "logistics/Items", "Code eq 'P1001'")["ID"],
        "book": exact.first(api, "logistics/Items", "Code eq 'P1007'")["ID"],
        "shipping": exact.first(api, "logistics/Items", "Code eq 'SHIPPING'")["ID"],
        "gl_blocked": exact.first(api, "financial/GLAccounts", "Code eq '8090'")["ID"],
    }


def invoice(exact: Exact, api: httpx.Client, refs: dict[str, str], **header: Any) -> dict[str, Any]:
    lines = header.pop("lines", None) or [
        {"Item": refs["mug"], "Quantity": 3, "UnitPrice": 12.5, "CostCenter": "100", "CostUnit": "NL"},
        {"Item": refs["book"], "Quantity": 1, "UnitPrice": 20, "CostCenter": "200"},
        {"Item": refs["shipping"], "Quantity": 1, "UnitPrice": 4.95},
    ]
    body = {"OrderedBy": refs["account"], "YourRef": "WC-1001", "SalesInvoiceLines": lines, **header}
    return created(api.post(f"/{exact.division}/salesinvoice/SalesInvoices", json=body, headers=FULL))


def test_account_gets_padded_auto_code_and_derived_fields(exact: Exact, api: httpx.Client) -> None:
    account = created(
        api.post(
            f"/{exact.division}/crm/Accounts",
            json={"Name": "Nieuw B.V.", "Status": "C", "Country": "nl", "IsSales": False},
            headers=FULL,
        )
    )
    assert account["Code"] == "6".rjust(18)  # five seeded customers
    assert account["Country"] == "NL " and account["IsSales"] is True  # IsSales is GET-only, follows Status C
    assert account["Division"] == exact.division and account["Created"].startswith("/Date(")
    own = created(
        api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Eigen code", "Code": "500"}, headers=FULL)
    )
    assert own["Code"] == "500".rjust(18)
    dup = api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Dubbel", "Code": "500"})
    assert dup.status_code == 400 and "already exists" in error_text(dup)


def test_post_without_prefer_fills_only_the_key(exact: Exact, api: httpx.Client) -> None:
    minimal = created(api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Kort"}))
    assert (
        minimal["ID"]
        and minimal["Name"] is None
        and minimal["__metadata"]["uri"].endswith(f"(guid'{minimal['ID']}')")
    )


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("crm/Accounts", {"City": "Delft"}, "Mandatory field missing: Name"),
        ("crm/Contacts", {"Account": None, "FirstName": "A"}, "Mandatory field missing: Account"),
        ("logistics/Items", {"Description": "x"}, "Mandatory field missing: Code"),
        ("financial/GLAccounts", {"Code": "9000"}, "Mandatory field missing: Description"),
        (
            "crm/Accounts",
            {"Name": "x", "Bogus": 1},
            "The property name 'Bogus' specified for type 'Exact.Web.Api.Models.Account' is not valid",
        ),
        (
            "crm/Accounts",
            {"Name": "x", "Blocked": "yes"},
            "converting the value from request payload for property 'Blocked'",
        ),
        ("crm/Accounts", {"Name": "x", "Parent": "not-a-guid"}, "to type 'Edm.Guid'"),
        ("crm/Accounts", ["not", "an", "object"], "valid top-level resource object"),
        (
            "salesinvoice/SalesInvoices",
            {"OrderedBy": "00000000-0000-4000-8000-000000000000", "SalesInvoiceLines": []},
            "Mandatory field missing: SalesInvoiceLines",
        ),
    ],
)
def test_bad_posts_get_400_with_exact_error_body(
    exact: Exact, api: httpx.Client, path: str, body: Any, message: str
) -> None:
    response = api.post(f"/{exact.division}/{path}", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and message in error_text(response)


def test_contact_needs_first_or_last_name_and_becomes_main_contact(exact: Exact, api: httpx.Client) -> None:
    account = created(api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Met contact"}, headers=FULL))
    nameless = api.post(f"/{exact.division}/crm/Contacts", json={"Account": account["ID"]})
    assert nameless.status_code == 400 and "FirstName or LastName" in error_text(nameless)
    contact = created(
        api.post(
            f"/{exact.division}/crm/Contacts",
            json={"Account": account["ID"], "LastName": "Smit"},
            headers=FULL,
        )
    )
    assert contact["IsMainContact"] is True and contact["AccountName"] == "Met contact"
    assert (
        api.get(f"/{exact.division}/crm/Accounts(guid'{account['ID']}')").json()["d"]["MainContact"]
        == contact["ID"]
    )


def test_put_is_204_and_delete_is_204_with_sync_deleted_entry(exact: Exact, api: httpx.Client) -> None:
    account = created(api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Tijdelijk"}, headers=FULL))
    url = f"/{exact.division}/crm/Accounts(guid'{account['ID']}')"
    put = api.put(url, json={"City": "Leiden"})
    assert put.status_code == 204 and put.content == b""
    assert api.get(url).json()["d"]["City"] == "Leiden"
    assert api.put(url, json={"Name": ""}).status_code == 400
    deleted = api.delete(url)
    assert deleted.status_code == 204 and api.get(url).status_code == 404
    log = api.get(f"/{exact.division}/sync/Deleted", params={"$filter": "Timestamp gt 1L"}).json()["d"][
        "results"
    ]
    assert [(row["EntityKey"], row["EntityType"]) for row in log] == [(account["ID"], 2)]
    exact.clock.advance(62 * 86400)  # kept for two months only
    with exact.api() as fresh:
        assert (
            fresh.get(f"/{exact.division}/sync/Deleted", params={"$filter": "Timestamp gt 1L"}).json()["d"][
                "results"
            ]
            == []
        )


def test_sales_invoice_fills_amounts_vat_gl_and_numbers(
    exact: Exact, api: httpx.Client, refs: dict[str, str]
) -> None:
    record = invoice(exact, api, refs)
    assert (
        record["Journal"] == "50" and record["JournalDescription"] == "Verkoopboek"
    )  # default sales journal
    assert record["Status"] == 20 and record["InvoiceNumber"] is None and record["Type"] == 8020
    assert record["OrderNumber"] == 1 and record["OrderedByName"] == "Van Dijk Interieur B.V."
    assert record["InvoiceTo"] == refs["account"] and record["PaymentCondition"] == "14"
    lines = record["SalesInvoiceLines"]["results"]
    assert [line["LineNumber"] for line in lines] == [1, 2, 3]
    assert [(line["AmountFC"], line["VATAmountFC"], line["VATCode"]) for line in lines] == [
        (37.5, 7.88, "2  "),
        (20, 1.8, "1  "),
        (4.95, 1.04, "2  "),
    ]
    assert (
        lines[0]["CostCenter"] == "100"
        and lines[0]["CostCenterDescription"] == "Webshop"
        and lines[0]["CostUnit"] == "NL"
    )
    gl_8000 = exact.first(api, "financial/GLAccounts", "Code eq '8000'")["ID"]
    assert lines[0]["GLAccount"] == gl_8000  # from the item's revenue account
    assert record["AmountFC"] == 73.17 and record["VATAmountFC"] == 10.72
    by_ref = api.get(
        f"/{exact.division}/salesinvoice/SalesInvoices",
        params={"$filter": "YourRef eq 'WC-1001'", "$select": "InvoiceID"},
    )
    assert [r["InvoiceID"] for r in by_ref.json()["d"]["results"]] == [record["InvoiceID"]]
    assert invoice(exact, api, refs, YourRef="WC-1002")["OrderNumber"] == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"Quantity": 1}, "Mandatory field missing: Item"),
        ({"Item": "00000000-0000-4000-8000-000000000000"}, "Item (line 1): Items"),
        (
            {"Item": "MUG", "CostCenter": "777"},
            "CostCenter (line 1): CostCenters with code '777' does not exist",
        ),
        ({"Item": "MUG", "VATCode": "99"}, "VATCodes with code '99' does not exist"),
        ({"Item": "MUG", "GLAccount": "BLOCKED"}, "is blocked"),
    ],
)
def test_invoice_line_references_are_checked(
    exact: Exact, api: httpx.Client, refs: dict[str, str], line: dict[str, Any], message: str
) -> None:
    line = {
        k: refs["mug"] if v == "MUG" else refs["gl_blocked"] if v == "BLOCKED" else v for k, v in line.items()
    }
    response = api.post(
        f"/{exact.division}/salesinvoice/SalesInvoices",
        json={"OrderedBy": refs["account"], "SalesInvoiceLines": [line]},
    )
    assert response.status_code == 400 and message in error_text(response)
    assert (
        exact.sandbox.state.divisions[exact.division].counts()["SalesInvoices"] == 0
    )  # nothing half-written


def test_item_without_revenue_account_needs_gl_on_the_line(
    exact: Exact, api: httpx.Client, refs: dict[str, str]
) -> None:
    bare = created(
        api.post(
            f"/{exact.division}/logistics/Items",
            json={"Code": "BARE", "Description": "Zonder grootboek"},
            headers=FULL,
        )
    )
    response = api.post(
        f"/{exact.division}/salesinvoice/SalesInvoices",
        json={"OrderedBy": refs["account"], "SalesInvoiceLines": [{"Item": bare["ID"]}]},
    )
    assert response.status_code == 400 and "GLAccount" in error_text(response)


def transaction_lines(exact: Exact, api: httpx.Client, entry: str) -> list[dict[str, Any]]:
    response = api.get(
        f"/{exact.division}/financialtransaction/TransactionLines",
        params={
            "$filter": f"EntryID eq guid'{entry}'",
            "$select": "GLAccountCode,AmountDC,CostCenter,CostUnit,InvoiceNumber,Type,YourRef",
        },
    )
    rows: list[dict[str, Any]] = response.json()["d"]["results"]
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[tuple[str, str | None], float]:
    result: dict[tuple[str, str | None], float] = defaultdict(float)
    for row in rows:
        result[(row["GLAccountCode"], row["CostCenter"])] = round(
            result[(row["GLAccountCode"], row["CostCenter"])] + row["AmountDC"], 2
        )
    return dict(result)


def test_processing_an_invoice_books_the_revenue_journal_once(
    exact: Exact, api: httpx.Client, refs: dict[str, str]
) -> None:
    record = invoice(exact, api, refs)
    assert transaction_lines(exact, api, record["InvoiceID"]) == []  # an open invoice is not booked yet
    printed = api.post(
        f"/{exact.division}/salesinvoice/PrintedSalesInvoices",
        json={"InvoiceID": record["InvoiceID"]},
        headers=FULL,
    )
    assert created(printed)["DocumentCreationSuccess"]
    processed = api.get(f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')").json()[
        "d"
    ]
    assert processed["Status"] == 50 and processed["InvoiceNumber"] == 26000001
    rows = transaction_lines(exact, api, record["InvoiceID"])
    assert totals(rows) == {
        ("1300", None): 73.17,  # receivable, incl. VAT
        ("8000", "100"): -37.5,
        ("8010", "200"): -20,
        ("8050", None): -4.95,
        ("1500", None): -8.92,  # VAT high: 7.88 + 1.04
        ("1510", None): -1.8,
    }
    assert round(sum(row["AmountDC"] for row in rows), 2) == 0
    ledger = exact.http.get(f"/_sandbox/ledger/{exact.division}").json()
    assert ledger["entries"] == 1
    assert {
        (t["GLAccountCode"], t["CostCenter"], t["CostUnit"]): t["AmountDC"] for t in ledger["totals"]
    } == {
        ("1300", None, None): 73.17,
        ("8000", "100", "NL"): -37.5,
        ("8010", "200", None): -20,
        ("8050", None, None): -4.95,
        ("1500", None, None): -8.92,
        ("1510", None, None): -1.8,
    }
    assert {row["InvoiceNumber"] for row in rows} == {26000001} and {row["YourRef"] for row in rows} == {
        "WC-1001"
    }
    again = api.post(
        f"/{exact.division}/salesinvoice/PrintedSalesInvoices", json={"InvoiceID": record["InvoiceID"]}
    )
    assert again.status_code == 400 and "already been processed" in error_text(again)
    assert len(transaction_lines(exact, api, record["InvoiceID"])) == len(rows)
    locked = api.put(
        f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')",
        json={"Description": "x"},
    )
    assert locked.status_code == 400
    assert (
        api.delete(f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')").status_code
        == 400
    )


def test_credit_note_books_the_reverse(exact: Exact, api: httpx.Client, refs: dict[str, str]) -> None:
    credit = invoice(
        exact,
        api,
        refs,
        Type=8021,
        Journal="51",
        lines=[{"Item": refs["mug"], "Quantity": -2, "UnitPrice": 10}],
    )
    assert credit["AmountFC"] == -24.2 and credit["Journal"] == "51"
    api.post(f"/{exact.division}/salesinvoice/PrintedSalesInvoices", json={"InvoiceID": credit["InvoiceID"]})
    rows = transaction_lines(exact, api, credit["InvoiceID"])
    assert totals(rows) == {("1300", None): -24.2, ("8000", None): 20, ("1500", None): 4.2}
    assert {row["Type"] for row in rows} == {21}


def test_non_sales_journal_is_refused(exact: Exact, api: httpx.Client, refs: dict[str, str]) -> None:
    response = api.post(
        f"/{exact.division}/salesinvoice/SalesInvoices",
        json={"OrderedBy": refs["account"], "Journal": "90", "SalesInvoiceLines": [{"Item": refs["mug"]}]},
    )
    assert response.status_code == 400 and "not a sales journal" in error_text(response)


def test_line_posted_on_its_own_endpoint_updates_the_totals(
    exact: Exact, api: httpx.Client, refs: dict[str, str]
) -> None:
    record = invoice(exact, api, refs, lines=[{"Item": refs["mug"], "Quantity": 1, "UnitPrice": 10}])
    line = created(
        api.post(
            f"/{exact.division}/salesinvoice/SalesInvoiceLines",
            json={"InvoiceID": record["InvoiceID"], "Item": refs["mug"], "Quantity": 1, "UnitPrice": 5},
            headers=FULL,
        )
    )
    assert line["LineNumber"] == 2
    header = api.get(f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')").json()["d"]
    assert header["AmountFC"] == 18.15 and len(header["SalesInvoiceLines"]["results"]) == 2
    api.put(f"/{exact.division}/salesinvoice/SalesInvoiceLines(guid'{line['ID']}')", json={"Quantity": 2})
    header = api.get(f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')").json()["d"]
    assert header["AmountFC"] == 24.2


def test_sales_order_rules(exact: Exact, api: httpx.Client, refs: dict[str, str]) -> None:
    body = {
        "OrderedBy": refs["account"],
        "YourRef": "100000123",
        "SalesOrderLines": [{"Item": refs["mug"], "Quantity": 2, "NetPrice": 10, "CostCenter": "300"}],
    }
    order = created(api.post(f"/{exact.division}/salesorder/SalesOrders", json=body, headers=FULL))
    assert (
        order["Status"] == 12
        and order["OrderNumber"] == 1
        and order["AmountFCExclVat"] == 20
        and order["AmountFC"] == 24.2
    )
    assert order["SalesOrderLines"]["results"][0]["VATAmount"] == 4.2
    other = exact.first(api, "crm/Accounts", "Name eq 'Jansen & Zonen'")["ID"]
    url = f"/{exact.division}/salesorder/SalesOrders(guid'{order['OrderID']}')"
    assert api.put(url, json={"InvoiceTo": other}).status_code == 400
    assert api.put(url, json={"Description": "Spoed"}).status_code == 204
    assert (
        api.post(f"/{exact.division}/salesorder/SalesOrders", json={"OrderedBy": refs["account"]}).status_code
        == 400
    )


def test_sales_entry_books_gl_only_revenue(exact: Exact, api: httpx.Client, refs: dict[str, str]) -> None:
    gl = {
        code: exact.first(api, "financial/GLAccounts", f"Code eq '{code}'")["ID"] for code in ("8000", "8050")
    }
    body = {
        "Customer": refs["account"],
        "Journal": "50",
        "YourRef": "100000124",
        "SalesEntryLines": [
            {"GLAccount": gl["8000"], "AmountFC": 100, "CostCenter": "100"},
            {"GLAccount": gl["8050"], "AmountFC": 5, "VATCode": "2"},
        ],
    }
    entry = created(api.post(f"/{exact.division}/salesentry/SalesEntries", json=body, headers=FULL))
    assert entry["AmountFC"] == 127.05 and entry["EntryNumber"] == 1 and entry["Type"] == 20
    assert totals(transaction_lines(exact, api, entry["EntryID"])) == {
        ("1300", None): 127.05,
        ("8000", "100"): -100,
        ("8050", None): -5,
        ("1500", None): -22.05,
    }
    missing = api.post(
        f"/{exact.division}/salesentry/SalesEntries",
        json={"Customer": refs["account"], "Journal": "50", "SalesEntryLines": [{"GLAccount": gl["8000"]}]},
    )
    assert missing.status_code == 400 and "AmountFC" in error_text(missing)


def test_general_journal_entry_has_no_put(exact: Exact, api: httpx.Client) -> None:
    gl = {
        code: exact.first(api, "financial/GLAccounts", f"Code eq '{code}'")["ID"] for code in ("8000", "4500")
    }
    body = {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {"GLAccount": gl["4500"], "AmountFC": 10},
            {"GLAccount": gl["8000"], "AmountFC": -10},
        ],
    }
    entry = created(
        api.post(f"/{exact.division}/generaljournalentry/GeneralJournalEntries", json=body, headers=FULL)
    )
    assert entry["Type"] == 90 and entry["JournalDescription"] == "Memoriaal"
    assert totals(transaction_lines(exact, api, entry["EntryID"])) == {
        ("4500", None): 10,
        ("8000", None): -10,
    }
    put = api.put(
        f"/{exact.division}/generaljournalentry/GeneralJournalEntries(guid'{entry['EntryID']}')", json={}
    )
    assert put.status_code == 405


def test_payment_conditions_cannot_be_updated(exact: Exact, api: httpx.Client) -> None:
    condition = exact.first(api, "cashflow/PaymentConditions", "Code eq '30'")
    assert (
        api.put(
            f"/{exact.division}/cashflow/PaymentConditions(guid'{condition['ID']}')",
            json={"Description": "x"},
        ).status_code
        == 405
    )


def test_divisions_are_isolated(exact: Exact, api: httpx.Client) -> None:
    other = next(iter(exact.sandbox.state.accessible - {exact.division}))
    created(api.post(f"/{other}/crm/Accounts", json={"Name": "Alleen hier"}))
    here = api.get(f"/{exact.division}/crm/Accounts", params={"$filter": "Name eq 'Alleen hier'"}).json()[
        "d"
    ]["results"]
    there = api.get(f"/{other}/crm/Accounts", params={"$filter": "Name eq 'Alleen hier'"}).json()["d"][
        "results"
    ]
    assert here == [] and len(there) == 1


def test_refused_processing_books_nothing_and_leaves_no_gap_in_invoice_numbers(
    exact: Exact, api: httpx.Client, refs: dict[str, str]
) -> None:
    customer = created(
        api.post(f"/{exact.division}/crm/Accounts", json={"Name": "Zonder debiteurenrekening"}, headers=FULL)
    )
    journal = exact.first(api, "financial/Journals", "Code eq '50'", "ID,GLAccount")
    journal_url = f"/{exact.division}/financial/Journals(guid'{journal['ID']}')"
    assert api.put(journal_url, json={"GLAccount": None}).status_code == 204
    record = invoice(exact, api, refs, OrderedBy=customer["ID"])
    refused = api.post(
        f"/{exact.division}/salesinvoice/PrintedSalesInvoices", json={"InvoiceID": record["InvoiceID"]}
    )
    assert refused.status_code == 400 and "receivables" in error_text(refused)
    assert transaction_lines(exact, api, record["InvoiceID"]) == []
    api.put(journal_url, json={"GLAccount": journal["GLAccount"]})
    api.post(f"/{exact.division}/salesinvoice/PrintedSalesInvoices", json={"InvoiceID": record["InvoiceID"]})
    processed = api.get(f"/{exact.division}/salesinvoice/SalesInvoices(guid'{record['InvoiceID']}')").json()[
        "d"
    ]
    assert processed["InvoiceNumber"] == 26000001


def test_records_in_use_cannot_be_deleted(exact: Exact, api: httpx.Client, refs: dict[str, str]) -> None:
    record = invoice(exact, api, refs)
    assert api.delete(f"/{exact.division}/crm/Accounts(guid'{refs['account']}')").status_code == 400
    assert api.delete(f"/{exact.division}/logistics/Items(guid'{refs['mug']}')").status_code == 400
    api.post(f"/{exact.division}/salesinvoice/PrintedSalesInvoices", json={"InvoiceID": record["InvoiceID"]})
    line = record["SalesInvoiceLines"]["results"][0]["ID"]
    assert api.delete(f"/{exact.division}/salesinvoice/SalesInvoiceLines(guid'{line}')").status_code == 400


def test_bodies_over_10_mb_are_refused(exact: Exact, api: httpx.Client) -> None:
    response = api.post(f"/{exact.division}/crm/Accounts", json={"Name": "x" * (10 * 1024 * 1024)})
    assert response.status_code == 413
