"""List parameters as WordPress validates them, and the paging headers WooCommerce builds from them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from .dates import parse_filter_date
from .errors import invalid_params

MAX_PER_PAGE = 100
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


@dataclass
class ListQuery:
    """Parsed query string; `problems` collects every invalid parameter (WordPress reports them together)."""

    pairs: Sequence[tuple[str, str]]
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)

    def raw(self, name: str) -> str | None:
        value = None
        for key, item in self.pairs:
            if key == name:
                value = item
        return value

    def values(self, name: str) -> list[str] | None:
        """An array parameter: `status=a,b`, `status[]=a&status[]=b` or `status[0]=a`."""
        found: list[str] = []
        present = False
        for key, item in self.pairs:
            if key == name or key.startswith(name + "["):
                present = True
                found.extend(part.strip() for part in item.split(",") if part.strip())
        return found if present else None

    def integer(
        self, name: str, default: int | None, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        text = self.raw(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            self.problems[name] = ("rest_invalid_type", f"{name} is not of type integer.")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            if maximum is None:
                message = f"{name} must be greater than or equal to {minimum}"
            else:
                message = f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)"
            self.problems[name] = ("rest_out_of_bounds", message)
            return default
        return value

    def integers(self, name: str) -> list[int]:
        out: list[int] = []
        for text in self.values(name) or []:
            try:
                out.append(int(text))
            except ValueError:
                self.problems[name] = ("rest_invalid_type", f"{name}[{len(out)}] is not of type integer.")
        return out

    def boolean(self, name: str, default: bool) -> bool:
        text = self.raw(name)
        if text is None:
            return default
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        self.problems[name] = ("rest_invalid_type", f"{name} is not of type boolean.")
        return default

    def choice(self, name: str, default: str, allowed: Sequence[str]) -> str:
        text = self.raw(name)
        if text is None:
            return default
        if text not in allowed:
            self.problems[name] = ("rest_not_in_enum", f"{name} is not one of {', '.join(allowed)}.")
            return default
        return text

    def date(self, name: str, *, dates_are_gmt: bool) -> float | None:
        text = self.raw(name)
        if text is None:
            return None
        parsed = parse_filter_date(text, dates_are_gmt=dates_are_gmt)
        if parsed is None:
            self.problems[name] = ("rest_invalid_date", "Invalid date.")
        return parsed

    def page_and_size(self) -> tuple[int, int]:
        page = self.integer("page", 1, minimum=1) or 1
        per_page = self.integer("per_page", 10, minimum=1, maximum=MAX_PER_PAGE) or 10
        return page, per_page

    def check(self) -> None:
        if self.problems:
            raise invalid_params(self.problems)


def _php_urlencode(value: str) -> str:
    return quote_plus(value, safe="").replace("~", "%7E")


def paging_headers(
    collection_url: str,
    query: Sequence[tuple[str, str]],
    *,
    page: int,
    per_page: int,
    total: int,
    added: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """X-WP-Total, X-WP-TotalPages and a Link with only prev/next, like WC_REST_CRUD_Controller::get_items.

    The Link repeats every request parameter (oauth_* included: the real store echoes them; the signature
    loses its trailing "=") plus what the controller set on the request (`added`); `page` is replaced in
    place.
    """
    pages = math.ceil(total / per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    params = [(k, v.rstrip("=") if k == "oauth_signature" else v) for k, v in query]
    given = {k.split("[", 1)[0] for k, _ in query}
    params += [(k, v) for k, v in added if k.split("[", 1)[0] not in given]

    def link(target: int) -> str:
        items = list(params)
        if any(k == "page" for k, _ in items):
            items = [(k, str(target) if k == "page" else v) for k, v in items]
        else:
            items.append(("page", str(target)))
        encoded = "&".join(f"{_php_urlencode(k)}={_php_urlencode(v)}" for k, v in items)
        return f"<{collection_url}?{encoded}>"

    links: list[str] = []
    if page > 1:
        links.append(f'{link(min(page - 1, pages))}; rel="prev"')
    if pages > page:
        links.append(f'{link(page + 1)}; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
