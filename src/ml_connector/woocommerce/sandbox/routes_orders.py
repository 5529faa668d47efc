"""`/orders` and `/orders/<id>/refunds`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from .errors import WooError
from .models import Order
from .order_query import STATUS_FILTERS, OrderFilter, matching_positions
from .params import paging_headers
from .refunds import LineRefund
from .rest import Call, Endpoint, Pipeline
from .store import StoreError

_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
_GATEWAYS_WITH_REFUNDS = frozenset({"mollie_wc_gateway_ideal", "stripe", "ppcp-gateway"})


def _order_filter(call: Call) -> OrderFilter:
    q = call.query
    statuses = q.values("status") or ["any"]
    for number, status in enumerate(statuses):
        if status not in STATUS_FILTERS:
            q.problems["status"] = (
                "rest_not_in_enum",
                f"status[{number}] is not one of {', '.join(STATUS_FILTERS)}.",
            )
    gmt = q.boolean("dates_are_gmt", False)
    spec = OrderFilter(
        statuses=statuses,
        after=q.date("after", dates_are_gmt=gmt),
        before=q.date("before", dates_are_gmt=gmt),
        customer=q.integer("customer", None),
        include=tuple(q.integers("include")),
        exclude=tuple(q.integers("exclude")),
        orderby=q.choice("orderby", "date", _ORDERBY),
        descending=q.choice("order", "desc", ("asc", "desc")) == "desc",
    )
    if call.store.settings.supports_modified_filters:
        spec.modified_after = q.date("modified_after", dates_are_gmt=gmt)
        spec.modified_before = q.date("modified_before", dates_are_gmt=gmt)
    return spec


def _validate_list(call: Call) -> None:
    call.query.page_and_size()
    call.query.integer("offset", None, minimum=0)
    call.query.integer("product", None)
    _order_filter(call)


def _matches_search(order: Order | None, search: str, product: int | None) -> bool:
    if order is None:
        return False
    if product is not None and all(line.product_id != product for line in order.line_items):
        return False
    if not search:
        return True
    haystack = " ".join([str(order.id), *order.billing.values(), *order.shipping.values()]).lower()
    return search.lower() in haystack


def list_orders(call: Call) -> Response:
    store = call.store
    page, per_page = call.query.page_and_size()
    spec = _order_filter(call)
    offset = call.query.integer("offset", None, minimum=0)
    search = call.query.raw("search") or ""
    product = call.query.integer("product", None)
    with store.lock:
        positions = matching_positions(store, spec)
        ids = [store.order_index.ids[p] for p in positions]
        if search or product is not None:
            ids = [oid for oid in ids if _matches_search(store.get_order(oid), search, product)]
        start = offset if offset is not None else (page - 1) * per_page
        orders = [store.get_order(oid) for oid in ids[start : start + per_page]]
        body = [call.renderer.order(order) for order in orders if order is not None]
    added: list[tuple[str, str]] = []
    if call.query.values("status") is None:
        added.append(("status[0]", "any"))
    if body:  # the controller sets dp and context on the request only while preparing items
        added += [("dp", "2"), ("context", "view")]
    headers = paging_headers(
        f"{call.api}/orders", call.query.pairs, page=page, per_page=per_page, total=len(ids), added=added
    )
    return call.reply(200, body, headers)


def _order_or_404(call: Call, status: int = 404) -> Order:
    order = call.store.get_order(int(call.path["id"]))
    if order is None:
        raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
    return order


def get_order(call: Call) -> Response:
    return call.reply(200, call.renderer.order(_order_or_404(call)))


def _fees(body: dict[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    return tuple(
        (str(f.get("name", "Fee")), Decimal(str(f.get("total", "0")))) for f in body.get("fee_lines") or []
    )


def create_order(call: Call) -> Response:
    body = call.body
    shipping_lines = body.get("shipping_lines") or []
    ship = shipping_lines[0] if shipping_lines else None
    order = call.store.create_order(
        line_items=list(body.get("line_items") or []),
        customer_id=int(body.get("customer_id") or 0),
        billing=body.get("billing") or None,
        shipping=body.get("shipping") or None,
        status=body.get("status"),
        set_paid=bool(body.get("set_paid")),
        coupon_codes=tuple(str(c.get("code", "")) for c in body.get("coupon_lines") or []),
        shipping_method=str(ship.get("method_id", "flat_rate")) if ship else None,
        shipping_total=Decimal(str(ship["total"])) if ship and ship.get("total") not in (None, "") else None,
        fees=_fees(body),
        customer_note=str(body.get("customer_note") or ""),
        payment_method=str(body.get("payment_method") or ""),
        payment_method_title=str(body.get("payment_method_title") or ""),
        meta_data=list(body.get("meta_data") or []),
        created_via="rest-api",
    )
    headers = {"Location": f"{call.api}/orders/{order.id}"}
    return call.reply(201, call.renderer.order(order), headers)


def update_order(call: Call) -> Response:
    body = call.body
    if body.get("line_items"):
        raise WooError(
            "woocommerce_rest_sandbox_unsupported",
            "The sandbox does not edit line items of an existing order; create a new order instead.",
            400,
        )
    order = call.store.update_order(
        int(call.path["id"]),
        status=body.get("status"),
        customer_note=body.get("customer_note"),
        billing=body.get("billing"),
        shipping=body.get("shipping"),
        meta_data=body.get("meta_data"),
        set_paid=bool(body.get("set_paid")),
        transaction_id=body.get("transaction_id"),
        missing_status=400,
    )
    return call.reply(200, call.renderer.order(order))


def delete_order(call: Call) -> Response:
    force = call.query.boolean("force", False)
    order = call.store.delete_order(int(call.path["id"]), force=force)
    return call.reply(200, call.renderer.order(order))


# -- refunds -----------------------------------------------------------------------------------------------


def list_refunds(call: Call) -> Response:
    order = _order_or_404(call)
    page, per_page = call.query.page_and_size()
    refunds = list(reversed(order.refunds))
    chunk = refunds[(page - 1) * per_page : page * per_page]
    headers = paging_headers(
        f"{call.api}/orders/{order.id}/refunds",
        call.query.pairs,
        page=page,
        per_page=per_page,
        total=len(refunds),
    )
    return call.reply(200, [call.renderer.refund(r) for r in chunk], headers)


def get_refund(call: Call) -> Response:
    refund = call.store.find_refund(int(call.path["id"]), int(call.path["refund_id"]))
    if refund is None:
        raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return call.reply(200, call.renderer.refund(refund))


def _api_refund(body: dict[str, Any]) -> bool:
    return str(body.get("api_refund", True)).lower() not in ("false", "0", "")


def _line_refunds(body: dict[str, Any]) -> list[LineRefund]:
    """REST `line_items`: [{id, quantity, refund_total, refund_tax: [{id, refund_total}]}]."""
    wanted: list[LineRefund] = []
    for item in body.get("line_items") or []:
        quantity = int(item.get("quantity") or 0)
        total = item.get("refund_total")
        if quantity <= 0 and total in (None, ""):
            continue  # WooCommerce skips lines with nothing to refund
        taxes = item.get("refund_tax")
        wanted.append(
            LineRefund(
                item_id=int(item["id"]),
                quantity=quantity,
                total=None if total in (None, "") else Decimal(str(total)),
                taxes=None
                if taxes is None
                else {int(t["id"]): Decimal(str(t["refund_total"])) for t in taxes},
            )
        )
    return wanted


def create_refund(call: Call) -> Response:
    body = call.body
    order = _order_or_404(call, status=404)
    gateway_refunds = order.payment_method in _GATEWAYS_WITH_REFUNDS
    if _api_refund(body) and not gateway_refunds:
        # api_refund defaults to true: WooCommerce asks the gateway and fails when it cannot refund.
        raise StoreError(
            "woocommerce_rest_cannot_create_order_refund",
            "The payment gateway for this order does not support automatic refunds.",
            500,
        )
    amount = body.get("amount")
    refund = call.store.create_refund(
        order.id,
        amount=None if amount in (None, "") else str(amount),
        lines=_line_refunds(body) or None,
        reason=str(body.get("reason") or ""),
        refunded_payment=gateway_refunds and _api_refund(body),
    )
    # WooCommerce 7.9 builds this Location from the route pattern
    # (observed: ".../(?P<order_id>[\\d]+)/refunds/31").
    headers = {"Location": f"{call.api}/orders/(?P<order_id>[\\d]+)/refunds/{refund.id}"}
    return call.reply(201, call.renderer.refund(refund), headers)


def routes(pipeline: Pipeline) -> list[Route]:
    return [
        pipeline.route(
            "/orders",
            {
                "GET": Endpoint("list", list_orders, _validate_list),
                "POST": Endpoint("create", create_order),
            },
        ),
        pipeline.route(
            "/orders/{id:int}",
            {
                "GET": Endpoint("view", get_order),
                "PUT": Endpoint("edit", update_order),
                "PATCH": Endpoint("edit", update_order),
                "POST": Endpoint("edit", update_order),
                "DELETE": Endpoint("delete", delete_order),
            },
        ),
        pipeline.route(
            "/orders/{id:int}/refunds",
            {
                "GET": Endpoint("list", list_refunds, lambda call: call.query.page_and_size() and None),
                "POST": Endpoint("create", create_refund),
            },
        ),
        pipeline.route(
            "/orders/{id:int}/refunds/{refund_id:int}",
            {"GET": Endpoint("view", get_refund)},
            allow="GET, DELETE",
        ),
    ]
