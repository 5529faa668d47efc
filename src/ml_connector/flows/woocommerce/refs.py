"""Deterministic external references written to Exact's `YourRef` (exact-online.md §5.3).

`WC-<store key>-<order id>` for an order's invoice and `WC-<store key>-<order id>-R<refund id>` for a
refund's credit note: the same source record always gives the same reference, so a POST whose outcome is
unknown can be verified with `$filter=YourRef eq '...'` before it is retried, and reconciliation can tie
every Exact document back to its order. Order ids (not order numbers, which plugins rewrite) are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def ref_prefix(store_key: str) -> str:
    return f"WC-{store_key}-"


def order_ref(store_key: str, order_id: int) -> str:
    return f"{ref_prefix(store_key)}{order_id}"


def refund_ref(store_key: str, order_id: int, refund_id: int) -> str:
    return f"{order_ref(store_key, order_id)}-R{refund_id}"


@dataclass(frozen=True, slots=True)
class ParsedRef:
    order_id: int
    refund_id: int | None = None


_REF_RE = re.compile(r"^(\d+)(?:-R(\d+))?$")


def parse_ref(ref: str, store_key: str) -> ParsedRef | None:
    """The order (and refund) a reference of this store points at; None for anything else."""
    prefix = ref_prefix(store_key)
    if not ref.startswith(prefix):
        return None
    match = _REF_RE.match(ref[len(prefix) :])
    if match is None:
        return None
    return ParsedRef(int(match.group(1)), int(match.group(2)) if match.group(2) else None)
