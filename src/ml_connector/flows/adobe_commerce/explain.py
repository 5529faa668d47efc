"""`mapping explain NAME --order N`: which rule placed each line of an Adobe order, and why."""

from __future__ import annotations

from ml_connector.adobe_commerce.models import Order
from ml_connector.flows.adobe_commerce.context import ShopContext
from ml_connector.flows.adobe_commerce.lines import ItemRole, item_roles, order_lines
from ml_connector.flows.gl_mapping import Explanation, MappingDoc, render_explanations


def explain_order(mapping: MappingDoc, order: Order, shop: ShopContext | None = None) -> list[Explanation]:
    """One explanation per booked line (products, discounts, shipping) of the order."""
    mapped = order_lines(order, mapping, shop or ShopContext(), f"Adobe order {order.increment_id}")
    return list(mapped.explanations)


def render_order_explanation(mapping: MappingDoc, order: Order, shop: ShopContext | None = None) -> str:
    """Plain text for the CLI: a heading, each booked line with the source of every field, then the
    parent/child lines that are not booked themselves and why."""
    explanations = explain_order(mapping, order, shop)
    heading = f"Adobe order {order.increment_id}: {len(explanations)} line(s), booking {mapping.booking}"
    roles = item_roles(order)
    not_booked = [
        f"item {item.item_id} '{item.name or item.sku}' ({item.product_type}): not booked itself, "
        + (
            "its components carry the amounts"
            if role is ItemRole.VIA_CHILDREN
            else "its parent line carries it"
        )
        for item in order.items
        if (role := roles[item.item_id]) is not ItemRole.BOOKED
    ]
    return "\n".join([heading, render_explanations(explanations), *not_booked])
