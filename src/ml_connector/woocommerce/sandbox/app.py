"""Assembles the sandbox: store + webhook dispatcher + REST routes, wrapped in the shared fault middleware."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.sandbox_kit.clock import Clock, SystemClock
from ml_connector.sandbox_kit.faults import FaultInjector, FaultMiddleware
from ml_connector.sandbox_kit.serve import serve_foreground

from . import routes_catalog, routes_customers, routes_orders, routes_webhooks
from .admin import admin_routes
from .render import Renderer
from .rest import SIGNED_URL_KEY, Pipeline
from .routes_site import site_routes
from .settings import StoreSettings
from .store import WooStore
from .webhooks import WebhookDispatcher


class _Permalinks:
    """`?rest_route=/wc/v3/...` always reaches the REST API (it is how WordPress routes it with plain
    permalinks); `/wp-json/...` does only with pretty permalinks, else WordPress answers its 404 page."""

    def __init__(self, app: ASGIApp, settings: StoreSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            route = next((value for key, value in query if key == "rest_route"), None)
            if route is not None:
                rest = [(key, value) for key, value in query if key != "rest_route"]
                path = "/wp-json" + (route if route.startswith("/") else "/" + route)
                # OAuth1 signed the URL as sent (path "/", rest_route in the query): keep that for auth.
                signed = (scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""))
                scope = {
                    **scope,
                    "path": path,
                    "raw_path": path.encode(),
                    "query_string": urlencode(rest).encode(),
                    SIGNED_URL_KEY: signed,
                }
            elif not self.settings.pretty_permalinks and scope["path"].startswith("/wp-json"):
                page = HTMLResponse("<html><body><h1>Page not found</h1></body></html>", status_code=404)
                await page(scope, receive, send)
                return
        await self.app(scope, receive, send)


@dataclass
class WooSandbox:
    asgi: ASGIApp
    store: WooStore
    dispatcher: WebhookDispatcher
    faults: FaultInjector

    def info(self, base_url: str) -> dict[str, Any]:
        """What a client needs to connect; also fixes the store's site URL (links, webhook source)."""
        self.store.home_url = base_url.rstrip("/")
        credentials = self.store.read_write
        return {
            "base_url": self.store.home_url,
            "consumer_key": credentials.consumer_key,
            "consumer_secret": credentials.consumer_secret,
        }

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until queued webhook deliveries are sent; False if `timeout` passed first."""
        return self.dispatcher.wait_idle(timeout)

    def close(self) -> None:
        self.dispatcher.close()


def create_app(
    *,
    seed: int = 0,
    orders: int = 50,
    customers: int | None = None,
    products: int | None = None,
    clock: Clock | None = None,
    faults: FaultInjector | None = None,
    settings: StoreSettings | None = None,
) -> WooSandbox:
    store = WooStore(
        seed=seed,
        orders=orders,
        customers=customers,
        products=products,
        clock=clock or SystemClock(),
        settings=settings,
    )

    def home_of(request: Request) -> str:
        if (
            store.home_url is None
        ):  # the real site URL is configured; the sandbox learns it from its first request
            store.home_url = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        return store.home_url

    dispatcher = WebhookDispatcher(
        store, lambda: Renderer(store.catalog, store.home_url or "http://127.0.0.1")
    )
    pipeline = Pipeline(store, home_of)
    routes = [
        *routes_orders.routes(pipeline),
        *routes_customers.routes(pipeline),
        *routes_catalog.routes(pipeline),
        *routes_webhooks.routes(pipeline),
        *admin_routes(store, dispatcher, home_of),
        *site_routes(pipeline, home_of),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.dispatcher = dispatcher
    injector = faults or FaultInjector(seed=seed)
    return WooSandbox(
        FaultMiddleware(_Permalinks(app, store.settings), injector), store, dispatcher, injector
    )


def serve(port: int, seed: int = 0, orders: int = 50) -> None:
    """`ml-connector sandbox woocommerce`: serve on 127.0.0.1:port and print one JSON line when ready."""
    sandbox = create_app(seed=seed, orders=orders)
    try:
        serve_foreground(sandbox.asgi, port, sandbox.info)
    finally:
        sandbox.close()
