"""Adobe orders, invoices and credit memos -> mapped document lines (`DraftLine`s with GL account,
cost center, cost unit and VAT code from the GL mapping).

Parent/child lines (adobe-commerce.md §2.2, the real order and invoice samples):
- a configurable parent carries the price; its simple child has price 0 -> book the parent only;
- a bundle whose components carry their own prices (dynamic price: the sample's parent shows the
  sum 68 = 27+5+17+19, and its invoice line has no row_total at all) -> book the components only;
- a bundle whose components carry nothing (fixed price) -> book the parent only.
A line that is not booked yet carries an amount of its own parks the document: money is never lost
or counted twice silently.

Amounts are Magento's own: net `row_total`, `tax_amount` and the discount. A discount becomes its own
line (its own GL rule), split from the product's VAT with Magento's hidden-tax amount
(`discount_tax_compensation_amount`) when prices include tax, else with the line's own `tax_percent`;
the two lines always add up to exactly Magento's `tax_amount`. Shipping discounts (what the document's
discount total has beyond the item discounts) are netted into the shipping line, whose VAT is
Magento's shipping tax. Credit-memo adjustments carry no VAT split in Magento and are booked at 0% VAT.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ml_connector.adobe_commerce.models import (
    CreditMemo,
    Invoice,
    Order,
    OrderItem,
    SalesDocumentItem,
)
from ml_connector.flows.adobe_commerce.context import ShopContext
from ml_connector.flows.exact_documents import DraftLine
from ml_connector.flows.gl_mapping import (
    Booking,
    Explanation,
    LineContext,
    LineKind,
    MappingDoc,
    explain_line,
)
from ml_connector.flows.money import ZERO, cents
from ml_connector.flows.problems import Problem

HUNDRED = Decimal(100)
ONE = Decimal(1)


class ItemRole(enum.StrEnum):
    BOOKED = "booked"
    VIA_PARENT = "via_parent"  # configurable child, fixed-price bundle component
    VIA_CHILDREN = "via_children"  # dynamic-price bundle parent: the components carry the amounts


def item_roles(order: Order) -> dict[int, ItemRole]:
    roles: dict[int, ItemRole] = {}
    for item in order.items:
        if item.parent_item_id is None:
            roles[item.item_id] = (
                ItemRole.VIA_CHILDREN if _components_priced(order, item) else ItemRole.BOOKED
            )
    for item in order.items:
        if item.parent_item_id is not None:
            parent_role = roles.get(item.parent_item_id)
            roles[item.item_id] = (
                ItemRole.BOOKED if parent_role is ItemRole.VIA_CHILDREN else ItemRole.VIA_PARENT
            )
    return roles


def _components_priced(order: Order, item: OrderItem) -> bool:
    if item.product_type != "bundle":
        return False
    return any(child.row_total != 0 or child.price != 0 for child in order.children_of(item.item_id))


@dataclass(frozen=True)
class ItemAmounts:
    """One line of an order, invoice or credit memo with Magento's amounts (absent = 0)."""

    order_item: OrderItem
    name: str
    sku: str
    qty: Decimal
    row_total: Decimal
    tax_amount: Decimal
    discount: Decimal
    discount_tax_compensation: Decimal

    @classmethod
    def of_order_item(cls, item: OrderItem) -> ItemAmounts:
        return cls(
            item,
            item.name or item.sku,
            item.sku,
            item.qty_ordered,
            item.row_total,
            item.tax_amount,
            item.discount_amount,
            item.discount_tax_compensation_amount,
        )

    @classmethod
    def of_document_item(cls, item: SalesDocumentItem, order: Order) -> ItemAmounts:
        return cls(
            order.item(item.order_item_id),
            item.name or item.sku,
            item.sku,
            item.qty,
            item.row_total or ZERO,
            item.tax_amount or ZERO,
            item.discount_amount or ZERO,
            item.discount_tax_compensation_amount or ZERO,
        )


@dataclass(frozen=True)
class DocumentAmounts:
    """The document-level amounts of an order, invoice or credit memo."""

    shipping_amount: Decimal
    shipping_tax_amount: Decimal
    discount_total: Decimal  # Magento's (negative) discount_amount of the document
    adjustment_positive: Decimal = ZERO
    adjustment_negative: Decimal = ZERO


@dataclass(frozen=True)
class MappedLines:
    lines: tuple[DraftLine, ...]
    explanations: tuple[Explanation, ...]
    problems: tuple[Problem, ...]


@dataclass
class _Builder:
    """Collects lines, explanations and problems of one document."""

    order: Order
    store_id: int | None
    mapping: MappingDoc
    shop: ShopContext
    record: str
    sign: Decimal  # 1 for orders and invoices, -1 for credit notes
    needs_items: bool  # Exact order and invoice lines need an Item; GL-only entries do not

    def __post_init__(self) -> None:
        self.lines: list[DraftLine] = []
        self.explanations: list[Explanation] = []
        self.problems: list[Problem] = []

    def context(
        self,
        kind: LineKind,
        label: str,
        percent: Decimal | None,
        rate_code: str | None,
        item: OrderItem | None,
    ) -> LineContext:
        hint, reason = self.shop.vat_hint(self.order, percent, rate_code)
        product_ids = _product_ids(self.order, item) if item is not None else frozenset()
        return LineContext(
            kind=kind,
            label=label,
            sku=item.sku if item is not None else None,
            product_ids=product_ids,
            categories=self.shop.categories(product_ids),
            product_type=item.product_type if item is not None else None,
            stores=self.shop.stores_of(self.store_id),
            websites=self.shop.websites_of(self.store_id),
            tax_percent=percent,
            vat_hint=hint,
            vat_hint_reason=reason,
        )

    def add(
        self,
        ctx: LineContext,
        *,
        item_code: str | None,
        description: str,
        qty: Decimal,
        amount: Decimal,
        vat: Decimal,
    ) -> None:
        explanation = explain_line(self.mapping, ctx)
        self.explanations.append(explanation)
        if explanation.error is not None:
            error = explanation.error
            self.problems.append(
                Problem(
                    self.record,
                    ctx.describe(),
                    f"no {error.missing} in the GL mapping",
                    error.fix,
                    "gl_mapping",
                )
            )
            return
        resolution = explanation.resolution
        assert resolution is not None  # explain_line sets exactly one of resolution and error
        code = resolution.item or item_code
        if code is None and self.needs_items:
            self.problems.append(
                Problem(
                    self.record,
                    ctx.describe(),
                    "no Exact item for this line",
                    f"set defaults.{ctx.kind}.item in the GL mapping",
                    "gl_mapping",
                )
            )
        self.lines.append(
            DraftLine(
                where=ctx.describe(),
                item_code=code or "",
                description=description,
                quantity=self.sign * qty,
                amount=cents(self.sign * amount),
                vat_code=resolution.vat_code,
                vat_amount=cents(self.sign * vat),
                gl_account_code=resolution.gl_account,
                cost_center=resolution.cost_center,
                cost_unit=resolution.cost_unit,
            )
        )

    def add_item(self, amounts: ItemAmounts) -> None:
        item = amounts.order_item
        label = f"item {item.item_id} '{amounts.name}'"
        rate_code = _applied_tax_code(self.order, item.item_id, "product")
        percent = item.tax_percent
        discount_net = amounts.discount - amounts.discount_tax_compensation
        # Prices incl. tax: Magento states the discount's VAT (hidden tax); else split by the line's rate.
        discount_vat = amounts.discount_tax_compensation or cents(discount_net * (percent or ZERO) / HUNDRED)
        product = self.context(LineKind.PRODUCT, label, percent, rate_code, item)
        self.add(
            product,
            item_code=amounts.sku,
            description=amounts.name,
            qty=amounts.qty,
            amount=amounts.row_total,
            vat=amounts.tax_amount + discount_vat,
        )
        if discount_net:
            discount = self.context(LineKind.DISCOUNT, f"discount on {label}", percent, rate_code, item)
            self.add(
                discount,
                item_code=None,
                description=f"Discount {amounts.name}",
                qty=ONE,
                amount=-discount_net,
                vat=-discount_vat,
            )

    def add_shipping(self, totals: DocumentAmounts, item_discounts: Decimal, description: str) -> None:
        shipping_discount = abs(totals.discount_total) - item_discounts
        if shipping_discount < 0:
            self.problems.append(
                Problem(
                    self.record,
                    "discount",
                    f"the item discounts ({item_discounts}) exceed the document's discount "
                    f"({abs(totals.discount_total)})",
                    "check the document's discounts in Adobe Commerce, then replay",
                    "amounts",
                )
            )
            return
        net = totals.shipping_amount - shipping_discount
        if net == 0 and totals.shipping_tax_amount == 0:
            return
        percent = _shipping_percent(self.order, totals)
        rate_code = _applied_tax_code(self.order, None, "shipping")
        ctx = self.context(LineKind.SHIPPING, "shipping", percent, rate_code, None)
        self.add(
            ctx, item_code=None, description=description, qty=ONE, amount=net, vat=totals.shipping_tax_amount
        )

    def add_adjustment(self, kind: LineKind, amount: Decimal, description: str) -> None:
        # A positive adjustment refunds more (negative on the credit note), a negative one keeps a fee.
        signed = amount if kind is LineKind.ADJUSTMENT_POSITIVE else -amount
        ctx = self.context(kind, kind.value.replace("_", " "), ZERO, None, None)
        self.add(ctx, item_code=None, description=description, qty=ONE, amount=signed, vat=ZERO)

    def check_unbooked(self, amounts: ItemAmounts, role: ItemRole, children: Sequence[ItemAmounts]) -> None:
        item = amounts.order_item
        if role is ItemRole.VIA_PARENT:
            carried = amounts.row_total != 0 or amounts.tax_amount != 0
        else:  # a dynamic bundle parent may show the sum of its components, nothing more
            carried = amounts.row_total not in (ZERO, sum((c.row_total for c in children), ZERO))
        if carried:
            self.problems.append(
                Problem(
                    self.record,
                    f"item {item.item_id} '{amounts.name}'",
                    f"the line has amounts of its own although it is booked {role.value.replace('_', ' ')}",
                    "check the product's price type in Adobe Commerce; report the order if it is right",
                    "amounts",
                )
            )

    def result(self) -> MappedLines:
        return MappedLines(tuple(self.lines), tuple(self.explanations), tuple(self.problems))


def map_document_lines(
    order: Order,
    items: Sequence[ItemAmounts],
    totals: DocumentAmounts,
    *,
    store_id: int | None,
    mapping: MappingDoc,
    shop: ShopContext,
    record: str,
    needs_items: bool,
    credit: bool = False,
) -> MappedLines:
    builder = _Builder(order, store_id, mapping, shop, record, -ONE if credit else ONE, needs_items)
    roles = item_roles(order)
    for amounts in items:
        role = roles.get(amounts.order_item.item_id, ItemRole.BOOKED)
        if role is ItemRole.BOOKED:
            builder.add_item(amounts)
        else:
            children = [c for c in items if c.order_item.parent_item_id == amounts.order_item.item_id]
            builder.check_unbooked(amounts, role, children)
    # Only booked lines: a dynamic bundle's parent may repeat its components' discounts as their sum.
    booked = [a for a in items if roles.get(a.order_item.item_id, ItemRole.BOOKED) is ItemRole.BOOKED]
    item_discounts = sum((a.discount for a in booked), ZERO)
    builder.add_shipping(totals, item_discounts, order.shipping_description or "Shipping")
    if totals.adjustment_positive:
        builder.add_adjustment(LineKind.ADJUSTMENT_POSITIVE, totals.adjustment_positive, "Refund adjustment")
    if totals.adjustment_negative:
        builder.add_adjustment(LineKind.ADJUSTMENT_NEGATIVE, totals.adjustment_negative, "Adjustment fee")
    return builder.result()


def order_lines(order: Order, mapping: MappingDoc, shop: ShopContext, record: str) -> MappedLines:
    items = [ItemAmounts.of_order_item(item) for item in order.items]
    totals = DocumentAmounts(order.shipping_amount, order.shipping_tax_amount, order.discount_amount)
    return map_document_lines(
        order,
        items,
        totals,
        store_id=order.store_id,
        mapping=mapping,
        shop=shop,
        record=record,
        needs_items=True,
    )


def _unknown_items(items: Sequence[SalesDocumentItem], order: Order, record: str) -> MappedLines | None:
    known = {item.item_id for item in order.items}
    problems = tuple(
        Problem(
            record,
            f"item {item.order_item_id} '{item.name or item.sku}'",
            f"order {order.increment_id} has no item {item.order_item_id}",
            "re-read the order from Adobe Commerce, then replay",
            "amounts",
        )
        for item in items
        if item.order_item_id not in known
    )
    return MappedLines((), (), problems) if problems else None


def invoice_lines(
    invoice: Invoice, order: Order, mapping: MappingDoc, shop: ShopContext, record: str
) -> MappedLines:
    totals = DocumentAmounts(invoice.shipping_amount, invoice.shipping_tax_amount, invoice.discount_amount)
    return _document_lines(invoice, order, totals, mapping, shop, record, credit=False)


def credit_memo_lines(
    credit_memo: CreditMemo, order: Order, mapping: MappingDoc, shop: ShopContext, record: str
) -> MappedLines:
    totals = DocumentAmounts(
        credit_memo.shipping_amount,
        credit_memo.shipping_tax_amount,
        credit_memo.discount_amount,
        credit_memo.adjustment_positive,
        credit_memo.adjustment_negative,
    )
    return _document_lines(credit_memo, order, totals, mapping, shop, record, credit=True)


def _document_lines(
    document: Invoice | CreditMemo,
    order: Order,
    totals: DocumentAmounts,
    mapping: MappingDoc,
    shop: ShopContext,
    record: str,
    *,
    credit: bool,
) -> MappedLines:
    """The lines of an invoice or credit memo: its items (each must be one of the order's) and totals."""
    unknown = _unknown_items(document.items, order, record)
    if unknown is not None:
        return unknown
    items = [ItemAmounts.of_document_item(item, order) for item in document.items]
    return map_document_lines(
        order,
        items,
        totals,
        store_id=document.store_id if document.store_id is not None else order.store_id,
        mapping=mapping,
        shop=shop,
        record=record,
        needs_items=mapping.booking is Booking.SALES_INVOICE,
        credit=credit,
    )


def _product_ids(order: Order, item: OrderItem) -> frozenset[int]:
    """A configurable line matches on its own product id and on the chosen simple product's."""
    ids: Iterable[int | None] = [item.product_id]
    if item.product_type == "configurable":
        ids = [item.product_id, *(child.product_id for child in order.children_of(item.item_id))]
    return frozenset(i for i in ids if i is not None)


def _applied_tax_code(order: Order, item_id: int | None, kind: str) -> str | None:
    for entry in order.extension_attributes.item_applied_taxes:
        if entry.type == kind and (item_id is None or entry.item_id == item_id):
            return next((tax.code for tax in entry.applied_taxes if tax.code), None)
    return None


def _shipping_percent(order: Order, totals: DocumentAmounts) -> Decimal | None:
    """Magento states no shipping tax percent on the document: take it from the applied taxes; an
    untaxed shipping line is 0%; otherwise unknown (never reconstructed from the amounts)."""
    for entry in order.extension_attributes.item_applied_taxes:
        if entry.type == "shipping":
            percents = [tax.percent for tax in entry.applied_taxes if tax.percent is not None]
            if percents:
                return sum(percents, ZERO)
    return ZERO if totals.shipping_tax_amount == 0 else None
