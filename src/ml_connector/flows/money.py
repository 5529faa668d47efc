"""Money as Decimal: rounding to cents the way the shops do, and cent-exact corrections.

WooCommerce and Magento round half away from zero (PHP `round()`), so ROUND_HALF_UP is used everywhere;
binary floats never touch an amount until the JSON boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Unit prices keep 6 decimals: quantity x unit price then differs from the line amount by at most
# quantity x 5e-7, which rounds to the same cent for any quantity below 10,000.
UNIT_PRICE_QUANTUM = Decimal("0.000001")


def cents(value: Decimal) -> Decimal:
    """Round to whole cents, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_price(amount: Decimal, quantity: Decimal) -> Decimal:
    """Price per unit that reproduces `amount` for `quantity` (both signed); 0 for quantity 0."""
    if quantity == 0:
        return ZERO
    return (amount / quantity).quantize(UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP).normalize()


def index_of_largest(amounts: Sequence[Decimal]) -> int:
    """Index of the largest absolute amount (first on ties): where a rounding cent hurts least."""
    if not amounts:
        raise ValueError("no amounts to choose from")
    return max(range(len(amounts)), key=lambda index: (abs(amounts[index]), -index))


def json_number(value: Decimal) -> int | float:
    """An amount as a JSON number (Exact's Edm.Double): the shortest float that prints as the decimal."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
