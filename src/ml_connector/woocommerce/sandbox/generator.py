"""Seeded orders, generated on demand from (seed, index) so that 100,000 orders cost little memory.

The plans (dates, status, customer, refunds: what the store indexes for list filters) are drawn up front
from one stream; `build(i)` draws the rest of order i from its own stream, on demand. Orders that change
are materialised by the store and never regenerated.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, count

from .catalog import Catalog
from .models import Customer, Meta, Order, Refund
from .people import B2B_VAT_NUMBERS, Buyer, buyer, buyer_of, reverse_charged, vat_order_meta
from .pricing import FLAT_RATE, FREE_SHIPPING, CartLine, Fee, build_items
from .refunds import LineRefund, amount_refund, line_refund, order_total

ITEM_BLOCK = 16  # order item ids reserved per generated order (items + refund items)
META_BLOCK = 16
_STATUSES = ("completed", "processing", "on-hold", "cancelled", "pending", "failed", "refunded")
_STATUS_CUMULATIVE = tuple(accumulate((55, 20, 7, 5, 4, 2, 3)))  # weights, in percent
_PAYMENT = (
    ("bacs", "Direct bank transfer"),
    ("cod", "Cash on delivery"),
    ("mollie_wc_gateway_ideal", "iDEAL"),
)
_NOTES = ("Bezorgen na 18:00.", "Graag als cadeau inpakken.", "Niet aanbellen, baby slaapt.")
_PAID = frozenset({"processing", "completed", "refunded"})
# seconds between creation and the last change, per status: (low, high) for randrange
_LAST_CHANGE = {
    "completed": (3600, 5 * 86400),
    "processing": (0, 120),
    "on-hold": (0, 2 * 86400),
    "cancelled": (86400, 3 * 86400),
    "pending": (0, 0),
    "failed": (600, 600),
    "refunded": (2 * 86400, 10 * 86400),
}
_HOUR = 3600
_DAY = 86400


@dataclass(frozen=True, slots=True)
class OrderPlan:
    created: int
    modified: int
    status: str
    customer_index: int  # -1 for a guest
    refunds: tuple[str, ...]  # "line", "amount" or "full", in creation order
    paid: int | None


def order_key(rng: random.Random) -> str:
    return "wc_order_" + "".join(rng.choices(string.ascii_letters + string.digits, k=13))


class OrderGenerator:
    def __init__(
        self,
        *,
        seed: int,
        count: int,
        first_id: int,
        now: float,
        catalog: Catalog,
        customers: list[Customer],
        item_base: int,
        meta_base: int,
    ) -> None:
        self.seed = seed
        self.count = count
        self.first_id = first_id
        self.catalog = catalog
        self.customers = customers
        self.item_base = item_base
        self.meta_base = meta_base
        self._now = int(now)
        span = 60 * _DAY
        self._start = self._now - span - _DAY
        self._step = span / max(1, count)
        self._sellable = catalog.sellable()

        rng = random.Random(f"orders:{seed}")  # one stream for all plans: fast for 100,000 orders
        self._plans = [self._plan(rng, index) for index in range(count)]

    def plan(self, index: int) -> OrderPlan:
        return self._plans[index]

    def _plan(self, rng: random.Random, index: int) -> OrderPlan:
        created = int(self._start + index * self._step + rng.random() * self._step * 0.5)
        status = rng.choices(_STATUSES, cum_weights=_STATUS_CUMULATIVE)[0]
        roll = rng.random()
        customer_index = -1 if roll < 0.3 or not self.customers else rng.randrange(len(self.customers))
        if 0.3 <= roll < 0.34 and self.customers:
            customer_index = 0  # the EU B2B customer orders regularly
        low, high = _LAST_CHANGE[status]
        later = rng.randrange(low, high) if high > low else low
        refunds: tuple[str, ...] = ()
        if status == "refunded":
            refunds = ("full",)
        elif status == "completed" and rng.random() < 0.12:
            refunds = ("line",) if rng.random() < 0.6 else ("amount",)
            later += rng.randrange(_HOUR, 2 * _DAY)
        paid = created + rng.randrange(5, 60) if status in _PAID else None
        modified = max(created, paid or created, min(created + later, self._now - 1))
        return OrderPlan(created, modified, status, customer_index, refunds, paid)

    def build(self, index: int, refund_ids: Iterator[int]) -> Order:
        plan = self._plans[index]
        rng = random.Random(self.seed * 1_000_003 + index)  # the order's details: its own stream
        order_id = self.first_id + index
        item_ids = count(self.item_base + index * ITEM_BLOCK)
        meta_ids = count(self.meta_base + index * META_BLOCK)
        customer = self.customers[plan.customer_index] if plan.customer_index >= 0 else None
        person: Buyer = buyer_of(customer) if customer else buyer(rng, 100_000 + index)
        vat_number = B2B_VAT_NUMBERS.get(person.country) if person.company else None
        picks = rng.sample(self._sellable, k=min(len(self._sellable), rng.choice((1, 1, 2, 2, 3, 4))))
        cart = [CartLine(product, variation, rng.choice((1, 1, 1, 2, 3))) for product, variation in picks]
        coupon = rng.choice(list(self.catalog.coupons.values())) if rng.random() < 0.15 else None
        goods = sum((line.quantity * (line.variation or line.product).price for line in cart), Decimal(0))
        shipping = FREE_SHIPPING if goods >= 75 else FLAT_RATE
        fees = (Fee("Cadeauverpakking", Decimal("2.50")),) if rng.random() < 0.08 else ()
        items = build_items(
            self.catalog,
            cart,
            item_ids=item_ids,
            meta_ids=meta_ids,
            coupon=coupon,
            shipping=shipping,
            fees=fees,
            tax_exempt=reverse_charged(vat_number, person.country),
            stock_reduced=plan.status in _PAID,
        )
        method, title = rng.choice(_PAYMENT)
        paid = plan.paid
        meta = [Meta(next(meta_ids), key, value) for key, value in vat_order_meta(vat_number, person.country)]
        order = Order(
            id=order_id,
            status=plan.status,
            created=plan.created,
            modified=plan.modified,
            customer_id=customer.id if customer else 0,
            order_key=order_key(rng),
            billing=person.billing(),
            shipping=person.shipping(),
            payment_method=method,
            payment_method_title=title,
            line_items=items.line_items,
            shipping_lines=items.shipping_lines,
            fee_lines=items.fee_lines,
            coupon_lines=items.coupon_lines,
            tax_line_ids=items.tax_line_ids,
            paid=paid,
            completed=plan.modified if plan.status in ("completed", "refunded") else None,
            transaction_id=f"tr_{rng.randrange(16**10):010x}" if paid and method != "bacs" else "",
            customer_note=rng.choice(_NOTES) if rng.random() < 0.1 else "",
            customer_user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/119.0",
            meta=meta,
        )
        for kind in plan.refunds:
            order.refunds.append(
                self._refund(order, kind, next(refund_ids), item_ids, meta_ids, plan.modified)
            )
        return order

    def _refund(
        self,
        order: Order,
        kind: str,
        refund_id: int,
        item_ids: Iterator[int],
        meta_ids: Iterator[int],
        when: float,
    ) -> Refund:
        if kind == "line":
            return line_refund(
                order,
                refund_id,
                [LineRefund(order.line_items[0].id, 1)],
                reason="Beschadigd geleverd",
                when=when,
                item_ids=item_ids,
                meta_ids=meta_ids,
            )
        if kind == "full":
            return amount_refund(order, refund_id, order_total(order), reason="Order geannuleerd", when=when)
        return amount_refund(
            order, refund_id, min(Decimal("5.00"), order_total(order)), reason="Goodwill", when=when
        )
