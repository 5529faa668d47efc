"""Financial entries: what processing an invoice or posting an entry books in TransactionLines.

A sales document books its revenue per line (GL account, cost center, cost unit) on the credit side,
the VAT per VAT code on the code's GL account, and the total on the customer's receivables account,
so every entry balances to zero. This is what Exact's revenue journal and reports add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .amounts import money, number
from .formats import bad_request, date_ms

if TYPE_CHECKING:
    from .documents import Books


@dataclass(frozen=True)
class Entry:
    entry_id: str
    entry_number: int
    entry_type: int  # TransactionLines Type: 20 sales entry, 21 sales credit note, 90 other
    journal: dict[str, Any]
    header: dict[str, Any]  # the invoice or entry: dates, currency, references
    customer: dict[str, Any] | None  # None: no receivable line (general journal entries)
    lines: list[dict[str, Any]]
    signed: bool = False


def book(books: Books, entry: Entry) -> None:
    """Write the financial entry: revenue (credit) per line, VAT per code, and the receivable (debit).

    Every check runs before the first row is stored, so a refused booking writes nothing.

    Sales lines carry positive revenue amounts and are credited; general journal lines are booked
    with their own sign (`signed`: debit positive).
    """
    journal, header, customer, lines = entry.journal, entry.header, entry.customer, entry.lines
    date = header.get("InvoiceDate") or header.get("EntryDate") or books.today()
    moment = datetime.fromtimestamp((date_ms(date) or 0) / 1000, UTC)
    common = {
        "EntryID": entry.entry_id,
        "EntryNumber": entry.entry_number,
        "JournalCode": journal["Code"],
        "JournalDescription": journal["Description"],
        "Type": entry.entry_type,
        "Date": date,
        "FinancialYear": moment.year,
        "FinancialPeriod": moment.month,
        "Currency": header.get("Currency") or "EUR",
        "YourRef": header.get("YourRef"),
        "InvoiceNumber": header.get("InvoiceNumber") if "InvoiceNumber" in header else None,
        "OrderNumber": header.get("OrderNumber"),
        "Status": 50,
    }
    if customer is not None:
        common.update(Account=customer["ID"], AccountCode=customer["Code"], AccountName=customer["Name"])
    sign = Decimal(1) if entry.signed else Decimal(-1)
    booked: list[dict[str, Any]] = []
    vat_totals: dict[str, Decimal] = {}
    total = Decimal(0)
    for line in lines:
        amount = money(line["AmountFC"])
        vat = money(line.get("VATAmountFC", line.get("AmountVATFC")))
        total += amount + vat
        if line.get("VATCode") and vat:
            vat_totals[line["VATCode"]] = vat_totals.get(line["VATCode"], Decimal(0)) + vat
        gl = books.ref("GLAccounts", line["GLAccount"], "GLAccount")
        booked.append(
            {
                "GLAccount": gl["ID"],
                "GLAccountCode": gl["Code"],
                "GLAccountDescription": gl["Description"],
                "AmountDC": number(sign * amount),
                "AmountFC": number(sign * amount),
                "AmountVATFC": number(vat),
                "AmountVATBaseFC": number(amount),
                "CostCenter": line.get("CostCenter"),
                "CostCenterDescription": line.get("CostCenterDescription"),
                "CostUnit": line.get("CostUnit"),
                "CostUnitDescription": line.get("CostUnitDescription"),
                "Description": line.get("Description"),
                "Item": line.get("Item"),
                "ItemCode": line.get("ItemCode"),
                "ItemDescription": line.get("ItemDescription"),
                "Quantity": line.get("Quantity"),
                "VATCode": line.get("VATCode"),
                "VATCodeDescription": line.get("VATCodeDescription"),
                "VATPercentage": line.get("VATPercentage"),
            }
        )
    for code, vat in vat_totals.items():
        vat_code = books.by_code("VATCodes", code, "VATCode")
        gl_key = vat_code.get("GLToPay")
        if not gl_key:
            raise bad_request(f"VATCode {code.strip()} has no GL account to book VAT on (GLToPay).")
        gl = books.ref("GLAccounts", gl_key, "GLToPay")
        booked.append(
            {
                "GLAccount": gl["ID"],
                "GLAccountCode": gl["Code"],
                "GLAccountDescription": gl["Description"],
                "AmountDC": number(sign * vat),
                "AmountFC": number(sign * vat),
                "VATCode": code,
                "Description": f"VAT {code.strip()}",
                "LineType": 2,
            }
        )
    if customer is not None:
        receivable = _receivable_gl(books, customer, journal)
        booked.insert(
            0,
            {
                "GLAccount": receivable["ID"],
                "GLAccountCode": receivable["Code"],
                "GLAccountDescription": receivable["Description"],
                "AmountDC": number(-sign * total),
                "AmountFC": number(-sign * total),
                "Description": header.get("Description"),
                "LineType": 1,
            },
        )
    for number_, values in enumerate(booked):
        row = books.new_row("TransactionLines", {})
        row.update(common)
        row.update(values)
        row["LineNumber"] = number_
        books.store("TransactionLines", row)


def _receivable_gl(books: Books, customer: dict[str, Any], journal: dict[str, Any]) -> dict[str, Any]:
    key = customer.get("GLAR") or journal.get("GLAccount")
    if not key:
        raise bad_request(f"Journal {journal['Code']} has no receivables GL account.")
    return books.ref("GLAccounts", key, "GLAR")


def ledger_totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sum booked TransactionLines per (GL account, cost center, cost unit), to the cent."""
    sums: dict[tuple[str, str | None, str | None], Decimal] = {}
    for line in lines:
        key = (line["GLAccountCode"], line.get("CostCenter"), line.get("CostUnit"))
        sums[key] = sums.get(key, Decimal(0)) + money(line["AmountDC"])
    return [
        {"GLAccountCode": gl, "CostCenter": center, "CostUnit": unit, "AmountDC": number(amount)}
        for (gl, center, unit), amount in sorted(
            sums.items(), key=lambda item: tuple(str(k) for k in item[0])
        )
    ]
