"""The sandbox's tax and rounding maths reproduce the real store's figures for the captured carts."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from ml_connector.woocommerce.sandbox.catalog import Catalog, build_catalog
from ml_connector.woocommerce.sandbox.models import Order
from ml_connector.woocommerce.sandbox.phpjson import php_json
from ml_connector.woocommerce.sandbox.pricing import FLAT_RATE, CartLine, Fee, build_items
from ml_connector.woocommerce.sandbox.refunds import LineRefund, line_refund
from ml_connector.woocommerce.sandbox.render import Renderer

from .captures import CAPTURE_TIME, load, raw


def _catalog() -> Catalog:
    return build_catalog(0, CAPTURE_TIME, count(10))


def _order(
    catalog: Catalog, cart: list[tuple[str, int]], *, coupon: str | None, fees: tuple[Fee, ...]
) -> Order:
    lines = []
    for sku, quantity in cart:
        found = catalog.by_sku(sku)
        assert found is not None, sku
        lines.append(CartLine(found[0], found[1], quantity))
    items = build_items(
        catalog,
        lines,
        item_ids=count(1),
        meta_ids=count(1),
        shipping=FLAT_RATE,
        fees=fees,
        coupon=catalog.coupon_by_code(coupon) if coupon else None,
    )
    return Order(
        id=1,
        status="processing",
        created=CAPTURE_TIME,
        modified=CAPTURE_TIME,
        customer_id=0,
        order_key="k",
        billing={},
        shipping={},
        payment_method="bacs",
        payment_method_title="",
        line_items=items.line_items,
        shipping_lines=items.shipping_lines,
        fee_lines=items.fee_lines,
        coupon_lines=items.coupon_lines,
        tax_line_ids=items.tax_line_ids,
    )


MONEY_FIELDS = (
    "discount_total",
    "discount_tax",
    "shipping_total",
    "shipping_tax",
    "cart_tax",
    "total",
    "total_tax",
)


def _compare(ours: dict[str, Any], real: dict[str, Any]) -> None:
    for name in MONEY_FIELDS:
        assert ours[name] == real[name], name
    for mine, theirs in zip(ours["line_items"], real["line_items"], strict=True):
        for name in ("subtotal", "subtotal_tax", "total", "total_tax", "taxes", "price", "sku", "name"):
            assert mine[name] == theirs[name], (theirs["name"], name)
        assert type(mine["price"]) is type(theirs["price"])
    strip = ("id", "meta_data")
    for group in ("tax_lines", "shipping_lines", "fee_lines"):
        mine_rows = [{k: v for k, v in row.items() if k not in strip} for row in ours[group]]
        real_rows = [{k: v for k, v in row.items() if k not in strip} for row in real[group]]
        if group == "shipping_lines":
            for row in real_rows:
                row["instance_id"] = "1"
        assert mine_rows == real_rows, group
    for mine, theirs in zip(ours["coupon_lines"], real["coupon_lines"], strict=True):
        assert (mine["code"], mine["discount"], mine["discount_tax"]) == (
            theirs["code"],
            theirs["discount"],
            theirs["discount_tax"],
        )


def test_coupon_fee_mixed_tax_order_matches_the_real_totals() -> None:
    """Order 23: 9% and 21% lines, 10% coupon, taxable fee, flat rate; discount_tax 1.72 next to 1.73."""
    catalog = _catalog()
    order = _order(
        catalog,
        [("RW-TEA-250", 2), ("RW-TSHIRT-L", 1), ("RW-GRN-01", 1)],
        coupon="welkom10",
        fees=(Fee("Expresslevering toeslag", Decimal("3.00")),),
    )
    _compare(
        Renderer(catalog, "https://127.0.0.1:8443").order(order),
        load("order-registered-coupon-fee-mixed-tax.json"),
    )


def test_guest_coupon_order_prints_the_same_float_price() -> None:
    """Order 19: 3 x 6.50 with 10% off prints price 5.8500000000000005, as PHP does."""
    catalog = _catalog()
    order = _order(catalog, [("RW-TEA-250", 3), ("RW-TSHIRT-M", 1)], coupon="welkom10", fees=())
    rendered = Renderer(catalog, "https://127.0.0.1:8443").order(order)
    _compare(rendered, load("order-guest-coupon-completed.json"))
    assert b'"price":5.8500000000000005' in php_json(rendered)
    assert b'"price":5.8500000000000005' in raw("order-guest-coupon-completed.json")


def test_line_refund_matches_the_real_refund() -> None:
    """Order 22's refund 24: one of two teas, tax included: amount 7.09, line -6.50 / -0.59."""
    catalog = _catalog()
    order = _order(catalog, [("RW-GRN-01", 1), ("RW-COF-1KG", 1), ("RW-TEA-250", 2)], coupon=None, fees=())
    renderer = Renderer(catalog, "https://127.0.0.1:8443")
    _compare(renderer.order(order), load("order-with-refund.json"))
    tea = order.line_items[2]
    refund = line_refund(
        order,
        24,
        [LineRefund(tea.id, 1)],
        reason="Eén pakje thee beschadigd",
        when=CAPTURE_TIME,
        item_ids=count(36),
        meta_ids=count(267),
    )
    ours, real = renderer.refund(refund), load("refund-single.json")
    assert ours["amount"] == real["amount"] == "7.09"
    for name in ("quantity", "subtotal", "subtotal_tax", "total", "total_tax", "taxes", "price", "sku"):
        assert ours["line_items"][0][name] == real["line_items"][0][name], name
    assert [{k: v for k, v in t.items() if k != "id"} for t in ours["tax_lines"]] == [
        {k: v for k, v in t.items() if k != "id"} for t in real["tax_lines"]
    ]
    order.refunds.append(refund)
    assert renderer.order(order)["refunds"] == [
        {"id": 24, "reason": "Eén pakje thee beschadigd", "total": "-7.09"}
    ]
