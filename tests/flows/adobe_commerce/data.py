"""Adobe Commerce records for the flow tests: the real samples, and a generator of orders, partial
invoices and credit memos shaped like them (same keys, parent/child structure, Magento's own rounding
of tax after discount), with the expected GL booking known independently of the code under test."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ml_connector.adobe_commerce.models import CreditMemo, Invoice, Order
from tests.shared_data import SHARED

SAMPLES = SHARED / "adobe-samples"
CENT = Decimal("0.01")


def sample_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def sample_order() -> Order:
    return Order.model_validate(sample_json("order-get-v1-orders-3.json"))


def sample_invoice() -> Invoice:
    return Invoice.model_validate(sample_json("invoice-get-v1-invoices-3.json"))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def num(value: Decimal) -> float:
    return float(value)


@dataclass
class Product:
    sku: str
    product_id: int
    price: Decimal
    tax_percent: Decimal
    gl: str  # the GL account the test mapping sends this product to (independent expectation)


@dataclass
class Line:
    """An order line as the generator builds it: `kind` simple | configurable | bundle (dynamic)."""

    kind: str
    product: Product
    qty: int
    discount: Decimal = Decimal(0)
    components: list[Product] = field(default_factory=list)


def _item(item_id: int, product: Product, qty: int, product_type: str, **extra: Any) -> dict[str, Any]:
    row_total = product.price * qty
    discount = extra.pop("discount", Decimal(0))
    tax = cents((row_total - discount) * product.tax_percent / 100)
    data = {
        "item_id": item_id,
        "order_id": 1,
        "sku": product.sku,
        "name": product.sku.title(),
        "product_id": product.product_id,
        "product_type": product_type,
        "qty_ordered": qty,
        "price": num(product.price),
        "base_price": num(product.price),
        "row_total": num(row_total),
        "base_row_total": num(row_total),
        "tax_amount": num(tax),
        "base_tax_amount": num(tax),
        "tax_percent": num(product.tax_percent),
        "discount_amount": num(discount),
        "discount_tax_compensation_amount": 0,
        "price_incl_tax": num(cents(product.price * (1 + product.tax_percent / 100))),
    }
    data.update(extra)
    return data


def build_order(
    entity_id: int, lines: list[Line], shipping: Decimal, shipping_percent: Decimal
) -> dict[str, Any]:
    """A Magento order dict. Configurable: parent carries the amounts, child 0. Dynamic bundle: the
    components carry them, the parent shows their sum and no tax (as in the real sample)."""
    items: list[dict[str, Any]] = []
    next_id = entity_id * 100
    for line in lines:
        next_id += 1
        parent_id = next_id
        if line.kind == "simple":
            items.append(_item(parent_id, line.product, line.qty, "simple", discount=line.discount))
        elif line.kind == "configurable":
            items.append(_item(parent_id, line.product, line.qty, "configurable", discount=line.discount))
            next_id += 1
            child = Product(line.product.sku, line.product.product_id + 1000, Decimal(0), Decimal(0), "")
            items.append(_item(next_id, child, line.qty, "simple", parent_item_id=parent_id, tax_percent=0))
        else:  # dynamic bundle: components priced, discount on the first component
            components = []
            for index, component in enumerate(line.components):
                next_id += 1
                discount = line.discount if index == 0 else Decimal(0)
                components.append(
                    _item(next_id, component, line.qty, "simple", parent_item_id=parent_id, discount=discount)
                )
            total = sum((Decimal(str(c["row_total"])) for c in components), Decimal(0))
            parent = _item(parent_id, line.product, line.qty, "bundle", tax_percent=None)
            parent.update(price=num(total / line.qty), row_total=num(total), tax_amount=0, discount_amount=0)
            items += [parent, *components]
    shipping_tax = cents(shipping * shipping_percent / 100)
    applied = {
        "code": f"VAT-{shipping_percent}",
        "percent": num(shipping_percent),
        "amount": num(shipping_tax),
        "base_amount": num(shipping_tax),
    }
    return _document(
        {
            "extension_attributes": {
                "item_applied_taxes": [{"type": "shipping", "applied_taxes": [applied]}]
            },
            "entity_id": entity_id,
            "increment_id": f"{100000000 + entity_id}",
            "state": "processing",
            "status": "processing",
            "store_id": 1,
            "created_at": "2026-11-01 10:00:00",
            "updated_at": "2026-11-01 10:00:00",
            "customer_email": f"c{entity_id}@example.com",
            "order_currency_code": "EUR",
            "base_currency_code": "EUR",
            "shipping_description": "Flat Rate - Fixed",
            "billing_address": {"address_type": "billing", "country_id": "NL", "city": "Utrecht"},
            "items": items,
        },
        items,
        shipping,
        shipping_tax,
    )


def _document(
    head: dict[str, Any], items: list[dict[str, Any]], shipping: Decimal, shipping_tax: Decimal
) -> dict[str, Any]:
    """Fill the totals of an order/invoice/credit memo the way Magento does (discount negative)."""
    priced = [i for i in items if i.get("product_type") != "bundle"]
    subtotal = sum((Decimal(str(i.get("row_total", 0))) for i in priced), Decimal(0))
    tax = sum((Decimal(str(i.get("tax_amount", 0))) for i in priced), Decimal(0)) + shipping_tax
    discount = sum((Decimal(str(i.get("discount_amount", 0))) for i in priced), Decimal(0))
    grand = subtotal + shipping + tax - discount
    head.update(
        subtotal=num(subtotal),
        tax_amount=num(tax),
        shipping_amount=num(shipping),
        shipping_tax_amount=num(shipping_tax),
        shipping_incl_tax=num(shipping + shipping_tax),
        discount_amount=num(-discount),
        grand_total=num(grand),
        base_grand_total=num(grand),
    )
    return head


def invoice_for(
    order: dict[str, Any],
    entity_id: int,
    item_ids: set[int],
    *,
    shipping: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A (partial) invoice of whole order lines: `item_ids` are the parents or simple lines to invoice,
    their children come along (as Magento invoices them). Bundle parents have no row/tax keys."""
    return _sales_document(order, entity_id, item_ids, shipping=shipping, extra=extra or {"state": 2})


def credit_memo_for(
    order: dict[str, Any],
    entity_id: int,
    item_ids: set[int],
    *,
    shipping: bool,
    adjustment_positive: Decimal = Decimal(0),
    adjustment_negative: Decimal = Decimal(0),
) -> dict[str, Any]:
    memo = _sales_document(order, entity_id, item_ids, shipping=shipping, extra={"state": 2})
    grand = Decimal(str(memo["grand_total"])) + adjustment_positive - adjustment_negative
    memo.update(
        adjustment_positive=num(adjustment_positive),
        adjustment_negative=num(adjustment_negative),
        adjustment=num(adjustment_positive - adjustment_negative),
        grand_total=num(grand),
        base_grand_total=num(grand),
    )
    for item in memo["items"]:
        item.setdefault("base_cost", 0)
    return memo


def _sales_document(
    order: dict[str, Any], entity_id: int, item_ids: set[int], *, shipping: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    chosen = [i for i in order["items"] if i["item_id"] in item_ids or i.get("parent_item_id") in item_ids]
    items = []
    for source in chosen:
        item = {
            "entity_id": source["item_id"] + entity_id * 1000,
            "order_item_id": source["item_id"],
            "product_id": source["product_id"],
            "sku": source["sku"],
            "name": source["name"],
            "qty": source["qty_ordered"],
            "price": source["price"],
            "base_price": source["price"],
        }
        if source["product_type"] != "bundle":
            for key in ("row_total", "tax_amount", "discount_amount", "discount_tax_compensation_amount"):
                item[key] = source.get(key, 0)
        items.append(item)
    ship = Decimal(str(order["shipping_amount"])) if shipping else Decimal(0)
    ship_tax = Decimal(str(order["shipping_tax_amount"])) if shipping else Decimal(0)
    head = {
        "entity_id": entity_id,
        "increment_id": f"{200000000 + entity_id}",
        "order_id": order["entity_id"],
        "store_id": order["store_id"],
        "created_at": "2026-11-02 09:00:00",
        "order_currency_code": "EUR",
        "total_qty": sum(i["qty"] for i in items),
        "items": items,
        **extra,
    }
    return _document(head, [{**i, "product_type": _type_of(order, i)} for i in items], ship, ship_tax) | {
        "items": items
    }


def _type_of(order: dict[str, Any], item: dict[str, Any]) -> str:
    return str(next(o["product_type"] for o in order["items"] if o["item_id"] == item["order_item_id"]))


CATALOG = [
    Product("TEE-RED", 1, Decimal("19.95"), Decimal(21), "8000"),
    Product("TEE-BLUE", 2, Decimal("24.50"), Decimal(21), "8000"),
    Product("BOOK-1", 3, Decimal("12.99"), Decimal(9), "8000"),
    Product("MH01-S-Gray", 4, Decimal("52.00"), Decimal(21), "8010"),  # the 'hoodies' rule
    Product("GIFT-0", 5, Decimal("10.00"), Decimal(0), "8000"),
]
BUNDLE = Product("KIT", 6, Decimal(0), Decimal(21), "8000")
COMPONENTS = [
    Product("24-WG082-blue", 7, Decimal("27.00"), Decimal(21), "8020"),  # category 20 -> 'fitness'
    Product("24-WG084", 8, Decimal("5.00"), Decimal(21), "8000"),
]
CATEGORIES = {7: frozenset({"20"}), 29: frozenset({"20"})}  # 29: the sample's 24-WG082-blue


@dataclass
class Scenario:
    orders: list[Order]
    invoices: list[tuple[Invoice, Order]]
    credit_memos: list[tuple[CreditMemo, Order]]
    expected: dict[str, Decimal]  # net per GL account, computed from the generator's own numbers


def scenario(seed: int, orders: int) -> Scenario:
    """Orders with simple, configurable and bundle lines, each invoiced in one or two partial invoices;
    every fifth order gets a credit memo with adjustments."""
    rng = random.Random(seed)
    result = Scenario([], [], [], {})

    def book(gl: str, amount: Decimal) -> None:
        result.expected[gl] = result.expected.get(gl, Decimal(0)) + amount

    for n in range(1, orders + 1):
        lines = []
        for product in rng.sample(CATALOG, rng.randint(1, 3)):
            kind = "configurable" if product.sku.startswith("MH01") else "simple"
            discount = cents(product.price * rng.choice([0, 0, 1]) / 10)
            lines.append(Line(kind, product, rng.randint(1, 3), discount))
        if rng.random() < 0.4:
            lines.append(Line("bundle", BUNDLE, 1, Decimal("2.00"), COMPONENTS))
        shipping = Decimal(rng.choice(["0", "4.95", "6.95"]))
        order_dict = build_order(n, lines, shipping, Decimal(21))
        order = Order.model_validate(order_dict)
        result.orders.append(order)
        parents = [i["item_id"] for i in order_dict["items"] if i.get("parent_item_id") is None]
        split = rng.randint(1, len(parents))
        batches = [set(parents[:split]), set(parents[split:])]
        invoiced = []
        for index, batch in enumerate(b for b in batches if b):
            invoice = invoice_for(order_dict, n * 10 + index, batch, shipping=index == 0)
            invoiced.append(invoice)
            result.invoices.append((Invoice.model_validate(invoice), order))
        for line in lines:
            _expect_line(book, line, Decimal(1))
        book("8050", shipping)
        if n % 5 == 0:
            first = invoiced[0]
            refunded = {i["order_item_id"] for i in first["items"]} & set(parents)
            memo = credit_memo_for(
                order_dict, n * 10 + 9, refunded, shipping=True,
                adjustment_positive=Decimal("1.50"), adjustment_negative=Decimal("0.75"),
            )  # fmt: skip
            result.credit_memos.append((CreditMemo.model_validate(memo), order))
            for line in lines:
                if _parent_id(order_dict, line) in refunded:
                    _expect_line(book, line, Decimal(-1))
            book("8050", -shipping)
            book("8095", Decimal("-1.50"))
            book("8096", Decimal("0.75"))
    return result


def _parent_id(order: dict[str, Any], line: Line) -> int:
    return int(
        next(
            i["item_id"]
            for i in order["items"]
            if i.get("parent_item_id") is None and i["sku"] == line.product.sku
        )
    )


def _expect_line(book: Any, line: Line, sign: Decimal) -> None:
    if line.kind == "bundle":
        for index, component in enumerate(line.components):
            book(component.gl, sign * component.price * line.qty)
            if index == 0 and line.discount:
                book("8090", -sign * line.discount)
        return
    book(line.product.gl, sign * line.product.price * line.qty)
    if line.discount:
        book("8090", -sign * line.discount)
