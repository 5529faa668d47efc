"""Typed views of the Magento records the GL mapping needs (sales-data-* definitions of the 2.4.9 spec).

Amounts are Decimals exactly as Magento sent them: its own tax amounts and percentages are kept and
never recomputed. Unknown fields are ignored; timestamps are Magento's UTC "YYYY-MM-DD HH:MM:SS".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ml_connector.adobe_commerce.search import parse_magento_datetime

MagentoTime = Annotated[
    datetime, BeforeValidator(lambda v: parse_magento_datetime(v) if isinstance(v, str) else v)
]
Money = Decimal
ZERO = Decimal(0)


class MagentoModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Address(MagentoModel):
    address_type: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street: list[str] = Field(default_factory=list)
    city: str | None = None
    postcode: str | None = None
    region: str | None = None
    region_code: str | None = None
    country_id: str | None = None
    telephone: str | None = None
    email: str | None = None
    vat_id: str | None = None


class AppliedTax(MagentoModel):
    code: str | None = None
    title: str | None = None
    percent: Decimal | None = None
    amount: Money
    base_amount: Money


class ItemAppliedTaxes(MagentoModel):
    type: str | None = None  # product, shipping, ...
    item_id: int | None = None
    associated_item_id: int | None = None
    applied_taxes: list[AppliedTax] = Field(default_factory=list)


class OrderItem(MagentoModel):
    item_id: int
    order_id: int | None = None
    parent_item_id: int | None = None
    sku: str
    name: str | None = None
    product_id: int | None = None
    product_type: str | None = None
    qty_ordered: Decimal = ZERO
    qty_invoiced: Decimal = ZERO
    qty_refunded: Decimal = ZERO
    qty_canceled: Decimal = ZERO
    price: Money = ZERO
    base_price: Money = ZERO
    original_price: Money | None = None
    price_incl_tax: Money | None = None
    row_total: Money = ZERO
    base_row_total: Money = ZERO
    row_total_incl_tax: Money | None = None
    tax_amount: Money = ZERO
    base_tax_amount: Money = ZERO
    tax_percent: Decimal | None = None
    discount_amount: Money = ZERO
    discount_percent: Decimal | None = None
    discount_tax_compensation_amount: Money = ZERO
    is_virtual: int | None = None

    @property
    def is_child(self) -> bool:
        """A configurable's or bundle's component line (booked through its parent or itself, not both)."""
        return self.parent_item_id is not None


class Payment(MagentoModel):
    method: str
    additional_information: list[str] = Field(default_factory=list)


class ShippingTotal(MagentoModel):
    shipping_amount: Money = ZERO
    shipping_tax_amount: Money = ZERO
    shipping_incl_tax: Money = ZERO
    shipping_discount_amount: Money = ZERO


class Shipping(MagentoModel):
    address: Address | None = None
    method: str | None = None
    total: ShippingTotal | None = None


class ShippingAssignment(MagentoModel):
    shipping: Shipping


class OrderExtension(MagentoModel):
    shipping_assignments: list[ShippingAssignment] = Field(default_factory=list)
    applied_taxes: list[AppliedTax] = Field(default_factory=list)
    item_applied_taxes: list[ItemAppliedTaxes] = Field(default_factory=list)


class Order(MagentoModel):
    entity_id: int
    increment_id: str
    state: str | None = None
    status: str | None = None
    store_id: int | None = None
    created_at: MagentoTime
    updated_at: MagentoTime
    customer_id: int | None = None
    customer_email: str
    customer_firstname: str | None = None
    customer_lastname: str | None = None
    customer_is_guest: int | None = None
    customer_taxvat: str | None = None
    customer_group_id: int | None = None
    order_currency_code: str | None = None
    base_currency_code: str | None = None
    base_to_order_rate: Decimal | None = None
    grand_total: Money
    base_grand_total: Money
    subtotal: Money = ZERO
    subtotal_incl_tax: Money = ZERO
    tax_amount: Money = ZERO
    shipping_amount: Money = ZERO
    shipping_tax_amount: Money = ZERO
    shipping_incl_tax: Money = ZERO
    discount_amount: Money = ZERO
    discount_description: str | None = None
    discount_tax_compensation_amount: Money = ZERO
    total_invoiced: Money | None = None
    total_refunded: Money | None = None
    total_paid: Money | None = None
    shipping_description: str | None = None
    billing_address: Address | None = None
    payment: Payment | None = None
    items: list[OrderItem]
    extension_attributes: OrderExtension = Field(default_factory=OrderExtension)

    @property
    def shipping_address(self) -> Address | None:
        """Magento carries the shipping address only in extension_attributes.shipping_assignments."""
        for assignment in self.extension_attributes.shipping_assignments:
            if assignment.shipping.address is not None:
                return assignment.shipping.address
        return None

    @property
    def shipping_method(self) -> str | None:
        for assignment in self.extension_attributes.shipping_assignments:
            if assignment.shipping.method:
                return assignment.shipping.method
        return None

    @property
    def applied_taxes(self) -> list[AppliedTax]:
        return self.extension_attributes.applied_taxes

    def item(self, item_id: int) -> OrderItem:
        for line in self.items:
            if line.item_id == item_id:
                return line
        raise KeyError(f"order {self.increment_id} has no item {item_id}")

    def children_of(self, item_id: int) -> list[OrderItem]:
        return [line for line in self.items if line.parent_item_id == item_id]


class InvoiceState:
    """Magento\\Sales\\Model\\Order\\Invoice constants (the spec only says "State")."""

    OPEN = 1
    PAID = 2
    CANCELED = 3


class SalesDocumentItem(MagentoModel):
    entity_id: int | None = None
    parent_id: int | None = None
    order_item_id: int
    product_id: int | None = None
    sku: str
    name: str | None = None
    qty: Decimal
    price: Money = ZERO
    base_price: Money = ZERO
    price_incl_tax: Money | None = None
    # The sample's bundle parent line has no row/tax keys at all: absent is not zero, so keep None.
    row_total: Money | None = None
    row_total_incl_tax: Money | None = None
    tax_amount: Money | None = None
    discount_amount: Money | None = None
    discount_tax_compensation_amount: Money | None = None


class InvoiceItem(SalesDocumentItem):
    pass


class CreditMemoItem(SalesDocumentItem):
    base_cost: Money | None = None


class _SalesDocument(MagentoModel):
    entity_id: int
    increment_id: str | None = None
    order_id: int
    store_id: int | None = None
    created_at: MagentoTime | None = None
    updated_at: MagentoTime | None = None
    order_currency_code: str | None = None
    base_currency_code: str | None = None
    grand_total: Money = ZERO
    base_grand_total: Money = ZERO
    subtotal: Money = ZERO
    subtotal_incl_tax: Money = ZERO
    tax_amount: Money = ZERO
    shipping_amount: Money = ZERO
    shipping_tax_amount: Money = ZERO
    shipping_incl_tax: Money = ZERO
    discount_amount: Money = ZERO
    discount_description: str | None = None
    discount_tax_compensation_amount: Money = ZERO
    billing_address_id: int | None = None
    shipping_address_id: int | None = None


class Invoice(_SalesDocument):
    state: int
    total_qty: Decimal
    transaction_id: str | None = None
    items: list[InvoiceItem]


class CreditMemo(_SalesDocument):
    invoice_id: int | None = None
    state: int | None = None
    creditmemo_status: int | None = None
    # Refund adjustments carry no VAT split: the GL mapping needs explicit rules for them.
    adjustment: Money = ZERO
    adjustment_positive: Money = ZERO
    adjustment_negative: Money = ZERO
    items: list[CreditMemoItem]


class CustomerRegion(MagentoModel):
    region_code: str | None = None
    region: str | None = None
    region_id: int | None = None


class CustomerAddress(MagentoModel):
    id: int | None = None
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street: list[str] = Field(default_factory=list)
    city: str | None = None
    postcode: str | None = None
    region: CustomerRegion | None = None
    country_id: str | None = None
    telephone: str | None = None
    vat_id: str | None = None
    default_billing: bool = False
    default_shipping: bool = False


class Customer(MagentoModel):
    id: int
    email: str
    firstname: str | None = None
    lastname: str | None = None
    group_id: int | None = None
    taxvat: str | None = None
    store_id: int | None = None
    website_id: int | None = None
    created_at: MagentoTime | None = None
    updated_at: MagentoTime | None = None
    addresses: list[CustomerAddress] = Field(default_factory=list)


class CustomAttribute(MagentoModel):
    attribute_code: str
    value: Any = None


class Product(MagentoModel):
    id: int
    sku: str
    name: str | None = None
    type_id: str | None = None
    price: Money | None = None
    status: int | None = None
    attribute_set_id: int | None = None
    created_at: MagentoTime | None = None
    updated_at: MagentoTime | None = None
    custom_attributes: list[CustomAttribute] = Field(default_factory=list)

    def attribute(self, code: str) -> Any:
        return next((a.value for a in self.custom_attributes if a.attribute_code == code), None)

    @property
    def tax_class_id(self) -> str | None:
        value = self.attribute("tax_class_id")
        return None if value is None else str(value)


class Category(MagentoModel):
    id: int
    parent_id: int | None = None
    name: str
    is_active: bool | None = None
    level: int | None = None
    path: str | None = None


class StoreConfig(MagentoModel):
    id: int
    code: str
    website_id: int
    base_currency_code: str
    timezone: str | None = None


T = TypeVar("T", bound=MagentoModel)


class SearchPage(BaseModel, Generic[T]):
    """One page of a search: items plus the total count of ALL matches (the stop condition for paging)."""

    items: list[T]
    total_count: int
