"""Which orders are posted, skipped, or changed after posting: on real order states before/after updates."""

import copy
from datetime import date
from typing import Any

from ml_connector.flows.woocommerce.selection import (
    OrderAction,
    decide_deleted,
    decide_order,
    order_fingerprint,
)
from ml_connector.woocommerce.models import Order
from tests.flows import woo_data as w


def edited(order: Order, **changes: Any) -> Order:
    data = copy.deepcopy(order.model_dump(mode="json", by_alias=True))
    data.update(changes)
    return Order.model_validate(data)


def test_default_statuses_post_processing_and_completed_only() -> None:
    settings = w.settings()
    assert (
        decide_order(w.order("order-registered-coupon-fee-mixed-tax.json"), settings, None).action
        == OrderAction.POST
    )
    assert (
        decide_order(w.order("order-guest-coupon-completed.json"), settings, None).action == OrderAction.POST
    )
    on_hold = decide_order(w.order("order-onhold-fee.json"), settings, None)
    assert on_hold.action == OrderAction.IGNORE
    assert on_hold.reason == "status 'on-hold' is not invoiced (order_statuses: processing, completed)"


def test_statuses_are_per_connection() -> None:
    settings = w.settings(order_statuses=["on-hold", "completed"])
    assert decide_order(w.order("order-onhold-fee.json"), settings, None).action == OrderAction.POST
    assert (
        decide_order(w.order("order-registered-coupon-fee-mixed-tax.json"), settings, None).action
        == OrderAction.IGNORE
    )


def test_orders_before_the_start_date_are_ignored() -> None:
    order = w.order("order-guest-coupon-completed.json")  # created 2026-11-18 (UTC)
    assert decide_order(order, w.settings(start_date="2026-11-18"), None).action == OrderAction.POST
    late = decide_order(order, w.settings(start_date=date(2026, 11, 19)), None)
    assert late.action == OrderAction.IGNORE and "before start_date 2026-11-19" in late.reason


def test_cancelled_or_trashed_before_posting_is_skipped_with_a_reason() -> None:
    for status in ("cancelled", "trash"):
        decision = decide_order(edited(w.order("order-onhold-fee.json"), status=status), w.settings(), None)
        assert decision.action == OrderAction.SKIP
        assert decision.reason == f"order 20 was {status} before it was posted"
    assert decide_deleted(20, posted=False).action == OrderAction.SKIP
    assert decide_deleted(20, posted=True).action == OrderAction.CHANGED_AFTER_POSTING


def test_paid_then_refunded_order_is_still_invoiced() -> None:
    order = edited(w.order("order-with-refund.json"), status="refunded")
    assert decide_order(order, w.settings(), None).action == OrderAction.POST
    unpaid = edited(order, date_paid=None, date_paid_gmt=None)
    assert decide_order(unpaid, w.settings(), None).action == OrderAction.IGNORE


def test_status_only_change_after_posting_needs_nothing() -> None:
    # The real order 21 before and after PUT {"status": "completed"}.
    before = w.order_from_list("orders-page-2.json", 21)
    after = w.order_from_list("orders-modified-after.json", 21)
    assert (before.status, after.status) == ("processing", "completed")
    posted = decide_order(before, w.settings(), None)
    assert posted.action == OrderAction.POST
    decision = decide_order(after, w.settings(), posted.fingerprint)
    assert decision.action == OrderAction.UNCHANGED
    assert decision.reason == "no accounting change (status 'completed')"


def test_note_change_and_new_refund_are_not_accounting_changes() -> None:
    # Real order 18 before and after its customer note changed; real order 25 before and after a refund.
    before = w.order_from_list("orders-page-3-last.json", 18)
    after = w.order("webhook-order-updated-failed-500.body.json")
    assert after.customer_note == "failtest 1"
    assert order_fingerprint(before) == order_fingerprint(after)
    refunded = w.order("webhook-order-updated-after-refund.body.json")
    assert order_fingerprint(w.order("webhook-order-updated.body.json")) == order_fingerprint(refunded)


def test_sku_renamed_in_the_catalogue_does_not_flag_old_orders() -> None:
    order = w.order("order-with-refund.json")
    data = order.model_dump(mode="json")
    data["line_items"][0]["sku"] = "NEW-SKU"
    assert order_fingerprint(Order.model_validate(data)) == order_fingerprint(order)


def test_amount_change_after_posting_is_recorded_never_reposted() -> None:
    order = w.order("order-with-refund.json")
    posted = decide_order(order, w.settings(), None).fingerprint
    data = order.model_dump(mode="json")
    data["line_items"][2].update(quantity=3, total="19.50", subtotal="19.50")
    decision = decide_order(Order.model_validate(data), w.settings(), posted)
    assert decision.action == OrderAction.CHANGED_AFTER_POSTING
    assert decision.fingerprint != posted
    changed_customer = edited(order, billing={**order.billing.model_dump(), "email": "other@example.test"})
    assert decide_order(changed_customer, w.settings(), posted).action == OrderAction.CHANGED_AFTER_POSTING


def test_cancelled_after_posting_is_recorded_for_the_merchant() -> None:
    order = w.order("order-with-refund.json")
    posted = order_fingerprint(order)
    decision = decide_order(edited(order, status="cancelled"), w.settings(), posted)
    assert decision.action == OrderAction.CHANGED_AFTER_POSTING
    assert "cancelled after its invoice was posted" in decision.reason
