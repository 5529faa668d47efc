"""Typed WooCommerce REST v3 resources that keep WooCommerce's real types.

Shapes follow the captures from a WooCommerce 7.9.0 store (`shared/woo-real/`) and the v3 docs samples:
- money fields are strings ("105.68") and become Decimal; line `price` is a JSON number and becomes
  Decimal through its shortest text form, so 5.85 stays exactly 5.85;
- `taxes[].total`/`subtotal` are raw stored values with more decimals ("1.053") or "" when unset;
- `customer_id` is 0 for guests; refund totals on an order are negative ("-7.09"); refund line items have
  negative quantities and amounts; `sku` may be null (product deleted) or "";
- `date_*_gmt` are UTC without an offset and become aware UTC datetimes; the plain `date_*` fields are
  site-local time and stay naive.
Every model allows and keeps unknown fields, so newer cores and plugins lose nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, str):  # WooCommerce's usual form: checked first, for every amount of every page
        try:
            return Decimal(value)  # leading and trailing whitespace allowed
        except InvalidOperation:
            raise ValueError(f"expected an amount, got {value!r}") from None
    if isinstance(value, bool):
        raise ValueError(f"expected an amount, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr is the shortest text that round-trips, which is what PHP's json_encode wrote.
        return Decimal(repr(value))
    raise ValueError(f"expected an amount, got {value!r}")


def _to_optional_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return _to_decimal(value)


def parse_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _to_local(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _empty_list_as_object(value: Any) -> Any:
    # Webhook bodies pass through PHP's json_decode(..., true), which turns an empty object into [].
    return {} if value == [] else value


Money = Annotated[Decimal, BeforeValidator(_to_decimal)]
OptionalMoney = Annotated[Decimal | None, BeforeValidator(_to_optional_decimal)]
UTCDateTime = Annotated[datetime, BeforeValidator(parse_utc)]
OptionalUTCDateTime = Annotated[datetime | None, BeforeValidator(parse_utc)]
LocalDateTime = Annotated[datetime | None, BeforeValidator(_to_local)]


class WooModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class MetaData(WooModel):
    id: int | None = None
    key: str
    value: Any = None
    display_key: str | None = None
    display_value: Any = None


class Address(WooModel):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None  # billing only; null on orders created by admin or API without an email
    phone: str | None = None  # billing; shipping only in newer cores


AddressField = Annotated[Address, BeforeValidator(_empty_list_as_object)]


class LineTax(WooModel):
    """One tax rate's share of a line: raw stored amounts, not rounded to the store's decimals."""

    id: int  # the tax rate id
    total: OptionalMoney = None
    subtotal: OptionalMoney = None


class LineImage(WooModel):
    id: int | str = ""  # the real store sends "" when the product has no image, 0 for some variations
    src: str = ""


class LineItem(WooModel):
    id: int
    name: str
    product_id: int
    variation_id: int = 0
    quantity: int  # negative on refund line items
    tax_class: str = ""
    subtotal: Money  # before discounts, excluding tax
    subtotal_tax: Money
    total: Money  # after discounts, excluding tax
    total_tax: Money
    taxes: list[LineTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)
    sku: str | None = None  # looked up at read time: null when the product is gone
    price: Money  # a JSON number: total / quantity
    image: Annotated[LineImage | None, BeforeValidator(_empty_list_as_object)] = None
    parent_name: str | None = None

    @property
    def item_id(self) -> int:
        """The id to map to an ERP item: the variation when there is one, else the product."""
        return self.variation_id or self.product_id

    @property
    def refunded_item_id(self) -> int | None:
        """On a refund line: the order line it refunds (meta `_refunded_item_id`)."""
        value = next((entry.value for entry in self.meta_data if entry.key == "_refunded_item_id"), None)
        return int(value) if value not in (None, "") else None


class TaxLine(WooModel):
    id: int
    rate_code: str
    rate_id: int
    label: str
    compound: bool = False
    tax_total: Money  # excludes shipping tax
    shipping_tax_total: Money
    rate_percent: OptionalMoney = None  # newer cores only
    meta_data: list[MetaData] = Field(default_factory=list)


class ShippingLine(WooModel):
    id: int
    method_title: str
    method_id: str
    instance_id: str | None = None
    total: Money
    total_tax: Money
    taxes: list[LineTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)


class FeeLine(WooModel):
    id: int
    name: str
    tax_class: str = ""
    tax_status: str = "taxable"  # "taxable" or "none"
    amount: OptionalMoney = None
    total: Money
    total_tax: Money
    taxes: list[LineTax] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)


class CouponLine(WooModel):
    id: int
    code: str
    discount: Money
    discount_tax: Money
    meta_data: list[MetaData] = Field(default_factory=list)


class OrderRefund(WooModel):
    """A refund as listed on its order: `total` is negative."""

    id: int
    reason: str = ""
    total: Money


class Order(WooModel):
    id: int
    parent_id: int = 0
    number: str
    order_key: str = ""
    created_via: str = ""
    version: str = ""
    status: str
    currency: str
    date_created: LocalDateTime = None
    date_created_gmt: UTCDateTime
    date_modified: LocalDateTime = None
    date_modified_gmt: UTCDateTime
    date_paid: LocalDateTime = None
    date_paid_gmt: OptionalUTCDateTime = None
    date_completed: LocalDateTime = None
    date_completed_gmt: OptionalUTCDateTime = None
    discount_total: Money
    discount_tax: Money
    shipping_total: Money
    shipping_tax: Money
    cart_tax: Money
    total: Money
    total_tax: Money
    prices_include_tax: bool
    customer_id: int  # 0 for guests
    customer_ip_address: str = ""
    customer_user_agent: str = ""
    customer_note: str = ""
    billing: AddressField = Field(default_factory=Address)
    shipping: AddressField = Field(default_factory=Address)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    cart_hash: str = ""
    meta_data: list[MetaData] = Field(default_factory=list)
    line_items: list[LineItem] = Field(default_factory=list)
    tax_lines: list[TaxLine] = Field(default_factory=list)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    fee_lines: list[FeeLine] = Field(default_factory=list)
    coupon_lines: list[CouponLine] = Field(default_factory=list)
    refunds: list[OrderRefund] = Field(default_factory=list)

    @property
    def is_guest(self) -> bool:
        return self.customer_id == 0

    def meta(self, key: str) -> Any:
        """The value of the first meta entry named `key` (e.g. a VAT number plugin's key), or None."""
        return next((entry.value for entry in self.meta_data if entry.key == key), None)


class Refund(WooModel):
    """A refund from /orders/{id}/refunds: `amount` is positive, its line items are negative."""

    id: int
    parent_id: int | None = None  # only on the /refunds collection (WC 9.0+)
    date_created: LocalDateTime = None
    date_created_gmt: UTCDateTime
    amount: Money
    reason: str = ""
    refunded_by: int = 0
    refunded_payment: bool = False
    meta_data: list[MetaData] = Field(default_factory=list)
    line_items: list[LineItem] = Field(default_factory=list)
    shipping_lines: list[ShippingLine] = Field(default_factory=list)
    tax_lines: list[TaxLine] = Field(default_factory=list)
    fee_lines: list[FeeLine] = Field(default_factory=list)


class Customer(WooModel):
    id: int
    date_created: LocalDateTime = None
    date_created_gmt: UTCDateTime
    date_modified: LocalDateTime = None
    date_modified_gmt: OptionalUTCDateTime = None
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str = "customer"
    username: str = ""
    billing: AddressField = Field(default_factory=Address)
    shipping: AddressField = Field(default_factory=Address)
    is_paying_customer: bool = False
    avatar_url: str = ""
    meta_data: list[MetaData] = Field(default_factory=list)

    @property
    def changed_at(self) -> datetime:
        """The last change (WooCommerce leaves date_modified unset on customers never edited)."""
        return self.date_modified_gmt or self.date_created_gmt


class ProductAttribute(WooModel):
    id: int = 0
    name: str
    option: str | None = None  # on variations
    options: list[str] = Field(default_factory=list)  # on products


class Product(WooModel):
    id: int
    name: str
    slug: str = ""
    type: str = "simple"  # simple, variable, grouped, external
    status: str = "publish"
    sku: str | None = None  # a free string, often ""
    price: OptionalMoney = None  # "" when no price is set
    regular_price: OptionalMoney = None
    sale_price: OptionalMoney = None
    date_created: LocalDateTime = None
    date_created_gmt: OptionalUTCDateTime = None
    date_modified: LocalDateTime = None
    date_modified_gmt: OptionalUTCDateTime = None
    tax_status: str = "taxable"
    tax_class: str = ""
    manage_stock: bool | str = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    parent_id: int = 0
    attributes: list[ProductAttribute] = Field(default_factory=list)
    variations: list[int] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)


class Variation(WooModel):
    id: int
    sku: str | None = None
    price: OptionalMoney = None
    regular_price: OptionalMoney = None
    sale_price: OptionalMoney = None
    date_created: LocalDateTime = None
    date_created_gmt: OptionalUTCDateTime = None
    date_modified: LocalDateTime = None
    date_modified_gmt: OptionalUTCDateTime = None
    status: str = "publish"
    tax_status: str = "taxable"
    tax_class: str = ""  # "" = standard; "parent" = the parent product's class
    manage_stock: bool | str = False  # "parent" when the parent manages stock
    stock_quantity: int | None = None
    stock_status: str = "instock"
    attributes: list[ProductAttribute] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)


class Coupon(WooModel):
    id: int
    code: str
    amount: Money
    discount_type: str  # percent, fixed_cart, fixed_product
    status: str = "publish"
    description: str = ""
    date_created: LocalDateTime = None
    date_created_gmt: OptionalUTCDateTime = None
    date_modified: LocalDateTime = None
    date_modified_gmt: OptionalUTCDateTime = None
    date_expires: LocalDateTime = None
    date_expires_gmt: OptionalUTCDateTime = None
    usage_count: int = 0
    free_shipping: bool = False
    minimum_amount: OptionalMoney = None
    maximum_amount: OptionalMoney = None
    meta_data: list[MetaData] = Field(default_factory=list)


class Webhook(WooModel):
    """A webhook subscription. WooCommerce never returns its secret."""

    id: int
    name: str = ""
    status: str  # active, paused, disabled
    topic: str
    resource: str = ""
    event: str = ""
    hooks: list[str] = Field(default_factory=list)
    delivery_url: str
    date_created: LocalDateTime = None
    date_created_gmt: OptionalUTCDateTime = None
    date_modified: LocalDateTime = None
    date_modified_gmt: OptionalUTCDateTime = None


class TaxRate(WooModel):
    id: int
    country: str = ""
    rate: Money
    name: str
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    tax_class: str = Field(default="standard", alias="class")


class WooErrorBody(WooModel):
    """WooCommerce's (WordPress's) error body: {"code", "message", "data": {"status", ...}}."""

    code: str
    message: str
    data: Any = None

    @property
    def status(self) -> int | None:
        if isinstance(self.data, dict) and isinstance(self.data.get("status"), int):
            return int(self.data["status"])
        return None
