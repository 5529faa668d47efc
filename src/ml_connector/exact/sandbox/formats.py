"""Exact's wire formats: `/Date(ms)/` in Amsterdam wall-clock time, error bodies, JSON responses."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def wall_clock_ms(epoch_seconds: float) -> int:
    """Exact's DateTime: Amsterdam local wall-clock time, written as if it were UTC (REST FAQ: CET)."""
    local = datetime.fromtimestamp(epoch_seconds, AMSTERDAM).replace(tzinfo=UTC)
    return int(local.timestamp() * 1000)


def exact_date(epoch_seconds: float) -> str:
    return f"/Date({wall_clock_ms(epoch_seconds)})/"


def date_ms(value: str) -> int | None:
    """Milliseconds of a `/Date(ms)/` value, or None when the text is not one."""
    match = _DATE_RE.match(value)
    return int(match.group(1)) if match else None


def iso_to_exact_date(value: str) -> str | None:
    """An ISO date as clients post it ('2024-05-01', '2024-05-01T10:00:00'), taken as Amsterdam wall time."""
    if not _ISO_RE.match(value):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:  # an explicit zone: convert to Amsterdam wall time
        parsed = parsed.astimezone(AMSTERDAM).replace(tzinfo=None)
    return f"/Date({int(parsed.replace(tzinfo=UTC).timestamp() * 1000)})/"


def event_time(epoch_seconds: float) -> str:
    """Webhook EventCreatedOn: Amsterdam local time, no zone, milliseconds (e.g. 2020-01-06T16:26:08.587)."""
    local = datetime.fromtimestamp(epoch_seconds, AMSTERDAM)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def us_timestamp(epoch_seconds: float) -> str:
    """The en-US form Exact uses in OAuth errors: '11/3/2021 2:50:46 PM' (UTC)."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


def error_body(message: str) -> dict[str, Any]:
    """Exact's REST error envelope (exact-samples/error_wrong_division.json)."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(error_body(message), status, headers)


def oauth_error(
    status: int, error: str, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """OAuth errors are flat: {"error": ..., "error_description": ...} (exact-samples/oauth_error_*)."""
    return json_response({"error": error, "error_description": description}, status, headers)


class ExactError(Exception):
    """Raised inside request handling; becomes Exact's error envelope with this status and text."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return error_response(self.status, self.message, self.headers)


def bad_request(message: str) -> ExactError:
    return ExactError(400, message)
