"""Magento's searchCriteria as the server sees it: parse the bracketed query keys (snake_case or camelCase),
filter (OR inside a group, AND across groups), sort, page (out-of-range pages clamp to the last page, like
Magento's collection), and apply a `fields=` projection."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_KEY = re.compile(r"\[([^\]]*)\]")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class CriteriaError(ValueError):
    """Bad searchCriteria input: Magento answers 400 with this message."""

    def __init__(self, message: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameters = parameters or {}


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _nest(params: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """searchCriteria[filter_groups][0][filters][0][field]=x -> nested dicts keyed by snake_case names."""
    root: dict[str, Any] = {}
    for key, value in params:
        if not key.startswith("searchCriteria"):
            continue
        path = [_snake(p) for p in _KEY.findall(key[len("searchCriteria") :])]
        if not path:
            continue
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise CriteriaError('"%fieldName" is not a valid searchCriteria field.', {"fieldName": key})
        node[path[-1]] = value
    return root


def _indexed(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted(node, key=lambda k: int(k) if k.isdigit() else 0)]


@dataclass(frozen=True)
class Condition:
    field: str
    value: str
    condition_type: str = "eq"


@dataclass
class Criteria:
    groups: list[list[Condition]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]]) -> Criteria:
        tree = _nest(params)
        criteria = cls()
        for group in _indexed(tree.get("filter_groups")):
            conditions = []
            for flt in _indexed(group.get("filters") if isinstance(group, dict) else None):
                if not isinstance(flt, dict) or "field" not in flt:
                    raise CriteriaError(
                        '"%fieldName" is required. Enter and try again.', {"fieldName": "field"}
                    )
                ctype = flt.get("condition_type") or "eq"
                if ctype not in _MATCHERS:
                    raise CriteriaError(
                        'Invalid value of "%value" provided for the %fieldName field.',
                        {"value": ctype, "fieldName": "condition_type"},
                    )
                conditions.append(Condition(flt["field"], flt.get("value", ""), ctype))
            if conditions:
                criteria.groups.append(conditions)
        for order in _indexed(tree.get("sort_orders")):
            if isinstance(order, dict) and order.get("field"):
                criteria.sort_orders.append((order["field"], str(order.get("direction") or "ASC").upper()))
        criteria.page_size = _int(tree.get("page_size"), "pageSize")
        criteria.current_page = _int(tree.get("current_page"), "currentPage")
        return criteria

    def echo(self) -> dict[str, Any]:
        """The search_criteria block of the answer: what was asked, nothing more (as Magento echoes it)."""
        out: dict[str, Any] = {
            "filter_groups": [
                {
                    "filters": [
                        {"field": c.field, "value": c.value, "condition_type": c.condition_type} for c in g
                    ]
                }
                for g in self.groups
            ]
        }
        if self.sort_orders:
            out["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            out["page_size"] = self.page_size
        if self.current_page is not None:
            out["current_page"] = self.current_page
        return out

    def matches(self, record: dict[str, Any]) -> bool:
        return all(
            any(_MATCHERS[c.condition_type](record.get(c.field), c.value) for c in g) for g in self.groups
        )

    def sort(self, records: list[dict[str, Any]], default_key: str) -> list[dict[str, Any]]:
        ordered = sorted(records, key=lambda r: _sortable(r.get(default_key)))
        for name, direction in reversed(self.sort_orders):  # stable sorts, last key first
            ordered.sort(key=lambda r, n=name: _sortable(r.get(n)), reverse=direction == "DESC")  # type: ignore[misc]
        return ordered

    def page(self, records: list[dict[str, Any]], empty_past_end: bool) -> list[dict[str, Any]]:
        if self.page_size is None or self.page_size <= 0:
            return records
        last = max(1, -(-len(records) // self.page_size))
        current = max(1, self.current_page or 1)
        if current > last:
            if empty_past_end:
                return []
            current = last  # Magento\Framework\Data\Collection::getCurPage() clamps to the last page
        start = (current - 1) * self.page_size
        return records[start : start + self.page_size]


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CriteriaError(
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": value, "fieldName": name},
        ) from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _sortable(value: Any) -> tuple[int, float, str]:
    if value is None:
        return (0, 0.0, "")
    number = _number(value)
    return (1, number, "") if number is not None else (2, 0.0, str(value))


def _compare(actual: Any, expected: str) -> int | None:
    if actual is None:
        return None
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    sa = str(actual)
    return (sa > expected) - (sa < expected)


def _cmp(test: Callable[[int], bool]) -> Callable[[Any, str], bool]:
    def matcher(actual: Any, expected: str) -> bool:
        result = _compare(actual, expected)
        return result is not None and test(result)

    return matcher


def _like(actual: Any, pattern: str) -> bool:
    if actual is None:
        return False
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return (
        re.fullmatch(regex, str(actual), flags=re.IGNORECASE | re.DOTALL) is not None
    )  # MySQL's ci collation


def _in(actual: Any, expected: str) -> bool:
    return any(_compare(actual, v.strip()) == 0 for v in expected.split(","))


def _finset(actual: Any, expected: str) -> bool:
    values = actual if isinstance(actual, list) else str(actual or "").split(",")
    return expected in [str(v).strip() for v in values]


_MATCHERS: dict[str, Callable[[Any, str], bool]] = {
    "eq": _cmp(lambda r: r == 0),
    "neq": lambda a, e: not _cmp(lambda r: r == 0)(a, e),
    "gt": _cmp(lambda r: r > 0),
    "gteq": _cmp(lambda r: r >= 0),
    "moreq": _cmp(lambda r: r >= 0),
    "from": _cmp(lambda r: r >= 0),
    "lt": _cmp(lambda r: r < 0),
    "lteq": _cmp(lambda r: r <= 0),
    "to": _cmp(lambda r: r <= 0),
    "like": _like,
    "nlike": lambda a, e: a is not None and not _like(a, e),
    "in": _in,
    "nin": lambda a, e: a is not None and not _in(a, e),
    "finset": _finset,
    "nfinset": lambda a, e: not _finset(a, e),
    "null": lambda a, _e: a is None,
    "notnull": lambda a, _e: a is not None,
}


# -- fields= projection: "items[entity_id,increment_id,items[sku]],total_count" ------------------------------

Projection = dict[str, "Projection | None"]


def parse_fields(spec: str) -> Projection:
    projection, rest = _parse_fields(spec.replace(" ", ""), 0)
    if rest != len(spec.replace(" ", "")):
        raise CriteriaError(
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": spec, "fieldName": "fields"},
        )
    return projection


def _parse_fields(text: str, pos: int) -> tuple[Projection, int]:
    out: Projection = {}
    while pos < len(text) and text[pos] != "]":
        match = re.match(r"[A-Za-z0-9_]+", text[pos:])
        if not match:
            raise CriteriaError(
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": text, "fieldName": "fields"},
            )
        name = match.group(0)
        pos += len(name)
        if pos < len(text) and text[pos] == "[":
            sub, pos = _parse_fields(text, pos + 1)
            pos += 1  # the closing bracket
            out[name] = sub
        else:
            out[name] = None
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return out, pos


def project(value: Any, projection: Projection) -> Any:
    if isinstance(value, list):
        return [project(v, projection) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        name: value[name] if sub is None else project(value[name], sub)
        for name, sub in projection.items()
        if name in value
    }
