from __future__ import annotations

from ml_connector.flows.gl_mapping import parse_mapping, validate_against_masterdata
from ml_connector.flows.gl_mapping.masterdata import ExactMasterData
from tests.flows.gl_mapping.data import MAPPING_YAML, masterdata


def problems(text: str, md: ExactMasterData | None = None) -> dict[tuple[int | None, str], str]:
    found = validate_against_masterdata(parse_mapping(text), md or masterdata())
    return {(p.line, p.path): p.message for p in found}


def line_of(text: str, needle: str, after: str | None = None) -> int:
    lines = text.splitlines()
    start = lines.index(after) if after else 0
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def test_the_example_mapping_is_valid() -> None:
    assert problems(MAPPING_YAML) == {}


def test_unknown_blocked_and_wrong_type_accounts_are_listed_with_lines() -> None:
    text = (
        MAPPING_YAML.replace('gl_account: "8010"', 'gl_account: "9999"')  # unknown
        .replace(
            '    gl_account: "8020"\n    cost_unit: EU', '    gl_account: "8099"\n    cost_unit: EU'
        )  # blocked
        .replace('product: {gl_account: "8000"', 'product: {gl_account: "4000"')  # costs, not revenue
        .replace('discount: {gl_account: "8090"', 'discount: {gl_account: "1300"')  # balance sheet
    )
    found = problems(text)
    assert "unknown GL account '9999'" in found[(line_of(text, '"9999"'), "rules.0.gl_account")]
    assert "is blocked" in found[(line_of(text, '"8099"'), "rules.2.gl_account")]
    assert (
        "not a revenue account (Type 120"
        in found[(line_of(text, "product: {"), "defaults.product.gl_account")]
    )
    assert "balance-sheet account" in found[(line_of(text, "discount: {"), "defaults.discount.gl_account")]
    assert len(found) == 4


def test_discounts_may_use_a_profit_and_loss_cost_account() -> None:
    # 8090 is Type 120 (other costs) and BalanceType W: fine for discounts, not for products.
    assert problems(MAPPING_YAML) == {}
    text = MAPPING_YAML.replace('gl_account: "8010"', 'gl_account: "8090"')
    assert (
        "not a revenue account"
        in problems(text)[(line_of(text, '"8090"', "  - name: hoodies"), "rules.0.gl_account")]
    )


def test_unknown_cost_center_cost_unit_item_and_vat_codes() -> None:
    text = (
        MAPPING_YAML.replace("cost_center: APPAREL", "cost_center: NOPE")
        .replace("cost_unit: EU", "cost_unit: US")
        .replace("item: SHIP", "item: SHIPX")
        + "  - name: vat-old\n    match: {sku: A}\n    vat_code: '5'\n"
        + "  - name: vat-none\n    match: {sku: B}\n    vat_code: '77'\n"
    )
    found = problems(text)
    assert found[(line_of(text, "NOPE"), "rules.0.cost_center")] == "unknown cost center 'NOPE'"
    assert found[(line_of(text, "cost_unit: US"), "rules.2.cost_unit")] == "unknown cost unit 'US'"
    assert found[(line_of(text, "SHIPX"), "defaults.shipping.item")] == "unknown Exact item 'SHIPX'"
    assert "is blocked" in found[(line_of(text, "vat_code: '5'"), "rules.3.vat_code")]
    assert found[(line_of(text, "'77'"), "rules.4.vat_code")] == "unknown VAT code '77'"


def test_missing_defaults_and_items_are_listed() -> None:
    text = MAPPING_YAML.replace('  discount: {gl_account: "8090", item: DISC}\n', "").replace(
        'shipping: {gl_account: "8050", item: SHIP}', "shipping: {cost_center: WEB}"
    )
    found = [
        (p.line, p.path, p.message) for p in validate_against_masterdata(parse_mapping(text), masterdata())
    ]
    shipping = line_of(text, "shipping: {")
    discount_message = "no default GL account for discount lines: set defaults.discount.gl_account"
    assert found == [
        (
            shipping,
            "defaults.shipping",
            "no default GL account for shipping lines: set defaults.shipping.gl_account",
        ),
        (line_of(text, "defaults:"), "defaults", discount_message),
        (
            shipping,
            "defaults.shipping",
            "booking sales_invoice needs defaults.shipping.item (an Exact item code)",
        ),
    ]


def test_sales_entry_booking_needs_no_items() -> None:
    text = MAPPING_YAML.replace("booking: sales_invoice", "booking: sales_entry").replace(", item: SHIP", "")
    assert problems(text) == {}
    invoice_text = MAPPING_YAML.replace(", item: SHIP", "")
    assert any("needs defaults.shipping.item" in m for m in problems(invoice_text).values())


def test_adjustments_need_a_zero_percent_vat_code() -> None:
    text = MAPPING_YAML.replace(
        'item: ADJ, vat_code: "0"}\n  adjustment_negative', 'item: ADJ, vat_code: "2"}\n  adjustment_negative'
    )
    found = problems(text)
    message = found[(line_of(text, "adjustment_positive"), "defaults.adjustment_positive.vat_code")]
    assert "booked without VAT" in message and "21" in message


def test_journal_must_be_a_known_unblocked_sales_journal() -> None:
    assert problems(MAPPING_YAML.replace('journal: "70"', 'journal: "71"')) == {
        (3, "journal"): "unknown journal '71'"
    }
    assert (
        "not a sales journal"
        in problems(MAPPING_YAML.replace('journal: "70"', 'journal: "90"'))[(3, "journal")]
    )


def test_empty_master_data_rejects_everything_named() -> None:
    found = problems(MAPPING_YAML, ExactMasterData())
    assert any("run `ml-connector masterdata refresh`" in m for m in found.values())
    assert (3, "journal") in found
