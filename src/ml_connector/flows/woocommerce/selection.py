"""Which WooCommerce orders become invoices, and what an update to an order means.

- Before posting the newest state counts: an order is posted once it is in a selected status (default
  processing + completed) and not older than the start date; cancelled or trashed orders are skipped with a
  reason for the audit.
- After posting, an update is compared through a fingerprint of the accounting-relevant fields only
  (amounts, taxes, lines, currency, order date, who is invoiced). Status, notes, payment and completion
  dates, addresses and refunds (which become their own credit notes) are left out, so a status change
  needs nothing; any other change is reported as "changed after posting", never posted twice.
- The SKU is left out on purpose: WooCommerce looks it up at read time (woocommerce.md §2.2), so renaming
  a product's SKU would otherwise flag every old order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from ml_connector.flows.fingerprint import content_hash
from ml_connector.flows.woocommerce.settings import WooExactSettings
from ml_connector.flows.woocommerce.vat_numbers import order_vat_number
from ml_connector.woocommerce.models import LineTax, Order

CANCELLED_STATUSES = frozenset({"cancelled", "trash"})


class OrderAction(StrEnum):
    POST = "post"  # map and post the invoice
    IGNORE = "ignore"  # not (yet) for invoicing: status not selected, or before the start date
    SKIP = "skip"  # final: cancelled or trashed before posting (audit entry)
    UNCHANGED = "unchanged"  # posted; nothing with accounting impact changed
    CHANGED_AFTER_POSTING = "changed_after_posting"  # posted; record for the merchant, never re-post


@dataclass(frozen=True)
class OrderDecision:
    action: OrderAction
    reason: str
    order: Order | None = field(default=None, repr=False, compare=False)

    @cached_property
    def fingerprint(self) -> str:
        """Store with the posted invoice; compare on later updates. Hashed on demand: most decisions
        (every order a poll reads) never need it."""
        return order_fingerprint(self.order) if self.order is not None else ""


def _taxes(taxes: list[LineTax]) -> list[Any]:
    return [[tax.id, tax.total, tax.subtotal] for tax in taxes]


def accounting_fields(order: Order) -> dict[str, Any]:
    """The fields an order's invoice is built from (see the module docstring for what is left out)."""
    order_date = order.date_created or order.date_created_gmt
    return {
        "currency": order.currency,
        "prices_include_tax": order.prices_include_tax,
        "order_date": order_date.date().isoformat(),
        "customer": [
            order.customer_id,
            (order.billing.email or "").lower(),
            order.billing.company,
            order.billing.country,
            order_vat_number(order),
        ],
        "lines": [
            [
                line.id,
                line.product_id,
                line.variation_id,
                line.quantity,
                line.subtotal,
                line.subtotal_tax,
                line.total,
                line.total_tax,
                _taxes(line.taxes),
            ]
            for line in order.line_items
        ],
        "shipping": [
            [line.id, line.method_id, line.total, line.total_tax, _taxes(line.taxes)]
            for line in order.shipping_lines
        ],
        "fees": [
            [line.id, line.name, line.total, line.total_tax, _taxes(line.taxes)] for line in order.fee_lines
        ],
        "coupons": [[line.code, line.discount, line.discount_tax] for line in order.coupon_lines],
        "tax_lines": [[line.rate_id, line.tax_total, line.shipping_tax_total] for line in order.tax_lines],
        "total": order.total,
        "total_tax": order.total_tax,
    }


def order_fingerprint(order: Order) -> str:
    return content_hash(accounting_fields(order))


def is_selected(order: Order, settings: WooExactSettings) -> str | None:
    """None when the order is to be invoiced, else why not."""
    status = order.status
    # A refunded order was paid first: it is invoiced so that its refunds can be credited against it.
    paid_then_refunded = status == "refunded" and order.date_paid_gmt is not None
    if status not in settings.order_statuses and not paid_then_refunded:
        return f"status '{status}' is not invoiced (order_statuses: {', '.join(settings.order_statuses)})"
    if settings.start_date is not None and order.date_created_gmt.date() < settings.start_date:
        return f"created {order.date_created_gmt.date()}, before start_date {settings.start_date}"
    return None


def decide_order(order: Order, settings: WooExactSettings, posted_fingerprint: str | None) -> OrderDecision:
    """What to do with the newest state of an order, given the fingerprint stored when it was posted."""
    status = order.status
    if posted_fingerprint is None:
        if status in CANCELLED_STATUSES:
            return OrderDecision(
                OrderAction.SKIP, f"order {order.id} was {status} before it was posted", order
            )
        not_selected = is_selected(order, settings)
        if not_selected:
            return OrderDecision(OrderAction.IGNORE, not_selected, order)
        return OrderDecision(OrderAction.POST, f"status '{status}'", order)
    if status in CANCELLED_STATUSES:
        return OrderDecision(
            OrderAction.CHANGED_AFTER_POSTING,
            f"order {order.id} was {status} after its invoice was posted: credit it in Exact or refund it in "
            "WooCommerce",
            order,
        )
    if order_fingerprint(order) == posted_fingerprint:
        return OrderDecision(OrderAction.UNCHANGED, f"no accounting change (status '{status}')", order)
    return OrderDecision(
        OrderAction.CHANGED_AFTER_POSTING,
        f"order {order.id} changed amounts, lines, taxes or customer after its invoice was posted",
        order,
    )


def decide_deleted(order_id: int, posted: bool) -> OrderDecision:
    """An `order.deleted` webhook carries only the id (woocommerce.md §5.3): the order was trashed."""
    if posted:
        return OrderDecision(
            OrderAction.CHANGED_AFTER_POSTING,
            f"order {order_id} was trashed after its invoice was posted: credit it in Exact if it is void",
        )
    return OrderDecision(OrderAction.SKIP, f"order {order_id} was trashed before it was posted")


@dataclass(frozen=True, slots=True)
class RefundChanges:
    new: tuple[int, ...]  # refund ids to turn into credit notes
    removed: tuple[int, ...]  # credited refunds no longer on the order (deleted in WooCommerce 11.2+)


def refund_changes(order: Order, credited_refund_ids: Collection[int]) -> RefundChanges:
    """Refunds arrive only as `order.updated`: diff the order's refunds[] against those already credited."""
    current = [refund.id for refund in order.refunds]
    current_set = set(current)
    return RefundChanges(
        new=tuple(sorted(refund_id for refund_id in current if refund_id not in credited_refund_ids)),
        removed=tuple(sorted(refund_id for refund_id in credited_refund_ids if refund_id not in current_set)),
    )
