"""`GET /orders` filtering and ordering over the store's compact order index (no order is built to filter)."""

from __future__ import annotations

from dataclasses import astuple, dataclass

from .store import ORDER_STATUSES, WooStore

STATUS_FILTERS = ("any", "trash", "auto-draft", *ORDER_STATUSES)


@dataclass
class OrderFilter:
    statuses: list[str]
    after: float | None = None
    before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    customer: int | None = None
    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    orderby: str = "date"
    descending: bool = True


_CACHE_SIZE = 16


def matching_positions(store: WooStore, spec: OrderFilter) -> list[int]:
    """Index positions of matching orders, sorted as asked. Date filters are strict, like WP date_query.

    A backfill asks the same question for page after page: the answer is cached until the next change.
    Call with the store lock held.
    """
    cache = store.order_index.results
    key = (store.order_index.revision, *(tuple(v) if isinstance(v, list) else v for v in astuple(spec)))
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    positions = _compute(store, spec)
    cache[key] = positions
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return positions


def _compute(store: WooStore, spec: OrderFilter) -> list[int]:
    index = store.order_index
    wanted = set(spec.statuses)
    if "any" in wanted:
        wanted.discard("any")
        wanted.update(s for s in ORDER_STATUSES)
    include = set(spec.include)
    exclude = set(spec.exclude)
    positions = [
        pos
        for pos, (alive, status) in enumerate(zip(index.alive, index.status, strict=True))
        if alive and status in wanted
    ]
    if spec.after is not None or spec.before is not None:
        after, before = spec.after, spec.before
        positions = [
            p
            for p in positions
            if (after is None or index.created[p] > after) and (before is None or index.created[p] < before)
        ]
    if spec.modified_after is not None or spec.modified_before is not None:
        m_after, m_before = spec.modified_after, spec.modified_before
        positions = [
            p
            for p in positions
            if (m_after is None or index.modified[p] > m_after)
            and (m_before is None or index.modified[p] < m_before)
        ]
    if spec.customer is not None:
        positions = [p for p in positions if index.customer[p] == spec.customer]
    if include:
        positions = [p for p in positions if index.ids[p] in include]
    if exclude:
        positions = [p for p in positions if index.ids[p] not in exclude]
    if spec.orderby == "modified":
        positions.sort(key=lambda p: (index.modified[p], index.ids[p]))
    elif spec.orderby in ("date", "title", "slug"):
        positions.sort(key=lambda p: (index.created[p], index.ids[p]))
    elif spec.orderby == "include" and spec.include:
        rank = {order_id: n for n, order_id in enumerate(spec.include)}
        positions.sort(key=lambda p: rank.get(index.ids[p], len(rank)))
        return positions
    # positions are already in id order for orderby=id
    if spec.descending:
        positions.reverse()
    return positions
