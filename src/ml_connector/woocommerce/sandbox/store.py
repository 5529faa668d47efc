"""The in-memory WooCommerce store: state, a Python API for tests and the demo, and change events.

Every mutation takes the store lock, stamps `date_modified` from the clock and then fires the topics
WooCommerce 7.9 fires for it (creating an order or customer fires `created` AND `updated`, a refund fires
`order.updated`, trashing fires `order.deleted`). Seeded orders live only as (seed, index) until something
changes them, so very large stores stay small in memory.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import count
from typing import Any

from ml_connector.sandbox_kit.clock import Clock

from .catalog import Catalog, build_catalog
from .generator import ITEM_BLOCK, META_BLOCK, OrderGenerator, order_key
from .models import ApiKey, Customer, Meta, Order, Product, Refund, Variation, Webhook
from .people import (
    VAT_META_KEY,
    Buyer,
    buyer_of,
    customer_address,
    make_customer,
    reverse_charged,
    seed_customers,
    vat_order_meta,
)
from .pricing import CartLine, Fee, build_items, shipping_choice
from .refunds import LineRefund, RefundError, amount_refund, line_refund, remaining_refundable
from .settings import StoreSettings

Listener = Callable[[str, int], None]
ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
_PAID_STATUSES = ("processing", "completed")


class StoreError(ValueError):
    """A request the real store refuses; carries WooCommerce's error code and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Credentials:
    consumer_key: str
    consumer_secret: str = field(repr=False)


@dataclass
class _OrderIndex:
    """Parallel columns over all orders ever created, in id order: what list filters need, nothing more."""

    ids: list[int] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    modified: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    customer: list[int] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    revision: int = 0  # bumped on every change, so list results can be cached between pages
    results: OrderedDict[tuple[object, ...], list[int]] = field(default_factory=OrderedDict)

    def append(self, order_id: int, created: int, modified: int, status: str, customer: int) -> None:
        self.ids.append(order_id)
        self.created.append(created)
        self.modified.append(modified)
        self.status.append(status)
        self.customer.append(customer)
        self.alive.append(True)
        self.revision += 1

    def position(self, order_id: int) -> int | None:
        pos = bisect.bisect_left(self.ids, order_id)
        return pos if pos < len(self.ids) and self.ids[pos] == order_id else None


def _key_material(seed: int, label: str, length: int = 40) -> str:
    return hashlib.sha1(f"{seed}:{label}".encode(), usedforsecurity=False).hexdigest()[:length]


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise StoreError(
            "rest_invalid_param", f'{what} must be a decimal amount such as "5.00", got {value!r}'
        ) from None
    if not amount.is_finite():
        raise StoreError("rest_invalid_param", f"{what} must be a finite amount, got {value!r}")
    return amount


class WooStore:
    def __init__(
        self,
        *,
        seed: int,
        orders: int,
        clock: Clock,
        customers: int | None = None,
        products: int | None = None,
        settings: StoreSettings | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.seed = seed
        self.settings = settings or StoreSettings()
        self.home_url: str | None = None
        self._listeners: list[Listener] = []
        now = self.now()
        # WordPress gives products, variations, coupons, orders and refunds ids from one sequence.
        post_ids = count(10)
        self.catalog: Catalog = build_catalog(seed, now, post_ids, products)
        customer_count = customers if customers is not None else max(5, min(2000, orders // 4))
        self.customers: dict[int, Customer] = {c.id: c for c in seed_customers(seed, customer_count, now)}
        self._user_ids = count(max(self.customers, default=1) + 1)
        first_order = next(post_ids)
        self._generator = OrderGenerator(
            seed=seed,
            count=orders,
            first_id=first_order,
            now=now,
            catalog=self.catalog,
            customers=list(self.customers.values()),
            item_base=1000,
            meta_base=1000 + 100 * customer_count,
        )
        self._index = _OrderIndex()
        self._refund_offsets: list[int] = []  # generated order index -> first refund id offset
        refunds_so_far = 0
        customer_ids = list(self.customers)
        for index in range(orders):
            plan = self._generator.plan(index)
            customer_id = customer_ids[plan.customer_index] if plan.customer_index >= 0 else 0
            self._index.append(first_order + index, plan.created, plan.modified, plan.status, customer_id)
            self._refund_offsets.append(refunds_so_far)
            refunds_so_far += len(plan.refunds)
            if plan.status in _PAID_STATUSES and customer_id:
                self.customers[customer_id].is_paying_customer = True
        self._refund_base = first_order + orders
        self._post_ids = count(self._refund_base + refunds_so_far)
        self._item_ids = count(1000 + orders * ITEM_BLOCK + 1)
        self._meta_ids = count(self._generator.meta_base + orders * META_BLOCK + 1)
        self._orders: dict[int, Order] = {}  # materialised orders: created or changed since seeding
        self.webhooks: dict[int, Webhook] = {}
        self._webhook_ids = count(1)
        self.keys: dict[str, ApiKey] = {}
        self.read_write = self.add_key("read_write")
        self.read_only = self.add_key("read")
        self.salt = _key_material(seed, "auth-salt", 64)

    # -- plumbing -------------------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock.time())

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _fire(self, *topics_and_ids: tuple[str, int]) -> None:
        for topic, resource_id in topics_and_ids:
            for listener in self._listeners:
                listener(topic, resource_id)

    def add_key(
        self, permissions: str, consumer_key: str | None = None, consumer_secret: str | None = None
    ) -> Credentials:
        """Issue a REST key (`read`, `write`, `read_write`); explicit values let tests replay captures."""
        with self.lock:
            key_id = len(self.keys) + 1
            key = ApiKey(
                key_id,
                consumer_key or f"ck_{_key_material(self.seed, f'ck{key_id}')}",
                consumer_secret or f"cs_{_key_material(self.seed, f'cs{key_id}')}",
                permissions,
            )
            self.keys[key.consumer_key] = key
            return Credentials(key.consumer_key, key.consumer_secret)

    # -- orders: reading ------------------------------------------------------------------------------------

    @property
    def order_index(self) -> _OrderIndex:
        return self._index

    @property
    def materialised_orders(self) -> int:
        """Orders held as objects (created or changed since seeding); the rest exist only as their seed."""
        return len(self._orders)

    def get_order(self, order_id: int) -> Order | None:
        with self.lock:
            if order_id in self._orders:
                return self._orders[order_id]
            pos = self._index.position(order_id)
            if pos is None or not self._index.alive[pos] or pos >= self._generator.count:
                return None
            return self._generator.build(pos, count(self._refund_base + self._refund_offsets[pos]))

    def _order(
        self, order_id: int, *, code: str = "woocommerce_rest_shop_order_invalid_id", status: int = 404
    ) -> Order:
        order = self.get_order(order_id)
        if order is None:
            raise StoreError(code, "Invalid ID.", status)
        self._orders[order_id] = order  # materialise: it is about to change
        return order

    def _reindex(self, order: Order) -> None:
        pos = self._index.position(order.id)
        if pos is not None:
            self._index.modified[pos] = int(order.modified)
            self._index.status[pos] = order.status
            self._index.customer[pos] = order.customer_id
            self._index.revision += 1

    def find_refund(self, order_id: int, refund_id: int) -> Refund | None:
        order = self.get_order(order_id)
        return next((r for r in order.refunds if r.id == refund_id), None) if order else None

    # -- orders: writing ------------------------------------------------------------------------------------

    def _cart(self, lines: list[dict[str, Any]]) -> list[CartLine]:
        cart: list[CartLine] = []
        for number, line in enumerate(lines, start=1):
            quantity = int(line.get("quantity", 1))
            product: Product | None = None
            variation: Variation | None = None
            if line.get("sku"):
                found = self.catalog.by_sku(str(line["sku"]))
                if found is None:
                    raise StoreError(
                        "woocommerce_rest_invalid_product_id",
                        f"Product SKU {line['sku']!r} (line {number}) does not exist.",
                    )
                product, variation = found
            elif line.get("variation_id"):
                variation = self.catalog.variations.get(int(line["variation_id"]))
                product = self.catalog.products.get(variation.parent_id) if variation else None
            elif line.get("product_id"):
                product = self.catalog.products.get(int(line["product_id"]))
            else:
                raise StoreError(
                    "woocommerce_rest_required_product_reference", "Product ID or SKU is required."
                )
            if product is None:
                raise StoreError("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
            if product.variations and variation is None:
                variation = product.variations[0]
            if quantity < 1:
                raise StoreError(
                    "woocommerce_rest_invalid_product_quantity",
                    f"Line {number}: quantity must be at least 1.",
                )
            cart.append(CartLine(product, variation, quantity))
        return cart

    def create_order(
        self,
        *,
        line_items: list[dict[str, Any]],
        customer_id: int = 0,
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        status: str | None = None,
        set_paid: bool = False,
        coupon_codes: tuple[str, ...] = (),
        shipping_method: str | None = "flat_rate",
        shipping_total: Decimal | None = None,
        fees: tuple[tuple[str, Decimal], ...] = (),
        customer_note: str = "",
        payment_method: str = "bacs",
        payment_method_title: str = "Direct bank transfer",
        meta_data: list[dict[str, Any]] | None = None,
        created_via: str = "checkout",
    ) -> Order:
        """Place an order as a shopper's checkout (REST: `created_via="rest-api"`); fires created+updated."""
        with self.lock:
            now = self.now()
            customer = self.customers.get(customer_id) if customer_id else None
            if customer_id and customer is None:
                raise StoreError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.")
            if status is not None and status not in ORDER_STATUSES:
                raise StoreError(
                    "rest_invalid_param", f"Invalid parameter(s): status (unknown status {status!r})"
                )
            cart = self._cart(line_items)
            coupon = None
            for code in coupon_codes:
                coupon = self.catalog.coupon_by_code(code)
                if coupon is None:
                    raise StoreError("woocommerce_rest_invalid_coupon", f'Coupon "{code}" does not exist!')
            ship = shipping_choice(shipping_method, shipping_total, via_rest=created_via == "rest-api")
            person: Buyer | None = buyer_of(customer) if customer else None
            bill = {**(person.billing() if person else _empty_billing()), **(billing or {})}
            vat_number, extra_meta = _order_vat(customer, bill["country"], meta_data or [])
            final_status = status or ("processing" if set_paid or created_via == "checkout" else "pending")
            items = build_items(
                self.catalog,
                cart,
                item_ids=self._item_ids,
                meta_ids=self._meta_ids,
                coupon=coupon,
                shipping=ship,
                fees=tuple(Fee(name, amount) for name, amount in fees),
                tax_exempt=reverse_charged(vat_number, bill["country"]),
                stock_reduced=final_status in _PAID_STATUSES,
            )
            if coupon is not None:
                coupon.usage_count += 1
                coupon.used_by.append(str(customer_id) if customer_id else (billing or {}).get("email", ""))
            ship_to = {
                **(person.shipping() if person else {k: v for k, v in bill.items() if k != "email"}),
                **(shipping or {}),
            }
            order = Order(
                id=next(self._post_ids),
                status=final_status,
                created=now,
                modified=now,
                customer_id=customer_id,
                order_key=order_key(random.Random(f"{self.seed}:key:{now}:{len(self._orders)}")),
                billing=bill,
                shipping=ship_to,
                payment_method=payment_method,
                payment_method_title=payment_method_title,
                line_items=items.line_items,
                shipping_lines=items.shipping_lines,
                fee_lines=items.fee_lines,
                coupon_lines=items.coupon_lines,
                tax_line_ids=items.tax_line_ids,
                paid=now if set_paid or final_status in _PAID_STATUSES else None,
                completed=now if final_status == "completed" else None,
                created_via=created_via,
                customer_note=customer_note,
                customer_user_agent="ml-connector-sandbox/1.0",
                meta=[
                    *(Meta(next(self._meta_ids), m["key"], m.get("value")) for m in meta_data or []),
                    *(Meta(next(self._meta_ids), key, value) for key, value in extra_meta),
                ],
                version=self.settings.wc_version,
            )
            if customer is not None and order.paid:
                customer.is_paying_customer = True
            self._orders[order.id] = order
            self._index.append(order.id, now, now, order.status, customer_id)
        self._fire(("order.created", order.id), ("order.updated", order.id))
        return order

    def update_order(
        self,
        order_id: int,
        *,
        status: str | None = None,
        customer_note: str | None = None,
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        meta_data: list[dict[str, Any]] | None = None,
        set_paid: bool = False,
        transaction_id: str | None = None,
        missing_status: int = 404,
    ) -> Order:
        """Change an order like the admin screen or `PUT /orders/<id>` does. Fires order.updated."""
        with self.lock:
            order = self._order(order_id, status=missing_status)
            now = self.now()
            if status is not None and status != order.status:
                if status not in ORDER_STATUSES:
                    raise StoreError(
                        "rest_invalid_param", f"Invalid parameter(s): status (unknown status {status!r})"
                    )
                order.status = status
                if status in _PAID_STATUSES and order.paid is None:
                    order.paid = now
                if status == "completed":
                    order.completed = now
            if set_paid and order.paid is None:
                order.paid = now
                if order.status in ("pending", "failed", "on-hold"):
                    order.status = "processing"
            if customer_note is not None:
                order.customer_note = customer_note
            if billing:
                order.billing = {**order.billing, **billing}
            if shipping:
                order.shipping = {**order.shipping, **shipping}
            if transaction_id is not None:
                order.transaction_id = transaction_id
            for item in meta_data or []:
                existing = next((m for m in order.meta if m.key == item["key"]), None)
                if existing:
                    existing.value = item.get("value")
                else:
                    order.meta.append(Meta(next(self._meta_ids), item["key"], item.get("value")))
            order.modified = now
            self._reindex(order)
        self._fire(("order.updated", order.id))
        return order

    def delete_order(self, order_id: int, *, force: bool = False) -> Order:
        """Trash an order (default) or delete it for good. Fires order.deleted (payload: just the id)."""
        with self.lock:
            order = self._order(order_id)
            pos = self._index.position(order_id)
            assert pos is not None
            was_trashed = order.status == "trash"
            if force:
                self._index.alive[pos] = False
                self._index.revision += 1
                del self._orders[order_id]
            else:
                if was_trashed:
                    raise StoreError(
                        "woocommerce_rest_already_trashed", "The order has already been deleted.", 410
                    )
                order.status_before_trash = order.status
                order.status = "trash"
                order.modified = self.now()
                self._reindex(order)
        if not was_trashed:
            self._fire(("order.deleted", order_id))
        return order

    def create_refund(
        self,
        order_id: int,
        *,
        amount: Decimal | str | None = None,
        lines: list[tuple[int, int]] | list[LineRefund] | None = None,
        reason: str = "",
        refunded_payment: bool = False,
    ) -> Refund:
        """A line refund (`lines` = [(order item id, quantity)]) or amount-only. Fires order.updated."""
        with self.lock:
            order = self._order(order_id)
            now = self.now()
            wanted = None if amount is None else _money(amount, "amount")
            wanted_lines = [
                line if isinstance(line, LineRefund) else LineRefund(*line) for line in lines or []
            ]
            try:
                if wanted_lines:
                    refund = line_refund(
                        order,
                        next(self._post_ids),
                        wanted_lines,
                        reason=reason,
                        when=now,
                        item_ids=self._item_ids,
                        meta_ids=self._meta_ids,
                        amount=wanted,
                    )
                else:
                    refund = amount_refund(
                        order, next(self._post_ids), wanted or Decimal(0), reason=reason, when=now
                    )
            except RefundError as exc:
                raise StoreError("woocommerce_rest_cannot_create_order_refund", str(exc)) from None
            refund.refunded_payment = refunded_payment
            order.refunds.append(refund)
            if remaining_refundable(order) <= 0:
                order.status = "refunded"
            order.modified = now
            self._reindex(order)
        self._fire(("order.updated", order.id))
        return refund

    # -- customers ------------------------------------------------------------------------------------------

    def create_customer(
        self,
        *,
        email: str,
        first_name: str = "",
        last_name: str = "",
        username: str | None = None,
        billing: dict[str, str] | None = None,
        shipping: dict[str, str] | None = None,
        meta_data: list[dict[str, Any]] | None = None,
    ) -> Customer:
        """Register a customer (sign-up or `POST /customers`). Fires customer.created + customer.updated."""
        with self.lock:
            if not email or "@" not in email:
                raise StoreError("rest_invalid_param", "Invalid parameter(s): email")
            if any(c.email == email for c in self.customers.values()):
                raise StoreError(
                    "registration-error-email-exists",
                    "An account is already registered with your email address. Please log in.",
                )
            now = self.now()
            person = Buyer(first_name, last_name, email, "", "", "", "", "", "")
            customer = make_customer(next(self._user_ids), person, now, next(self._meta_ids))
            customer.meta = [Meta(next(self._meta_ids), m["key"], m.get("value")) for m in meta_data or []]
            customer.username = username or email.split("@", 1)[0]
            customer.billing = customer_address({**customer.billing, **(billing or {})}, with_email=True)
            customer.shipping = customer_address({**customer.shipping, **(shipping or {})}, with_email=False)
            self.customers[customer.id] = customer
        self._fire(("customer.created", customer.id), ("customer.updated", customer.id))
        return customer

    def update_customer(self, customer_id: int, *, missing_status: int = 404, **changes: Any) -> Customer:
        """Change a customer (`email`, `first_name`, `last_name`, `billing`, `shipping`, `meta_data`)."""
        with self.lock:
            customer = self.customers.get(customer_id)
            if customer is None:
                raise StoreError("woocommerce_rest_invalid_id", "Invalid resource ID.", missing_status)
            for name in ("email", "first_name", "last_name"):
                if changes.get(name) is not None:
                    setattr(customer, name, str(changes[name]))
            if changes.get("billing"):
                customer.billing = customer_address(
                    {**customer.billing, **changes["billing"]}, with_email=True
                )
            if changes.get("shipping"):
                customer.shipping = customer_address(
                    {**customer.shipping, **changes["shipping"]}, with_email=False
                )
            for item in changes.get("meta_data") or []:
                existing = next((m for m in customer.meta if m.key == item["key"]), None)
                if existing:
                    existing.value = item.get("value")
                else:
                    customer.meta.append(Meta(next(self._meta_ids), item["key"], item.get("value")))
            customer.modified = self.now()
        self._fire(("customer.updated", customer.id))
        return customer

    def delete_customer(self, customer_id: int) -> Customer:
        with self.lock:
            customer = self.customers.pop(customer_id, None)
            if customer is None:
                raise StoreError("woocommerce_rest_invalid_id", "Invalid resource ID.", 400)
        self._fire(("customer.deleted", customer_id))
        return customer

    # -- products -------------------------------------------------------------------------------------------

    def update_product(self, product_id: int, variation_id: int = 0, **changes: Any) -> Product | Variation:
        """Stock or price changes (`stock_quantity`, `regular_price`, `sku`). Fires product.updated."""
        with self.lock:
            product = self.catalog.products.get(product_id)
            target: Product | Variation | None = product
            if product is not None and variation_id:
                target = next((v for v in product.variations if v.id == variation_id), None)
            if target is None:
                raise StoreError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            if "stock_quantity" in changes:
                target.stock_quantity = (
                    None if changes["stock_quantity"] is None else int(changes["stock_quantity"])
                )
            if changes.get("regular_price") is not None:
                target.price = _money(changes["regular_price"], "regular_price")
            if changes.get("sku") is not None:
                target.sku = str(changes["sku"])
            target.modified = self.now()
        self._fire(("product.updated", product_id))
        return target

    # -- webhooks (the REST layer and the dispatcher share these) -------------------------------------------

    def create_webhook(
        self, *, topic: str, delivery_url: str, secret: str, name: str | None = None, status: str = "active"
    ) -> Webhook:
        with self.lock:
            now = self.now()
            webhook = Webhook(
                id=next(self._webhook_ids),
                name=name or f"Webhook created on {_webhook_name_date(now)}",
                status=status,
                topic=topic,
                delivery_url=delivery_url,
                secret=secret,
                created=now,
            )
            self.webhooks[webhook.id] = webhook
            return webhook

    def iter_orders(self) -> Iterator[int]:
        """Ids of orders that exist (trashed included), in id order."""
        return (oid for oid, alive in zip(self._index.ids, self._index.alive, strict=True) if alive)


def _order_vat(
    customer: Customer | None, country: str, meta_data: list[dict[str, Any]]
) -> tuple[str | None, list[tuple[str, str]]]:
    """The buyer's VAT number (order meta given, else the customer's) and the meta a VAT plugin adds."""
    given = next((str(m.get("value")) for m in meta_data if m.get("key") == VAT_META_KEY), None)
    known = next((str(m.value) for m in customer.meta if m.key == VAT_META_KEY), None) if customer else None
    vat_number = given or known
    added = [(k, v) for k, v in vat_order_meta(vat_number, country) if k != VAT_META_KEY or not given]
    return vat_number, added


def _empty_billing() -> dict[str, str]:
    keys = (
        "first_name",
        "last_name",
        "company",
        "address_1",
        "address_2",
        "city",
        "state",
        "postcode",
        "country",
        "email",
        "phone",
    )
    return dict.fromkeys(keys, "")


def _webhook_name_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%b %d, %Y @ %I:%M %p")
