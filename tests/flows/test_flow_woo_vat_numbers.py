import pytest

from ml_connector.flows.woocommerce.vat_numbers import (
    VAT_NUMBER_META_KEYS,
    normalise_vat_number,
    vat_number_from_meta,
)
from ml_connector.woocommerce.models import MetaData


@pytest.mark.parametrize("key", VAT_NUMBER_META_KEYS)
def test_each_plugin_key_is_read(key: str) -> None:
    meta = [MetaData(key="_reduced_stock", value="2"), MetaData(key=key, value=" be 0123.456.789 ")]
    assert vat_number_from_meta(meta) == "BE0123456789"


def test_the_first_listed_key_wins_and_empty_values_are_skipped() -> None:
    meta = [
        MetaData(key="vat_number", value="DE111"),
        MetaData(key="_billing_vat_number", value="  "),
        MetaData(key="_vat_number", value="DE222"),
    ]
    assert vat_number_from_meta(meta) == "DE222"
    assert vat_number_from_meta([MetaData(key="coupon_data", value={"vat_number": "x"})]) is None
    assert vat_number_from_meta([]) is None


def test_normalise() -> None:
    assert normalise_vat_number("nl 8669-59-300.b01") == "NL866959300B01"
