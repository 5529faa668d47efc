"""The sandbox shop's state and its store API (place, invoice, refund, update customer), moto style: every
change is a save that bumps updated_at (UTC) and may fire synchronous webhooks first, which can refuse it."""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ml_connector.adobe_commerce.sandbox import catalog
from ml_connector.adobe_commerce.sandbox.hooks import IoEventsEmitter, WebhookEmitter
from ml_connector.adobe_commerce.sandbox.sales import (
    ItemIds,
    Line,
    build_order,
    dec,
    document_header,
    document_items,
    document_totals,
    money,
)
from ml_connector.adobe_commerce.search import magento_datetime
from ml_connector.sandbox_kit.clock import Clock, utc_datetime

Doc = dict[str, Any]
INVOICE_PAID = 2
CREDITMEMO_REFUNDED = 2
PLACE_EVENT = "plugin.magento.sales.api.order_management.place"
INVOICE_EVENT = "observer.sales_order_invoice_save_after"
CREDITMEMO_EVENT = "observer.sales_order_creditmemo_save_after"
CUSTOMER_EVENT = "observer.customer_save_after"


class StoreError(Exception):
    """A store API call Magento itself would refuse; `status` is the HTTP status the REST API answers."""

    def __init__(self, message: str, parameters: list[Any] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.parameters = parameters or []
        self.status = status


class SandboxStore:
    def __init__(
        self, clock: Clock, hooks: WebhookEmitter, io_events: IoEventsEmitter, seed: int = 0
    ) -> None:
        self.clock = clock
        self.hooks = hooks
        self.io_events = io_events
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.orders: dict[int, Doc] = {}
        self.invoices: dict[int, Doc] = {}
        self.creditmemos: dict[int, Doc] = {}
        self.item_ids = ItemIds()
        self._doc_item_id = 1
        stamp = self._stamp(timedelta(days=-400))
        self.categories = catalog.categories(stamp)
        self.products = catalog.products(self.rng, stamp)
        self.customers = {c["id"]: c for c in catalog.customers(self.rng, 30, stamp)}

    def _stamp(self, offset: timedelta = timedelta(0)) -> str:
        return magento_datetime(utc_datetime(self.clock) + offset)

    # -- seeding ------------------------------------------------------------------------------------------

    def seed_orders(self, count: int) -> None:
        """`count` orders in the past, all invoiced (every 5th in two partial invoices), every 20th refunded
        with adjustments: 1,000 orders give 1,200 invoices and 50 credit memos."""
        for n in range(1, count + 1):
            age = timedelta(minutes=10 * (count - n) + 60)
            split = n % 5 == 0
            lines = self._random_lines()
            if split and len(lines) < 2:  # a partial invoice needs something left for the second one
                lines.append(self._line(self.products[0], 1))
            order = self._new_order(lines, self._stamp(-age), random_customer=True)
            self.orders[order["entity_id"]] = order
            later = self._stamp(-age + timedelta(minutes=5))
            if split:
                first_line = order["items"][0]
                self._invoice(order, {first_line["item_id"]: dec(first_line["qty_ordered"])}, later)
            self._invoice(order, None, later)
            if n % 20 == 0:
                self._refund(order, None, Decimal("5.00"), Decimal("2.50"), None, later)

    def _random_lines(self) -> list[Line]:
        simples = [p for p in self.products if p["type_id"] == "simple" and p["visibility"] == 4]
        lines = [
            self._line(p, self.rng.randint(1, 3)) for p in self.rng.sample(simples, self.rng.randint(1, 3))
        ]
        if self.rng.random() < 0.4:
            lines.append(
                self._line(self.rng.choice([p for p in self.products if p["type_id"] == "configurable"]), 1)
            )
        if self.rng.random() < 0.25:
            lines.append(
                self._line(self.rng.choice([p for p in self.products if p["type_id"] == "bundle"]), 1)
            )
        return lines

    def _line(self, product: Doc, qty: int, variant: str | None = None) -> Line:
        by_id = {p["id"]: p for p in self.products}
        by_sku = {p["sku"]: p for p in self.products}
        if product["type_id"] == "configurable":
            variants = [by_id[i] for i in product["extension_attributes"]["configurable_product_links"]]
            chosen = by_sku[variant] if variant else self.rng.choice(variants)
            return Line(product, qty, catalog.tax_rate(product), ((chosen, 1, catalog.tax_rate(chosen)),))
        if product["type_id"] == "bundle":
            parts = tuple(
                (
                    by_sku[o["product_links"][0]["sku"]],
                    1,
                    catalog.tax_rate(by_sku[o["product_links"][0]["sku"]]),
                )
                for o in product["extension_attributes"]["bundle_product_options"]
            )
            return Line(product, qty, catalog.tax_rate(product), parts)
        return Line(product, qty, catalog.tax_rate(product))

    def _new_order(
        self,
        lines: list[Line],
        stamp: str,
        *,
        customer_id: int | None = None,
        random_customer: bool = False,
        discount_pct: Decimal | None = None,
        shipping: Decimal | None = None,
        email: str | None = None,
    ) -> Doc:
        entity_id = len(self.orders) + 1
        if random_customer:
            customer = None if self.rng.random() < 0.2 else self.rng.choice(list(self.customers.values()))
        else:
            customer = self.customers.get(customer_id) if customer_id else None
            if customer_id and customer is None:
                raise StoreError(
                    "No such entity with %fieldName = %fieldValue", ["customerId", customer_id], 404
                )
        guest_email = email or f"guest{entity_id}@example.net"
        address = catalog.order_address(customer, self.rng, customer["email"] if customer else guest_email)
        if discount_pct is None:
            discount_pct = Decimal(10) if self.rng.random() < 0.3 else Decimal(0)
        if shipping is None:
            shipping = self.rng.choice([Decimal(0), Decimal("4.95"), Decimal("6.95")])
        return build_order(
            entity_id=entity_id,
            increment_id=f"{entity_id:09d}",
            customer=customer,
            guest_email=guest_email,
            address=address,
            lines=lines,
            discount_pct=discount_pct,
            shipping=shipping,
            stamp=stamp,
            item_ids=self.item_ids,
        )

    # -- store API ----------------------------------------------------------------------------------------

    def place_order(
        self,
        items: list[tuple[str, int]],
        *,
        customer_id: int | None = None,
        email: str | None = None,
        discount_pct: Decimal | float = 0,
        shipping: Decimal | float = Decimal("4.95"),
    ) -> Doc:
        """Place an order for (sku, qty) pairs; a configurable may be given by its variant's SKU."""
        with self.lock:
            by_sku = {p["sku"]: p for p in self.products}
            lines = []
            for sku, qty in items:
                product = by_sku.get(sku)
                if product is None:
                    raise StoreError(
                        "The product that was requested doesn't exist. Verify the product and try again.",
                        status=404,
                    )
                if product["visibility"] == 1:  # a variant: order it through its configurable parent
                    parent = next(
                        p
                        for p in self.products
                        if product["id"] in p["extension_attributes"].get("configurable_product_links", [])
                    )
                    lines.append(self._line(parent, qty, variant=sku))
                else:
                    lines.append(self._line(product, qty))
            order = self._new_order(
                lines,
                self._stamp(),
                customer_id=customer_id,
                email=email,
                discount_pct=dec(discount_pct),
                shipping=dec(shipping),
            )
            self.hooks.fire(PLACE_EVENT, {"order": order})  # "before" plugin: a refusal cancels the placement
            self.orders[order["entity_id"]] = order
            self.io_events.emit("observer.sales_order_save_after", _event_value(order))
            return copy.deepcopy(order)

    def invoice(self, order_id: int, qtys: Mapping[int, Decimal | float] | None = None) -> Doc:
        """Invoice the given quantities per order item id (partial allowed), or everything still open."""
        with self.lock:
            order = self._order(order_id)
            wanted = {k: dec(v) for k, v in qtys.items()} if qtys else None
            invoice = self._invoice(order, wanted, self._stamp(), fire=True)
            return copy.deepcopy(invoice)

    def refund(
        self,
        order_id: int,
        qtys: Mapping[int, Decimal | float] | None = None,
        *,
        adjustment_positive: Decimal | float = 0,
        adjustment_negative: Decimal | float = 0,
        shipping_amount: Decimal | float | None = None,
        invoice_id: int | None = None,
    ) -> Doc:
        """A credit memo for invoiced quantities (all by default), with refund adjustments."""
        with self.lock:
            order = self._order(order_id)
            wanted = {k: dec(v) for k, v in qtys.items()} if qtys else None
            memo = self._refund(
                order,
                wanted,
                dec(adjustment_positive),
                dec(adjustment_negative),
                None if shipping_amount is None else dec(shipping_amount),
                self._stamp(),
                invoice_id=invoice_id,
                fire=True,
            )
            return copy.deepcopy(memo)

    def update_customer(self, customer_id: int, **fields: Any) -> Doc:
        with self.lock:
            customer = self.customers.get(customer_id)
            if customer is None:
                raise StoreError(
                    "No such entity with %fieldName = %fieldValue", ["customerId", customer_id], 404
                )
            updated = {**copy.deepcopy(customer), **fields, "updated_at": self._stamp()}
            self.hooks.fire(CUSTOMER_EVENT, {"customer": updated})
            self.customers[customer_id] = updated
            return copy.deepcopy(updated)

    # -- documents -----------------------------------------------------------------------------------------

    def _order(self, order_id: int) -> Doc:
        order = self.orders.get(order_id)
        if order is None:
            raise StoreError(
                "The entity that was requested doesn't exist. Verify the entity and try again.", status=404
            )
        return order

    def _with_children(
        self, order: Doc, wanted: dict[int, Decimal], cap: dict[int, Decimal]
    ) -> dict[int, Decimal]:
        """Children follow their parent's share, as Magento invoices/refunds bundles and configurables."""
        out: dict[int, Decimal] = {}
        for item in order["items"]:
            parent_id = item.get("parent_item_id")
            if parent_id is None:
                qty = wanted.get(item["item_id"], Decimal(0))
            else:
                parent = next(i for i in order["items"] if i["item_id"] == parent_id)
                qty = out.get(parent_id, Decimal(0)) * dec(item["qty_ordered"]) / dec(parent["qty_ordered"])
            if qty > cap[item["item_id"]]:
                raise StoreError(
                    "The quantity to invoice or refund for item %1 exceeds what is open: %2",
                    [item["sku"], float(cap[item["item_id"]])],
                )
            if qty > 0:
                out[item["item_id"]] = qty
        return out

    def _next_doc_item_ids(self, count: int) -> int:
        first = self._doc_item_id
        self._doc_item_id += count
        return first

    def _invoice(self, order: Doc, wanted: dict[int, Decimal] | None, stamp: str, fire: bool = False) -> Doc:
        open_qty = {i["item_id"]: dec(i["qty_ordered"]) - dec(i["qty_invoiced"]) for i in order["items"]}
        if wanted is None:
            wanted = dict(open_qty)
        qtys = self._with_children(order, wanted, open_qty)
        if not qtys:
            raise StoreError("The order does not allow an invoice to be created.")
        entity_id = len(self.invoices) + 1
        first_shipping = not any(i["order_id"] == order["entity_id"] for i in self.invoices.values())
        lines = document_items(order, qtys, entity_id, self._doc_item_id)
        self._next_doc_item_ids(len(lines))
        shipping = dec(order["shipping_amount"]) if first_shipping else Decimal(0)
        shipping_tax = dec(order["shipping_tax_amount"]) if first_shipping else Decimal(0)
        invoice = document_header(
            order, entity_id, f"{entity_id:09d}", stamp, document_totals(order, lines, shipping, shipping_tax)
        )
        invoice.update(
            {
                "state": INVOICE_PAID,
                "can_void_flag": 0,
                "total_qty": float(sum(qtys.values())),
                "comments": [],
                "items": lines,
            }
        )
        if fire:
            self.hooks.fire(INVOICE_EVENT, {"invoice": invoice})
        self.invoices[entity_id] = invoice
        for item in order["items"]:
            if item["item_id"] in qtys:
                item["qty_invoiced"] = float(dec(item["qty_invoiced"]) + qtys[item["item_id"]])
                item["updated_at"] = stamp
        total = dec(order["total_invoiced"]) + dec(invoice["grand_total"])
        self._save_order(
            order,
            stamp,
            state="processing",
            total_invoiced=total,
            total_paid=total,
            total_due=dec(order["grand_total"]) - total,
        )
        if fire:
            self.io_events.emit("observer.sales_order_invoice_save_after", _event_value(invoice))
        return invoice

    def _refund(
        self,
        order: Doc,
        wanted: dict[int, Decimal] | None,
        adj_pos: Decimal,
        adj_neg: Decimal,
        shipping: Decimal | None,
        stamp: str,
        invoice_id: int | None = None,
        fire: bool = False,
    ) -> Doc:
        open_qty = {i["item_id"]: dec(i["qty_invoiced"]) - dec(i["qty_refunded"]) for i in order["items"]}
        if wanted is None:
            wanted = dict(open_qty)
        qtys = self._with_children(order, wanted, open_qty)
        refunded_shipping = sum(
            (
                dec(c["shipping_amount"])
                for c in self.creditmemos.values()
                if c["order_id"] == order["entity_id"]
            ),
            Decimal(0),
        )
        if shipping is None:
            shipping = dec(order["shipping_amount"]) - refunded_shipping
        ratio = shipping / dec(order["shipping_amount"]) if dec(order["shipping_amount"]) else Decimal(0)
        shipping_tax = (dec(order["shipping_tax_amount"]) * ratio).quantize(Decimal("0.01"))
        entity_id = len(self.creditmemos) + 1
        lines = document_items(order, qtys, entity_id, self._doc_item_id)
        self._next_doc_item_ids(len(lines))
        for line in lines:
            line["base_cost"] = 0
        totals = document_totals(order, lines, shipping, shipping_tax)
        totals["grand_total"] += adj_pos - adj_neg
        totals.update(adjustment=adj_pos - adj_neg, adjustment_positive=adj_pos, adjustment_negative=adj_neg)
        memo = document_header(order, entity_id, f"{entity_id:09d}", stamp, totals)
        invoice = invoice_id or next(
            (i["entity_id"] for i in self.invoices.values() if i["order_id"] == order["entity_id"]), None
        )
        memo.update(
            {
                "state": CREDITMEMO_REFUNDED,
                "creditmemo_status": CREDITMEMO_REFUNDED,
                "invoice_id": invoice,
                "comments": [],
                "items": lines,
            }
        )
        if fire:
            self.hooks.fire(CREDITMEMO_EVENT, {"creditmemo": memo})
        self.creditmemos[entity_id] = memo
        for item in order["items"]:
            if item["item_id"] in qtys:
                item["qty_refunded"] = float(dec(item["qty_refunded"]) + qtys[item["item_id"]])
                item["amount_refunded"] = money(
                    dec(item["amount_refunded"]) + _line_total(lines, item["item_id"])
                )
                item["updated_at"] = stamp
        total = dec(order["total_refunded"]) + dec(memo["grand_total"])
        fully = all(dec(i["qty_refunded"]) >= dec(i["qty_ordered"]) for i in order["items"])
        self._save_order(order, stamp, state="closed" if fully else order["state"], total_refunded=total)
        if fire:
            self.io_events.emit("observer.sales_order_creditmemo_save_after", _event_value(memo))
        return memo

    def _save_order(self, order: Doc, stamp: str, state: str, **totals: Decimal) -> None:
        order["state"] = state
        order["status"] = state
        for name, value in totals.items():
            order[name] = money(value)
            order[f"base_{name}"] = money(value)
        order["updated_at"] = stamp
        assignment = order["extension_attributes"]["shipping_assignments"][0]
        assignment["items"] = copy.deepcopy(order["items"])


def _line_total(lines: list[Doc], order_item_id: int) -> Decimal:
    return sum(
        (dec(line["row_total"]) for line in lines if line["order_item_id"] == order_item_id), Decimal(0)
    )


def _event_value(doc: Doc) -> Doc:
    """I/O Events payloads carry the entity's own fields (no extension_attributes); consumers re-read it."""
    return {k: v for k, v in doc.items() if k not in ("extension_attributes", "items", "payment")}
