"""Reconciliation on the real orders and refunds against Exact documents built from our own drafts."""

import csv
import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.flows.reconcile import ExactDocument, FindingKind, Period, reconcile
from ml_connector.flows.woocommerce.invoices import map_order, map_refund
from ml_connector.flows.woocommerce.reconcile import expected_documents
from tests.flows import woo_data as w

NOVEMBER = Period.parse("2026-11")


def scenario() -> tuple[list[Any], dict[int, list[Any]], list[ExactDocument]]:
    """All real orders with their real refunds, and the Exact documents a correct sync posts."""
    orders = [w.order(name) for name in w.ORDER_FILES]
    refunds = {22: [w.refund("refund-single.json")], 25: [w.refund("refund-create-post-response.json")]}
    context, lookups = w.context(), w.lookups()
    posted = []
    for number, order in enumerate(orders, start=1):
        if order.status not in w.settings().order_statuses:
            continue
        drafts = [map_order(order, context, lookups, w.ACCOUNT_ID)]
        drafts += [
            map_refund(order, refund, context, lookups, w.ACCOUNT_ID) for refund in refunds.get(order.id, [])
        ]
        for index, draft in enumerate(drafts):
            record = {
                "YourRef": draft.your_ref,
                "InvoiceID": f"inv-{number}-{index}",
                "InvoiceNumber": 26000 + number,
                "AmountFC": float(draft.amount_incl_vat),
                "VATAmountFC": float(draft.vat_amount),
            }
            posted.append(ExactDocument.from_record(record))
    return orders, refunds, posted


def test_period_parsing() -> None:
    assert (NOVEMBER.start, NOVEMBER.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert Period.parse("2024-02") == Period(date(2024, 2, 1), date(2024, 2, 29))
    assert Period.parse("2026-11-05") == Period(date(2026, 11, 5), date(2026, 11, 5))
    assert Period.parse("2026-10-01..2026-10-15").end == date(2026, 10, 15)
    assert date(2026, 11, 30) in NOVEMBER and date(2026, 12, 1) not in NOVEMBER
    with pytest.raises(ValueError, match="is not a month"):
        Period.parse("last month")
    with pytest.raises(ValueError, match="ends before it starts"):
        Period.parse("2026-10-15..2026-10-01")


def test_expected_documents_follow_the_selection_and_dates() -> None:
    orders, refunds, _ = scenario()
    expected = {doc.ref: doc for doc in expected_documents(orders, refunds, w.settings(), NOVEMBER)}
    assert sorted(expected) == [
        "WC-RW-19",
        "WC-RW-21",
        "WC-RW-22",
        "WC-RW-22-R24",
        "WC-RW-23",
        "WC-RW-25",
        "WC-RW-25-R31",
    ]
    assert "WC-RW-20" not in expected  # on-hold: not invoiced with the default statuses
    assert (expected["WC-RW-22-R24"].total, expected["WC-RW-22-R24"].vat) == (
        Decimal("-7.09"),
        Decimal("-0.59"),
    )
    assert expected["WC-RW-22-R24"].kind == "credit_note"
    assert (expected["WC-RW-23"].total, expected["WC-RW-23"].vat) == (Decimal("105.68"), Decimal("17.18"))
    assert expected_documents(orders, refunds, w.settings(), Period.parse("2026-10")) == []
    refunds_only = expected_documents(orders, refunds, w.settings(), Period.parse("2026-11-23"))
    assert {doc.ref for doc in refunds_only} == {"WC-RW-22-R24", "WC-RW-25-R31", "WC-RW-25"}


def test_a_correct_sync_reconciles_green() -> None:
    orders, refunds, posted = scenario()
    report = reconcile(str(NOVEMBER), expected_documents(orders, refunds, w.settings(), NOVEMBER), posted)
    assert report.ok
    assert (report.expected_count, report.exact_count, report.matched) == (7, 7, 7)
    assert report.to_json()["ok"] is True
    assert report.to_csv() == "kind,ref,source,expected,actual,difference,detail\n"


def test_each_kind_of_difference_is_found() -> None:
    orders, refunds, posted = scenario()
    by_ref = {doc.ref: doc for doc in posted}
    broken = [doc for doc in posted if doc.ref not in ("WC-RW-19", "WC-RW-21", "WC-RW-22")]
    broken.append(replace(by_ref["WC-RW-19"], total=Decimal("52.36")))  # total off by a cent
    broken.append(replace(by_ref["WC-RW-21"], vat=Decimal("10.51")))  # VAT off by a cent
    broken.append(replace(by_ref["WC-RW-23"], invoice_id="inv-dup"))  # posted twice
    broken.append(
        ExactDocument("WC-RW-99", "inv-stray", Decimal("10.00"), Decimal("1.74"), 26099)
    )  # no order
    report = reconcile(str(NOVEMBER), expected_documents(orders, refunds, w.settings(), NOVEMBER), broken)
    assert not report.ok
    found = {(finding.kind, finding.ref) for finding in report.findings}
    assert found == {
        (FindingKind.MISSING_IN_EXACT, "WC-RW-22"),
        (FindingKind.TOTAL_DIFFERENCE, "WC-RW-19"),
        (FindingKind.VAT_DIFFERENCE, "WC-RW-21"),
        (FindingKind.DUPLICATE_IN_EXACT, "WC-RW-23"),
        (FindingKind.NO_SOURCE, "WC-RW-99"),
    }
    assert report.matched == 3  # 22-R24, 25, 25-R31
    assert report.counts() == {kind.value: 1 for kind in FindingKind}
    total = next(finding for finding in report.findings if finding.kind == FindingKind.TOTAL_DIFFERENCE)
    assert total.difference == Decimal("0.01") and total.source == "WooCommerce order 19"
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == 5
    row = next(row for row in rows if row["kind"] == "total_difference")
    assert (row["expected"], row["actual"], row["difference"]) == ("52.35", "52.36", "0.01")
    json_rows = report.to_json()["findings"]
    assert {item["kind"] for item in json_rows} == {kind.value for kind in FindingKind}


def test_exact_records_are_read_with_their_sign() -> None:
    document = ExactDocument.from_record(
        {
            "YourRef": "WC-RW-22-R24",
            "InvoiceID": "x",
            "AmountFC": -7.09,
            "VATAmountFC": -0.59,
            "InvoiceNumber": None,
        }
    )
    assert (document.total, document.vat, document.invoice_number) == (
        Decimal("-7.09"),
        Decimal("-0.59"),
        None,
    )
