"""HTTP responses with the headers and body encoding a WordPress REST endpoint sends."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .errors import WooError
from .phpjson import php_json

_COMMON = {
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
    "Access-Control-Allow-Headers": (
        "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
    ),
}
_NO_CACHE = {
    "Expires": "Wed, 11 Jan 1984 05:00:00 GMT",
    "Cache-Control": "no-cache, must-revalidate, max-age=0",
}
CONTENT_TYPE = "application/json; charset=UTF-8"


def wp_response(
    home: str,
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    allow: str | None = None,
    authenticated: bool = True,
) -> Response:
    merged = {"Link": f'<{home}/wp-json/>; rel="https://api.w.org/"', **_COMMON}
    merged.update(headers or {})
    if allow:
        merged["Allow"] = allow
    merged.update(_NO_CACHE if authenticated else {"Vary": "Origin"})
    return Response(php_json(body), status_code=status, headers=merged, media_type=CONTENT_TYPE)


def error_response(
    home: str, error: WooError, *, authenticated: bool = True, allow: str | None = None
) -> Response:
    return wp_response(home, error.status, error.body(), allow=allow, authenticated=authenticated)
