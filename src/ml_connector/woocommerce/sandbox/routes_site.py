"""Site-level routes: the `/wp-json/` index (permalink detection), `/wc/v3` namespace, `system_status`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .dates import STORE_TIMEZONE
from .errors import NO_ROUTE
from .responses import error_response, wp_response
from .rest import Call, Endpoint, Pipeline

WC_ROUTES = (
    "/wc/v3/orders",
    "/wc/v3/orders/(?P<id>[\\d]+)",
    "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds",
    "/wc/v3/customers",
    "/wc/v3/customers/(?P<id>[\\d]+)",
    "/wc/v3/products",
    "/wc/v3/products/(?P<id>[\\d]+)",
    "/wc/v3/products/(?P<product_id>[\\d]+)/variations",
    "/wc/v3/coupons",
    "/wc/v3/taxes",
    "/wc/v3/webhooks",
    "/wc/v3/webhooks/(?P<id>[\\d]+)",
    "/wc/v3/system_status",
)


def _routes_index() -> dict[str, Any]:
    return {
        route: {"namespace": "wc/v3", "methods": ["GET"], "endpoints": [{"methods": ["GET"]}]}
        for route in WC_ROUTES
    }


def site_routes(pipeline: Pipeline, home_of: Callable[[Request], str]) -> list[Route]:
    async def index(request: Request) -> Response:
        home = home_of(request)
        body = {
            "name": "ml-connector sandbox store",
            "description": "",
            "url": home,
            "home": home,
            "gmt_offset": "1",
            "timezone_string": str(STORE_TIMEZONE),
            "namespaces": [
                "oembed/1.0",
                "wc/v1",
                "wc/v2",
                "wc/v3",
                "wc/store/v1",
                "wp/v2",
                "wp-site-health/v1",
            ],
            "authentication": [],
            "routes": {
                "/": {"namespace": "", "methods": ["GET"]},
                "/wc/v3": {"namespace": "wc/v3", "methods": ["GET"]},
                **_routes_index(),
            },
        }
        return wp_response(home, 200, body, allow="GET", authenticated=False)

    async def namespace(request: Request) -> Response:
        home = home_of(request)
        return wp_response(
            home, 200, {"namespace": "wc/v3", "routes": _routes_index()}, allow="GET", authenticated=False
        )

    async def no_route(request: Request) -> Response:
        return error_response(home_of(request), NO_ROUTE, authenticated=False)

    return [
        Route("/wp-json/", index, methods=["GET"]),
        Route("/wp-json", index, methods=["GET"]),
        Route("/wp-json/wc/v3", namespace, methods=["GET"]),
        pipeline.route("/system_status", {"GET": Endpoint("list", system_status)}, allow="GET"),
        Route("/wp-json/{rest:path}", no_route, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]


def system_status(call: Call) -> Response:
    settings = call.store.settings
    body = {
        "environment": {
            "home_url": call.home,
            "site_url": call.home,
            "version": settings.wc_version,
            "wp_version": settings.wp_version,
            "wp_multisite": False,
            "wp_memory_limit": 268435456,
            "wp_debug_mode": False,
            "wp_cron": True,
            "language": "nl_NL",
            "external_object_cache": None,
            "server_info": "ml-connector sandbox",
            "php_version": "8.2.36",
            "default_timezone": "UTC",
            "secure_connection": call.home.startswith("https://"),
            "hide_errors": True,
        },
        "database": {"wc_database_version": settings.wc_version, "database_prefix": "wp_"},
        "active_plugins": [
            {"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": settings.wc_version}
        ],
        "theme": {"name": "Storefront", "version": "4.5.2"},
        "settings": {
            "api_enabled": True,
            "force_ssl": False,
            "currency": "EUR",
            "currency_symbol": "&euro;",
            "currency_position": "left",
            "thousand_separator": ".",
            "decimal_separator": ",",
            "number_of_decimals": 2,
            "geolocation_enabled": False,
            "taxonomies": {
                "external": "external",
                "grouped": "grouped",
                "simple": "simple",
                "variable": "variable",
            },
        },
        "security": {"secure_connection": call.home.startswith("https://"), "hide_errors": True},
        "pages": [],
        "post_type_counts": [],
    }
    return call.reply(200, body)
