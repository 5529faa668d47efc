"""WooCommerce's date fields: `Y-m-dTH:i:s`, no offset; the plain field is store-local time, `_gmt` is UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STORE_TIMEZONE = ZoneInfo("Europe/Amsterdam")
_FORMAT = "%Y-%m-%dT%H:%M:%S"


def local(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), STORE_TIMEZONE).strftime(_FORMAT)


def gmt(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime(_FORMAT)


# rest_parse_date() (WordPress rest-api.php) accepts only this RFC 3339 shape.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|z|[+-]\d{2}(?::\d{2})?)?$")


def parse_filter_date(value: str, *, dates_are_gmt: bool) -> float | None:
    """A list filter date (`after`, `modified_after`, ...) as epoch seconds; None when WordPress rejects it.

    An explicit offset or `Z` is honoured; a bare timestamp is store-local unless `dates_are_gmt` (observed).
    """
    if not _RFC3339.match(value):
        return None
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        parsed = datetime.fromisoformat(text.replace("t", "T").replace(" ", "T"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if dates_are_gmt else STORE_TIMEZONE)
    return parsed.timestamp()


def php_datetime_object(ts: float) -> dict[str, object]:
    """A WC_DateTime as PHP's json_encode writes it (inside `coupon_data` line meta)."""
    moment = datetime.fromtimestamp(int(ts), STORE_TIMEZONE)
    return {
        "date": moment.strftime("%Y-%m-%d %H:%M:%S.000000"),
        "timezone_type": 3,
        "timezone": str(STORE_TIMEZONE),
    }
