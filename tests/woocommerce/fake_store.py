"""A small in-memory WooCommerce for client tests (httpx.MockTransport), built from the real captures.

It reproduces what the client depends on, as the real 7.9.0 store does it: Basic/query auth with the
real error bodies, paging headers and a Link that repeats every query parameter (oauth_* included),
strict modified_after, webhooks CRUD with status filters. The full stateful sandbox lives in
ml_connector.woocommerce.sandbox; these tests also run against it where it matters.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.woocommerce.woo_captures import load

KEY = "ck_596ccb6e0a7b1eda0a08e9cdb41bc99f2bb6464b"
SECRET = "cs_5fcf3beec9a72ae1cf6987edf7fb2dcb509f2bac"
READ_KEY = "ck_942d6ca6e6cc7cbed5b1f46fb5f8feb6a121afaa"
READ_SECRET = "cs_06ac5de090608cfd5e29f9f928ff10918e463327"
START = datetime(2026, 11, 1, tzinfo=UTC)


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": {"status": status}})


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def make_order(order_id: int, modified: datetime) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(load("order-with-refund.json"))
    order["id"], order["number"] = order_id, str(order_id)
    order["date_created_gmt"] = order["date_modified_gmt"] = _fmt(modified)
    return order


@dataclass
class FakeStore:
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhook_secrets: dict[int, str] = field(default_factory=dict)
    version: str = "7.9.0"
    strip_authorization: bool = False  # a host that drops the Authorization header
    requests: list[httpx.Request] = field(default_factory=list)
    on_list: Any = None  # hook(store, resource, page) called before each list answer (to mutate mid-scan)

    @classmethod
    def with_orders(cls, count: int) -> FakeStore:
        store = cls()
        for n in range(1, count + 1):
            store.orders[n] = make_order(n, START + timedelta(minutes=n))
        return store

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- auth ------------------------------------------------------------------------------------------

    def _user(self, request: httpx.Request) -> tuple[str | None, httpx.Response | None]:
        """(permission, error) like WC_REST_Authentication over HTTPS (loopback HTTP treated as HTTPS)."""
        params = dict(request.url.params)
        key = secret = None
        if "consumer_key" in params and "consumer_secret" in params:
            key, secret = params["consumer_key"], params["consumer_secret"]
        elif "authorization" in request.headers and not self.strip_authorization:
            scheme, _, value = request.headers["authorization"].partition(" ")
            if scheme == "Basic":
                key, _, secret = base64.b64decode(value).decode().partition(":")
        keys = {KEY: (SECRET, "read_write"), READ_KEY: (READ_SECRET, "read")}
        if key not in keys:
            return None, None  # anonymous: the endpoint's permission check answers
        expected, permission = keys[key]
        if secret != expected:
            return None, _error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if permission == "read" and request.method not in ("GET", "HEAD"):
            return None, _error(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
            )
        return permission, None

    # -- routing ---------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/wp-json/":
            return httpx.Response(200, json={"name": "Fake", "namespaces": ["wp/v2", "wc/v3"]})
        if not path.startswith("/wp-json/wc/v3/"):
            return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
        permission, failure = self._user(request)
        if failure is not None:
            return failure
        parts = path.removeprefix("/wp-json/wc/v3/").strip("/").split("/")
        if permission is None:
            verb = "list resources" if len(parts) == 1 and request.method == "GET" else "do that"
            return _error(401, "woocommerce_rest_cannot_view", f"Sorry, you cannot {verb}.")
        if parts == ["system_status"]:
            return httpx.Response(200, json={"environment": {"version": self.version}})
        table = {"orders": self.orders, "customers": self.customers, "webhooks": self.webhooks}.get(parts[0])
        if table is None:
            return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if len(parts) == 1 and request.method == "GET":
            return self._list(request, parts[0], table)
        if parts[0] == "webhooks":
            return self._webhook(request, parts)
        if len(parts) == 2 and request.method == "GET" and int(parts[1]) in table:
            return httpx.Response(200, json=table[int(parts[1])])
        return _error(404, f"woocommerce_rest_shop_{parts[0][:-1]}_invalid_id", "Invalid ID.")

    def _list(
        self, request: httpx.Request, resource: str, table: dict[int, dict[str, Any]]
    ) -> httpx.Response:
        params = dict(request.url.params)
        per_page = int(params.get("per_page", 10))
        if not 1 <= per_page <= 100:
            return _error(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        rows = sorted(table.values(), key=lambda row: row["id"])
        if params.get("order") == "desc":
            rows.reverse()
        if "modified_after" in params:
            if self.version < "5.8":
                pass  # unknown parameters are ignored by old cores
            else:
                cutoff = params["modified_after"]
                rows = [row for row in rows if row["date_modified_gmt"] > cutoff]  # strict
        if "modified_before" in params and self.version >= "5.8":
            rows = [row for row in rows if row["date_modified_gmt"] < params["modified_before"]]
        if "after" in params:
            rows = [row for row in rows if row["date_created_gmt"] > params["after"]]
        if resource == "webhooks" and params.get("status", "all") != "all":
            rows = [row for row in rows if row["status"] == params["status"]]
        page = int(params.get("page", 1))
        if self.on_list is not None:
            self.on_list(self, resource, page)
            rows = [row for row in rows if row["id"] in table]
        offset = int(params["offset"]) if "offset" in params else (page - 1) * per_page
        total = len(rows)
        pages = math.ceil(total / per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        base = f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.path}"
        query = [
            (k, v) for k, v in parse_qsl(request.url.query.decode(), keep_blank_values=True) if k != "page"
        ]
        if page > 1:
            links.append(f'<{base}?{urlencode([*query, ("page", page - 1)])}>; rel="prev"')
        if pages > page:
            links.append(f'<{base}?{urlencode([*query, ("page", page + 1)])}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return httpx.Response(200, json=rows[offset : offset + per_page], headers=headers)

    def _webhook(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        if len(parts) == 1 and request.method == "POST":
            hook_id = max(self.webhooks, default=0) + 1
            hook = {
                "id": hook_id,
                "name": body.get("name", "Webhook"),
                "status": body.get("status", "active"),
                "topic": body["topic"],
                "resource": body["topic"].split(".")[0],
                "event": body["topic"].split(".")[1],
                "hooks": [],
                "delivery_url": body["delivery_url"],
                "date_created_gmt": "2026-11-23T12:00:00",
                "date_modified_gmt": None,
            }
            self.webhooks[hook_id] = hook
            self.webhook_secrets[hook_id] = body.get("secret", "generated")
            return httpx.Response(201, json=hook)
        hook_id = int(parts[1])
        if hook_id not in self.webhooks:
            status = 400 if request.method in ("PUT", "POST") else 404
            return _error(status, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        if request.method in ("PUT", "POST"):
            for name in ("status", "delivery_url", "name"):
                if name in body:
                    self.webhooks[hook_id][name] = body[name]
            if "secret" in body:
                self.webhook_secrets[hook_id] = body["secret"]
            return httpx.Response(200, json=self.webhooks[hook_id])
        if request.method == "DELETE":
            return httpx.Response(200, json=self.webhooks.pop(hook_id))
        return httpx.Response(200, json=self.webhooks[hook_id])
