"""Exact's verbose-JSON envelope and `__next` paging as a lazy iterator (one page in memory at a time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class EnvelopeError(ValueError):
    """The body is not Exact's `{"d": ...}` envelope."""


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_url: str | None
    count: int | None  # `__count`, only with $inlinecount=allpages


def parse_page(body: Any) -> Page:
    """A collection page: `{"d":{"results":[..],"__next":..}}`, a bare `{"d":[..]}`, or `{"d":{..}}`."""
    if not isinstance(body, dict) or "d" not in body:
        raise EnvelopeError("the response has no 'd' envelope")
    data = body["d"]
    if isinstance(data, list):
        return Page(rows=data, next_url=None, count=None)
    if not isinstance(data, dict):
        raise EnvelopeError("'d' is neither an object nor a list")
    if "results" in data:
        count = data.get("__count")
        return Page(
            rows=list(data["results"]), next_url=data.get("__next"), count=int(count) if count else None
        )
    return Page(rows=[data], next_url=None, count=None)


def parse_single(body: Any) -> dict[str, Any]:
    """The entity of a `{"d":{..}}` answer (POST, GET by key)."""
    page = parse_page(body)
    if len(page.rows) != 1:
        raise EnvelopeError(f"expected one entity, got {len(page.rows)}")
    return page.rows[0]


def iterate_pages(first: Callable[[], Any], follow: Callable[[str], Any]) -> Iterator[Page]:
    """Fetch the first page, then each absolute `__next` URL as is, lazily, until there is none."""
    page = parse_page(first())
    yield page
    while page.next_url:
        page = parse_page(follow(page.next_url))
        yield page


def iterate_rows(first: Callable[[], Any], follow: Callable[[str], Any]) -> Iterator[dict[str, Any]]:
    for page in iterate_pages(first, follow):
        yield from page.rows
