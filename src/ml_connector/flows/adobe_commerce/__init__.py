"""Adobe Commerce -> Exact document mapping (pure): orders to SalesOrders, invoices to SalesInvoices
or SalesEntries, credit memos to credit notes, every line placed by the GL mapping layer."""

from ml_connector.flows.adobe_commerce.context import ShopContext
from ml_connector.flows.adobe_commerce.documents import (
    MappedDocument,
    MappingInputs,
    SalesEntryDraft,
    SalesOrderDraft,
    map_credit_memo,
    map_invoice,
    map_order,
)
from ml_connector.flows.adobe_commerce.explain import explain_order, render_order_explanation
from ml_connector.flows.adobe_commerce.order_changes import (
    ExactOrderState,
    OrderAction,
    OrderDecision,
    decide_order_change,
    order_fingerprint,
)
from ml_connector.flows.adobe_commerce.refs import credit_memo_ref, invoice_ref, order_ref

__all__ = [
    "ExactOrderState",
    "MappedDocument",
    "MappingInputs",
    "OrderAction",
    "OrderDecision",
    "SalesEntryDraft",
    "SalesOrderDraft",
    "ShopContext",
    "credit_memo_ref",
    "decide_order_change",
    "explain_order",
    "invoice_ref",
    "map_credit_memo",
    "map_invoice",
    "map_order",
    "order_fingerprint",
    "order_ref",
    "render_order_explanation",
]
