"""Totals per GL account (and cost center) over mapped document lines, e.g. for reconciliation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from ml_connector.flows.exact_documents import DraftLine

UNMAPPED = "<none>"  # lines without a GL account (an item's own revenue account applies in Exact)


def totals_per_gl_account(lines: Iterable[DraftLine]) -> dict[str, Decimal]:
    """Net amount (excl. VAT, signed as booked: credit notes negative) per GL account code."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.gl_account_code or UNMAPPED] += line.amount
    return dict(totals)


def totals_per_gl_and_cost_center(lines: Iterable[DraftLine]) -> dict[tuple[str, str | None], Decimal]:
    totals: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[(line.gl_account_code or UNMAPPED, line.cost_center)] += line.amount
    return dict(totals)
