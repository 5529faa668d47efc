"""Deterministic external references written to Exact's `YourRef` (exact-online.md §5.3).

A SalesOrder carries the order increment id as Magento shows it (issue 8); invoices and credit memos,
which share Exact's SalesInvoices (or SalesEntries) and may reuse the same increment numbers as
orders, get an `I`/`C` marker. An optional store key keeps several Adobe connections posting into one
Exact division apart. The same Magento record always gives the same reference, so an unknown POST
outcome can be verified with `$filter=YourRef eq '...'` before any retry.
"""

from __future__ import annotations

from ml_connector.adobe_commerce.models import CreditMemo, Invoice, Order


def _prefixed(store_key: str | None, ref: str) -> str:
    return f"{store_key}-{ref}" if store_key else ref


def order_ref(order: Order, store_key: str | None = None) -> str:
    return _prefixed(store_key, order.increment_id)


def invoice_ref(invoice: Invoice, store_key: str | None = None) -> str:
    return _prefixed(store_key, f"I{invoice.increment_id or invoice.entity_id}")


def credit_memo_ref(credit_memo: CreditMemo, store_key: str | None = None) -> str:
    return _prefixed(store_key, f"C{credit_memo.increment_id or credit_memo.entity_id}")
