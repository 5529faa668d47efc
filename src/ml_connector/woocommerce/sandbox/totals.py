"""Order-level amounts derived from the items, as WooCommerce's `calculate_totals()` stores them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .models import Order, Refund
from .money import ZERO, round_money


@dataclass(frozen=True, slots=True)
class TaxLineTotals:
    rate_id: int
    item_id: int
    tax_total: Decimal
    shipping_tax_total: Decimal


@dataclass(frozen=True, slots=True)
class OrderTotals:
    discount_total: Decimal
    discount_tax: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal
    cart_tax: Decimal
    total: Decimal
    total_tax: Decimal
    tax_lines: tuple[TaxLineTotals, ...]


def order_totals(order: Order) -> OrderTotals:
    cart_taxes: dict[int, Decimal] = {}
    shipping_taxes: dict[int, Decimal] = {}
    discount_tax = ZERO
    for line in order.line_items:
        for rate_id, (total, subtotal) in line.taxes.items():
            cart_taxes[rate_id] = cart_taxes.get(rate_id, ZERO) + total
            discount_tax += subtotal - total
    for fee in order.fee_lines:
        for rate_id, tax in fee.taxes.items():
            cart_taxes[rate_id] = cart_taxes.get(rate_id, ZERO) + tax
    for shipping in order.shipping_lines:
        for rate_id, tax in shipping.taxes.items():
            shipping_taxes[rate_id] = shipping_taxes.get(rate_id, ZERO) + tax
    # Per rate first, then summed: order 19 has 1.5795 + 4.725 -> cart_tax 1.58 + 4.73 = 6.31 (not 6.30).
    cart_tax = sum((round_money(tax) for tax in cart_taxes.values()), ZERO)
    shipping_tax = sum((round_money(tax) for tax in shipping_taxes.values()), ZERO)
    shipping_total = round_money(sum((s.total for s in order.shipping_lines), ZERO))
    net = sum((line.total for line in order.line_items), ZERO) + sum(
        (fee.total for fee in order.fee_lines), ZERO
    )
    tax_lines = tuple(
        TaxLineTotals(
            rate_id,
            item_id,
            round_money(cart_taxes.get(rate_id, ZERO)),
            round_money(shipping_taxes.get(rate_id, ZERO)),
        )
        for rate_id, item_id in order.tax_line_ids.items()
    )
    return OrderTotals(
        discount_total=round_money(sum((line.subtotal - line.total for line in order.line_items), ZERO)),
        discount_tax=round_money(discount_tax),
        shipping_total=shipping_total,
        shipping_tax=shipping_tax,
        cart_tax=cart_tax,
        total=round_money(net) + shipping_total + cart_tax + shipping_tax,
        total_tax=cart_tax + shipping_tax,
        tax_lines=tax_lines,
    )


def refund_tax_totals(refund: Refund) -> dict[int, Decimal]:
    taxes: dict[int, Decimal] = {}
    for line in refund.lines:
        for rate_id, tax in line.taxes.items():
            taxes[rate_id] = taxes.get(rate_id, ZERO) + tax
    return taxes


def refunded_amount(order: Order) -> Decimal:
    return sum((refund.amount for refund in order.refunds), ZERO)
