"""Refunds as WooCommerce records them: line refunds (negative copies of order lines) or amount-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from .models import Order, Refund, RefundLine
from .money import ZERO, round_money
from .totals import order_totals, refunded_amount


class RefundError(ValueError):
    """A refund WooCommerce would refuse (400 woocommerce_rest_cannot_create_order_refund)."""


@dataclass(frozen=True)
class LineRefund:
    """Part of a line item to refund. Without `total`/`taxes` they follow from the quantity (the admin
    screen's default); with them they are taken as given, like REST `refund_total` / `refund_tax`."""

    item_id: int
    quantity: int
    total: Decimal | None = None
    taxes: dict[int, Decimal] | None = None


def order_total(order: Order) -> Decimal:
    return order_totals(order).total


def remaining_refundable(order: Order) -> Decimal:
    return order_totals(order).total - refunded_amount(order)


def line_refund(
    order: Order,
    refund_id: int,
    lines: list[LineRefund],
    *,
    reason: str,
    when: float,
    item_ids: Iterator[int],
    meta_ids: Iterator[int],
    amount: Decimal | None = None,
) -> Refund:
    """Refund `quantity` units of order line items (by item id), tax included, like the admin screen does."""
    by_id = {line.id: line for line in order.line_items}
    refund_lines: list[RefundLine] = []
    for wanted in lines:
        line = by_id.get(wanted.item_id)
        if line is None:
            raise RefundError(f"order {order.id} has no line item {wanted.item_id}")
        if not 0 <= wanted.quantity <= line.quantity or (wanted.quantity == 0 and wanted.total is None):
            raise RefundError(
                f"line item {wanted.item_id} of order {order.id}: quantity must be 1..{line.quantity} "
                "(or 0 with an explicit refund_total)"
            )
        share = Decimal(wanted.quantity) / Decimal(line.quantity)
        taxes = {rate_id: -round_money(total * share) for rate_id, (total, _subtotal) in line.taxes.items()}
        if wanted.taxes is not None:
            taxes = {rate_id: -abs(amount) for rate_id, amount in wanted.taxes.items()}
        total = line.total * share if wanted.total is None else abs(wanted.total)
        refund_lines.append(
            RefundLine(
                id=next(item_ids),
                refunded_item_id=line.id,
                meta_id=next(meta_ids),
                name=line.name,
                product_id=line.product_id,
                variation_id=line.variation_id,
                quantity=-wanted.quantity,
                tax_class=line.tax_class,
                total=-round_money(total),
                taxes=taxes,
                parent_name=line.parent_name,
            )
        )
    computed = -sum((rl.total + sum(rl.taxes.values(), ZERO) for rl in refund_lines), ZERO)
    rates: list[int] = []
    for refund_line in refund_lines:
        rates.extend(rate for rate in refund_line.taxes if rate not in rates)
    refund = Refund(
        id=refund_id,
        order_id=order.id,
        created=when,
        amount=computed if amount is None else amount,
        reason=reason,
        lines=refund_lines,
        tax_line_ids={rate: next(item_ids) for rate in rates},
    )
    _check(order, refund.amount)
    return refund


def amount_refund(order: Order, refund_id: int, amount: Decimal, *, reason: str, when: float) -> Refund:
    _check(order, amount)
    return Refund(
        id=refund_id, order_id=order.id, created=when, amount=amount, reason=reason, lines=[], tax_line_ids={}
    )


def _check(order: Order, amount: Decimal) -> None:
    if amount <= 0:
        raise RefundError("Refund amount must be greater than zero.")
    if amount > remaining_refundable(order):
        raise RefundError("Invalid refund amount.")
