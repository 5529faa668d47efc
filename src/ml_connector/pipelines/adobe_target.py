"""The engine's Exact target for the Adobe flow: ExactTarget plus processing of sales invoices.

An Exact SalesInvoice created over the API is a draft (Status 20); only processing it
(`POST salesinvoice/PrintedSalesInvoices {"InvoiceID": ...}`) books the revenue journal. The flow
writes that as its own ledger row (entity `PrintedSalesInvoices`, external reference = the invoice
id), so it is done exactly once like any create: after an unknown outcome the engine asks
`find_by_ref`, which reads the invoice's Status (50 = processed) instead of a reference field.

SalesOrders are updated through their header only: SalesOrderLines are not part of a PUT on the
header (a line change in Magento is an order edit, which Magento makes a new order and cancels the
old one; the flow handles both).
"""

from __future__ import annotations

from typing import Any

from ml_connector.exact.target import ExactTarget

PROCESSING = "PrintedSalesInvoices"
PROCESSING_PATH = "salesinvoice/PrintedSalesInvoices"
INVOICE_PROCESSED = 50
SALES_ORDERS = "SalesOrders"
ORDER_LINES = "SalesOrderLines"


class AdobeExactTarget(ExactTarget):
    def find_by_ref(self, entity: str, external_ref: str) -> str | None:
        if entity != PROCESSING:
            return super().find_by_ref(entity, external_ref)
        invoice = self.client.get("SalesInvoices", external_ref, ("InvoiceID", "Status"))
        if invoice is None:
            return None
        return external_ref if invoice.get("Status") == INVOICE_PROCESSED else None

    def create(self, entity: str, payload: dict[str, Any]) -> str:
        if entity != PROCESSING:
            return super().create(entity, payload)
        self.client.request("POST", self.client.url(PROCESSING_PATH), json=payload)
        return str(payload["InvoiceID"])

    def update(self, entity: str, target_id: str, payload: dict[str, Any]) -> None:
        if entity == SALES_ORDERS:
            payload = {key: value for key, value in payload.items() if key != ORDER_LINES}
        super().update(entity, target_id, payload)
