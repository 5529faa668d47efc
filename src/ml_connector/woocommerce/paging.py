"""Lazy, constant-memory paging over a WooCommerce collection.

WooCommerce pages with `page`/`per_page` (max 100) and answers with `X-WP-Total`, `X-WP-TotalPages` and
a `Link` header holding only `rel="prev"`/`rel="next"`. The next URL repeats every query parameter of the
request, including OAuth1 `oauth_*` parameters (and query-string credentials), so only its query is
taken, stripped of those, and sent to OUR endpoint URL (never to whatever host the store put there);
the auth then signs it again.

Offset paging over a live table skips a row whenever a row before the current position disappears (an
order trashed, or moved out of a `modified_before` window). The count is re-run on every page, so a
falling `X-WP-Total` reveals it: paging then re-reads from `offset = consumed - shrink`, and the re-read
rows are suppressed by remembering the keys of the last two pages only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ml_connector.http.oauth1 import drop_params

MAX_PER_PAGE = 100
_CREDENTIAL_PARAMS = frozenset({"consumer_key", "consumer_secret"})


def _not_forwarded(key: str) -> bool:
    return key.startswith("oauth_") or key in _CREDENTIAL_PARAMS


@dataclass
class PageStats:
    """What the last scan did: for callers that report progress and for tests that count calls."""

    requests: int = 0
    total: int | None = None
    total_pages: int | None = None
    rewinds: int = 0


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


def _row_key(row: Any) -> tuple[Any, Any]:
    if isinstance(row, dict):
        return row.get("id"), row.get("date_modified_gmt")
    return row, None


def iterate(
    get: Callable[[Mapping[str, Any]], httpx.Response],
    params: Mapping[str, Any],
    *,
    per_page: int = MAX_PER_PAGE,
    stats: PageStats | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every row of the collection; `get(query)` fetches one page of the endpoint."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be 1..{MAX_PER_PAGE} (WooCommerce rejects more), got {per_page}")
    stats = stats if stats is not None else PageStats()
    query: httpx.QueryParams = httpx.QueryParams({**params, "per_page": per_page})
    recent: deque[set[tuple[Any, Any]]] = deque(maxlen=2)
    consumed = 0
    offset_mode = False
    while True:
        response = get(query)
        stats.requests += 1
        rows = response.json()
        if not isinstance(rows, list):
            raise ValueError(
                f"expected a JSON list from {response.request.url.path}, got {type(rows).__name__}"
            )
        total = _int_header(response, "X-WP-Total")
        if stats.total is not None and total is not None and total < stats.total and consumed:
            # Rows we already passed disappeared: unseen rows slid into pages we have read.
            shrink = stats.total - total
            stats.total, stats.rewinds = total, stats.rewinds + 1
            consumed = max(consumed - shrink, 0)
            offset_mode = True
            query = drop_params(query, lambda key: key in ("page", "offset")).set("offset", consumed)
            continue
        stats.total, stats.total_pages = total, _int_header(response, "X-WP-TotalPages")
        seen = set().union(*recent) if recent else set()
        page_keys: set[tuple[Any, Any]] = set()
        for row in rows:
            key = _row_key(row)
            page_keys.add(key)
            if key not in seen:
                yield row
        recent.append(page_keys)
        consumed += len(rows)
        if offset_mode:
            if len(rows) < per_page or (total is not None and consumed >= total):
                return
            query = query.set("offset", consumed)
            continue
        next_link = response.links.get("next")
        if not rows or next_link is None or "url" not in next_link:
            return
        query = drop_params(httpx.URL(next_link["url"]).params, _not_forwarded)
