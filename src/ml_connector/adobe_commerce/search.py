"""Magento `searchCriteria` query strings: filter groups (OR inside a group, AND across groups), sort
orders and paging, rendered with the documented snake_case keys.

    criteria = (SearchCriteria()
                .where(Filter("updated_at", since, "gteq"))
                .where(Filter("status", ["processing", "complete"], "in"))
                .order_by("updated_at").order_by("entity_id")
                .page(size=100))

(A AND B) OR (X AND Y) cannot be expressed in Magento's model, so it cannot be expressed here either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, get_args

ConditionType = Literal[
    "eq",
    "finset",
    "from",
    "to",
    "gt",
    "gteq",
    "in",
    "like",
    "lt",
    "lteq",
    "moreq",
    "neq",
    "nfinset",
    "nin",
    "nlike",
    "notnull",
    "null",
]
CONDITION_TYPES: frozenset[str] = frozenset(get_args(ConditionType))
Direction = Literal["ASC", "DESC"]
MAX_PAGE_SIZE = 300  # Magento's input limit for list pages (api-security.md)
MAGENTO_DATETIME = "%Y-%m-%d %H:%M:%S"

Scalar = str | int | float | Decimal | datetime
FilterValue = Scalar | Sequence[Scalar] | None


def magento_datetime(value: datetime) -> str:
    """The REST timestamp format, always in UTC (Magento compares created_at/updated_at in UTC)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given: pass a timezone-aware value (UTC)")
    return value.astimezone(UTC).strftime(MAGENTO_DATETIME)


def parse_magento_datetime(value: str) -> datetime:
    return datetime.strptime(value, MAGENTO_DATETIME).replace(tzinfo=UTC)


def _scalar(value: Scalar) -> str:
    if isinstance(value, datetime):
        return magento_datetime(value)
    return str(value)


@dataclass(frozen=True)
class Filter:
    field: str
    value: FilterValue = None
    condition: ConditionType = "eq"

    def __post_init__(self) -> None:
        if self.condition not in CONDITION_TYPES:
            raise ValueError(
                f"unknown condition_type {self.condition!r} for field {self.field!r}; "
                f"use one of {', '.join(sorted(CONDITION_TYPES))}"
            )
        if self.value is None and self.condition not in ("null", "notnull"):
            raise ValueError(f"filter on {self.field!r} with condition {self.condition!r} needs a value")

    def rendered_value(self) -> str:
        if self.value is None:
            return "1"  # null/notnull ignore the value, but the Filter interface requires one
        if isinstance(self.value, str | int | float | Decimal | datetime):
            return _scalar(self.value)
        return ",".join(_scalar(v) for v in self.value)  # in / nin / finset lists


@dataclass(frozen=True)
class SortOrder:
    field: str
    direction: Direction = "ASC"


@dataclass(frozen=True)
class SearchCriteria:
    filter_groups: tuple[tuple[Filter, ...], ...] = ()
    sort_orders: tuple[SortOrder, ...] = ()
    page_size: int | None = None
    current_page: int | None = None

    def where(self, *any_of: Filter) -> SearchCriteria:
        """Add a filter group: a record matches it when ANY of `any_of` matches; groups are AND-ed."""
        if not any_of:
            raise ValueError("a filter group needs at least one filter")
        return replace(self, filter_groups=(*self.filter_groups, tuple(any_of)))

    def between(self, field: str, low: Scalar, high: Scalar) -> SearchCriteria:
        """Inclusive range: `from` and `to` in two groups, as Magento's documentation does."""
        return self.where(Filter(field, low, "from")).where(Filter(field, high, "to"))

    def order_by(self, field: str, direction: Direction = "ASC") -> SearchCriteria:
        return replace(self, sort_orders=(*self.sort_orders, SortOrder(field, direction)))

    def page(self, size: int, current: int = 1) -> SearchCriteria:
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(
                f"pageSize {size} is out of range: use 1..{MAX_PAGE_SIZE} (Magento's input limit)"
            )
        if current < 1:
            raise ValueError(f"currentPage {current} is out of range: pages are numbered from 1")
        return replace(self, page_size=size, current_page=current)

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for g, group in enumerate(self.filter_groups):
            for f, flt in enumerate(group):
                prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
                out += [
                    (f"{prefix}[field]", flt.field),
                    (f"{prefix}[value]", flt.rendered_value()),
                    (f"{prefix}[condition_type]", flt.condition),
                ]
        for s, order in enumerate(self.sort_orders):
            out += [
                (f"searchCriteria[sortOrders][{s}][field]", order.field),
                (f"searchCriteria[sortOrders][{s}][direction]", order.direction),
            ]
        if self.page_size is not None:
            out.append(("searchCriteria[pageSize]", str(self.page_size)))
        if self.current_page is not None:
            out.append(("searchCriteria[currentPage]", str(self.current_page)))
        if not out:
            # Magento needs searchCriteria to be present at all; an empty one matches everything.
            out.append(("searchCriteria", ""))
        return out
