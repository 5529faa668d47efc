"""`ml-connector reconcile NAME --period 2026-10` for an Adobe Commerce connection.

The invoices and credit memos created in the period (Magento's UTC `created_at`) against the Exact
documents the flow wrote for them: SalesInvoices (credit notes included) found by their `YourRef`
prefix (`I`/`C`, after the store key) and `OrderDate`, which the flow sets to the document's date; or
SalesEntries by `EntryDate` when the mapping books GL-only entries. Header totals only, so no lines are
read; the comparison itself is the shared `flows.reconcile`.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from ml_connector.adobe_commerce.client import CREDIT_MEMOS, INVOICES, AdobeClient, Resource
from ml_connector.adobe_commerce.models import CreditMemo, Invoice
from ml_connector.adobe_commerce.search import SearchCriteria
from ml_connector.app import App
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.flows.adobe_commerce import credit_memo_ref, invoice_ref
from ml_connector.flows.gl_mapping import Booking
from ml_connector.flows.reconcile import ExactDocument, ExpectedDocument, Period, ReconcileReport, reconcile
from ml_connector.pipelines.adobe_settings import parse_sync_settings
from ml_connector.pipelines.gl_mappings import load_mapping
from ml_connector.pipelines.reconcile import exact_documents
from ml_connector.store.connections import get_connection

D = TypeVar("D", Invoice, CreditMemo)
ENTRY_FIELDS = ("EntryID", "EntryNumber", "YourRef", "AmountFC", "VATAmountFC")


def run_adobe_reconcile(app: App, name: str, period: str) -> ReconcileReport:
    span = Period.parse(period)
    with app.db.session() as session:
        conn = get_connection(session, name)
        target, settings = parse_sync_settings(conn.settings, name)
        booking = load_mapping(session, app.vault, conn).doc.booking
    key = settings.store_key
    prefixes = [f"{key}-{marker}" if key else marker for marker in ("I", "C")]
    with closing(AdobeClient.for_connection(app, name)) as adobe:
        expected = [
            ExpectedDocument(
                invoice_ref(invoice, key),
                "invoice",
                f"Adobe invoice {invoice.increment_id}",
                invoice.grand_total,
                invoice.tax_amount,
            )
            for invoice in _created_in(adobe, INVOICES, span)
        ]
        expected += [
            ExpectedDocument(
                credit_memo_ref(memo, key),
                "credit_note",
                f"Adobe credit memo {memo.increment_id}",
                -memo.grand_total,
                -memo.tax_amount,
            )
            for memo in _created_in(adobe, CREDIT_MEMOS, span)
        ]
    with closing(ExactClient.for_connection(app, target)) as exact:
        if booking is Booking.SALES_ENTRY:
            actual = [doc for prefix in prefixes for doc in _sales_entries(exact, prefix, span)]
        else:
            actual = [doc for prefix in prefixes for doc in exact_documents(exact, prefix, span)]
    return reconcile(str(span), expected, actual)


def _created_in(adobe: AdobeClient, resource: Resource[D], span: Period) -> list[D]:
    criteria = SearchCriteria().between(
        "created_at", _midnight(span.start), _midnight(span.end + timedelta(days=1))
    )
    return [
        doc for doc in adobe.iterate(resource, criteria) if doc.created_at and doc.created_at.date() in span
    ]


def _sales_entries(exact: ExactClient, prefix: str, span: Period) -> list[ExactDocument]:
    query = odata.Query(
        filter=odata.all_of(
            f"startswith(YourRef,{odata.literal(prefix)})",
            odata.compare("EntryDate", "ge", span.start),
            odata.compare("EntryDate", "lt", span.end + timedelta(days=1)),
        ),
        select=ENTRY_FIELDS,
    )
    return [
        ExactDocument(
            ref=str(row.get("YourRef") or ""),
            invoice_id=str(row.get("EntryID") or ""),
            total=Decimal(str(row.get("AmountFC") or 0)),
            vat=Decimal(str(row.get("VATAmountFC") or 0)),
            invoice_number=row.get("EntryNumber"),
        )
        for row in exact.iterate("SalesEntries", query)
        if str(row.get("YourRef") or "").startswith(prefix)  # Exact compares text case-insensitively
    ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
