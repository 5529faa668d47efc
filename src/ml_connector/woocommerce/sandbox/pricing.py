"""Turns a cart (products, quantities, coupon, shipping, fees) into order items with WooCommerce's tax maths.

Prices exclude tax (`prices_include_tax` false). Per line: a percent coupon discounts the line's subtotal,
tax is computed per rate on the unrounded line amount and stored with up to 6 decimals; rounding to cents
happens only when totals are printed (see render.py), which reproduces the real store's figures
(e.g. order `discount_tax` 1.72 next to coupon line `discount_tax` 1.73).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .catalog import Catalog
from .dates import php_datetime_object
from .models import Coupon, CouponLine, FeeLine, ItemMeta, LineItem, Product, ShippingLine, Variation
from .money import ZERO, round_money

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    variation: Variation | None
    quantity: int


@dataclass(frozen=True, slots=True)
class Shipping:
    method_id: str  # flat_rate, free_shipping, local_pickup
    title: str
    instance_id: str
    cost: Decimal


FLAT_RATE = Shipping("flat_rate", "Flat rate", "1", Decimal("4.95"))
FREE_SHIPPING = Shipping("free_shipping", "Free shipping", "2", ZERO)
_METHODS = {method.method_id: method for method in (FLAT_RATE, FREE_SHIPPING)}


def shipping_choice(method_id: str | None, cost: Decimal | None, *, via_rest: bool) -> Shipping | None:
    """The shipping line of a new order. Checkout uses a configured zone method (with its instance id);
    a REST-created line names only the method, so its instance_id is "" (as captured)."""
    if not method_id:
        return None
    known = _METHODS.get(method_id)
    return Shipping(
        method_id,
        known.title if known else method_id.replace("_", " ").title(),
        known.instance_id if known and not via_rest else "",
        cost if cost is not None else (known.cost if known else ZERO),
    )


@dataclass(frozen=True, slots=True)
class Fee:
    name: str
    amount: Decimal
    taxable: bool = True


@dataclass(slots=True)
class OrderItems:
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    fee_lines: list[FeeLine] = field(default_factory=list)
    coupon_lines: list[CouponLine] = field(default_factory=list)
    tax_line_ids: dict[int, int] = field(default_factory=dict)


def _tax(amount: Decimal, rate: Decimal) -> Decimal:
    return amount * rate / HUNDRED


def build_items(
    catalog: Catalog,
    cart: list[CartLine],
    *,
    item_ids: Iterator[int],
    meta_ids: Iterator[int],
    coupon: Coupon | None = None,
    shipping: Shipping | None = FLAT_RATE,
    fees: tuple[Fee, ...] = (),
    tax_exempt: bool = False,
    stock_reduced: bool = True,
) -> OrderItems:
    """Items in WooCommerce's id order: line items, shipping, fees, tax lines, coupon lines."""
    items = OrderItems()
    rates_used: list[int] = []

    def use(rate_id: int) -> None:
        if rate_id not in rates_used:
            rates_used.append(rate_id)

    percent = coupon.amount if coupon is not None and coupon.discount_type == "percent" else ZERO
    line_discount_taxes = ZERO
    for line in cart:
        unit = line.variation.price if line.variation else line.product.price
        subtotal = unit * line.quantity
        total = subtotal - round_money(subtotal * percent / HUNDRED)
        taxes: dict[int, tuple[Decimal, Decimal]] = {}
        if not tax_exempt:
            rate = catalog.rate_for(line.product.tax_class)
            taxes[rate.id] = (_tax(total, rate.rate), _tax(subtotal, rate.rate))
            use(rate.id)
            # the coupon line rounds each line's discount tax (order 19: 0.1755 + 0.525 -> 0.18 + 0.53)
            line_discount_taxes += round_money(taxes[rate.id][1] - taxes[rate.id][0])
        item_id = next(item_ids)
        meta: list[ItemMeta] = []
        name = line.product.name
        if line.variation is not None and line.product.attribute:
            name = f"{line.product.name} - {line.variation.option}"
            key = line.product.attribute.lower()
            meta.append(
                ItemMeta(
                    next(meta_ids), key, line.variation.option, line.product.attribute, line.variation.option
                )
            )
        if stock_reduced:
            qty = str(line.quantity)
            meta.append(ItemMeta(next(meta_ids), "_reduced_stock", qty, "_reduced_stock", qty))
        items.line_items.append(
            LineItem(
                id=item_id,
                name=name,
                product_id=line.product.id,
                variation_id=line.variation.id if line.variation else 0,
                quantity=line.quantity,
                tax_class=line.product.tax_class,
                subtotal=subtotal,
                total=total,
                taxes=taxes,
                meta=meta,
                parent_name=line.product.name if line.variation else None,
            )
        )
    if shipping is not None:
        shipping_taxes: dict[int, Decimal] = {}
        if not tax_exempt:
            rate = catalog.shipping_rate()
            shipping_taxes[rate.id] = _tax(shipping.cost, rate.rate)
            use(rate.id)
        items.shipping_lines.append(
            ShippingLine(
                next(item_ids),
                shipping.title,
                shipping.method_id,
                shipping.instance_id,
                shipping.cost,
                shipping_taxes,
            )
        )
    for fee in fees:
        fee_taxes: dict[int, Decimal] = {}
        if fee.taxable and not tax_exempt:
            rate = catalog.rate_for("")
            fee_taxes[rate.id] = _tax(fee.amount, rate.rate)
            use(rate.id)
        items.fee_lines.append(
            FeeLine(next(item_ids), fee.name, "", "taxable" if fee.taxable else "none", fee.amount, fee_taxes)
        )
    for rate_id in rates_used:
        items.tax_line_ids[rate_id] = next(item_ids)
    if coupon is not None:
        discount = sum((li.subtotal - li.total for li in items.line_items), ZERO)
        coupon_id = next(item_ids)
        snapshot = coupon_data(coupon)
        meta = [ItemMeta(next(meta_ids), "coupon_data", snapshot, "coupon_data", snapshot)]
        items.coupon_lines.append(CouponLine(coupon_id, coupon.code, discount, line_discount_taxes, meta))
    return items


def coupon_data(coupon: Coupon) -> dict[str, object]:
    """The `coupon_data` line meta WooCommerce 7.9 stores: the coupon as it was when applied."""
    return {
        "id": coupon.id,
        "code": coupon.code,
        "amount": f"{coupon.amount.normalize():f}",
        "status": "publish",
        "date_created": php_datetime_object(coupon.created),
        "date_modified": php_datetime_object(coupon.modified),
        "date_expires": None,
        "discount_type": coupon.discount_type,
        "description": coupon.description,
        "usage_count": coupon.usage_count,
        "individual_use": False,
        "product_ids": [],
        "excluded_product_ids": [],
        "usage_limit": 0,
        "usage_limit_per_user": 0,
        "limit_usage_to_x_items": None,
        "free_shipping": False,
        "product_categories": [],
        "excluded_product_categories": [],
        "exclude_sale_items": False,
        "minimum_amount": "",
        "maximum_amount": "",
        "email_restrictions": [],
        "virtual": False,
        "meta_data": [],
    }
