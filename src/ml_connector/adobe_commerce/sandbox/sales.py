"""Order, invoice and credit memo documents shaped like Magento's REST output (see the samples in
shared/adobe-samples), computed the way Magento does for a store with prices excluding tax:

- row_total = price * qty; the discount is per line; tax = (row_total - discount) * rate, rounded per line;
- configurable: the parent line (product_type configurable, child's SKU) carries the money, the simple child
  carries price 0 and parent_item_id;
- dynamic bundle: the simple children carry their own prices and tax, the parent line their sums and no
  tax_percent (book ONE level, never both);
- the shipping address exists only in extension_attributes.shipping_assignments;
- extension_attributes.applied_taxes / item_applied_taxes hold Magento's own tax amounts per rate.
Amounts are JSON numbers with two decimals; timestamps are UTC "YYYY-MM-DD HH:MM:SS".
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
CURRENCY = "EUR"
SHIPPING_TAX_RATE = Decimal(21)
Doc = dict[str, Any]


def money(value: Decimal) -> float | int:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def rate_code(rate: Decimal) -> tuple[str, str]:
    return f"NL-{rate.normalize()}", f"BTW {rate.normalize()}%"


@dataclass(frozen=True)
class Line:
    """What was bought: a catalog product, a quantity and the tax rate of its class."""

    product: Doc
    qty: int
    rate: Decimal
    children: tuple[tuple[Doc, int, Decimal], ...] = ()  # configurable: the chosen simple; bundle: components


def _money_fields(price: Decimal, qty: int, rate: Decimal, discount_pct: Decimal) -> Doc:
    row = price * qty
    discount = (row * discount_pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    tax = ((row - discount) * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    incl = (price * (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "price": price,
        "original_price": price,
        "price_incl_tax": incl,
        "row_total": row,
        "row_total_incl_tax": incl * qty,
        "tax_amount": tax,
        "discount_amount": discount,
        "discount_percent": discount_pct,
        "tax_percent": rate,
    }


def _item(
    item_id: int, order_id: int, product: Doc, qty: int, fields: Doc, stamp: str, product_type: str
) -> Doc:
    item: Doc = {
        "amount_refunded": 0,
        "base_amount_refunded": 0,
        "base_discount_invoiced": 0,
        "base_row_invoiced": 0,
        "base_tax_invoiced": 0,
        "created_at": stamp,
        "discount_invoiced": 0,
        "free_shipping": 0,
        "discount_tax_compensation_amount": 0,
        "base_discount_tax_compensation_amount": 0,
        "is_qty_decimal": 0,
        "is_virtual": 0,
        "item_id": item_id,
        "name": product["name"],
        "no_discount": 0,
        "order_id": order_id,
        "product_id": product["id"],
        "product_type": product_type,
        "qty_canceled": 0,
        "qty_invoiced": 0,
        "qty_ordered": qty,
        "qty_refunded": 0,
        "qty_shipped": 0,
        "quote_item_id": item_id,
        "row_invoiced": 0,
        "sku": product["sku"],
        "store_id": 1,
        "tax_invoiced": 0,
        "updated_at": stamp,
        "weight": product.get("weight", 1),
        "row_weight": product.get("weight", 1) * qty,
    }
    for name, value in fields.items():
        item[name] = money(value) if name not in ("tax_percent", "discount_percent") else float(value)
        if name in (
            "price",
            "original_price",
            "price_incl_tax",
            "row_total",
            "row_total_incl_tax",
            "tax_amount",
            "discount_amount",
        ):
            item[f"base_{name}"] = item[name]
    return item


class ItemIds:
    def __init__(self, start: int = 1) -> None:
        self.next = start

    def take(self) -> int:
        self.next += 1
        return self.next - 1


def build_order(
    *,
    entity_id: int,
    increment_id: str,
    customer: Doc | None,
    guest_email: str,
    address: Doc,
    lines: Iterable[Line],
    discount_pct: Decimal,
    shipping: Decimal,
    stamp: str,
    item_ids: ItemIds,
) -> Doc:
    items: list[Doc] = []
    taxed: list[tuple[Doc, Decimal]] = []  # the lines that carry tax (for applied_taxes)
    for line in lines:
        ptype = line.product["type_id"]
        parent_id = item_ids.take()
        if ptype == "configurable":
            child, _, _ = line.children[0]
            fields = _money_fields(dec(line.product["price"]), line.qty, line.rate, discount_pct)
            parent = _item(
                parent_id, entity_id, {**line.product, "sku": child["sku"]}, line.qty, fields, stamp, ptype
            )
            zero = {
                "price": Decimal(0),
                "original_price": Decimal(0),
                "row_total": Decimal(0),
                "tax_amount": Decimal(0),
                "discount_amount": Decimal(0),
                "discount_percent": Decimal(0),
                "tax_percent": Decimal(0),
            }
            kid = _item(item_ids.take(), entity_id, child, line.qty, zero, stamp, "simple")
            kid["parent_item_id"] = parent_id
            kid["parent_item"] = copy.deepcopy(parent)
            items += [parent, kid]
            taxed.append((parent, line.rate))
        elif ptype == "bundle":
            kids = []
            for component, per_bundle, rate in line.children:
                fields = _money_fields(dec(component["price"]), per_bundle * line.qty, rate, discount_pct)
                kid = _item(
                    item_ids.take(), entity_id, component, per_bundle * line.qty, fields, stamp, "simple"
                )
                kid["parent_item_id"] = parent_id
                kids.append(kid)
                taxed.append((kid, rate))
            sums = {
                name: sum((dec(k[name]) for k in kids), Decimal(0))
                for name in ("row_total", "row_total_incl_tax", "tax_amount", "discount_amount")
            }
            price = sums["row_total"] / line.qty
            fields = {
                "price": price,
                "original_price": price,
                "price_incl_tax": sums["row_total_incl_tax"] / line.qty,
                **sums,
            }
            parent = _item(parent_id, entity_id, line.product, line.qty, fields, stamp, ptype)
            for kid in kids:
                kid["parent_item"] = copy.deepcopy(parent)
            items += [parent, *kids]
        else:
            fields = _money_fields(dec(line.product["price"]), line.qty, line.rate, discount_pct)
            item = _item(parent_id, entity_id, line.product, line.qty, fields, stamp, ptype)
            items.append(item)
            taxed.append((item, line.rate))
    booked = [i for i in items if "parent_item_id" not in i]
    subtotal = sum((dec(i["row_total"]) for i in booked), Decimal(0))
    item_tax = sum((dec(i["tax_amount"]) for i in booked), Decimal(0))
    discount = sum((dec(i["discount_amount"]) for i in booked), Decimal(0))
    shipping_tax = (shipping * SHIPPING_TAX_RATE / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    tax = item_tax + shipping_tax
    grand = subtotal + shipping + tax - discount
    applied, item_applied = _applied_taxes(taxed, shipping_tax)
    billing = {**address, "address_type": "billing", "entity_id": 2 * entity_id, "parent_id": entity_id}
    shipping_address = {
        **address,
        "address_type": "shipping",
        "entity_id": 2 * entity_id - 1,
        "parent_id": entity_id,
    }
    shipping_total = {
        "base_shipping_amount": money(shipping),
        "base_shipping_discount_amount": 0,
        "base_shipping_incl_tax": money(shipping + shipping_tax),
        "base_shipping_tax_amount": money(shipping_tax),
        "shipping_amount": money(shipping),
        "shipping_discount_amount": 0,
        "shipping_discount_tax_compensation_amount": 0,
        "shipping_incl_tax": money(shipping + shipping_tax),
        "shipping_tax_amount": money(shipping_tax),
    }
    totals = {
        "grand_total": grand,
        "subtotal": subtotal,
        "subtotal_incl_tax": subtotal + item_tax,
        "tax_amount": tax,
        "shipping_amount": shipping,
        "shipping_tax_amount": shipping_tax,
        "shipping_incl_tax": shipping + shipping_tax,
        "discount_amount": -discount,
        "total_due": grand,
        "shipping_discount_amount": Decimal(0),
        "discount_tax_compensation_amount": Decimal(0),
    }
    order: Doc = {
        "applied_rule_ids": "1" if discount else "",
        "base_currency_code": CURRENCY,
        "base_to_global_rate": 1,
        "base_to_order_rate": 1,
        "billing_address_id": 2 * entity_id,
        "created_at": stamp,
        "updated_at": stamp,
        "customer_email": customer["email"] if customer else guest_email,
        "customer_firstname": address["firstname"],
        "customer_lastname": address["lastname"],
        "customer_group_id": customer["group_id"] if customer else 0,
        "customer_is_guest": 0 if customer else 1,
        "customer_note_notify": 1,
        "email_sent": 1,
        "entity_id": entity_id,
        "global_currency_code": CURRENCY,
        "increment_id": increment_id,
        "is_virtual": 0,
        "order_currency_code": CURRENCY,
        "protect_code": f"{entity_id * 7919:06x}"[-6:],
        "quote_id": entity_id,
        "shipping_description": "Flat Rate - Fixed" if shipping else "Free Shipping - Free",
        "state": "new",
        "status": "pending",
        "store_currency_code": CURRENCY,
        "store_id": 1,
        "store_name": "Main Website\nMain Website Store\nDefault Store View",
        "store_to_base_rate": 0,
        "store_to_order_rate": 0,
        "total_item_count": len(items),
        "total_qty_ordered": sum(i["qty_ordered"] for i in booked),
        "total_invoiced": 0,
        "base_total_invoiced": 0,
        "total_paid": 0,
        "base_total_paid": 0,
        "total_refunded": 0,
        "base_total_refunded": 0,
        "weight": sum(i.get("row_weight", 0) for i in booked),
        "items": items,
        "billing_address": billing,
        "payment": {
            "account_status": None,
            "additional_information": ["Bank Transfer Payment", ""],
            "amount_ordered": money(grand),
            "base_amount_ordered": money(grand),
            "base_shipping_amount": money(shipping),
            "cc_last4": None,
            "entity_id": entity_id,
            "method": "banktransfer",
            "parent_id": entity_id,
            "shipping_amount": money(shipping),
        },
        "status_histories": [],
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": shipping_address,
                        "method": "flatrate_flatrate" if shipping else "freeshipping_freeshipping",
                        "total": shipping_total,
                    },
                    "items": copy.deepcopy(items),
                }
            ],
            "applied_taxes": applied,
            "item_applied_taxes": item_applied,
        },
    }
    if customer:
        order["customer_id"] = customer["id"]
        if customer.get("taxvat"):
            order["customer_taxvat"] = customer["taxvat"]
    if discount:
        order["discount_description"] = "10% off"
    for name, value in totals.items():
        order[name] = money(value)
        order[f"base_{name}"] = money(value)
    return order


def _applied_taxes(taxed: list[tuple[Doc, Decimal]], shipping_tax: Decimal) -> tuple[list[Doc], list[Doc]]:
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    item_applied = []
    for item, rate in taxed:
        amount = dec(item["tax_amount"])
        per_rate[rate] += amount
        code, title = rate_code(rate)
        item_applied.append(
            {
                "type": "product",
                "item_id": item["item_id"],
                "applied_taxes": [
                    {
                        "code": code,
                        "title": title,
                        "percent": float(rate),
                        "amount": money(amount),
                        "base_amount": money(amount),
                    }
                ],
            }
        )
    if shipping_tax:
        per_rate[SHIPPING_TAX_RATE] += shipping_tax
        code, title = rate_code(SHIPPING_TAX_RATE)
        item_applied.append(
            {
                "type": "shipping",
                "applied_taxes": [
                    {
                        "code": code,
                        "title": title,
                        "percent": float(SHIPPING_TAX_RATE),
                        "amount": money(shipping_tax),
                        "base_amount": money(shipping_tax),
                    }
                ],
            }
        )
    applied = []
    for rate, amount in sorted(per_rate.items()):
        code, title = rate_code(rate)
        applied.append(
            {
                "code": code,
                "title": title,
                "percent": float(rate),
                "amount": money(amount),
                "base_amount": money(amount),
            }
        )
    return applied, item_applied


# -- invoices and credit memos ---------------------------------------------------------------------------


def _share(item: Doc, name: str, qty: Decimal) -> Decimal:
    ordered = dec(item["qty_ordered"])
    return (
        (dec(item.get(name, 0)) * qty / ordered).quantize(CENT, rounding=ROUND_HALF_UP)
        if ordered
        else Decimal(0)
    )


def document_items(order: Doc, qtys: dict[int, Decimal], doc_id: int, first_item_id: int) -> list[Doc]:
    lines = []
    next_id = first_item_id
    for item in order["items"]:
        qty = qtys.get(item["item_id"], Decimal(0))
        if qty <= 0:
            continue
        line: Doc = {
            "entity_id": next_id,
            "parent_id": doc_id,
            "order_item_id": item["item_id"],
            "product_id": item["product_id"],
            "sku": item["sku"],
            "name": item["name"],
            "qty": float(qty),
            "price": item["price"],
            "base_price": item["base_price"],
            "price_incl_tax": item.get("price_incl_tax", item["price"]),
            "base_price_incl_tax": item.get("base_price_incl_tax", item["base_price"]),
        }
        for name in ("row_total", "row_total_incl_tax", "tax_amount", "discount_amount"):
            line[name] = money(_share(item, name, qty))
            line[f"base_{name}"] = line[name]
        line["discount_tax_compensation_amount"] = 0
        line["base_discount_tax_compensation_amount"] = 0
        lines.append(line)
        next_id += 1
    return lines


def document_totals(order: Doc, lines: list[Doc], shipping: Decimal, shipping_tax: Decimal) -> Doc:
    by_id = {i["item_id"]: i for i in order["items"]}
    booked = [line for line in lines if "parent_item_id" not in by_id[line["order_item_id"]]]
    subtotal = sum((dec(line["row_total"]) for line in booked), Decimal(0))
    item_tax = sum((dec(line["tax_amount"]) for line in booked), Decimal(0))
    discount = sum((dec(line["discount_amount"]) for line in booked), Decimal(0))
    return {
        "subtotal": subtotal,
        "subtotal_incl_tax": subtotal + item_tax,
        "tax_amount": item_tax + shipping_tax,
        "shipping_amount": shipping,
        "shipping_tax_amount": shipping_tax,
        "shipping_incl_tax": shipping + shipping_tax,
        "discount_amount": -discount,
        "discount_tax_compensation_amount": Decimal(0),
        "grand_total": subtotal + item_tax + shipping + shipping_tax - discount,
    }


def document_header(order: Doc, entity_id: int, increment_id: str, stamp: str, totals: Doc) -> Doc:
    doc: Doc = {
        "entity_id": entity_id,
        "increment_id": increment_id,
        "order_id": order["entity_id"],
        "store_id": order["store_id"],
        "created_at": stamp,
        "updated_at": stamp,
        "billing_address_id": order["billing_address_id"],
        "shipping_address_id": order["billing_address_id"] - 1,
        "base_currency_code": CURRENCY,
        "order_currency_code": CURRENCY,
        "global_currency_code": CURRENCY,
        "store_currency_code": CURRENCY,
        "base_to_global_rate": 1,
        "base_to_order_rate": 1,
        "store_to_base_rate": 0,
        "store_to_order_rate": 0,
        "email_sent": 1,
        "shipping_discount_tax_compensation_amount": 0,
        "base_shipping_discount_tax_compensation_amnt": 0,
    }
    if order.get("discount_description"):
        doc["discount_description"] = order["discount_description"]
    for name, value in totals.items():
        doc[name] = money(value)
        doc[f"base_{name}"] = money(value)
    return doc
