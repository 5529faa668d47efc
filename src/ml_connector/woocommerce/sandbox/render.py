"""Records -> WooCommerce REST v3 JSON (dicts), with the key order and types of the real captures."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from .catalog import Catalog
from .dates import gmt, local
from .models import (
    Coupon,
    Customer,
    ItemMeta,
    LineItem,
    Meta,
    Order,
    Product,
    Refund,
    TaxRate,
    Variation,
    Webhook,
)
from .money import ZERO, fmt, raw, unit_price
from .totals import order_totals, refund_tax_totals

CURRENCY = "EUR"
CURRENCY_SYMBOL = "\u20ac"
TOPIC_HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
}


def _links(api: str, path: str, collection: str, **extra: str) -> dict[str, list[dict[str, str]]]:
    links = {"self": [{"href": f"{api}/{path}"}], "collection": [{"href": f"{api}/{collection}"}]}
    for rel, href in extra.items():
        links[rel] = [{"href": href}]
    return links


def _meta(items: list[Meta]) -> list[dict[str, Any]]:
    return [{"id": m.id, "key": m.key, "value": m.value} for m in items]


def _item_meta(items: list[ItemMeta]) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "key": m.key,
            "value": m.value,
            "display_key": m.display_key,
            "display_value": m.display_value,
        }
        for m in items
    ]


class Renderer:
    """Renders records for one store; `home` is the site URL without trailing slash."""

    def __init__(self, catalog: Catalog, home: str) -> None:
        self.catalog = catalog
        self.home = home
        self.api = f"{home}/wp-json/wc/v3"

    # -- orders ---------------------------------------------------------------------------------------------

    def _line_item(self, line: LineItem) -> dict[str, Any]:
        return {
            "id": line.id,
            "name": line.name,
            "product_id": line.product_id,
            "variation_id": line.variation_id,
            "quantity": line.quantity,
            "tax_class": line.tax_class,
            "subtotal": fmt(line.subtotal),
            "subtotal_tax": fmt(sum((s for _, s in line.taxes.values()), ZERO)),
            "total": fmt(line.total),
            "total_tax": fmt(sum((t for t, _ in line.taxes.values()), ZERO)),
            "taxes": [{"id": rid, "total": raw(t), "subtotal": raw(s)} for rid, (t, s) in line.taxes.items()],
            "meta_data": _item_meta(line.meta),
            "sku": self.catalog.sku_of(line.product_id, line.variation_id),
            "price": unit_price(line.total, line.quantity),
            "image": {"id": 0 if line.variation_id else "", "src": ""},
            "parent_name": line.parent_name,
        }

    def _tax_line(
        self, rate: TaxRate, item_id: int, tax_total: Decimal, shipping_tax: Decimal
    ) -> dict[str, Any]:
        return {
            "id": item_id,
            "rate_code": rate.rate_code,
            "rate_id": rate.id,
            "label": rate.name,
            "compound": rate.compound,
            "tax_total": fmt(tax_total),
            "shipping_tax_total": fmt(shipping_tax),
            "rate_percent": rate.percent,
            "meta_data": [],
        }

    def order(self, order: Order) -> dict[str, Any]:
        totals = order_totals(order)
        editable = order.status in ("pending", "on-hold", "auto-draft", "checkout-draft")
        needs_payment = order.status in ("pending", "failed") and totals.total > 0
        links = _links(self.api, f"orders/{order.id}", "orders")
        if order.customer_id:
            links["customer"] = [{"href": f"{self.api}/customers/{order.customer_id}"}]
        return {
            "id": order.id,
            "parent_id": 0,
            "status": order.status,
            "currency": CURRENCY,
            "version": order.version,
            "prices_include_tax": False,
            "date_created": local(order.created),
            "date_modified": local(order.modified),
            "discount_total": fmt(totals.discount_total),
            "discount_tax": fmt(totals.discount_tax),
            "shipping_total": fmt(totals.shipping_total),
            "shipping_tax": fmt(totals.shipping_tax),
            "cart_tax": fmt(totals.cart_tax),
            "total": fmt(totals.total),
            "total_tax": fmt(totals.total_tax),
            "customer_id": order.customer_id,
            "order_key": order.order_key,
            "billing": dict(order.billing),
            "shipping": dict(order.shipping),
            "payment_method": order.payment_method,
            "payment_method_title": order.payment_method_title,
            "transaction_id": order.transaction_id,
            "customer_ip_address": order.customer_ip_address,
            "customer_user_agent": order.customer_user_agent,
            "created_via": order.created_via,
            "customer_note": order.customer_note,
            "date_completed": local(order.completed),
            "date_paid": local(order.paid),
            "cart_hash": "",
            "number": str(order.id),
            "meta_data": _meta(order.meta),
            "line_items": [self._line_item(line) for line in order.line_items],
            "tax_lines": [
                self._tax_line(self.catalog.rate(t.rate_id), t.item_id, t.tax_total, t.shipping_tax_total)
                for t in totals.tax_lines
            ],
            "shipping_lines": [
                {
                    "id": s.id,
                    "method_title": s.method_title,
                    "method_id": s.method_id,
                    "instance_id": s.instance_id,
                    "total": fmt(s.total),
                    "total_tax": fmt(sum(s.taxes.values(), ZERO)),
                    "taxes": [{"id": rid, "total": raw(t), "subtotal": ""} for rid, t in s.taxes.items()],
                    "meta_data": [],
                }
                for s in order.shipping_lines
            ],
            "fee_lines": [
                {
                    "id": f.id,
                    "name": f.name,
                    "tax_class": f.tax_class,
                    "tax_status": f.tax_status,
                    "amount": fmt(f.total),
                    "total": fmt(f.total),
                    "total_tax": fmt(sum(f.taxes.values(), ZERO)),
                    "taxes": [{"id": rid, "total": raw(t), "subtotal": ""} for rid, t in f.taxes.items()],
                    "meta_data": [],
                }
                for f in order.fee_lines
            ],
            "coupon_lines": [
                {
                    "id": c.id,
                    "code": c.code,
                    "discount": fmt(c.discount),
                    "discount_tax": fmt(c.discount_tax),
                    "meta_data": _item_meta(c.meta),
                }
                for c in order.coupon_lines
            ],
            "refunds": [
                {"id": r.id, "reason": r.reason, "total": "-" + fmt(r.amount)}
                for r in reversed(order.refunds)
            ],
            "payment_url": f"{self.home}/checkout/order-pay/{order.id}/"
            f"?pay_for_order=true&key={order.order_key}",
            "is_editable": editable,
            "needs_payment": needs_payment,
            "needs_processing": True,
            "date_created_gmt": gmt(order.created),
            "date_modified_gmt": gmt(order.modified),
            "date_completed_gmt": gmt(order.completed),
            "date_paid_gmt": gmt(order.paid),
            "currency_symbol": CURRENCY_SYMBOL,
            "_links": links,
        }

    def refund(self, refund: Refund) -> dict[str, Any]:
        taxes = refund_tax_totals(refund)
        base = f"orders/{refund.order_id}/refunds"
        return {
            "id": refund.id,
            "date_created": local(refund.created),
            "date_created_gmt": gmt(refund.created),
            "amount": fmt(refund.amount),
            "reason": refund.reason,
            "refunded_by": refund.refunded_by,
            "refunded_payment": refund.refunded_payment,
            "meta_data": [],
            "line_items": [
                {
                    "id": line.id,
                    "name": line.name,
                    "product_id": line.product_id,
                    "variation_id": line.variation_id,
                    "quantity": line.quantity,
                    "tax_class": line.tax_class,
                    "subtotal": fmt(line.total),
                    "subtotal_tax": fmt(sum(line.taxes.values(), ZERO)),
                    "total": fmt(line.total),
                    "total_tax": fmt(sum(line.taxes.values(), ZERO)),
                    "taxes": [
                        {"id": rid, "total": raw(t), "subtotal": raw(t)} for rid, t in line.taxes.items()
                    ],
                    "meta_data": [
                        {
                            "id": line.meta_id,
                            "key": "_refunded_item_id",
                            "value": str(line.refunded_item_id),
                            "display_key": "_refunded_item_id",
                            "display_value": str(line.refunded_item_id),
                        }
                    ],
                    "sku": self.catalog.sku_of(line.product_id, line.variation_id),
                    "price": unit_price(line.total, line.quantity),
                    "image": {"id": 0 if line.variation_id else "", "src": ""},
                    "parent_name": line.parent_name,
                }
                for line in refund.lines
            ],
            "shipping_lines": [],
            "tax_lines": [
                self._tax_line(self.catalog.rate(rate_id), item_id, taxes.get(rate_id, ZERO), ZERO)
                for rate_id, item_id in refund.tax_line_ids.items()
            ],
            "fee_lines": [],
            "_links": _links(
                self.api, f"{base}/{refund.id}", base, up=f"{self.api}/orders/{refund.order_id}"
            ),
        }

    # -- customers ------------------------------------------------------------------------------------------

    def customer(self, customer: Customer) -> dict[str, Any]:
        digest = hashlib.md5(customer.email.strip().lower().encode(), usedforsecurity=False).hexdigest()
        return {
            "id": customer.id,
            "date_created": local(customer.created),
            "date_created_gmt": gmt(customer.created),
            "date_modified": local(customer.modified),
            "date_modified_gmt": gmt(customer.modified),
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "role": customer.role,
            "username": customer.username,
            "billing": dict(customer.billing),
            "shipping": dict(customer.shipping),
            "is_paying_customer": customer.is_paying_customer,
            "avatar_url": f"https://secure.gravatar.com/avatar/{digest}?s=96&d=mm&r=g",
            "meta_data": _meta(customer.meta),
            "_links": _links(self.api, f"customers/{customer.id}", "customers"),
        }

    # -- catalogue ------------------------------------------------------------------------------------------

    def _price_html(self, low: Decimal, high: Decimal, tax_class: str) -> str:
        rate = self.catalog.rate_for(tax_class).rate

        def amount(value: Decimal) -> str:
            gross = fmt(value * (1 + rate / 100)).replace(".", ",")
            return (
                '<span class="woocommerce-Price-amount amount"><bdi>'
                '<span class="woocommerce-Price-currencySymbol">'
                f"&euro;</span>{gross}</bdi></span>"
            )

        return amount(low) if low == high else f"{amount(low)} &ndash; {amount(high)}"

    def product(self, product: Product) -> dict[str, Any]:
        prices = [v.price for v in product.variations] or [product.price]
        related = [pid for pid in self.catalog.products if pid != product.id][:4]
        stock_managed = product.stock_quantity is not None
        return {
            "id": product.id,
            "name": product.name,
            "slug": product.slug,
            "permalink": f"{self.home}/product/{product.slug}/",
            "date_created": local(product.created),
            "date_created_gmt": gmt(product.created),
            "date_modified": local(product.modified),
            "date_modified_gmt": gmt(product.modified),
            "type": product.type,
            "status": "publish",
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": f"<p>{product.name}</p>\n",
            "sku": product.sku,
            "price": fmt(min(prices)),
            "regular_price": "" if product.variations else fmt(product.price),
            "sale_price": "",
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": False,
            "purchasable": True,
            "total_sales": product.total_sales,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": product.tax_class,
            "manage_stock": stock_managed,
            "stock_quantity": product.stock_quantity,
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
            "low_stock_amount": None,
            "sold_individually": False,
            "weight": product.weight,
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}],
            "tags": [],
            "images": [],
            "attributes": (
                [
                    {
                        "id": 0,
                        "name": product.attribute,
                        "position": 0,
                        "visible": True,
                        "variation": True,
                        "options": [v.option for v in product.variations],
                    }
                ]
                if product.attribute
                else []
            ),
            "default_attributes": [],
            "variations": [v.id for v in product.variations],
            "grouped_products": [],
            "menu_order": 0,
            "price_html": self._price_html(min(prices), max(prices), product.tax_class),
            "related_ids": related,
            "meta_data": [],
            "stock_status": "instock",
            "has_options": bool(product.variations),
            "_links": _links(self.api, f"products/{product.id}", "products"),
        }

    def variation(self, product: Product, variation: Variation) -> dict[str, Any]:
        base = f"products/{product.id}/variations"
        return {
            "id": variation.id,
            "date_created": local(variation.created),
            "date_created_gmt": gmt(variation.created),
            "date_modified": local(variation.modified),
            "date_modified_gmt": gmt(variation.modified),
            "description": "",
            "permalink": f"{self.home}/product/{product.slug}/?attribute_{(product.attribute or '').lower()}"
            f"={variation.option}",
            "sku": variation.sku,
            "price": fmt(variation.price),
            "regular_price": fmt(variation.price),
            "sale_price": "",
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": False,
            "status": "publish",
            "purchasable": True,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "tax_status": "taxable",
            "tax_class": product.tax_class,
            "manage_stock": variation.stock_quantity is not None,
            "stock_quantity": variation.stock_quantity,
            "stock_status": "instock",
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
            "low_stock_amount": None,
            "weight": variation.weight,
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "shipping_class_id": 0,
            "image": None,
            "attributes": [{"id": 0, "name": product.attribute, "option": variation.option}],
            "menu_order": 0,
            "meta_data": [],
            "_links": _links(
                self.api, f"{base}/{variation.id}", base, up=f"{self.api}/products/{product.id}"
            ),
        }

    def coupon(self, coupon: Coupon) -> dict[str, Any]:
        return {
            "id": coupon.id,
            "code": coupon.code,
            "amount": fmt(coupon.amount),
            "status": "publish",
            "date_created": local(coupon.created),
            "date_created_gmt": gmt(coupon.created),
            "date_modified": local(coupon.modified),
            "date_modified_gmt": gmt(coupon.modified),
            "discount_type": coupon.discount_type,
            "description": coupon.description,
            "date_expires": None,
            "date_expires_gmt": None,
            "usage_count": coupon.usage_count,
            "individual_use": False,
            "product_ids": [],
            "excluded_product_ids": [],
            "usage_limit": None,
            "usage_limit_per_user": None,
            "limit_usage_to_x_items": None,
            "free_shipping": False,
            "product_categories": [],
            "excluded_product_categories": [],
            "exclude_sale_items": False,
            "minimum_amount": "0.00",
            "maximum_amount": "0.00",
            "email_restrictions": [],
            "used_by": list(coupon.used_by),
            "meta_data": [],
            "_links": _links(self.api, f"coupons/{coupon.id}", "coupons"),
        }

    def tax_rate(self, rate: TaxRate) -> dict[str, Any]:
        return {
            "id": rate.id,
            "country": rate.country,
            "state": "",
            "postcode": "",
            "city": "",
            "rate": f"{rate.rate:.4f}",
            "name": rate.name,
            "priority": rate.priority,
            "compound": rate.compound,
            "shipping": rate.shipping,
            "order": rate.order,
            "class": rate.tax_class,
            "postcodes": [],
            "cities": [],
            "_links": _links(self.api, f"taxes/{rate.id}", "taxes"),
        }

    def webhook(self, webhook: Webhook) -> dict[str, Any]:
        return {
            "id": webhook.id,
            "name": webhook.name,
            "status": webhook.status,
            "topic": webhook.topic,
            "resource": webhook.resource,
            "event": webhook.event,
            "hooks": TOPIC_HOOKS.get(webhook.topic, [webhook.topic.removeprefix("action.")]),
            "delivery_url": webhook.delivery_url,
            "date_created": local(webhook.created),
            "date_created_gmt": gmt(webhook.created),
            "date_modified": local(webhook.modified),
            "date_modified_gmt": gmt(webhook.modified),
            "_links": _links(self.api, f"webhooks/{webhook.id}", "webhooks"),
        }
