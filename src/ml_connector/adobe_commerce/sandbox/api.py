"""The sandbox's HTTP face: Magento REST routes (PaaS `/rest[/<store>]/V1/...`, SaaS `/<tenant>/V1/...` with a
Store header), the IMS token endpoint (SaaS), `/magento_version`, and the store API under `/_sandbox/...`."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ml_connector.adobe_commerce.sandbox.auth import AuthFailure, ImsIssuer, OAuth1Validator
from ml_connector.adobe_commerce.sandbox.criteria import Criteria, CriteriaError, parse_fields, project
from ml_connector.adobe_commerce.sandbox.hooks import Hook, HookRefused
from ml_connector.adobe_commerce.sandbox.store import SandboxStore, StoreError

Doc = dict[str, Any]
RESOURCES = {  # ACL resource Magento names when the integration lacks it
    "orders": "Magento_Sales::actions_view",
    "order": "Magento_Sales::sales_invoice",
    "invoices": "Magento_Sales::sales_invoice",
    "creditmemos": "Magento_Sales::sales_creditmemo",
    "creditmemo": "Magento_Sales::sales_creditmemo",
    "customers": "Magento_Customer::customer",
    "products": "Magento_Catalog::products",
    "categories": "Magento_Catalog::categories",
    "store": "Magento_Backend::store",
}


@dataclass
class Toggles:
    bearer_enabled: bool = False  # oauth/consumer/enable_integration_as_bearer (off since 2.4.4)
    empty_page_past_end: bool = False  # Magento returns the last page again; this returns [] instead
    max_page_size: int | None = None  # Web API input limits (off by default; 300 when on)
    denied_resources: tuple[str, ...] = ()


def _error(status: int, message: str, parameters: Any = None) -> JSONResponse:
    body: Doc = {"message": message}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


class SandboxApi:
    def __init__(
        self, store: SandboxStore, mode: str, oauth: OAuth1Validator, ims: ImsIssuer, tenant: str
    ) -> None:
        self.store = store
        self.mode = mode
        self.oauth = oauth
        self.ims = ims
        self.tenant = tenant
        self.toggles = Toggles()
        self.calls: Counter[str] = Counter()  # "GET /V1/orders" -> count, for tests and the demo
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            (
                "GET",
                re.compile(r"/V1/orders"),
                lambda r, **_: self._search(r, self.store.orders, "entity_id"),
            ),
            ("GET", re.compile(r"/V1/orders/(?P<id>\d+)"), lambda r, id: self._one(self.store.orders, id)),
            (
                "GET",
                re.compile(r"/V1/invoices"),
                lambda r, **_: self._search(r, self.store.invoices, "entity_id"),
            ),
            (
                "GET",
                re.compile(r"/V1/invoices/(?P<id>\d+)"),
                lambda r, id: self._one(self.store.invoices, id),
            ),
            (
                "GET",
                re.compile(r"/V1/creditmemos"),
                lambda r, **_: self._search(r, self.store.creditmemos, "entity_id"),
            ),
            (
                "GET",
                re.compile(r"/V1/creditmemo/(?P<id>\d+)"),
                lambda r, id: self._one(self.store.creditmemos, id),
            ),
            (
                "GET",
                re.compile(r"/V1/customers/search"),
                lambda r, **_: self._search(r, self.store.customers, "id"),
            ),
            (
                "GET",
                re.compile(r"/V1/customers/(?P<id>\d+)"),
                lambda r, id: self._one(self.store.customers, id),
            ),
            (
                "GET",
                re.compile(r"/V1/products"),
                lambda r, **_: self._search(r, {p["id"]: p for p in self.store.products}, "id"),
            ),
            (
                "GET",
                re.compile(r"/V1/categories/list"),
                lambda r, **_: self._search(r, {c["id"]: c for c in self.store.categories}, "id"),
            ),
            ("GET", re.compile(r"/V1/store/storeConfigs"), lambda r, **_: self._store_configs(r)),
            ("POST", re.compile(r"/V1/order/(?P<id>\d+)/invoice"), lambda r, id: self._invoice_rest(r, id)),
            ("PUT", re.compile(r"/V1/customers/(?P<id>\d+)"), lambda r, id: self._save_customer(r, id)),
        ]

    # -- REST ---------------------------------------------------------------------------------------------

    async def rest(self, request: Request) -> Response:
        path = "/V1/" + request.path_params["path"]
        store_code = request.path_params.get("store")
        if self.mode == "saas":
            if request.path_params.get("tenant") != self.tenant:
                return _error(404, "Tenant not found")
            store_code = request.headers.get("store")
        if store_code not in (None, "default", "all"):
            return _error(400, "The store that was requested wasn't found. Verify the store and try again.")
        body = request.state.body = await request.body()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                self.calls[f"{method} {pattern.pattern}"] += 1
                try:
                    self._authenticate(request, body, path)
                    with self.store.lock:
                        result = handler(request, **match.groupdict())
                    if isinstance(result, Response):
                        return result
                    fields = request.query_params.get("fields")
                    return JSONResponse(project(result, parse_fields(fields)) if fields else result)
                except AuthFailure as exc:
                    return _error(exc.status, exc.message, exc.parameters)
                except (CriteriaError, StoreError) as exc:
                    return _error(getattr(exc, "status", 400), exc.message, exc.parameters)
        return _error(404, "Request does not match any route.")

    def _authenticate(self, request: Request, body: bytes, path: str) -> None:
        if self.mode == "saas":
            self.ims.check(request.headers)
        else:
            authorization = request.headers.get("authorization", "")
            if authorization.lower().startswith("oauth "):
                self.oauth.validate(request.method, str(request.url), request.headers, body)
            elif not (
                self.toggles.bearer_enabled
                and authorization == f"Bearer {self.oauth.integration.access_token}"
            ):
                # Without enable_integration_as_bearer the token is not recognised: the caller is a guest.
                raise AuthFailure(
                    401,
                    "The consumer isn't authorized to access %resources.",
                    {"resources": self._resource(path)},
                )
        resource = self._resource(path)
        if resource in self.toggles.denied_resources:
            raise AuthFailure(
                401, "The consumer isn't authorized to access %resources.", {"resources": resource}
            )

    @staticmethod
    def _resource(path: str) -> str:
        return RESOURCES.get(path.split("/")[2], "Magento_Backend::admin")

    def _search(self, request: Request, records: dict[int, Doc], key: str) -> Doc:
        criteria = Criteria.parse(request.query_params.multi_items())
        limit = self.toggles.max_page_size
        if limit and (criteria.page_size is None or criteria.page_size > limit):
            raise CriteriaError("Maximum SearchCriteria pageSize is %max", {"max": str(limit)})
        matched = criteria.sort([r for r in records.values() if criteria.matches(r)], key)
        page = criteria.page(matched, self.toggles.empty_page_past_end)
        return {"items": copy.deepcopy(page), "search_criteria": criteria.echo(), "total_count": len(matched)}

    @staticmethod
    def _one(records: dict[int, Doc], ident: str) -> Doc:
        record = records.get(int(ident))
        if record is None:
            raise StoreError(
                "The entity that was requested doesn't exist. Verify the entity and try again.", status=404
            )
        return copy.deepcopy(record)

    def _store_configs(self, request: Request) -> list[Doc]:
        base = str(request.base_url)
        return [
            {
                "id": 1,
                "code": "default",
                "website_id": 1,
                "locale": "nl_NL",
                "base_currency_code": "EUR",
                "default_display_currency_code": "EUR",
                "timezone": "Europe/Amsterdam",
                "weight_unit": "kgs",
                "base_url": base,
                "base_link_url": base,
                "base_static_url": f"{base}static/",
                "base_media_url": f"{base}media/",
                "secure_base_url": base,
                "secure_base_link_url": base,
                "secure_base_static_url": f"{base}static/",
                "secure_base_media_url": f"{base}media/",
            }
        ]

    def _invoice_rest(self, request: Request, ident: str) -> JSONResponse:
        body = json.loads(request.state.body or b"{}")
        qtys = {int(i["order_item_id"]): Decimal(str(i["qty"])) for i in body.get("items", [])} or None
        try:
            invoice = self.store.invoice(int(ident), qtys)
        except HookRefused as exc:
            return _error(400, str(exc))
        return JSONResponse(invoice["entity_id"])

    def _save_customer(self, request: Request, ident: str) -> JSONResponse:
        """PUT /V1/customers/{id} (customerAccountManagementV1 save): {"customer": {...}} replaces fields."""
        body = json.loads(request.state.body or b"{}")
        fields = body.get("customer")
        if not isinstance(fields, dict):
            return _error(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "customer"})
        fields = {k: v for k, v in fields.items() if k not in ("id", "created_at", "updated_at")}
        return JSONResponse(self.store.update_customer(int(ident), **fields))

    # -- other endpoints -----------------------------------------------------------------------------------

    async def ims_token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart needed for urlencoded
        status, body = self.ims.issue(form)
        return JSONResponse(body, status_code=status)

    async def version(self, _request: Request) -> Response:
        return PlainTextResponse("Magento/2.4 (Community)")


def store_api_routes(api: SandboxApi, info: Callable[[str], Doc]) -> list[Route]:
    """The demo's and tests' levers over HTTP (sync handlers: webhooks are called synchronously)."""
    store = api.store

    def guarded(action: Callable[[Doc, Request], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body = json.loads(raw) if raw else {}

            def run() -> Response:  # in a worker thread: webhooks are called synchronously
                try:
                    return JSONResponse(action(body, request))
                except StoreError as exc:
                    return _error(exc.status, exc.message, exc.parameters)
                except HookRefused as exc:
                    return _error(400, str(exc))

            return await run_in_threadpool(run)

        return endpoint

    def settings(body: Doc, _r: Request) -> Doc:
        for name, value in body.items():
            if not hasattr(api.toggles, name):
                raise StoreError(f"unknown sandbox setting {name}; known: {', '.join(asdict(api.toggles))}")
            setattr(api.toggles, name, tuple(value) if name == "denied_resources" else value)
        return asdict(api.toggles)

    def hooks(body: Doc, _r: Request) -> Doc:
        store.hooks.hooks = [Hook(**h) for h in body.get("hooks", [])]
        if "io_events_url" in body:
            store.io_events.url = body["io_events_url"]
        return {
            "hooks": [asdict(h) for h in store.hooks.hooks],
            "deliveries": [asdict(d) for d in store.hooks.deliveries],
        }

    return [
        Route("/_sandbox/info", guarded(lambda _b, r: info(str(r.base_url).rstrip("/"))), methods=["GET"]),
        Route("/_sandbox/settings", guarded(settings), methods=["POST"]),
        Route("/_sandbox/hooks", guarded(hooks), methods=["POST"]),
        Route("/_sandbox/calls", guarded(lambda _b, _r: dict(api.calls)), methods=["GET"]),
        Route(
            "/_sandbox/orders",
            guarded(
                lambda b, _r: store.place_order(
                    [(i["sku"], int(i["qty"])) for i in b["items"]],
                    customer_id=b.get("customer_id"),
                    email=b.get("email"),
                    discount_pct=b.get("discount_pct", 0),
                    shipping=b.get("shipping", 4.95),
                )
            ),
            methods=["POST"],
        ),
        Route(
            "/_sandbox/orders/{id:int}/invoice",
            guarded(
                lambda b, r: store.invoice(
                    r.path_params["id"], {int(k): v for k, v in (b.get("qtys") or {}).items()} or None
                )
            ),
            methods=["POST"],
        ),
        Route(
            "/_sandbox/orders/{id:int}/refund",
            guarded(
                lambda b, r: store.refund(
                    r.path_params["id"],
                    {int(k): v for k, v in (b.get("qtys") or {}).items()} or None,
                    adjustment_positive=b.get("adjustment_positive", 0),
                    adjustment_negative=b.get("adjustment_negative", 0),
                    shipping_amount=b.get("shipping_amount"),
                )
            ),
            methods=["POST"],
        ),
        Route(
            "/_sandbox/customers/{id:int}",
            guarded(lambda b, r: store.update_customer(r.path_params["id"], **b)),
            methods=["PATCH"],
        ),
        Route(
            "/_sandbox/io-events/keys/{n:int}.pem",
            lambda r: PlainTextResponse(store.io_events.keys[r.path_params["n"] - 1].public_pem),
            methods=["GET"],
        ),
    ]


def build_asgi(api: SandboxApi, info: Callable[[str], Doc]) -> Starlette:
    routes = store_api_routes(api, info)
    if api.mode == "saas":
        routes += [
            Route("/ims/token/v3", api.ims_token, methods=["POST"]),
            Route("/{tenant}/V1/{path:path}", api.rest, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    else:
        routes += [
            Route("/magento_version", api.version, methods=["GET"]),
            Route("/rest/V1/{path:path}", api.rest, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/rest/{store}/V1/{path:path}", api.rest, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    return Starlette(routes=routes)
