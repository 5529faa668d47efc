"""`/_sandbox/...`: the store API over HTTP, for a demo that runs the sandbox in another process.

These act as a shopper or shop admin would (checkout, status change, refund, sign-up) and fire the same
webhooks. Bodies are plain JSON; answers are the REST representation of what changed.

    POST   /_sandbox/orders                 {"line_items": [{"sku"|"product_id"|"variation_id", "quantity"}],
                                             "customer_id", "coupons": [...], "fees": [[name, amount]],
                                             "shipping_method", "status", "customer_note", "meta_data"}
    POST   /_sandbox/orders/{id}            {"status", "customer_note", "billing", "set_paid", ...}
    DELETE /_sandbox/orders/{id}?force=     trash (default) or delete
    POST   /_sandbox/orders/{id}/refunds    {"lines": [[item_id, qty]], "amount", "reason"}
    POST   /_sandbox/customers[/{id}]       create / update a customer
    POST   /_sandbox/products/{id}          {"stock_quantity", "regular_price", "sku", "variation_id"}
    POST   /_sandbox/webhooks/wait          {"timeout": s} -> {"idle": bool}
    GET    /_sandbox/webhooks/deliveries    recent delivery attempts
    GET    /_sandbox/state                  counts, settings, webhook failure counts
    POST   /_sandbox/settings               StoreSettings fields, e.g. {"wc_version": "5.6.0"}
    POST   /_sandbox/clock                  {"advance": s} (ManualClock only)
    POST/GET/DELETE /_sandbox/faults        fault rules (shared FaultMiddleware)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .render import Renderer
from .settings import StoreSettings
from .store import StoreError, WooStore
from .webhooks import WebhookDispatcher

Action = Callable[[dict[str, Any], dict[str, Any]], Any]


def admin_routes(
    store: WooStore, dispatcher: WebhookDispatcher, home_of: Callable[[Request], str]
) -> list[Route]:
    def renderer() -> Renderer:
        return Renderer(store.catalog, store.home_url or "")

    def endpoint(action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            home_of(request)
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return JSONResponse({"error": "the body must be JSON"}, status_code=400)
            try:
                result = await run_in_threadpool(
                    action, body, dict(request.path_params) | dict(request.query_params)
                )
            except StoreError as error:
                return JSONResponse({"code": error.code, "error": error.message}, status_code=error.status)
            except (KeyError, TypeError, ValueError) as error:
                return JSONResponse({"error": f"bad request: {error!r}"}, status_code=400)
            return JSONResponse(result)

        return run

    def create_order(body: dict[str, Any], _: dict[str, Any]) -> Any:
        order = store.create_order(
            line_items=body["line_items"],
            customer_id=int(body.get("customer_id", 0)),
            billing=body.get("billing"),
            status=body.get("status"),
            coupon_codes=tuple(body.get("coupons", ())),
            shipping_method=body.get("shipping_method", "flat_rate"),
            fees=tuple((name, Decimal(str(amount))) for name, amount in body.get("fees", ())),
            customer_note=body.get("customer_note", ""),
            payment_method=body.get("payment_method", "bacs"),
            payment_method_title=body.get("payment_method_title", "Direct bank transfer"),
            meta_data=body.get("meta_data"),
        )
        return renderer().order(order)

    def update_order(body: dict[str, Any], path: dict[str, Any]) -> Any:
        return renderer().order(store.update_order(int(path["id"]), **body))

    def delete_order(_: dict[str, Any], path: dict[str, Any]) -> Any:
        force = str(path.get("force", "false")).lower() in ("1", "true")
        return renderer().order(store.delete_order(int(path["id"]), force=force))

    def create_refund(body: dict[str, Any], path: dict[str, Any]) -> Any:
        lines = [(int(item_id), int(qty)) for item_id, qty in body.get("lines", ())]
        refund = store.create_refund(
            int(path["id"]), amount=body.get("amount"), lines=lines or None, reason=body.get("reason", "")
        )
        return renderer().refund(refund)

    def create_customer(body: dict[str, Any], _: dict[str, Any]) -> Any:
        return renderer().customer(store.create_customer(**body))

    def update_customer(body: dict[str, Any], path: dict[str, Any]) -> Any:
        return renderer().customer(store.update_customer(int(path["id"]), **body))

    def update_product(body: dict[str, Any], path: dict[str, Any]) -> Any:
        store.update_product(int(path["id"]), int(body.pop("variation_id", 0)), **body)
        return renderer().product(store.catalog.products[int(path["id"])])

    def wait(body: dict[str, Any], _: dict[str, Any]) -> Any:
        return {"idle": dispatcher.wait_idle(float(body.get("timeout", 10)))}

    def deliveries(_: dict[str, Any], __: dict[str, Any]) -> Any:
        return [
            {
                "webhook_id": d.webhook_id,
                "topic": d.topic,
                "resource_id": d.resource_id,
                "delivery_id": d.delivery_id,
                "status": d.status,
                "at": d.at,
            }
            for d in dispatcher.deliveries
        ]

    def state(_: dict[str, Any], __: dict[str, Any]) -> Any:
        with store.lock:
            return {
                "orders": sum(1 for _ in store.iter_orders()),
                "customers": len(store.customers),
                "settings": asdict(store.settings),
                # failure_count and pending_delivery live in the wc_webhooks table; REST never shows them
                "webhooks": [
                    {
                        "id": w.id,
                        "topic": w.topic,
                        "status": w.status,
                        "failure_count": w.failure_count,
                        "pending_delivery": w.pending_delivery,
                    }
                    for w in store.webhooks.values()
                ],
            }

    def settings(body: dict[str, Any], _: dict[str, Any]) -> Any:
        known = {f.name for f in fields(StoreSettings)}
        unknown = set(body) - known
        if unknown:
            raise StoreError(
                "sandbox_unknown_setting", f"unknown settings {sorted(unknown)}; known: {sorted(known)}"
            )
        for name, value in body.items():
            setattr(store.settings, name, value)
        return asdict(store.settings)

    def clock(body: dict[str, Any], _: dict[str, Any]) -> Any:
        advance = getattr(store.clock, "advance", None)
        if advance is None:
            raise StoreError(
                "sandbox_clock_fixed", "this sandbox runs on the system clock; start it with a ManualClock"
            )
        advance(float(body["advance"]))
        return {"time": store.clock.time()}

    return [
        Route("/_sandbox/state", endpoint(state), methods=["GET"]),
        Route("/_sandbox/settings", endpoint(settings), methods=["POST"]),
        Route("/_sandbox/clock", endpoint(clock), methods=["POST"]),
        Route("/_sandbox/orders", endpoint(create_order), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}", endpoint(update_order), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}", endpoint(delete_order), methods=["DELETE"]),
        Route("/_sandbox/orders/{id:int}/refunds", endpoint(create_refund), methods=["POST"]),
        Route("/_sandbox/customers", endpoint(create_customer), methods=["POST"]),
        Route("/_sandbox/customers/{id:int}", endpoint(update_customer), methods=["POST"]),
        Route("/_sandbox/products/{id:int}", endpoint(update_product), methods=["POST"]),
        Route("/_sandbox/webhooks/wait", endpoint(wait), methods=["POST"]),
        Route("/_sandbox/webhooks/deliveries", endpoint(deliveries), methods=["GET"]),
    ]
