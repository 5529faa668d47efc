"""What to do with an Adobe order that changed or was cancelled after it became an Exact SalesOrder.

Exact rules (exact-online.md §5.2): SalesOrders accept PUT and DELETE; `Status` is 12 open, 20 partial,
21 complete, 45 cancelled; updating a completed order fails; `InvoiceTo`/`DeliverTo` cannot change after
creation. So only an order that is still open in Exact is changed or deleted by the connector; anything
further along is reported for a person to decide, never forced.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ml_connector.adobe_commerce.models import Order
from ml_connector.flows.adobe_commerce.documents import SalesOrderDraft
from ml_connector.flows.fingerprint import content_hash

EXACT_ORDER_OPEN = 12
EXACT_ORDER_CANCELLED = 45
MAGENTO_CANCELED = "canceled"


class OrderAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"  # PUT the changed SalesOrder
    DELETE = "delete"  # cancelled in Magento while still open in Exact
    NOTHING = "nothing"
    REPORT = "report"  # Exact no longer allows the change: audit it for a person


@dataclass(frozen=True)
class ExactOrderState:
    """The SalesOrder as Exact has it now, plus what we last wrote (from the ledger)."""

    order_id: str
    status: int | None
    ordered_by: str | None
    written_fingerprint: str | None


@dataclass(frozen=True)
class OrderDecision:
    action: OrderAction
    reason: str
    fingerprint: str | None  # of the new draft; store it with the write


def order_fingerprint(draft: SalesOrderDraft) -> str:
    return content_hash(draft.to_payload())


def decide_order_change(
    order: Order, draft: SalesOrderDraft | None, exact: ExactOrderState | None
) -> OrderDecision:
    """`draft` is the mapped order (None when the order is cancelled and was not mapped)."""
    cancelled = order.state == MAGENTO_CANCELED
    fingerprint = order_fingerprint(draft) if draft is not None else None
    if exact is None:
        if cancelled:
            return OrderDecision(OrderAction.NOTHING, "cancelled before it reached Exact", None)
        return OrderDecision(OrderAction.CREATE, "new order", fingerprint)
    if exact.status == EXACT_ORDER_CANCELLED:
        if cancelled:
            return OrderDecision(OrderAction.NOTHING, "cancelled in both systems", None)
        return OrderDecision(OrderAction.REPORT, "cancelled in Exact but active in Adobe Commerce", None)
    if cancelled:
        if exact.status == EXACT_ORDER_OPEN:
            return OrderDecision(OrderAction.DELETE, "cancelled in Adobe Commerce, still open in Exact", None)
        return OrderDecision(
            OrderAction.REPORT,
            f"cancelled in Adobe Commerce, but Exact's SalesOrder is already delivered or invoiced "
            f"(Status {exact.status}): cancel or credit it in Exact",
            None,
        )
    if draft is None or fingerprint == exact.written_fingerprint:
        return OrderDecision(OrderAction.NOTHING, "no accounting change", fingerprint)
    if exact.status != EXACT_ORDER_OPEN:
        return OrderDecision(
            OrderAction.REPORT,
            f"changed in Adobe Commerce after Exact began delivering or invoicing it (Status {exact.status})",
            fingerprint,
        )
    if exact.ordered_by is not None and exact.ordered_by != draft.ordered_by:
        return OrderDecision(
            OrderAction.REPORT,
            "the customer changed; Exact does not allow changing it on a SalesOrder",
            fingerprint,
        )
    return OrderDecision(OrderAction.UPDATE, "changed before delivery or invoicing", fingerprint)
