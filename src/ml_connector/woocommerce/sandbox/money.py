"""WooCommerce's money arithmetic: Decimal amounts, PHP rounding, and the two string forms it outputs.

- formatted amounts (`total`, `subtotal_tax`, ...) have exactly `dp` decimals (`wc_format_decimal($v, $dp)`);
- raw stored tax amounts (`taxes[].total`) keep up to 6 decimals with trailing zeros trimmed ("1.0395").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")
_RAW_PRECISION = Decimal("0.000001")  # WC_ROUNDING_PRECISION


def round_money(amount: Decimal) -> Decimal:
    """PHP round(): half away from zero (ROUND_HALF_UP in Decimal terms)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(amount: Decimal) -> str:
    """A formatted money string with 2 decimals, e.g. "4.95", "-7.09"."""
    return f"{round_money(amount):.2f}"


def raw(amount: Decimal) -> str:
    """A stored (unformatted) amount: up to 6 decimals, trailing zeros trimmed ("1.0395", "0", "-0.59")."""
    text = f"{amount.quantize(_RAW_PRECISION, rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def unit_price(total: Decimal, quantity: int) -> int | float:
    """`line_items[].price`: PHP evaluates `"<stored total>" / qty`, an int when it divides exactly."""
    if quantity == 0:
        return 0
    stored = Decimal(raw(total))
    if stored == stored.to_integral_value() and int(stored) % quantity == 0:
        return int(stored) // quantity
    return float(stored) / quantity
