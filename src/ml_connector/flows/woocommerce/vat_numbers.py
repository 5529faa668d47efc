"""The customer's VAT number, read from the meta keys the common WooCommerce VAT plugins write.

WooCommerce core has no VAT number field; plugins store it in order (and user) meta under their own key.
The keys and their plugins, in the order they are tried:
- `_billing_vat_number`: WooCommerce EU VAT Number 2.3.21+ (the official extension);
- `_vat_number`: WooCommerce EU VAT Number before 2.3.21;
- `vat_number`: Aelia EU VAT Assistant;
- `_billing_eu_vat_number`: EU VAT for WooCommerce (WPFactory / WP Whale, formerly Algoritmika);
- `VAT Number`: WooCommerce EU/UK VAT Compliance;
- `yweu_billing_vat`: YITH WooCommerce EU VAT;
- `billing_vat`: German Market;
- `_billing_vat_id`, `_shipping_vat_id`: Germanized Pro;
- `btw_nummer`: Dutch checkout plugins.
Sources: wpovernight/woocommerce-pdf-invoices-packing-slips (UBL customer party handler, `$vat_meta_keys`
with the plugin named per key); woocommerce.md §6.1 (Webwinkelfacturen reads `vat_number`,
`_billing_eu_vat_number`, `btw_nummer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ml_connector.woocommerce.models import Customer, MetaData, Order

VAT_NUMBER_META_KEYS: tuple[str, ...] = (
    "_billing_vat_number",
    "_vat_number",
    "vat_number",
    "_billing_eu_vat_number",
    "VAT Number",
    "yweu_billing_vat",
    "billing_vat",
    "_billing_vat_id",
    "_shipping_vat_id",
    "btw_nummer",
)
_SEPARATORS = re.compile(r"[\s.\-]")


def normalise_vat_number(value: str) -> str:
    """Upper case without spaces, dots or dashes: "nl 8669.59.300 b01" -> "NL866959300B01"."""
    return _SEPARATORS.sub("", value).upper()


def vat_number_from_meta(meta: Sequence[MetaData]) -> str | None:
    if not meta:
        return None
    by_key: dict[str, object] = {}
    for entry in meta:
        by_key.setdefault(entry.key, entry.value)
    for key in VAT_NUMBER_META_KEYS:
        value = by_key.get(key)
        if isinstance(value, str) and value.strip():
            return normalise_vat_number(value)
    return None


def order_vat_number(order: Order) -> str | None:
    return vat_number_from_meta(order.meta_data)


def customer_vat_number(customer: Customer) -> str | None:
    return vat_number_from_meta(customer.meta_data)
