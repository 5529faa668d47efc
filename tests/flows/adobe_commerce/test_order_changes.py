from __future__ import annotations

from dataclasses import replace

import pytest

from ml_connector.adobe_commerce.models import Order
from ml_connector.flows.adobe_commerce import SalesOrderDraft, map_order
from ml_connector.flows.adobe_commerce.order_changes import (
    ExactOrderState,
    OrderAction,
    decide_order_change,
    order_fingerprint,
)
from tests.flows.adobe_commerce.conftest import make_inputs
from tests.flows.adobe_commerce.data import sample_json

ORDER = Order.model_validate(sample_json("order-get-v1-orders-3.json"))
CANCELLED = ORDER.model_copy(update={"state": "canceled"})
DRAFT = map_order(ORDER, make_inputs()).draft
WRITTEN = order_fingerprint(DRAFT)
CHANGED = replace(DRAFT, lines=DRAFT.lines[:-1])


def state(status: int, fingerprint: str | None = WRITTEN, ordered_by: str = "acc-1") -> ExactOrderState:
    return ExactOrderState("so-1", status, ordered_by, fingerprint)


@pytest.mark.parametrize(
    ("order", "draft", "exact", "action"),
    [
        (ORDER, DRAFT, None, OrderAction.CREATE),
        (CANCELLED, None, None, OrderAction.NOTHING),
        (ORDER, DRAFT, state(12), OrderAction.NOTHING),  # unchanged
        (ORDER, CHANGED, state(12), OrderAction.UPDATE),
        (ORDER, CHANGED, state(20), OrderAction.REPORT),  # partly delivered
        (ORDER, CHANGED, state(21), OrderAction.REPORT),  # complete: Exact refuses updates
        (ORDER, CHANGED, state(12, ordered_by="acc-2"), OrderAction.REPORT),  # customer changed
        (CANCELLED, None, state(12), OrderAction.DELETE),
        (CANCELLED, None, state(21), OrderAction.REPORT),
        (CANCELLED, None, state(45), OrderAction.NOTHING),
        (ORDER, DRAFT, state(45), OrderAction.REPORT),
    ],
)
def test_order_change_decisions(
    order: Order, draft: SalesOrderDraft | None, exact: ExactOrderState | None, action: OrderAction
) -> None:
    decision = decide_order_change(order, draft, exact)
    assert decision.action is action
    assert decision.reason


def test_fingerprint_follows_the_accounting_content() -> None:
    assert order_fingerprint(map_order(ORDER, make_inputs()).draft) == WRITTEN
    assert order_fingerprint(CHANGED) != WRITTEN
