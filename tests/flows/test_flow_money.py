from decimal import Decimal

import pytest

from ml_connector.flows.fingerprint import changed_fields, content_hash
from ml_connector.flows.money import cents, index_of_largest, json_number, unit_price


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [("1.005", "1.01"), ("1.0395", "1.04"), ("-0.525", "-0.53"), ("5.1975", "5.20"), ("2.2455", "2.25")],
)
def test_cents_round_half_away_from_zero_like_php(raw: str, rounded: str) -> None:
    assert cents(Decimal(raw)) == Decimal(rounded)


def test_unit_price_reproduces_the_line_amount_to_the_cent() -> None:
    price = unit_price(Decimal("10.00"), Decimal(3))
    assert price == Decimal("3.333333")
    assert cents(price * 3) == Decimal("10.00")
    assert unit_price(Decimal("-6.50"), Decimal(-1)) == Decimal("6.5")
    assert unit_price(Decimal("5.00"), Decimal(0)) == 0


def test_largest_amount_wins_by_absolute_value_first_on_ties() -> None:
    assert index_of_largest([Decimal("1"), Decimal("-7"), Decimal("7")]) == 1
    with pytest.raises(ValueError, match="no amounts"):
        index_of_largest([])


def test_json_numbers_print_as_the_decimal() -> None:
    assert json_number(Decimal("11.70")) == 11.7
    assert repr(json_number(Decimal("0.63"))) == "0.63"
    assert json_number(Decimal("3.00")) == 3
    assert isinstance(json_number(Decimal("3.00")), int)


def test_content_hash_ignores_decimal_spelling_and_key_order_but_not_values() -> None:
    one = content_hash({"a": Decimal("1.50"), "b": [Decimal("2")]})
    assert one == content_hash({"b": [Decimal("2.00")], "a": Decimal("1.5")})
    assert one != content_hash({"a": Decimal("1.51"), "b": [Decimal("2")]})


def test_changed_fields_names_the_differences() -> None:
    assert changed_fields({"a": Decimal("1.0"), "b": 1}, {"a": Decimal("1"), "b": 2, "c": 3}) == ["b", "c"]
