import pytest

from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce.settings import check_settings, parse_settings
from tests.flows import woo_data as w


def problems(**overrides: object) -> list[str]:
    data = w.settings_data(**overrides)
    for key in [key for key, value in overrides.items() if value is None and key in ("journal", "vat")]:
        del data[key]
    with pytest.raises(MappingError) as raised:
        parse_settings(data, "connection 'shop'")
    return [str(problem) for problem in raised.value.problems]


def test_defaults() -> None:
    settings = w.settings()
    assert settings.order_statuses == ("processing", "completed")
    assert settings.discount_mode == "net" and settings.guest_policy == "match_or_create"
    assert settings.account_code.mode == "exact" and not settings.allow_item_creation


def test_missing_journal_names_the_setting_and_the_fix() -> None:
    assert problems(journal=None) == [
        "connection 'shop' settings, journal: Field required. "
        'Fix: set journal to the Exact sales journal code, e.g. "70"'
    ]


def test_store_key_must_be_short() -> None:
    (text,) = problems(store_key="my-shop-number-one")
    assert text.startswith("connection 'shop' settings, store_key: String should match pattern")
    assert "1-8 letters or digits" in text


def test_unknown_status() -> None:
    (text,) = problems(order_statuses=["processing", "shipped"])
    assert "order_statuses: Value error, cannot invoice orders in status shipped" in text


def test_nested_vat_errors_name_the_rule() -> None:
    (text,) = problems(vat={"rules": [{"rate": 1}]})
    assert text.startswith("connection 'shop' settings, vat.rules.0.vat_code: Field required")
    assert 'the Exact VAT code, e.g. "2"' in text
    (text,) = problems(vat={"rules": []})
    assert "vat.rules: List should have at least 1 item" in text


def test_dependent_settings() -> None:
    (text,) = problems(discount_mode="separate_lines", discounts=None)
    assert "discount_mode separate_lines needs `discounts`" in text
    (text,) = problems(guest_policy="collective_account")
    assert "needs `guest_account_id`" in text
    (text,) = problems(guest_policy="collective_account", guest_account_id="webshop")
    assert "guest_account_id: Value error, 'webshop' is not an Exact Account ID (a Guid)" in text


def test_description_placeholders() -> None:
    assert w.settings(description="Webshop {number} (#{id})").description == "Webshop {number} (#{id})"
    (text,) = problems(description="Order {order_number}")
    assert "description: Value error, only {number} and {id} can be used, not 'order_number'" in text


def test_unknown_settings_are_refused() -> None:
    (text,) = problems(jornal="70")
    assert "jornal: Extra inputs are not permitted" in text


def test_account_code_prefix_must_be_digits() -> None:
    (text,) = problems(account_code={"mode": "prefix_id", "prefix": "WC"})
    assert "account_code.prefix" in text and "digits put before the customer id" in text


def test_settings_are_checked_against_exacts_master_data() -> None:
    assert check_settings(w.settings(), w.lookups()) == []
    settings = w.settings(
        shipping={"item_code": "SHIP"},
        fees={"item_code": "TOESLAG", "gl_account_code": "8999"},
        vat={"rules": [{"rate": 1, "vat_code": "21"}]},
    )
    texts = [str(problem) for problem in check_settings(settings, w.lookups())]
    assert texts == [
        "connection settings, vat.rules[0] rule (rate 1) -> '21': Exact has no VAT code '21'. "
        "Fix: correct vat.rules[0].vat_code to one of Exact's VAT codes (0, 1, 2, 7, ICP) "
        "or refresh the master data",
        "connection settings, shipping.item_code: Exact has no item with code 'SHIP'. "
        "Fix: create item 'SHIP' in Exact or correct shipping.item_code",
        "connection settings, fees.gl_account_code: Exact has no GL account with code '8999'. "
        "Fix: correct fees.gl_account_code or create the GL account in Exact",
    ]


def test_gl_accounts_are_needed_only_when_a_setting_names_one() -> None:
    assert w.settings().uses_gl_accounts  # fees override their item's revenue account with 8010
    plain = w.settings(fees={"item_code": "TOESLAG"})
    assert not plain.uses_gl_accounts
    assert w.settings(
        fees={"item_code": "TOESLAG"}, allow_item_creation=True, new_item_revenue_gl="8000"
    ).uses_gl_accounts
