"""The Exact documents a period's WooCommerce orders and refunds should have produced.

Pass every order created in the period and every order with a refund in the period, with their refunds.
Dates are the shop's local dates, as on the documents (invoice: order date; credit note: refund date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ml_connector.flows.money import ZERO
from ml_connector.flows.reconcile import ExpectedDocument, Period
from ml_connector.flows.woocommerce.refs import order_ref, refund_ref
from ml_connector.flows.woocommerce.selection import CANCELLED_STATUSES, is_selected
from ml_connector.flows.woocommerce.settings import WooExactSettings
from ml_connector.woocommerce.models import Order, Refund


def expected_documents(
    orders: Iterable[Order],
    refunds: Mapping[int, Sequence[Refund]],
    settings: WooExactSettings,
    period: Period,
) -> list[ExpectedDocument]:
    """`refunds` maps an order id to its refunds (GET /orders/{id}/refunds)."""
    expected: list[ExpectedDocument] = []
    for order in orders:
        if order.status in CANCELLED_STATUSES or is_selected(order, settings) is not None:
            continue
        if (order.date_created or order.date_created_gmt).date() in period:
            expected.append(
                ExpectedDocument(
                    order_ref(settings.store_key, order.id),
                    "invoice",
                    f"WooCommerce order {order.id}",
                    order.total,
                    order.total_tax,
                )
            )
        for refund in refunds.get(order.id, ()):
            if (refund.date_created or refund.date_created_gmt).date() not in period:
                continue
            vat = sum((line.tax_total + line.shipping_tax_total for line in refund.tax_lines), ZERO)
            expected.append(
                ExpectedDocument(
                    refund_ref(settings.store_key, order.id, refund.id),
                    "credit_note",
                    f"WooCommerce refund {refund.id} of order {order.id}",
                    -refund.amount,
                    vat,
                )
            )
    return expected
