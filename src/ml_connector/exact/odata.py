"""OData v3 as Exact speaks it: safe literals, query options, and `/Date(ms)/` values.

Literals are the only way values enter a `$filter`: strings are quoted with embedded quotes doubled,
GUIDs become `guid'..'`, datetimes `datetime'..'` and 64-bit integers `123L`, so a value can never
change the structure of a filter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# Exact encodes wall-clock time in Amsterdam as if it were UTC (REST FAQ: "CET, not GMT").
EXACT_TIMEZONE = ZoneInfo("Europe/Amsterdam")
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


@dataclass(frozen=True)
class Long:
    """An Edm.Int64 value (e.g. a sync Timestamp): rendered with the `L` suffix."""

    value: int


@dataclass(frozen=True)
class Guid:
    """An Edm.Guid value given as text; validated, rendered as `guid'...'`."""

    value: str

    def __post_init__(self) -> None:
        uuid.UUID(self.value)


Literal = str | int | float | bool | None | uuid.UUID | Guid | Long | datetime | date


def literal(value: Literal) -> str:
    """Render a Python value as an OData v3 literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Long):
        return f"{value.value}L"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return f"guid'{value}'"
    if isinstance(value, Guid):
        return f"guid'{value.value.lower()}'"
    if isinstance(value, datetime):
        # Exact compares Amsterdam wall-clock time: aware values are converted, naive ones taken as is.
        local = value.astimezone(EXACT_TIMEZONE).replace(tzinfo=None) if value.tzinfo else value
        return f"datetime'{local.isoformat(timespec='seconds')}'"
    if isinstance(value, date):
        return f"datetime'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_/]*$")


def compare(field: str, op: str, value: Literal) -> str:
    """`Field op literal`, e.g. compare("YourRef", "eq", "WC-1") -> "YourRef eq 'WC-1'"."""
    if op not in _OPERATORS:
        raise ValueError(f"unknown OData operator '{op}'; use one of {', '.join(sorted(_OPERATORS))}")
    if not _FIELD_RE.match(field):
        raise ValueError(f"'{field}' is not a property name")
    return f"{field} {op} {literal(value)}"


def eq(field: str, value: Literal) -> str:
    return compare(field, "eq", value)


def all_of(*conditions: str) -> str:
    return " and ".join(f"({c})" if " or " in c else c for c in conditions)


def any_of(*conditions: str) -> str:
    return " or ".join(f"({c})" for c in conditions)


@dataclass(frozen=True)
class Query:
    """Query options of one collection request; `params()` gives the query string values."""

    filter: str | None = None
    select: Sequence[str] = ()
    orderby: str | None = None
    top: int | None = None
    skip: int | None = None
    inlinecount: bool = False
    expand: Sequence[str] = ()

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.filter:
            params["$filter"] = self.filter
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.expand:
            params["$expand"] = ",".join(self.expand)
        if self.orderby:
            params["$orderby"] = self.orderby
        if self.top is not None:
            params["$top"] = str(self.top)
        if self.skip is not None:
            params["$skip"] = str(self.skip)
        if self.inlinecount:
            params["$inlinecount"] = "allpages"
        return params


def parse_date(value: str) -> datetime:
    """`/Date(1382667872203)/` -> aware UTC datetime, reading the value as Amsterdam wall-clock time."""
    match = _DATE_RE.match(value)
    if match is None:
        raise ValueError(f"'{value}' is not an Exact /Date(ms)/ value")
    wall = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).replace(tzinfo=None)
    return wall.replace(tzinfo=EXACT_TIMEZONE).astimezone(UTC)


def parse_datetime(value: str) -> datetime:
    """Exact's two datetime spellings (`/Date(ms)/`, ISO without zone) as aware UTC datetimes."""
    if value.startswith("/Date("):
        return parse_date(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=EXACT_TIMEZONE)
    return parsed.astimezone(UTC)
