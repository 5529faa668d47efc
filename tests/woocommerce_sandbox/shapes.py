"""Recursive comparison of JSON shapes: same keys in the same order, same JSON types."""

from __future__ import annotations

from typing import Any

# Fields the real store prints as null in some records and as a value in others.
NULLABLE = frozenset(
    {
        "sku",
        "parent_name",
        "date_completed",
        "date_completed_gmt",
        "date_paid",
        "date_paid_gmt",
        "date_modified",
        "date_modified_gmt",
        "stock_quantity",
        "low_stock_amount",
        "date_on_sale_from",
        "date_on_sale_from_gmt",
        "date_on_sale_to",
        "date_on_sale_to_gmt",
        "image",
        "date_expires",
        "date_expires_gmt",
        "usage_limit",
        "usage_limit_per_user",
        "limit_usage_to_x_items",
    }
)
NUMBERS = frozenset({"price", "rate_percent"})  # PHP prints these as int or float depending on the value
ANY_VALUE = frozenset({"value", "display_value"})  # meta values are whatever a plugin stored
MIXED = frozenset({"id"})  # line item image ids are "" for products, 0 for variations (observed)


def _kind(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float) and key in NUMBERS:
        return "number"
    return type(value).__name__


def assert_same_shape(ours: Any, real: Any, path: str = "$") -> None:
    key = path.rsplit(".", 1)[-1].rstrip("[]")
    if key in ANY_VALUE:
        return
    if real is None or ours is None:
        assert real is ours or key in NULLABLE, f"{path}: {ours!r} vs real {real!r}"
        return
    if isinstance(real, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {ours!r}"
        assert list(ours) == list(real), f"{path}: keys {list(ours)} != real {list(real)}"
        for name, value in real.items():
            assert_same_shape(ours[name], value, f"{path}.{name}")
        return
    if isinstance(real, list):
        assert isinstance(ours, list), f"{path}: expected an array, got {ours!r}"
        if real:
            for item in ours:
                assert_same_shape(item, real[0], f"{path}[]")
        return
    if key in MIXED and path.endswith("image.id"):
        assert ours in ("", 0), f"{path}: {ours!r}"
        return
    assert _kind(ours, key) == _kind(real, key), f"{path}: {ours!r} ({_kind(ours, key)}) vs real {real!r}"
