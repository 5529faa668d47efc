from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ml_connector.adobe_commerce.models import CreditMemo, Invoice, Order
from ml_connector.flows.adobe_commerce import (
    MappingInputs,
    SalesEntryDraft,
    map_credit_memo,
    map_invoice,
    map_order,
)
from ml_connector.flows.exact_documents import SalesInvoiceDraft
from ml_connector.flows.gl_mapping.totals import totals_per_gl_account
from ml_connector.flows.problems import MappingError
from tests.flows.adobe_commerce.conftest import make_inputs, shop_masterdata
from tests.flows.adobe_commerce.data import (
    CATALOG,
    Line,
    build_order,
    credit_memo_for,
    invoice_for,
    sample_invoice,
    sample_json,
    sample_order,
)
from tests.flows.gl_mapping.data import MAPPING_YAML, exact_rows

TEE, BOOK, HOODIE = CATALOG[0], CATALOG[2], CATALOG[3]


def gl_id(code: str) -> str:
    return shop_masterdata().gl_accounts[code].id


def test_sample_order_becomes_a_sales_order_with_parent_child_collapsed(inputs: MappingInputs) -> None:
    mapped = map_order(sample_order(), inputs)
    payload = mapped.draft.to_payload()
    assert payload["YourRef"] == mapped.external_ref == "000000003"
    assert payload["OrderedBy"] == "acc-1"
    lines = payload["SalesOrderLines"]
    # 7 products (configurable once, bundle as its 4 components) + shipping; bundle parent and
    # configurable child are not lines of their own.
    assert [line["Item"] for line in lines] == [
        "item-WS12-M-Orange",
        "item-240-LV08",
        "item-24-WG082-blue",
        "item-24-WG084",
        "item-24-WG086",
        "item-24-WG088",
        "item-MH01-S-Gray",
        "item-SHIP",
    ]
    assert sum(Decimal(str(line["AmountFC"])) for line in lines) == Decimal(165)  # the grand total
    assert all("GLAccount" not in line for line in lines)  # SalesOrderLines have no GLAccount
    hoodie = lines[6]
    assert (hoodie["AmountFC"], hoodie["CostCenter"]) == (52, "APPAREL")
    assert lines[1]["CostUnit"] == "EU"  # the 'downloads' rule
    assert {line["VATCode"] for line in lines} == {"0"}


def test_sample_invoice_puts_every_line_on_its_mapped_gl_account(inputs: MappingInputs) -> None:
    mapped = map_invoice(sample_invoice(), sample_order(), inputs)
    assert isinstance(mapped.draft, SalesInvoiceDraft)
    payload = mapped.draft.to_payload()
    assert (payload["Type"], payload["Journal"], payload["YourRef"]) == (8020, "70", "I000000003")
    assert "000000003" in payload["Description"]
    by_item = {line["Item"]: line for line in payload["SalesInvoiceLines"]}
    assert by_item["item-MH01-S-Gray"]["GLAccount"] == gl_id("8010")
    assert by_item["item-24-WG082-blue"]["GLAccount"] == gl_id("8020")  # category 20 -> 'fitness'
    assert by_item["item-SHIP"]["GLAccount"] == gl_id("8050")
    assert by_item["item-WS12-M-Orange"]["CostCenter"] == "WEB"
    assert totals_per_gl_account(mapped.lines) == {
        "8000": Decimal(63),
        "8010": Decimal(52),
        "8020": Decimal(45),
        "8050": Decimal(5),
    }


def test_sales_entry_booking_posts_gl_lines_without_items() -> None:
    inputs = make_inputs(MAPPING_YAML.replace("booking: sales_invoice", "booking: sales_entry"))
    mapped = map_invoice(sample_invoice(), sample_order(), inputs)
    assert isinstance(mapped.draft, SalesEntryDraft)
    payload = mapped.draft.to_payload()
    assert (payload["Customer"], payload["Journal"], payload["YourRef"]) == ("acc-1", "70", "I000000003")
    lines = payload["SalesEntryLines"]
    assert all("Item" not in line for line in lines)
    assert [line["GLAccount"] for line in lines].count(gl_id("8000")) == 4
    assert sum(Decimal(str(line["AmountFC"])) for line in lines) == Decimal(165)


def taxed_order(discount: Decimal = Decimal(0)) -> dict[str, Any]:
    return build_order(
        7,
        [Line("simple", TEE, 2, discount), Line("simple", BOOK, 1), Line("configurable", HOODIE, 1)],
        Decimal("4.95"),
        Decimal(21),
    )


def test_partial_invoices_each_book_their_own_lines() -> None:
    inputs = make_inputs()
    order_dict = taxed_order()
    order = Order.model_validate(order_dict)
    parents = [i["item_id"] for i in order_dict["items"] if i.get("parent_item_id") is None]
    first = Invoice.model_validate(invoice_for(order_dict, 71, {parents[0]}, shipping=True))
    second = Invoice.model_validate(invoice_for(order_dict, 72, set(parents[1:]), shipping=False))
    one, two = map_invoice(first, order, inputs), map_invoice(second, order, inputs)
    assert one.external_ref != two.external_ref
    assert [line.item_code for line in one.lines] == ["TEE-RED", "SHIP"]
    assert [line.item_code for line in two.lines] == ["BOOK-1", "MH01-S-Gray"]
    total = sum((line.amount + line.vat_amount for line in (*one.lines, *two.lines)), Decimal(0))
    assert total == order.grand_total


def test_partial_quantity_invoice() -> None:
    order_dict = taxed_order()
    invoice = invoice_for(order_dict, 73, {order_dict["items"][0]["item_id"]}, shipping=False)
    item = invoice["items"][0]
    item.update(qty=1, row_total=19.95, tax_amount=4.19)
    invoice.update(subtotal=19.95, tax_amount=4.19, grand_total=24.14, discount_amount=0)
    mapped = map_invoice(Invoice.model_validate(invoice), Order.model_validate(order_dict), make_inputs())
    [line] = mapped.draft.to_payload()["SalesInvoiceLines"]
    assert (line["Quantity"], line["AmountFC"], line["VATAmountFC"]) == (1, 19.95, 4.19)


def test_discount_is_its_own_line_and_vat_adds_up_to_magentos() -> None:
    order_dict = taxed_order(discount=Decimal("3.99"))
    order = Order.model_validate(order_dict)
    tee = order.items[0]
    assert tee.tax_amount == Decimal("7.54")  # Magento: 21% of (39.90 - 3.99)
    mapped = map_order(order, make_inputs())
    product, discount = mapped.lines[0], mapped.lines[1]
    assert (product.amount, discount.amount) == (Decimal("39.90"), Decimal("-3.99"))
    assert (discount.gl_account_code, discount.item_code, discount.vat_code) == ("8090", "DISC", "2")
    assert product.vat_amount + discount.vat_amount == tee.tax_amount
    assert discount.vat_amount == Decimal("-0.84")  # 3.99 at the line's own 21%
    assert sum((x.amount + x.vat_amount for x in mapped.lines), Decimal(0)) == order.grand_total


def test_prices_incl_tax_use_magentos_hidden_tax_for_the_discount() -> None:
    data = taxed_order()
    tee = data["items"][0]
    # Catalog prices incl. 21%: 12.10 discount incl. tax = 10.00 net + 2.10 hidden tax.
    tee.update(row_total=100, tax_amount=18.90, discount_amount=12.10, discount_tax_compensation_amount=2.10)
    data["items"] = [tee]
    data.update(shipping_amount=0, shipping_tax_amount=0, discount_amount=-12.10, grand_total=108.90)
    mapped = map_order(Order.model_validate(data), make_inputs())
    product, discount = mapped.lines
    assert (product.amount, product.vat_amount) == (Decimal(100), Decimal("21.00"))
    assert (discount.amount, discount.vat_amount) == (Decimal("-10.00"), Decimal("-2.10"))


def test_shipping_discount_is_netted_into_the_shipping_line() -> None:
    data = taxed_order()
    data["discount_amount"] = -2.0  # no item discounts: all of it is on shipping
    data["grand_total"] = data["grand_total"] - 2.0
    mapped = map_order(Order.model_validate(data), make_inputs())
    shipping = mapped.lines[-1]
    assert (shipping.item_code, shipping.amount) == ("SHIP", Decimal("2.95"))


def test_credit_memo_becomes_a_credit_note_with_adjustments() -> None:
    order_dict = taxed_order(discount=Decimal("3.99"))
    tee_id = order_dict["items"][0]["item_id"]
    memo = credit_memo_for(
        order_dict,
        79,
        {tee_id},
        shipping=True,
        adjustment_positive=Decimal("5"),
        adjustment_negative=Decimal("2"),
    )
    mapped = map_credit_memo(CreditMemo.model_validate(memo), Order.model_validate(order_dict), make_inputs())
    payload = mapped.draft.to_payload()
    assert (payload["Type"], payload["YourRef"]) == (8021, "C200000079")
    lines = {line.gl_account_code: line for line in mapped.lines}
    assert lines["8000"].amount == Decimal("-39.90")
    assert lines["8000"].quantity == Decimal(-2)
    assert lines["8090"].amount == Decimal("3.99")  # the discount is given back with the goods
    assert (lines["8095"].amount, lines["8095"].vat_amount, lines["8095"].vat_code) == (
        Decimal(-5),
        Decimal(0),
        "0",
    )
    assert (lines["8096"].amount, lines["8096"].vat_code) == (Decimal(2), "0")
    total = sum((line.amount + line.vat_amount for line in mapped.lines), Decimal(0))
    assert total == -Decimal(str(memo["grand_total"]))


def test_credit_memo_as_sales_entry_is_negative() -> None:
    order_dict = taxed_order()
    memo = credit_memo_for(order_dict, 80, {order_dict["items"][0]["item_id"]}, shipping=False)
    inputs = make_inputs(MAPPING_YAML.replace("booking: sales_invoice", "booking: sales_entry"))
    mapped = map_credit_memo(CreditMemo.model_validate(memo), Order.model_validate(order_dict), inputs)
    assert isinstance(mapped.draft, SalesEntryDraft)
    [line] = mapped.draft.to_payload()["SalesEntryLines"]
    assert (line["AmountFC"], line["VATAmountFC"]) == (-39.9, -8.38)


UNMAPPED_YAML = MAPPING_YAML.replace('  product: {gl_account: "8000", cost_center: WEB}\n', "")


def test_a_line_without_mapping_parks_naming_the_line_and_the_rule_then_succeeds_after_the_fix() -> None:
    with pytest.raises(MappingError) as caught:
        map_invoice(sample_invoice(), sample_order(), make_inputs(UNMAPPED_YAML))
    problems = caught.value.problems
    tee = next(p for p in problems if "WS12-M-Orange" in p.where)
    assert tee.record == "Adobe invoice 000000003 of order 000000003"
    assert tee.where == "item 3 'Radiant Tee-M-Orange' (product, sku WS12-M-Orange, type simple)"
    assert "match: {sku: 'WS12-M-Orange'}" in tee.fix and tee.kind == "gl_mapping"
    assert not any("MH01-S-Gray" in p.where for p in problems)  # the hoodie has its rule
    fixed = UNMAPPED_YAML + "".join(
        f"  - name: {sku}\n    match: {{sku: {sku}}}\n    gl_account: '8000'\n"
        for sku in ("WS12-M-Orange", "24-WG084", "24-WG086", "24-WG088")
    )
    mapped = map_invoice(sample_invoice(), sample_order(), make_inputs(fixed))
    assert totals_per_gl_account(mapped.lines)["8000"] == Decimal(63)


def test_master_data_changes_after_import_are_caught_before_posting() -> None:
    rows = [
        (entity, {**row, "IsBlocked": True} if row.get("Code") == "8010" else row)
        for entity, row in exact_rows()
    ]
    blocked = make_inputs(masterdata=type(shop_masterdata()).from_exact_rows([*rows, *_items()]))
    with pytest.raises(MappingError, match=r"GL account '8010' \(Revenue apparel\) is blocked"):
        map_invoice(sample_invoice(), sample_order(), blocked)


def _items() -> list[tuple[str, dict[str, Any]]]:
    return [("Items", {"ID": f"item-{code}", "Code": code}) for code in shop_masterdata().items]


def test_a_vat_code_with_another_percentage_than_magentos_parks() -> None:
    inputs = make_inputs(MAPPING_YAML + "  - name: wrong-vat\n    match: {sku: TEE-RED}\n    vat_code: '1'\n")
    with pytest.raises(MappingError, match=r"VAT code '1' is 9% in Exact but the shop charged 21%"):
        map_order(Order.model_validate(taxed_order()), inputs)


def test_a_child_line_with_its_own_amount_parks_instead_of_being_dropped() -> None:
    data = sample_json("order-get-v1-orders-3.json")
    child = next(i for i in data["items"] if i["item_id"] == 11)
    child.update(row_total=5, price=5)
    with pytest.raises(MappingError) as caught:
        map_order(Order.model_validate(data), make_inputs())
    [problem] = caught.value.problems
    assert (problem.where, problem.kind) == ("item 11 'Chaz Kangeroo Hoodie-S-Gray'", "amounts")


def test_totals_that_differ_from_magentos_grand_total_park() -> None:
    data = sample_json("order-get-v1-orders-3.json")
    data["grand_total"] = 155  # e.g. a gift card the lines do not show
    with pytest.raises(MappingError, match=r"the lines add up to 165\.00, Magento's grand total is 155"):
        map_order(Order.model_validate(data), make_inputs())


def test_a_sku_missing_in_exact_parks_with_the_shared_missing_item_problem() -> None:
    data = sample_json("invoice-get-v1-invoices-3.json")
    md = shop_masterdata()
    without = type(md)(**{**md.__dict__, "items": {k: v for k, v in md.items.items() if k != "24-WG084"}})
    with pytest.raises(MappingError) as caught:
        map_invoice(Invoice.model_validate(data), sample_order(), make_inputs(masterdata=without))
    assert caught.value.kinds == frozenset({"missing_item"})


def test_store_key_prefixes_every_reference() -> None:
    inputs = make_inputs(store_key="EU")
    assert map_order(sample_order(), inputs).external_ref == "EU-000000003"
    assert map_invoice(sample_invoice(), sample_order(), inputs).external_ref == "EU-I000000003"
