"""Refunds -> credit notes, on the real refunds (line refund 24 of order 22, amount-only refund 31 of 25)."""

import copy
from decimal import Decimal
from typing import Any

import pytest

from ml_connector.flows.exact_documents import CREDIT_NOTE_TYPE
from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce.invoices import map_refund
from ml_connector.flows.woocommerce.selection import refund_changes
from ml_connector.woocommerce.models import Refund
from tests.flows import woo_data as w

ORDER_22 = "order-with-refund.json"
ORDER_25 = "webhook-order-updated-after-refund.body.json"


def refund_24(edit: Any = None) -> Refund:
    data = copy.deepcopy(w.load("refund-single.json"))
    if edit:
        edit(data)
    return Refund.model_validate(data)


def test_line_refund_becomes_a_credit_note_line_by_line() -> None:
    order = w.order(ORDER_22)
    refund = refund_24()
    draft = map_refund(order, refund, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert draft.type == CREDIT_NOTE_TYPE
    assert draft.your_ref == "WC-RW-22-R24"
    assert draft.description == "Refund 24 of WooCommerce order 22 (WC-RW-22)"  # refers to the original
    assert draft.remarks == "Eén pakje thee beschadigd"
    assert draft.order_date.isoformat() == "2026-11-23"  # the refund's date
    (line,) = draft.lines
    assert (line.item_id, line.quantity, line.amount, line.vat_code, line.vat_amount) == (
        w.item_ids()["RW-TEA-250"],
        Decimal(-1),
        Decimal("-6.50"),
        "1",
        Decimal("-0.59"),
    )
    assert draft.amount_incl_vat == -refund.amount == Decimal("-7.09")
    assert draft.to_payload()["SalesInvoiceLines"][0]["Quantity"] == -1


def test_amount_only_refund_goes_to_the_fallback_item_without_vat() -> None:
    order = w.order(ORDER_25)
    refund = w.refund("refund-create-post-response.json")
    draft = map_refund(order, refund, w.context(), w.lookups(), w.ACCOUNT_ID)
    (line,) = draft.lines
    assert line.item_id == w.item_ids()["RETOUR"]
    assert (line.amount, line.vat_amount, line.vat_code) == (Decimal("-5.00"), Decimal(0), "0")
    assert line.description == "Goodwill discount (REST)"
    assert draft.your_ref == "WC-RW-25-R31"
    assert draft.amount_incl_vat == Decimal("-5.00")


def test_refund_amount_beyond_its_lines_gets_a_fallback_line_for_the_rest() -> None:
    refund = refund_24(lambda data: data.update(amount="10.00"))
    draft = map_refund(w.order(ORDER_22), refund, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert [(line.item_id, line.amount) for line in draft.lines] == [
        (w.item_ids()["RW-TEA-250"], Decimal("-6.50")),
        (w.item_ids()["RETOUR"], Decimal("-2.91")),
    ]
    assert draft.amount_incl_vat == Decimal("-10.00")


def test_amount_only_refund_without_fallback_item_names_the_setting() -> None:
    with pytest.raises(MappingError) as raised:
        map_refund(
            w.order(ORDER_25),
            w.refund("refund-create-post-response.json"),
            w.context(refund_fallback=None),
            w.lookups(),
            w.ACCOUNT_ID,
        )
    assert str(raised.value) == (
        "WooCommerce refund 31 of order 25, refund amount without line items: "
        "no Exact item is configured for refund_fallback lines. "
        "Fix: set refund_fallback.item_code in the connection settings"
    )


def test_refund_line_without_sku_uses_the_refunded_order_lines_sku() -> None:
    refund = refund_24(lambda data: data["line_items"][0].update(sku=None))
    draft = map_refund(w.order(ORDER_22), refund, w.context(), w.lookups(), w.ACCOUNT_ID)
    assert draft.lines[0].item_id == w.item_ids()["RW-TEA-250"]


def test_refund_of_shipping_is_credited_on_the_shipping_item() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["amount"] = "13.08"
        data["shipping_lines"] = [
            {
                "id": 40,
                "method_title": "Flat rate",
                "method_id": "flat_rate",
                "total": "-4.95",
                "total_tax": "-1.04",
                "taxes": [{"id": 1, "total": "-1.04", "subtotal": ""}],
            }
        ]
        data["tax_lines"].append(
            {
                "id": 38,
                "rate_code": "NL-BTW 21%-1",
                "rate_id": 1,
                "label": "BTW 21%",
                "tax_total": "0.00",
                "shipping_tax_total": "-1.04",
                "rate_percent": 21,
            }
        )

    draft = map_refund(w.order(ORDER_22), refund_24(edit), w.context(), w.lookups(), w.ACCOUNT_ID)
    assert [(line.item_id, line.vat_code, line.vat_amount) for line in draft.lines] == [
        (w.item_ids()["RW-TEA-250"], "1", Decimal("-0.59")),
        (w.item_ids()["VERZEND"], "2", Decimal("-1.04")),
    ]
    assert draft.amount_incl_vat == Decimal("-13.08")


def test_refund_changes_lists_new_and_removed_refunds() -> None:
    order = w.order(ORDER_25)
    assert refund_changes(order, set()).new == (31,)
    assert refund_changes(order, {31}).new == ()
    assert refund_changes(order, {31, 29}).removed == (29,)
