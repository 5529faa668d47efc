"""`/customers`: no modified filter (WordPress ignores unknown parameters), sorted by name."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from .errors import WooError
from .models import Customer
from .params import paging_headers
from .rest import Call, Endpoint, Pipeline, require


def _validate_list(call: Call) -> None:
    call.query.page_and_size()
    call.query.choice("orderby", "name", ("id", "include", "name", "registered_date"))
    call.query.choice("order", "asc", ("asc", "desc"))
    call.query.integers("include")
    call.query.integers("exclude")


def list_customers(call: Call) -> Response:
    q = call.query
    page, per_page = q.page_and_size()
    orderby = q.choice("orderby", "name", ("id", "include", "name", "registered_date"))
    descending = q.choice("order", "asc", ("asc", "desc")) == "desc"
    role = q.raw("role") or "customer"
    email = q.raw("email")
    search = (q.raw("search") or "").lower()
    include, exclude = set(q.integers("include")), set(q.integers("exclude"))
    offset = q.integer("offset", None, minimum=0)

    def wanted(c: Customer) -> bool:
        return (
            (role == "all" or c.role == role)
            and (email is None or c.email == email)
            and (not search or search in f"{c.email} {c.username} {c.first_name} {c.last_name}".lower())
            and (not include or c.id in include)
            and c.id not in exclude
        )

    with call.store.lock:
        rows = [c for c in call.store.customers.values() if wanted(c)]
        sort_key = {
            "id": lambda c: (c.id,),
            "include": lambda c: (c.id,),
            "registered_date": lambda c: (c.created, c.id),
            "name": lambda c: (f"{c.first_name} {c.last_name}".strip() or c.username, c.id),
        }[orderby]
        rows.sort(key=sort_key, reverse=descending)
        start = offset if offset is not None else (page - 1) * per_page
        body = [call.renderer.customer(c) for c in rows[start : start + per_page]]
    headers = paging_headers(f"{call.api}/customers", q.pairs, page=page, per_page=per_page, total=len(rows))
    return call.reply(200, body, headers)


def _customer(call: Call, status: int = 404) -> Customer:
    customer = call.store.customers.get(int(call.path["id"]))
    if customer is None:
        raise WooError("woocommerce_rest_invalid_id", "Invalid resource ID.", status)
    return customer


def get_customer(call: Call) -> Response:
    return call.reply(200, call.renderer.customer(_customer(call)))


def create_customer(call: Call) -> Response:
    body = call.body
    customer = call.store.create_customer(
        email=str(require(body, "email")),
        first_name=str(body.get("first_name") or ""),
        last_name=str(body.get("last_name") or ""),
        username=body.get("username"),
        billing=body.get("billing"),
        shipping=body.get("shipping"),
        meta_data=body.get("meta_data"),
    )
    return call.reply(
        201, call.renderer.customer(customer), {"Location": f"{call.api}/customers/{customer.id}"}
    )


def update_customer(call: Call) -> Response:
    fields = {
        k: call.body.get(k) for k in ("email", "first_name", "last_name", "billing", "shipping", "meta_data")
    }
    customer = call.store.update_customer(int(call.path["id"]), missing_status=400, **fields)
    return call.reply(200, call.renderer.customer(customer))


def delete_customer(call: Call) -> Response:
    if not call.query.boolean("force", False):
        raise WooError("woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501)
    customer = call.store.delete_customer(int(call.path["id"]))
    return call.reply(200, call.renderer.customer(customer))


def routes(pipeline: Pipeline) -> list[Route]:
    return [
        pipeline.route(
            "/customers",
            {
                "GET": Endpoint("list", list_customers, _validate_list),
                "POST": Endpoint("create", create_customer),
            },
        ),
        pipeline.route(
            "/customers/{id:int}",
            {
                "GET": Endpoint("view", get_customer),
                "PUT": Endpoint("edit", update_customer),
                "PATCH": Endpoint("edit", update_customer),
                "POST": Endpoint("edit", update_customer),
                "DELETE": Endpoint("delete", delete_customer),
            },
        ),
    ]
