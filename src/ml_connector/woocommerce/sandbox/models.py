"""The store's records, kept in WooCommerce's own terms (Decimal money, epoch-second dates).

They hold what WooCommerce stores, not what it prints: totals, tax lines and SKUs are derived when a record
is rendered (see `render.py`), exactly as WooCommerce computes them on read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Address = dict[str, str]


@dataclass(slots=True)
class Meta:
    id: int
    key: str
    value: Any


@dataclass(slots=True)
class TaxRate:
    id: int
    country: str
    rate: Decimal
    name: str
    tax_class: str  # "standard" or a class slug such as "reduced-rate"
    shipping: bool
    order: int
    priority: int = 1
    compound: bool = False

    @property
    def rate_code(self) -> str:
        return f"{self.country}-{self.name}-{self.priority}"

    @property
    def percent(self) -> int | float:
        """`rate_percent` in tax lines is a JSON number: 21, or 5.5."""
        return int(self.rate) if self.rate == self.rate.to_integral_value() else float(self.rate)


@dataclass(slots=True)
class Variation:
    id: int
    parent_id: int
    sku: str
    option: str  # value of the parent's variation attribute, e.g. "L"
    price: Decimal
    created: float
    modified: float
    stock_quantity: int | None
    weight: str = ""


@dataclass(slots=True)
class Product:
    id: int
    name: str
    slug: str
    sku: str
    price: Decimal  # regular price; for variable products the lowest variation price
    tax_class: str  # "" = standard
    created: float
    modified: float
    stock_quantity: int | None
    weight: str = ""
    attribute: str | None = None  # variable products: the attribute name, e.g. "Maat"
    variations: list[Variation] = field(default_factory=list)
    total_sales: int = 0

    @property
    def type(self) -> str:
        return "variable" if self.attribute else "simple"


@dataclass(slots=True)
class Coupon:
    id: int
    code: str
    amount: Decimal
    discount_type: str
    description: str
    created: float
    modified: float
    usage_count: int = 0
    used_by: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    username: str
    billing: Address
    shipping: Address
    created: float
    modified: float
    role: str = "customer"
    is_paying_customer: bool = False
    meta: list[Meta] = field(default_factory=list)


@dataclass(slots=True)
class ItemMeta:
    id: int
    key: str
    value: Any
    display_key: str
    display_value: Any


@dataclass(slots=True)
class LineItem:
    id: int
    name: str
    product_id: int
    variation_id: int
    quantity: int
    tax_class: str
    subtotal: Decimal
    total: Decimal
    taxes: dict[int, tuple[Decimal, Decimal]]  # rate id -> (total, subtotal), unrounded
    meta: list[ItemMeta] = field(default_factory=list)
    parent_name: str | None = None


@dataclass(slots=True)
class ShippingLine:
    id: int
    method_title: str
    method_id: str
    instance_id: str
    total: Decimal
    taxes: dict[int, Decimal]


@dataclass(slots=True)
class FeeLine:
    id: int
    name: str
    tax_class: str
    tax_status: str
    total: Decimal
    taxes: dict[int, Decimal]


@dataclass(slots=True)
class CouponLine:
    id: int
    code: str
    discount: Decimal
    discount_tax: Decimal
    meta: list[ItemMeta] = field(default_factory=list)


@dataclass(slots=True)
class RefundLine:
    id: int
    refunded_item_id: int
    meta_id: int
    name: str
    product_id: int
    variation_id: int
    quantity: int  # negative
    tax_class: str
    total: Decimal  # negative
    taxes: dict[int, Decimal]  # negative, already rounded
    parent_name: str | None = None


@dataclass(slots=True)
class Refund:
    id: int
    order_id: int
    created: float
    amount: Decimal
    reason: str
    lines: list[RefundLine]
    tax_line_ids: dict[int, int]  # rate id -> tax line item id
    refunded_by: int = 1
    refunded_payment: bool = False


@dataclass(slots=True)
class Order:
    id: int
    status: str
    created: float
    modified: float
    customer_id: int
    order_key: str
    billing: Address
    shipping: Address
    payment_method: str
    payment_method_title: str
    line_items: list[LineItem]
    shipping_lines: list[ShippingLine]
    fee_lines: list[FeeLine]
    coupon_lines: list[CouponLine]
    tax_line_ids: dict[int, int]  # rate id -> tax line item id, in WooCommerce's order of first use
    paid: float | None = None
    completed: float | None = None
    transaction_id: str = ""
    created_via: str = "checkout"
    customer_note: str = ""
    customer_ip_address: str = "127.0.0.1"
    customer_user_agent: str = ""
    meta: list[Meta] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    version: str = "7.9.0"
    status_before_trash: str | None = None


@dataclass(slots=True)
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str = field(repr=False)  # the shared HMAC key: never in reprs or logs
    created: float = 0.0
    modified: float | None = None
    api_version: int = 3
    user_id: int = 1
    failure_count: int = 0
    pending_delivery: bool = True

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]


@dataclass(slots=True)
class ApiKey:
    key_id: int
    consumer_key: str
    consumer_secret: str = field(repr=False)
    permissions: str = "read"  # read, write or read_write
    user_id: int = 1
    nonces: dict[int, str] = field(default_factory=dict)  # timestamp -> nonce, like the `nonces` column

    def allows(self, method: str) -> bool:
        if method in ("OPTIONS",):
            return True
        if method in ("GET", "HEAD"):
            return self.permissions in ("read", "read_write")
        return self.permissions in ("write", "read_write")
