"""Orders -> SalesInvoice drafts, on the real WooCommerce 7.9.0 orders."""

import copy
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.flows.exact_documents import SALES_INVOICE_TYPE, YOUR_REF_MAX_LENGTH, check_your_ref
from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce.invoices import draft_order_lines, items_to_create, map_order
from ml_connector.woocommerce.models import Order
from tests.flows import woo_data as w


def mapped(name: str, **overrides: Any) -> Any:
    return map_order(w.order(name), w.context(**overrides), w.lookups(), w.ACCOUNT_ID)


def edited(name: str, edit: Any) -> Order:
    data = copy.deepcopy(w.load(name))
    edit(data)
    return Order.model_validate(data)


@pytest.mark.parametrize("mode", ["net", "separate_lines"])
@pytest.mark.parametrize("name", list(w.ORDER_FILES))
def test_every_real_order_totals_to_the_cent(name: str, mode: str) -> None:
    order = w.order(name)
    draft = mapped(name, discount_mode=mode)
    assert draft.amount_incl_vat == order.total
    assert draft.vat_amount == order.total_tax
    assert draft.your_ref == f"WC-RW-{order.id}"
    assert draft.type == SALES_INVOICE_TYPE


@pytest.mark.parametrize("name", list(w.ORDER_FILES))
def test_payload_uses_only_fields_exact_accepts_on_post(name: str) -> None:
    payload = mapped(name).to_payload()
    lines = payload.pop("SalesInvoiceLines")
    assert set(payload) <= w.writable("SalesInvoices")
    assert {"Journal", "OrderedBy"} <= set(payload)
    for line in lines:
        assert set(line) <= w.writable("SalesInvoiceLines")
        assert line["Item"]


def test_mixed_tax_order_with_variation_coupon_fee_and_shipping() -> None:
    payload = mapped("order-registered-coupon-fee-mixed-tax.json").to_payload()
    items = w.item_ids()
    assert payload["YourRef"] == "WC-RW-23"
    assert payload["OrderDate"] == "2026-11-22"  # the shop's local order date
    assert payload["Journal"] == "70" and payload["PaymentCondition"] == "14" and payload["Currency"] == "EUR"
    assert payload["Description"] == "WooCommerce order 23"
    assert payload["Remarks"] == "Coupons: welkom10"
    summary = [
        (
            line["Item"],
            line["Quantity"],
            line["UnitPrice"],
            line["AmountFC"],
            line["VATCode"],
            line["VATAmountFC"],
        )
        for line in payload["SalesInvoiceLines"]
    ]
    assert summary == [
        (items["RW-TEA-250"], 2, 5.85, 11.7, "1", 1.05),  # 9%, after the 10% coupon
        (items["RW-TSHIRT-L"], 1, 24.75, 24.75, "2", 5.2),  # the variation's own SKU
        (items["RW-GRN-01"], 1, 44.1, 44.1, "2", 9.26),
        (items["VERZEND"], 1, 4.95, 4.95, "2", 1.04),  # shipping on the configured item
        (items["TOESLAG"], 1, 3, 3, "2", 0.63),  # fee on the configured item ...
    ]
    assert payload["SalesInvoiceLines"][4]["GLAccount"] == w.GL_ACCOUNTS["8010"]  # ... and GL account
    assert "GLAccount" not in payload["SalesInvoiceLines"][0]


def test_separate_discount_lines_per_tax_rate() -> None:
    draft = mapped("order-registered-coupon-fee-mixed-tax.json", discount_mode="separate_lines")
    discounts = [line for line in draft.lines if line.item_id == w.item_ids()["KORTING"]]
    assert [(line.vat_code, line.amount, line.vat_amount) for line in discounts] == [
        ("1", Decimal("-1.30"), Decimal("-0.12")),
        ("2", Decimal("-7.65"), Decimal("-1.61")),
    ]
    assert sum(-line.amount for line in discounts) == Decimal("8.95")  # the order's discount_total
    assert draft.lines[0].amount == Decimal("13.00")  # gross: subtotal before the coupon
    assert discounts[0].description == "Discount welkom10"


def test_guest_order_with_variation() -> None:
    draft = mapped("order-guest-coupon-completed.json")
    assert draft.ordered_by == draft.invoice_to == w.ACCOUNT_ID
    assert draft.lines[1].item_id == w.item_ids()["RW-TSHIRT-M"]
    assert draft.lines[1].description == "RealWoo T-shirt - M"


def test_vat_of_a_rate_is_balanced_to_the_orders_tax_line() -> None:
    # Raw line taxes 1.0395 + 0.525 round to 1.04 + 0.53 = 1.57 per line, but WooCommerce rounds the
    # tax line once: 1.5645 -> 1.56. The cent comes off the largest line of that rate.
    def edit(data: dict[str, Any]) -> None:
        data["fee_lines"][0]["total"] = "2.50"
        data["fee_lines"][0]["total_tax"] = "0.53"
        data["fee_lines"][0]["taxes"][0]["total"] = "0.525"
        data["line_items"] = [data["line_items"][0]]
        data["line_items"][0].update(
            total="4.95",
            subtotal="4.95",
            total_tax="1.04",
            subtotal_tax="1.04",
            taxes=[{"id": 1, "total": "1.0395", "subtotal": "1.0395"}],
        )
        data["shipping_lines"] = []
        data["tax_lines"] = [dict(data["tax_lines"][0], tax_total="1.56", shipping_tax_total="0.00")]
        data["total_tax"], data["total"] = "1.56", "9.01"

    order = edited("order-onhold-fee.json", edit)
    draft = map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert [line.vat_amount for line in draft.lines] == [Decimal("1.03"), Decimal("0.53")]
    assert draft.amount_incl_vat == Decimal("9.01")


def test_tax_difference_beyond_rounding_stops_the_order() -> None:
    order = edited("order-onhold-fee.json", lambda data: data["tax_lines"][0].update(tax_total="16.00"))
    with pytest.raises(MappingError) as raised:
        map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert "tax rate 1" in str(raised.value) and "tax total is 17.04" in str(raised.value)


def test_total_mismatch_is_never_posted() -> None:
    order = edited("order-onhold-fee.json", lambda data: data.update(total="97.35"))
    with pytest.raises(MappingError) as raised:
        map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert raised.value.kinds == {"amounts"}
    assert "the lines add up to 97.34, the shop's total is 97.35" in str(raised.value)


def test_missing_vat_mapping_names_the_rate_and_candidate_codes() -> None:
    context = w.context(vat={"rules": [{"rate": 1, "vat_code": "2"}]})
    with pytest.raises(MappingError) as raised:
        map_order(w.order("order-registered-coupon-fee-mixed-tax.json"), context, w.lookups(), w.ACCOUNT_ID)
    (problem,) = raised.value.problems
    assert problem.record == "WooCommerce order 23"
    assert problem.where == "line 1 'Thee Earl Grey 250g'"
    assert "tax rate 2 (BTW 9%, 9%, NL) has no Exact VAT code" in problem.message
    assert (
        '{"rate": "2", "vat_code": "<code>"}' in problem.fix and "Exact VAT codes with 9%: 1" in problem.fix
    )


def test_vat_mapping_by_country_and_percent_when_no_rate_rule() -> None:
    context = w.context(
        vat={"rules": [{"percent": 21, "country": "NL", "vat_code": "2"}, {"percent": 9, "vat_code": "1"}]}
    )
    draft = map_order(w.order("order-with-refund.json"), context, w.lookups(), w.ACCOUNT_ID)
    assert [line.vat_code for line in draft.lines] == ["2", "1", "1", "2"]


def test_vat_code_unknown_in_exact_is_reported_per_line() -> None:
    context = w.context(vat={"rules": [{"rate": 1, "vat_code": "21"}, {"rate": 2, "vat_code": "1"}]})
    with pytest.raises(MappingError) as raised:
        map_order(w.order("order-onhold-fee.json"), context, w.lookups(), w.ACCOUNT_ID)
    assert raised.value.kinds == {"vat_mapping"}
    assert len(raised.value.problems) == 4  # two products, shipping, fee
    assert "Exact has no VAT code '21'" in raised.value.problems[0].message


def test_missing_sku_names_order_line_product_and_fix() -> None:
    order = edited(
        "order-registered-coupon-fee-mixed-tax.json", lambda data: data["line_items"][1].update(sku=None)
    )
    with pytest.raises(MappingError) as raised:
        map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    (problem,) = raised.value.problems
    assert str(problem) == (
        "WooCommerce order 23, line 2 'RealWoo T-shirt - L': "
        "the product has no SKU (product 14 variation 16). "
        "Fix: give product 14 variation 16 a SKU in WooCommerce equal to the Exact item code, then replay"
    )


def test_unknown_item_is_a_per_order_error_or_an_item_to_create() -> None:
    items = {code: guid for code, guid in w.item_ids().items() if code != "RW-TSHIRT-L"}
    order = w.order("order-onhold-fee.json")
    with pytest.raises(MappingError) as raised:
        map_order(order, w.context(), w.lookups(items), w.ACCOUNT_ID)
    (problem,) = raised.value.problems
    assert problem.kind == "missing_item" and problem.where == "line 2 'RealWoo T-shirt - L'"
    assert "no item with code 'RW-TSHIRT-L'" in problem.message
    assert items_to_create(order, w.context(), w.lookups(items)) == []
    drafts = items_to_create(
        order, w.context(allow_item_creation=True, new_item_revenue_gl="8000"), w.lookups(items)
    )
    assert [draft.to_payload() for draft in drafts] == [
        {
            "Code": "RW-TSHIRT-L",
            "Description": "RealWoo T-shirt - L",
            "IsSalesItem": True,
            "SalesVatCode": "2",
        }
    ]


def test_shipping_without_a_configured_item_names_the_setting() -> None:
    with pytest.raises(MappingError) as raised:
        mapped("order-with-refund.json", shipping=None)
    assert str(raised.value) == (
        "WooCommerce order 22, shipping 1 'Flat rate': no Exact item is configured for shipping lines. "
        "Fix: set shipping.item_code in the connection settings"
    )


def test_unknown_gl_account_for_fees_is_reported() -> None:
    with pytest.raises(MappingError) as raised:
        mapped("order-onhold-fee.json", fees={"item_code": "TOESLAG", "gl_account_code": "9999"})
    assert raised.value.kinds == {"missing_gl_account"}


def _intra_eu(data: dict[str, Any], charged: bool) -> None:
    data["billing"].update(country="DE", company="Weber Handel GmbH")
    data["meta_data"] = [{"id": 1, "key": "_billing_vat_number", "value": "de 123 456 789"}]
    if charged:
        return
    for line in [*data["line_items"], *data["shipping_lines"], *data["fee_lines"]]:
        line.update(total_tax="0.00", taxes=[])
        if "subtotal_tax" in line:
            line["subtotal_tax"] = "0.00"
    data["tax_lines"] = []
    total = Decimal(data["total"]) - Decimal(data["total_tax"])
    data.update(total_tax="0.00", cart_tax="0.00", shipping_tax="0.00", total=str(total))


def test_intra_eu_b2b_without_tax_gets_the_reverse_charge_code() -> None:
    order = edited("order-onhold-fee.json", lambda data: _intra_eu(data, charged=False))
    draft = map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert {line.vat_code for line in draft.lines} == {"ICP"}
    assert draft.vat_amount == 0 and draft.amount_incl_vat == Decimal("80.44")


def test_intra_eu_b2b_with_vat_charged_keeps_the_shops_tax() -> None:
    order = edited("order-onhold-fee.json", lambda data: _intra_eu(data, charged=True))
    draft = map_order(order, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert {line.vat_code for line in draft.lines} == {"2"}
    assert draft.vat_amount == Decimal("16.90")


def test_untaxed_lines_need_the_no_tax_code() -> None:
    order = edited("order-onhold-fee.json", lambda data: _intra_eu(data, charged=False))
    context = w.context(vat={"rules": [{"rate": 1, "vat_code": "2"}]})
    with pytest.raises(MappingError) as raised:
        map_order(order, context, w.lookups(), w.ACCOUNT_ID)
    assert "set vat.no_tax_vat_code" in str(raised.value) and "Exact VAT codes with 0%: 0, ICP" in str(
        raised.value
    )
    context = w.context(vat={"rules": [{"rate": 1, "vat_code": "2"}], "no_tax_vat_code": "0"})
    draft = map_order(order, context, w.lookups(), w.ACCOUNT_ID)
    assert {line.vat_code for line in draft.lines} == {"0"}


def test_a_line_taxed_by_two_rates_is_refused() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["line_items"][0]["taxes"].append({"id": 2, "total": "0.10", "subtotal": "0.10"})

    with pytest.raises(MappingError) as raised:
        map_order(edited("order-onhold-fee.json", edit), w.context(), w.lookups(), w.ACCOUNT_ID)
    assert "taxed by 2 WooCommerce tax rates (1, 2)" in str(raised.value)


def test_draft_lines_keep_codes_until_resolution() -> None:
    lines, problems = draft_order_lines(
        w.order("order-guest-coupon-completed.json"), w.context(), w.lookups()
    )
    assert problems == []
    assert [(line.item_code, line.tax_group) for line in lines] == [
        ("RW-TEA-250", "rate 2"),
        ("RW-TSHIRT-M", "rate 1"),
        ("VERZEND", "rate 1"),
    ]


def test_your_ref_stays_within_the_limit() -> None:
    assert check_your_ref("WC-ABCDEFGH-123456789-R1234567", "r") is None
    problem = check_your_ref("WC-" + "X" * YOUR_REF_MAX_LENGTH, "WooCommerce order 1")
    assert problem is not None and "shorten the connection's store key" in problem.fix
