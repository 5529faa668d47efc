from decimal import Decimal

import pytest
from pydantic import ValidationError

from ml_connector.flows.vat import (
    TaxRateInfo,
    VatMapping,
    VatRule,
    VatSettings,
    is_intra_eu_b2b,
    validate_vat_settings,
    vat_codes_from_exact,
)
from tests.flows.woo_data import EXACT_VAT_CODES

CODES = vat_codes_from_exact(EXACT_VAT_CODES)


def test_exact_codes_are_trimmed_and_percentages_kept_as_fractions() -> None:
    assert set(CODES) == {"0", "1", "2", "7", "ICP"}
    assert CODES["2"].percentage == Decimal("0.21")
    assert CODES["2"].percent == Decimal(21)
    assert CODES["7"].blocked


def test_rules_match_rate_id_before_country_and_percent_before_percent_alone() -> None:
    mapping = VatMapping(
        VatSettings(
            rules=[
                VatRule(rate="1", vat_code="2"),
                VatRule(percent=Decimal(21), country="be", vat_code="BE21"),
                VatRule(percent=Decimal("21.0"), vat_code="OSS21"),
            ]
        )
    )
    assert mapping.code_for(TaxRateInfo("1", percent=Decimal(21), country="NL")) == "2"
    assert mapping.code_for(TaxRateInfo("5", percent=Decimal(21), country="BE")) == "BE21"
    assert mapping.code_for(TaxRateInfo("6", percent=Decimal(21), country="DE")) == "OSS21"
    assert mapping.code_for(TaxRateInfo("7", percent=Decimal(9), country="NL")) is None
    assert mapping.code_for(TaxRateInfo("8")) is None


def test_a_rule_must_match_something() -> None:
    with pytest.raises(ValidationError, match="give `rate` or `percent`"):
        VatRule(vat_code="2")


def test_settings_are_checked_against_exacts_vat_codes() -> None:
    settings = VatSettings(
        rules=[
            VatRule(rate="1", vat_code="2", percent=Decimal(21)),
            VatRule(rate="2", vat_code="2", percent=Decimal(9)),
            VatRule(rate="3", vat_code="9"),
            VatRule(rate="4", vat_code="7"),
        ],
        reverse_charge_vat_code="1",
        no_tax_vat_code="0",
    )
    problems = validate_vat_settings(settings, CODES)
    text = [str(problem) for problem in problems]
    assert len(problems) == 4
    assert "vat.rules[1]" in text[0] and "is 21%" in text[0] and "Exact VAT codes with 9%: 1" in text[0]
    assert "Exact has no VAT code '9'" in text[1] and "0, 1, 2, 7, ICP" in text[1]
    assert "'7' (BTW laag (oud)) is blocked" in text[2]
    assert "vat.reverse_charge_vat_code" in text[3] and "not 0%" in text[3] and "0, ICP" in text[3]


def test_valid_settings_have_no_problems() -> None:
    settings = VatSettings(rules=[VatRule(rate="1", vat_code="2 ")], reverse_charge_vat_code="ICP")
    assert validate_vat_settings(settings, CODES) == []
    assert settings.rules[0].vat_code == "2"


@pytest.mark.parametrize(
    ("country", "vat_number", "expected"),
    [
        ("DE", "DE123456789", True),
        ("de", "DE1", True),
        ("NL", "NL8669", False),
        ("DE", "", False),
        ("GB", "GB123", False),
        ("US", "X", False),
        ("EL", "EL123", True),
    ],
)
def test_intra_eu_b2b_needs_another_eu_country_and_a_vat_number(
    country: str, vat_number: str, expected: bool
) -> None:
    assert is_intra_eu_b2b(country, vat_number, "NL") is expected


def test_reverse_charge_only_when_a_code_is_configured() -> None:
    without = VatMapping(VatSettings(rules=[VatRule(rate="1", vat_code="2")]))
    with_code = VatMapping(
        VatSettings(rules=[VatRule(rate="1", vat_code="2")], reverse_charge_vat_code="ICP")
    )
    assert not without.uses_reverse_charge("DE", "DE123456789")
    assert with_code.uses_reverse_charge("DE", "DE123456789")
    assert not with_code.uses_reverse_charge("DE", None)
