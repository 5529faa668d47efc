"""WooCommerce orders -> Exact SalesInvoice drafts, refunds -> credit note drafts.

Amounts are WooCommerce's own, never recomputed:
- product lines carry the line `total` (after discounts, excl. tax) and `total_tax`; with discount_mode
  "separate_lines" they carry `subtotal`/`subtotal_tax` and each tax rate gets one negative discount line
  with the difference, so the document total is the same either way;
- shipping and fee lines go to the configured items (and GL accounts);
- each line gets the Exact VAT code of its WooCommerce tax rate; per-line tax is rounded by WooCommerce
  separately from the order's tax lines, so the VAT of each rate is balanced to the order's tax line
  (`balance_vat`) and the invoice total equals the order total to the cent, or nothing is posted;
- intra-EU B2B orders with a VAT number and no tax charged get the reverse-charge code when configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ml_connector.flows.exact_documents import (
    CREDIT_NOTE_TYPE,
    DocumentHeader,
    DraftLine,
    ExactLookups,
    ItemDraft,
    SalesInvoiceDraft,
    balance_vat,
    build_invoice,
    missing_item_drafts,
)
from ml_connector.flows.money import ZERO
from ml_connector.flows.problems import Problem
from ml_connector.flows.vat import TaxRateInfo, VatMapping, candidates_text
from ml_connector.flows.woocommerce.refs import order_ref, refund_ref
from ml_connector.flows.woocommerce.settings import LineTarget, WooExactSettings
from ml_connector.flows.woocommerce.vat_numbers import order_vat_number
from ml_connector.woocommerce.models import FeeLine, LineItem, LineTax, Order, Refund, ShippingLine, TaxLine

REVERSE_CHARGE_GROUP = "reverse charge"
NO_RATE_GROUP = "no rate"


@dataclass(frozen=True, slots=True)
class FlowContext:
    """Per-connection state compiled once: the validated settings and the VAT rule index."""

    settings: WooExactSettings
    vat: VatMapping

    @classmethod
    def of(cls, settings: WooExactSettings) -> FlowContext:
        return cls(settings, settings.compiled_vat())


def _rate_info(line: TaxLine) -> TaxRateInfo:
    # rate_code is COUNTRY-STATE-NAME-PRIORITY with empty parts dropped, e.g. "NL-BTW 21%-1".
    head = line.rate_code.split("-", 1)[0]
    country = head if len(head) == 2 and head.isalpha() and head.isupper() else None
    return TaxRateInfo(str(line.rate_id), line.label, line.rate_percent, country)


def _group(rate_id: int) -> str:
    return f"rate {rate_id}"


@dataclass(slots=True)
class _LineBuilder:
    """Collects the draft lines and problems of one document."""

    ctx: FlowContext
    lookups: ExactLookups
    record: str
    rates: dict[int, TaxRateInfo]
    reverse_charge: bool
    lines: list[DraftLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # (VAT code, tax group) -> [amount, tax] of the discounts taken out of gross product lines
    discounts: dict[tuple[str, str], list[Decimal]] = field(default_factory=dict)

    def vat_for(self, where: str, taxes: Sequence[LineTax], tax: Decimal) -> tuple[str, str] | None:
        """(Exact VAT code, tax group) of a line, or None after recording a problem."""
        vat = self.ctx.settings.vat
        if self.reverse_charge and tax == 0:
            return vat.reverse_charge_vat_code or "", REVERSE_CHARGE_GROUP
        charged = [entry for entry in taxes if entry.total]
        entries = charged or [
            entry for entry in taxes if entry.total is not None or entry.subtotal is not None
        ]
        if len(entries) > 1:
            ids = ", ".join(str(entry.id) for entry in entries)
            self.problems.append(
                Problem(
                    self.record,
                    where,
                    f"the line is taxed by {len(entries)} WooCommerce tax rates ({ids})",
                    "an Exact line carries one VAT code: give the product one tax rate in WooCommerce",
                    kind="vat_mapping",
                )
            )
            return None
        if not entries:
            if tax != 0:
                self.problems.append(
                    Problem(
                        self.record,
                        where,
                        f"the line has {tax} tax but no tax rate",
                        "check the order's taxes in WooCommerce",
                        kind="vat_mapping",
                    )
                )
                return None
            if vat.no_tax_vat_code is None:
                self.problems.append(
                    Problem(
                        self.record,
                        where,
                        "the line has no WooCommerce tax rate (untaxed)",
                        "set vat.no_tax_vat_code to Exact's 0% / exempt VAT code"
                        f"{candidates_text(Decimal(0), self.lookups.vat_codes)}",
                        kind="vat_mapping",
                    )
                )
                return None
            return vat.no_tax_vat_code, NO_RATE_GROUP
        rate_id = entries[0].id
        rate = self.rates.get(rate_id, TaxRateInfo(str(rate_id)))
        code = self.ctx.vat.code_for(rate)
        if code is None:
            self.problems.append(
                Problem(
                    self.record,
                    where,
                    f"WooCommerce {rate.describe()} has no Exact VAT code",
                    f'add {{"rate": "{rate.rate}", "vat_code": "<code>"}} to vat.rules'
                    f"{candidates_text(rate.percent, self.lookups.vat_codes)}",
                    kind="vat_mapping",
                )
            )
            return None
        return code, _group(rate_id)

    def add(
        self,
        where: str,
        item_code: str,
        description: str,
        quantity: Decimal,
        amount: Decimal,
        tax: Decimal,
        taxes: Sequence[LineTax],
        target: LineTarget | None = None,
        *,
        creatable: bool = False,
    ) -> DraftLine | None:
        vat = self.vat_for(where, taxes, tax)
        if vat is None:
            return None
        line = DraftLine(
            where=where,
            item_code=item_code,
            description=description,
            quantity=quantity,
            amount=amount,
            vat_code=vat[0],
            vat_amount=tax,
            gl_account_code=target.gl_account_code if target else None,
            tax_group=vat[1],
            creatable=creatable,
        )
        self.lines.append(line)
        return line

    def require_target(self, target: LineTarget | None, setting: str, where: str) -> LineTarget | None:
        if target is None:
            self.problems.append(
                Problem(
                    self.record,
                    where,
                    f"no Exact item is configured for {setting} lines",
                    f"set {setting}.item_code in the connection settings",
                    kind="settings",
                )
            )
        return target


def _product_code(builder: _LineBuilder, where: str, line: LineItem, sku: str | None) -> str | None:
    code = (sku or "").strip()
    if code:
        return code
    variation = f" variation {line.variation_id}" if line.variation_id else ""
    builder.problems.append(
        Problem(
            builder.record,
            where,
            f"the product has no SKU (product {line.product_id}{variation})",
            f"give product {line.product_id}{variation} a SKU in WooCommerce equal to the Exact item code, "
            "then replay",
            kind="missing_sku",
        )
    )
    return None


def _add_products(
    builder: _LineBuilder,
    items: Sequence[LineItem],
    separate_discounts: bool,
    skus: dict[int, str | None] | None = None,
) -> None:
    for number, item in enumerate(items, start=1):
        where = f"line {number} '{item.name}'"
        # Refund lines point at the order line they refund; its SKU stands in when the refund's own is gone.
        sku = item.sku or (skus or {}).get(_refunded_item_id(item) or 0)
        code = _product_code(builder, where, item, sku)
        if code is None:
            continue
        amount, tax = (
            (item.subtotal, item.subtotal_tax) if separate_discounts else (item.total, item.total_tax)
        )
        line = builder.add(
            where, code, item.name, Decimal(item.quantity), amount, tax, item.taxes, creatable=True
        )
        if line is not None and separate_discounts and item.subtotal != item.total:
            totals = builder.discounts.setdefault((line.vat_code, line.tax_group), [ZERO, ZERO])
            totals[0] += item.total - item.subtotal
            totals[1] += item.total_tax - item.subtotal_tax


def _refunded_item_id(line: LineItem) -> int | None:
    value = next((meta.value for meta in line.meta_data if meta.key == "_refunded_item_id"), None)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _add_discounts(builder: _LineBuilder, order: Order) -> None:
    """One negative line per tax group: the difference between the gross and the net product lines."""
    if not builder.discounts:
        return
    target = builder.require_target(builder.ctx.settings.discounts, "discounts", "discount")
    if target is None:
        return
    label = " ".join(["Discount", *(coupon.code for coupon in order.coupon_lines)])
    for (vat_code, group), (amount, tax) in builder.discounts.items():
        builder.lines.append(
            DraftLine(
                where=f"discount ({group})",
                item_code=target.item_code,
                description=label,
                quantity=Decimal(1),
                amount=amount,
                vat_code=vat_code,
                vat_amount=tax,
                gl_account_code=target.gl_account_code,
                tax_group=group,
            )
        )


def _add_charges(builder: _LineBuilder, shipping: Sequence[ShippingLine], fees: Sequence[FeeLine]) -> None:
    settings = builder.ctx.settings
    for number, ship in enumerate(shipping, start=1):
        if ship.total == 0 and ship.total_tax == 0:
            continue  # free shipping: no accounting impact
        where = f"shipping {number} '{ship.method_title}'"
        target = builder.require_target(settings.shipping, "shipping", where)
        if target is not None:
            builder.add(
                where,
                target.item_code,
                ship.method_title,
                Decimal(1),
                ship.total,
                ship.total_tax,
                ship.taxes,
                target,
            )
    for number, fee in enumerate(fees, start=1):
        if fee.total == 0 and fee.total_tax == 0:
            continue
        where = f"fee {number} '{fee.name}'"
        target = builder.require_target(settings.fees, "fees", where)
        if target is not None:
            builder.add(
                where, target.item_code, fee.name, Decimal(1), fee.total, fee.total_tax, fee.taxes, target
            )


def _builder(
    ctx: FlowContext, lookups: ExactLookups, record: str, order: Order, tax_lines: Sequence[TaxLine]
) -> _LineBuilder:
    rates = {line.rate_id: _rate_info(line) for line in order.tax_lines}
    rates.update((line.rate_id, _rate_info(line)) for line in tax_lines)
    reverse_charge = ctx.vat.uses_reverse_charge(order.billing.country, order_vat_number(order))
    return _LineBuilder(ctx, lookups, record, rates, reverse_charge)


def _tax_targets(tax_lines: Sequence[TaxLine]) -> dict[str, Decimal]:
    targets: dict[str, Decimal] = {}
    for line in tax_lines:
        group = _group(line.rate_id)
        targets[group] = targets.get(group, ZERO) + line.tax_total + line.shipping_tax_total
    return targets


def order_record(order: Order) -> str:
    return f"WooCommerce order {order.id}"


def draft_order_lines(
    order: Order, ctx: FlowContext, lookups: ExactLookups
) -> tuple[list[DraftLine], list[Problem]]:
    """The order's lines with codes (not yet resolved to Exact IDs), balanced to its tax lines."""
    record = order_record(order)
    builder = _builder(ctx, lookups, record, order, order.tax_lines)
    separate = ctx.settings.discount_mode == "separate_lines"
    _add_products(builder, order.line_items, separate)
    if separate:
        _add_discounts(builder, order)
    _add_charges(builder, order.shipping_lines, order.fee_lines)
    if builder.problems:
        return builder.lines, builder.problems
    return balance_vat(builder.lines, _tax_targets(order.tax_lines), record)


def map_order(order: Order, ctx: FlowContext, lookups: ExactLookups, account_id: str) -> SalesInvoiceDraft:
    """The SalesInvoice for an order, invoiced to `account_id`; MappingError lists every problem."""
    settings = ctx.settings
    lines, problems = draft_order_lines(order, ctx, lookups)
    coupons = ", ".join(coupon.code for coupon in order.coupon_lines)
    header = DocumentHeader(
        your_ref=order_ref(settings.store_key, order.id),
        account_id=account_id,
        journal=settings.journal,
        currency=order.currency,
        order_date=(order.date_created or order.date_created_gmt).date(),
        description=settings.description.format(number=order.number, id=order.id),
        payment_condition=settings.payment_condition,
        remarks=f"Coupons: {coupons}" if coupons else None,
    )
    return build_invoice(
        header, lines, lookups, order_record(order), expected_total=order.total, problems=problems
    )


def refund_record(order: Order, refund: Refund) -> str:
    return f"WooCommerce refund {refund.id} of order {order.id}"


def map_refund(
    order: Order, refund: Refund, ctx: FlowContext, lookups: ExactLookups, account_id: str
) -> SalesInvoiceDraft:
    """The credit note for one refund: its lines by line, anything not on a line (an amount-only refund,
    or an amount above its lines) on the refund fallback item without VAT, as WooCommerce records it."""
    settings = ctx.settings
    record = refund_record(order, refund)
    builder = _builder(ctx, lookups, record, order, refund.tax_lines)
    skus = {line.id: line.sku for line in order.line_items}
    _add_products(builder, refund.line_items, separate_discounts=False, skus=skus)
    _add_charges(builder, refund.shipping_lines, refund.fee_lines)
    expected_total = -refund.amount
    if not builder.problems:
        builder.lines, builder.problems = balance_vat(builder.lines, _tax_targets(refund.tax_lines), record)
    remainder = expected_total - sum((line.amount + line.vat_amount for line in builder.lines), ZERO)
    if not builder.problems and remainder != 0:
        where = "refund amount beyond its line items" if builder.lines else "refund amount without line items"
        target = builder.require_target(settings.refund_fallback, "refund_fallback", where)
        if target is not None:
            reason = refund.reason or f"Refund {refund.id}"
            builder.add(where, target.item_code, reason, Decimal(1), remainder, ZERO, (), target)
    header_ref = order_ref(settings.store_key, order.id)
    header = DocumentHeader(
        your_ref=refund_ref(settings.store_key, order.id, refund.id),
        account_id=account_id,
        journal=settings.journal,
        currency=order.currency,
        order_date=(refund.date_created or refund.date_created_gmt).date(),
        description=f"Refund {refund.id} of WooCommerce order {order.number} ({header_ref})",
        type=CREDIT_NOTE_TYPE,
        payment_condition=settings.payment_condition,
        remarks=refund.reason or None,
    )
    return build_invoice(
        header, builder.lines, lookups, record, expected_total=expected_total, problems=builder.problems
    )


def items_to_create(order: Order, ctx: FlowContext, lookups: ExactLookups) -> list[ItemDraft]:
    """Exact Items to create for product lines whose SKU Exact lacks (only when the connection allows it)."""
    if not ctx.settings.allow_item_creation:
        return []
    lines, _ = draft_order_lines(order, ctx, lookups)
    return missing_item_drafts(lines, lookups.item_id)
