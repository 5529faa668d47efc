"""Money as Exact shows it: Decimal arithmetic rounded half-up to the cent, JSON numbers on the wire."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> float | int:
    """Amounts as JSON numbers, whole ones without a fraction like Exact's samples (7500, 6352.5)."""
    return int(value) if value == value.to_integral_value() else float(value)
