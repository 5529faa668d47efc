"""`/products` (+ variations), `/coupons`, `/taxes`: CRUD-controller lists with date and modified filters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.routing import Route

from .errors import WooError
from .models import Product
from .params import paging_headers
from .rest import Call, Endpoint, Pipeline

T = TypeVar("T")
_ORDERBY = ("date", "id", "include", "title", "slug", "modified", "price", "popularity", "rating")


def _validate_crud_list(call: Call) -> None:
    q = call.query
    q.page_and_size()
    q.choice("orderby", "date", _ORDERBY)
    q.choice("order", "desc", ("asc", "desc"))
    gmt = q.boolean("dates_are_gmt", False)
    for name in ("after", "before", "modified_after", "modified_before"):
        q.date(name, dates_are_gmt=gmt)


def crud_list(
    call: Call,
    collection: str,
    rows: Sequence[T],
    *,
    created: Callable[[T], float],
    modified: Callable[[T], float],
    ident: Callable[[T], int],
    render: Callable[[T], dict[str, Any]],
    matches: Callable[[T], bool] = lambda _row: True,
    text: Callable[[T], str] = lambda _row: "",
) -> Response:
    """Filter, sort and page like WC_REST_CRUD_Controller (strict date comparisons, id tiebreak)."""
    q = call.query
    page, per_page = q.page_and_size()
    gmt = q.boolean("dates_are_gmt", False)
    after, before = q.date("after", dates_are_gmt=gmt), q.date("before", dates_are_gmt=gmt)
    m_after = m_before = None
    if call.store.settings.supports_modified_filters:
        m_after, m_before = (
            q.date("modified_after", dates_are_gmt=gmt),
            q.date("modified_before", dates_are_gmt=gmt),
        )
    include, exclude = set(q.integers("include")), set(q.integers("exclude"))
    search = (q.raw("search") or "").lower()
    orderby = q.choice("orderby", "date", _ORDERBY)
    descending = q.choice("order", "desc", ("asc", "desc")) == "desc"

    def keep(row: T) -> bool:
        return (
            (after is None or created(row) > after)
            and (before is None or created(row) < before)
            and (m_after is None or modified(row) > m_after)
            and (m_before is None or modified(row) < m_before)
            and (not include or ident(row) in include)
            and ident(row) not in exclude
            and (not search or search in text(row).lower())
            and matches(row)
        )

    with call.store.lock:
        kept = [row for row in rows if keep(row)]
        sort_key: Callable[[T], tuple[float, int]] = {
            "modified": lambda r: (modified(r), ident(r)),
            "id": lambda r: (0.0, ident(r)),
            "include": lambda r: (0.0, ident(r)),
        }.get(orderby, lambda r: (created(r), ident(r)))
        kept.sort(key=sort_key, reverse=descending)
        offset = q.integer("offset", None, minimum=0)
        start = offset if offset is not None else (page - 1) * per_page
        body = [render(row) for row in kept[start : start + per_page]]
    headers = paging_headers(
        f"{call.api}/{collection}", q.pairs, page=page, per_page=per_page, total=len(kept)
    )
    return call.reply(200, body, headers)


def list_products(call: Call) -> Response:
    sku = call.query.raw("sku")
    kind = call.query.raw("type")
    return crud_list(
        call,
        "products",
        list(call.store.catalog.products.values()),
        created=lambda p: p.created,
        modified=lambda p: p.modified,
        ident=lambda p: p.id,
        render=call.renderer.product,
        text=lambda p: f"{p.name} {p.sku}",
        matches=lambda p: (sku is None or p.sku in sku.split(",")) and (kind is None or p.type == kind),
    )


def _product(call: Call) -> Product:
    product = call.store.catalog.products.get(int(call.path["id"]))
    if product is None:
        raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    return product


def get_product(call: Call) -> Response:
    return call.reply(200, call.renderer.product(_product(call)))


def update_product(call: Call) -> Response:
    product = _product(call)
    call.store.update_product(product.id, **_product_changes(call.body))
    return call.reply(200, call.renderer.product(product))


def _product_changes(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("stock_quantity", "regular_price", "sku") if k in body}


def list_variations(call: Call) -> Response:
    product = _product(call)
    return crud_list(
        call,
        f"products/{product.id}/variations",
        product.variations,
        created=lambda v: v.created,
        modified=lambda v: v.modified,
        ident=lambda v: v.id,
        render=lambda v: call.renderer.variation(product, v),
    )


def get_variation(call: Call) -> Response:
    product = _product(call)
    variation = next((v for v in product.variations if v.id == int(call.path["variation_id"])), None)
    if variation is None:
        raise WooError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
    if call.request.method != "GET":
        call.store.update_product(product.id, variation.id, **_product_changes(call.body))
    return call.reply(200, call.renderer.variation(product, variation))


def list_coupons(call: Call) -> Response:
    code = call.query.raw("code")
    return crud_list(
        call,
        "coupons",
        list(call.store.catalog.coupons.values()),
        created=lambda c: c.created,
        modified=lambda c: c.modified,
        ident=lambda c: c.id,
        render=call.renderer.coupon,
        text=lambda c: c.code,
        matches=lambda c: code is None or c.code == code.lower(),
    )


def get_coupon(call: Call) -> Response:
    coupon = call.store.catalog.coupons.get(int(call.path["id"]))
    if coupon is None:
        raise WooError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
    return call.reply(200, call.renderer.coupon(coupon))


def list_taxes(call: Call) -> Response:
    page, per_page = call.query.page_and_size()
    tax_class = call.query.raw("class")
    rates = [r for r in call.store.catalog.rates if tax_class is None or r.tax_class == tax_class]
    body = [call.renderer.tax_rate(r) for r in rates[(page - 1) * per_page : page * per_page]]
    headers = paging_headers(
        f"{call.api}/taxes", call.query.pairs, page=page, per_page=per_page, total=len(rates)
    )
    return call.reply(200, body, headers)


def get_tax(call: Call) -> Response:
    rate = next((r for r in call.store.catalog.rates if r.id == int(call.path["id"])), None)
    if rate is None:
        raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return call.reply(200, call.renderer.tax_rate(rate))


def routes(pipeline: Pipeline) -> list[Route]:
    edit_variation = Endpoint("edit", get_variation)
    return [
        pipeline.route("/products", {"GET": Endpoint("list", list_products, _validate_crud_list)}),
        pipeline.route(
            "/products/{id:int}",
            {
                "GET": Endpoint("view", get_product),
                "PUT": Endpoint("edit", update_product),
                "PATCH": Endpoint("edit", update_product),
                "POST": Endpoint("edit", update_product),
            },
        ),
        pipeline.route(
            "/products/{id:int}/variations",
            {
                "GET": Endpoint("list", list_variations, _validate_crud_list),
            },
        ),
        pipeline.route(
            "/products/{id:int}/variations/{variation_id:int}",
            {
                "GET": Endpoint("view", get_variation),
                "PUT": edit_variation,
                "PATCH": edit_variation,
                "POST": edit_variation,
            },
        ),
        pipeline.route("/coupons", {"GET": Endpoint("list", list_coupons, _validate_crud_list)}),
        pipeline.route("/coupons/{id:int}", {"GET": Endpoint("view", get_coupon)}),
        pipeline.route(
            "/taxes", {"GET": Endpoint("list", list_taxes, lambda call: call.query.page_and_size() and None)}
        ),
        pipeline.route("/taxes/{id:int}", {"GET": Endpoint("view", get_tax)}),
    ]
