"""Paging and incremental reads over Magento search endpoints.

Magento clamps an out-of-range `currentPage` to the last page and returns it again, so an empty page never
comes: paging stops when `current_page * page_size >= total_count` (magento2#3787).

Incremental reads filter `updated_at gteq <watermark - overlap>`, sorted by updated_at then entity_id, restart
each page at the last updated_at seen (so records saved again mid-read cannot push unread ones out of reach),
and skip what was already delivered (same id and same updated_at): the overlap re-reads records near the
boundary without handing them out twice. Timestamps are UTC, as Magento's REST output is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ml_connector.adobe_commerce.search import (
    Filter,
    SearchCriteria,
    magento_datetime,
    parse_magento_datetime,
)

RawPage = tuple[list[dict[str, Any]], int]  # items, total_count
FetchPage = Callable[[SearchCriteria], RawPage]
DEFAULT_OVERLAP = timedelta(minutes=5)


def iter_pages(
    fetch: FetchPage, criteria: SearchCriteria, page_size: int = 100
) -> Iterator[list[dict[str, Any]]]:
    page = 1
    while True:
        items, total = fetch(criteria.page(page_size, page))
        if items:
            yield items
        if not items or page * page_size >= total:
            return
        page += 1


def iter_items(fetch: FetchPage, criteria: SearchCriteria, page_size: int = 100) -> Iterator[dict[str, Any]]:
    for items in iter_pages(fetch, criteria, page_size):
        yield from items


@dataclass(frozen=True)
class Watermark:
    """Where the next incremental read starts: the newest updated_at seen, and which (id -> updated_at) were
    delivered inside the overlap window before it. Persist both (SyncCursor.value and .boundary_ids)."""

    updated_at: str | None = None  # "YYYY-MM-DD HH:MM:SS" UTC; None = read everything
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def starting_at(cls, moment: datetime) -> Watermark:
        return cls(magento_datetime(moment))


class IncrementalRead:
    """Iterate to get the changed records once each; afterwards `watermark` is the next starting point."""

    def __init__(
        self,
        fetch: FetchPage,
        since: Watermark,
        *,
        id_field: str = "entity_id",
        page_size: int = 100,
        overlap: timedelta = DEFAULT_OVERLAP,
        extra: SearchCriteria | None = None,
    ) -> None:
        self._fetch = fetch
        self._since = since
        self._id_field = id_field
        self._page_size = page_size
        self._overlap = overlap
        self._extra = extra or SearchCriteria()
        self.watermark = since

    def _criteria(self, start: str | None, page: int) -> SearchCriteria:
        criteria = SearchCriteria(filter_groups=self._extra.filter_groups)
        if start is not None:
            criteria = criteria.where(Filter("updated_at", start, "gteq"))
        return criteria.order_by("updated_at").order_by(self._id_field).page(self._page_size, page)

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        """Keyset-style: every page restarts at the last updated_at seen. Plain offsets would skip a record
        whenever one already read is saved again mid-read (it moves to the end and the rest shift left)."""
        start = self._since.updated_at
        if start is not None:
            start = magento_datetime(parse_magento_datetime(start) - self._overlap)
        page = 1
        while True:
            items, total = self._fetch(self._criteria(start, page))
            if items:
                yield items
            if not items or page * self._page_size >= total:
                return
            last = str(items[-1]["updated_at"])
            # A page of one timestamp only: step through that timestamp by offset instead of stalling.
            start, page = (last, 1) if last != start else (start, page + 1)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        delivered = dict(self._since.seen)
        newest = self._since.updated_at
        for items in self._pages():
            for item in items:
                key, stamp = str(item[self._id_field]), str(item["updated_at"])
                if delivered.get(key) == stamp:
                    continue  # the overlap or the restart brought it again, unchanged
                delivered[key] = stamp
                if newest is None or stamp > newest:  # the fixed-width format sorts like the time it denotes
                    newest = stamp
                yield item
        self.watermark = Watermark(newest, self._window(delivered, newest))

    def _window(self, delivered: dict[str, str], newest: str | None) -> dict[str, str]:
        if newest is None:
            return {}
        floor = magento_datetime(parse_magento_datetime(newest) - self._overlap)
        return {k: v for k, v in delivered.items() if v >= floor}
