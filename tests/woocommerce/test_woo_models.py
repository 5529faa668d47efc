from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ml_connector.woocommerce import models as m
from tests.woocommerce.woo_captures import WOO_REAL, load, sample

ORDER_FILES = sorted(p.name for p in WOO_REAL.glob("order-*.json")) + sorted(
    p.name for p in WOO_REAL.glob("webhook-order-*.body.json")
)
ORDER_LISTS = [*sorted(p.name for p in WOO_REAL.glob("orders-*.json")), "oauth1-http-orders-page.json"]


@pytest.mark.parametrize("name", ORDER_FILES)
def test_every_captured_order_parses_and_keeps_unknown_fields(name: str) -> None:
    raw = load(name)
    order = m.Order.model_validate(raw)
    assert order.id == raw["id"]
    assert order.total == Decimal(raw["total"])
    assert order.date_modified_gmt.tzinfo is UTC
    # newer-core fields that the model does not name survive as extras
    assert order.model_extra is not None
    assert "_links" in order.model_extra
    dumped = order.model_dump(mode="json", by_alias=True)
    assert set(raw) <= set(dumped)


@pytest.mark.parametrize("name", ORDER_LISTS)
def test_every_captured_order_page_parses(name: str) -> None:
    orders = [m.Order.model_validate(item) for item in load(name)]
    assert all(order.number for order in orders)


def test_money_and_price_keep_exact_decimals() -> None:
    order = m.Order.model_validate(load("order-registered-coupon-fee-mixed-tax.json"))
    tea, shirt, grinder = order.line_items
    assert tea.price == Decimal("5.85")  # a JSON float, not 5.8499999...
    assert grinder.price == Decimal("44.1")
    assert tea.taxes[0].total == Decimal("1.053")  # raw, unrounded
    assert order.shipping_lines[0].taxes[0].subtotal is None  # "" on shipping taxes
    assert order.discount_tax == Decimal("1.72")
    assert order.coupon_lines[0].discount_tax == Decimal("1.73")
    assert shirt.item_id == 16
    assert tea.item_id == 11
    assert order.date_created_gmt == datetime(2026, 11, 22, 12, 54, 52, tzinfo=UTC)
    assert order.date_created is not None
    assert order.date_created.tzinfo is None
    assert order.fee_lines[0].total == Decimal("3.00")
    assert {t.rate_percent for t in order.tax_lines} == {Decimal(9), Decimal(21)}


def test_guest_order_and_negative_refund_total() -> None:
    guest = m.Order.model_validate(load("order-guest-coupon-completed.json"))
    assert guest.customer_id == 0
    assert guest.is_guest
    refunded = m.Order.model_validate(load("order-with-refund.json"))
    assert not refunded.is_guest
    assert refunded.refunds[0].total == Decimal("-7.09")


@pytest.mark.parametrize("name", ["refunds.json", "refund-single.json", "refund-create-post-response.json"])
def test_captured_refunds_parse_with_negative_lines(name: str) -> None:
    raw = load(name)
    refunds = [m.Refund.model_validate(item) for item in (raw if isinstance(raw, list) else [raw])]
    for refund in refunds:
        assert refund.amount > 0
        for line in refund.line_items:
            assert line.quantity < 0
            assert line.total < 0
            assert line.meta_data[0].key == "_refunded_item_id"
            assert line.refunded_item_id == int(line.meta_data[0].value)


def test_docs_refund_sample_parses_including_amount_only_refund() -> None:
    refunds = [m.Refund.model_validate(item) for item in sample("order-refunds-list.json")]
    assert refunds[0].line_items == []
    assert refunds[1].line_items[0].sku == ""
    assert refunds[1].line_items[0].price == Decimal(-9)


@pytest.mark.parametrize(
    "name",
    [
        "customer.json",
        "customers.json",
        "customer-create-post-response.json",
        "webhook-customer-created.body.json",
        "webhook-customer-updated.body.json",
    ],
)
def test_captured_customers_parse(name: str) -> None:
    raw = load(name)
    for item in raw if isinstance(raw, list) else [raw]:
        customer = m.Customer.model_validate(item)
        assert customer.changed_at.tzinfo is UTC
        assert customer.billing.email == item["billing"]["email"]


def test_products_variations_coupons_webhooks_taxes_parse() -> None:
    products = [m.Product.model_validate(item) for item in load("products.json")]
    variable = m.Product.model_validate(load("product-variable.json"))
    assert variable.type == "variable"
    assert variable.variations
    assert all(p.sku for p in products)
    variations = [m.Variation.model_validate(item) for item in load("variations.json")]
    assert {v.sku for v in variations} == {"RW-TSHIRT-L", "RW-TSHIRT-M"}
    assert variations[0].price == Decimal("27.50")
    assert variations[0].sale_price is None
    coupon = m.Coupon.model_validate(load("coupons.json")[0])
    assert coupon.amount == Decimal("10.00")
    assert coupon.date_expires_gmt is None
    hook = m.Webhook.model_validate(load("webhook-disabled-after-failures.json"))
    assert hook.status == "disabled"
    created = m.Webhook.model_validate(load("webhook-create-response.json"))
    assert created.date_modified_gmt is None
    rates = [m.TaxRate.model_validate(item) for item in load("taxes.json")]
    assert [r.tax_class for r in rates] == ["standard", "reduced-rate"]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("order.json", m.Order),
        ("customer.json", m.Customer),
        ("product.json", m.Product),
        ("webhook-resource.json", m.Webhook),
    ],
)
def test_docs_samples_parse(name: str, model: type[m.WooModel]) -> None:
    model.model_validate(sample(name))


def test_error_bodies_parse() -> None:
    for path in sorted(WOO_REAL.glob("error-*.json")):
        body = m.WooErrorBody.model_validate(load(path.name))
        assert body.status in {400, 401, 404}, path.name


def test_webhook_body_empty_object_as_list_is_accepted() -> None:
    raw = load("order-with-refund.json") | {"billing": [], "shipping": []}
    order = m.Order.model_validate(raw)
    assert order.billing.email is None


def test_null_sku_and_bad_money_are_handled() -> None:
    raw = load("order-with-refund.json")
    raw["line_items"][0]["sku"] = None
    assert m.Order.model_validate(raw).line_items[0].sku is None
    raw["total"] = "12,50"
    with pytest.raises(ValidationError, match="expected an amount"):
        m.Order.model_validate(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 12.50 ", Decimal("12.50")), ("7", Decimal("7")), (3, Decimal("3")), (0.1, Decimal("0.1"))],
)
def test_amounts_as_text_or_numbers_are_exact(value: object, expected: Decimal) -> None:
    raw = load("order-with-refund.json") | {"total": value}
    total = m.Order.model_validate(raw).total
    assert total == expected and str(total) == str(expected)


@pytest.mark.parametrize("value", [True, "", "12.5.0", None])
def test_what_is_no_amount_is_refused(value: object) -> None:
    raw = load("order-with-refund.json") | {"total": value}
    with pytest.raises(ValidationError, match="expected an amount"):
        m.Order.model_validate(raw)
