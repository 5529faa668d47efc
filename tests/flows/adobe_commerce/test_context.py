from __future__ import annotations

from decimal import Decimal

import pytest

from ml_connector.adobe_commerce.models import Invoice, Order, Product, StoreConfig
from ml_connector.flows.adobe_commerce import ShopContext, map_invoice
from ml_connector.flows.problems import MappingError
from ml_connector.flows.vat import VatMapping, VatRule, VatSettings
from tests.flows.adobe_commerce.conftest import make_inputs
from tests.flows.adobe_commerce.data import CATEGORIES, sample_invoice, sample_json, sample_order
from tests.flows.gl_mapping.data import MAPPING_YAML, vat_mapping

STORES = {1: StoreConfig(id=1, code="default", website_id=1, base_currency_code="USD")}


def test_store_and_website_rules_match_through_the_store_config() -> None:
    text = MAPPING_YAML + (
        "  - name: base-site\n    match: {website: base}\n    cost_center: WEBB\n"
        "  - name: ship-default-store\n    line: shipping\n"
        "    match: {store: default}\n    cost_center: WEB\n"
    )
    shop = ShopContext(
        product_categories=CATEGORIES, stores=STORES, website_codes={1: "base"}, vat=vat_mapping()
    )
    mapped = map_invoice(sample_invoice(), sample_order(), make_inputs(text, shop=shop))
    by_item = {line.item_code: line for line in mapped.lines}
    assert by_item["WS12-M-Orange"].cost_center == "WEBB"  # website rule beats the default
    assert by_item["MH01-S-Gray"].cost_center == "APPAREL"  # the SKU rule is more specific
    assert by_item["SHIP"].cost_center == "WEB"
    unknown_store = ShopContext(product_categories=CATEGORIES, vat=vat_mapping())
    plain = map_invoice(sample_invoice(), sample_order(), make_inputs(text, shop=unknown_store))
    assert {line.item_code: line for line in plain.lines}["WS12-M-Orange"].cost_center == "WEB"


def test_vat_hint_uses_reverse_charge_for_untaxed_eu_business_customers() -> None:
    settings = VatSettings(
        rules=[VatRule(vat_code="2", percent=21)], reverse_charge_vat_code="7", no_tax_vat_code="0"
    )
    shop = ShopContext(vat=VatMapping(settings))
    data = sample_json("order-get-v1-orders-3.json")
    data["billing_address"].update(country_id="DE", vat_id="DE123456789")
    order = Order.model_validate(data)
    assert shop.vat_hint(order, Decimal(0), None)[0] == "7"
    assert shop.vat_hint(order, Decimal(21), None)[0] == "2"
    data["billing_address"].update(vat_id=None)
    untaxed, reason = shop.vat_hint(Order.model_validate(data), Decimal(0), None)
    assert (untaxed, reason) == ("0", "VAT settings: untaxed line -> no_tax_vat_code")
    assert ShopContext().vat_hint(order, Decimal(21), None) == (None, "the connection has no VAT settings")


def test_build_from_the_adobe_clients_records() -> None:
    product = Product.model_validate(
        {
            "id": 29,
            "sku": "24-WG082-blue",
            "custom_attributes": [{"attribute_code": "category_ids", "value": ["20", "3"]}],
        }
    )
    bare = Product.model_validate({"id": 30, "sku": "X"})
    shop = ShopContext.build([product, bare], STORES.values(), {1: "base"})
    assert shop.categories([29, 30]) == frozenset({"20", "3"})
    assert shop.stores_of(1) == frozenset({"1", "default"})
    assert shop.websites_of(1) == frozenset({"1", "base"})
    assert shop.websites_of(None) == frozenset()


def test_an_invoice_item_the_order_does_not_have_parks() -> None:
    data = sample_json("invoice-get-v1-invoices-3.json")
    data["items"][0]["order_item_id"] = 999
    with pytest.raises(MappingError, match="order 000000003 has no item 999"):
        map_invoice(Invoice.model_validate(data), sample_order(), make_inputs())
