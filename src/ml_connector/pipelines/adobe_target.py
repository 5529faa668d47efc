"""The engine's Exact target for the Adobe flow: ExactTarget plus processing of sales invoices.

An Exact SalesInvoice created over the API is a draft (Status 20); only processing it
(`POST salesinvoice/PrintedSalesInvoices {"InvoiceID": ...}`) books the revenue journal. The flow
writes that as its own ledger row (entity `PrintedSalesInvoices`, external reference = the invoice
id), so it is done exactly once like any create: after an unknown outcome the engine asks
`find_by_ref`, which reads the invoice's Status (50 = processed) instead of a reference field.

A SalesOrder's lines cannot be sent with a PUT on its header (Exact takes them with the POST only), so
an update is a PUT of the header, then the lines brought in line by position: existing lines PUT,
extra ones POSTed, surplus ones deleted. Each step is a full replace, so a retry after a failure part
way through ends in the same state.
"""

from __future__ import annotations

from typing import Any

from ml_connector.exact import odata
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
        if entity != SALES_ORDERS:
            super().update(entity, target_id, payload)
            return
        header = {key: value for key, value in payload.items() if key != ORDER_LINES}
        super().update(entity, target_id, header)
        self._replace_order_lines(target_id, list(payload.get(ORDER_LINES) or []))

    def _replace_order_lines(self, order_id: str, wanted: list[dict[str, Any]]) -> None:
        query = odata.Query(
            filter=odata.eq("OrderID", odata.Guid(order_id)),
            select=("ID", "LineNumber"),
            orderby="LineNumber",
        )
        existing = [str(row["ID"]) for row in self.client.iterate(ORDER_LINES, query)]
        for line_id, line in zip(existing, wanted, strict=False):
            self.client.update(ORDER_LINES, line_id, line)
        for line in wanted[len(existing) :]:
            self.client.create(ORDER_LINES, {**line, "OrderID": order_id})
        for line_id in existing[len(wanted) :]:
            self.client.delete(ORDER_LINES, line_id)
