from __future__ import annotations

from ml_connector.adobe_commerce.models import Order
from ml_connector.flows.adobe_commerce.lines import ItemRole, item_roles
from tests.flows.adobe_commerce.data import sample_json, sample_order


def test_roles_on_the_real_sample() -> None:
    roles = item_roles(sample_order())
    assert roles == {
        3: ItemRole.BOOKED,  # simple
        4: ItemRole.BOOKED,  # downloadable
        5: ItemRole.VIA_CHILDREN,  # bundle whose components carry 27+5+17+19
        6: ItemRole.BOOKED,
        7: ItemRole.BOOKED,
        8: ItemRole.BOOKED,
        9: ItemRole.BOOKED,
        10: ItemRole.BOOKED,  # configurable parent carries 52
        11: ItemRole.VIA_PARENT,  # its simple child, price 0
    }


def test_fixed_price_bundle_books_the_parent() -> None:
    data = sample_json("order-get-v1-orders-3.json")
    for item in data["items"]:
        if item.get("parent_item_id") == 5:
            item.update(price=0, row_total=0, base_row_total=0)
    roles = item_roles(Order.model_validate(data))
    assert roles[5] is ItemRole.BOOKED
    assert {roles[i] for i in (6, 7, 8, 9)} == {ItemRole.VIA_PARENT}
