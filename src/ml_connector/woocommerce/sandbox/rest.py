"""The request pipeline every wc/v3 route goes through, in WordPress's order.

1. authentication (a failure answers WooCommerce's 401 body at once);
2. the key's read/write scope against the HTTP method;
3. argument validation (400 rest_invalid_param);
4. the endpoint's permission check (anonymous: 401 cannot_view/create/edit/delete);
5. the handler (StoreError -> WooCommerce's error body).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Authenticator, RequestFacts, check_key_permissions
from .errors import WooError, not_allowed
from .models import ApiKey
from .params import ListQuery
from .render import Renderer
from .responses import error_response, wp_response
from .store import StoreError, WooStore

API_PREFIX = "/wp-json/wc/v3"
SIGNED_URL_KEY = "woo_sandbox.signed_url"  # ASGI scope key: (raw path, query) before a ?rest_route= rewrite


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    store: WooStore
    query: ListQuery
    body: dict[str, Any]
    key: ApiKey | None
    home: str
    renderer: Renderer
    path: dict[str, Any] = field(default_factory=dict)
    allow: str = (
        "GET, POST"  # the route's methods, as WooCommerce registers them (not what the sandbox implements)
    )

    @property
    def api(self) -> str:
        return f"{self.home}{API_PREFIX}"

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return wp_response(self.home, status, body, headers, allow=self.allow)


Handler = Callable[[Call], Response]
# A handler's parameter validation runs before the permission check: it gets the call and raises on bad input.
Validator = Callable[[Call], None]


@dataclass(frozen=True)
class Endpoint:
    action: str  # list, view, create, edit or delete: picks the permission error for anonymous callers
    handler: Handler
    validate: Validator | None = None
    # Run under the store lock, so the answer is one consistent snapshot. Off for handlers that call out
    # over HTTP (the webhook ping), which must not hold the store while a receiver may call back into it.
    exclusive: bool = True


class Pipeline:
    def __init__(self, store: WooStore, home: Callable[[Request], str]) -> None:
        self.store = store
        self.authenticator = Authenticator(store)
        self._home = home

    def route(self, path: str, endpoints: dict[str, Endpoint], allow: str | None = None) -> Route:
        """`allow`: the methods WooCommerce registers on the route (sent as `Allow` once a key is accepted);
        by default those of a CRUD collection or, for a path ending in an id, of a single item."""
        methods = allow or ("GET, POST, PUT, PATCH, DELETE" if path.endswith("}") else "GET, POST")

        async def endpoint(request: Request) -> Response:
            return await self.serve(request, endpoints, methods)

        return Route(API_PREFIX + path, endpoint, methods=list(endpoints))

    async def serve(self, request: Request, endpoints: dict[str, Endpoint], allow: str) -> Response:
        home = self._home(request)
        raw_body = await request.body()
        query = list(parse_qsl(request.url.query, keep_blank_values=True))
        form: list[tuple[str, str]] = []
        body: dict[str, Any] = {}
        content_type = request.headers.get("content-type", "")
        if raw_body and "application/x-www-form-urlencoded" in content_type:
            form = parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True)
            body = dict(form)
        elif raw_body:
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                return error_response(
                    home, WooError("rest_invalid_json", "Invalid JSON body passed.", 400), authenticated=False
                )
            body = parsed if isinstance(parsed, dict) else {}
        default = (request.scope.get("raw_path") or request.url.path.encode(), request.url.query.encode())
        raw_path, raw_query = request.scope.get(SIGNED_URL_KEY, default)
        facts = RequestFacts(
            method=request.method,
            scheme=request.url.scheme,
            host=request.headers.get("host", request.url.netloc),
            raw_path=raw_path.decode("latin-1"),
            query=parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True),
            form=form,
            authorization=request.headers.get("authorization"),
        )
        call = Call(
            request,
            self.store,
            ListQuery(query),
            body,
            None,
            home,
            Renderer(self.store.catalog, home),
            dict(request.path_params),
            allow,
        )
        # Handlers take the store lock and may ping a webhook receiver: keep them off the event loop.
        return await run_in_threadpool(
            self._process, call, facts, endpoints["GET" if request.method == "HEAD" else request.method]
        )

    def _process(self, call: Call, facts: RequestFacts, spec: Endpoint) -> Response:
        try:
            call.key = self.authenticator.authenticate(facts).key
            if call.key is not None:
                check_key_permissions(call.key, facts.method)
        except WooError as error:  # rejected before dispatch: no route was matched yet, so no Allow header
            return error_response(call.home, error, authenticated=call.key is not None)
        try:
            if spec.validate is not None:
                spec.validate(call)
                call.query.check()
            if call.key is None:
                raise not_allowed(spec.action)
            if not spec.exclusive:
                return spec.handler(call)
            with self.store.lock:
                return spec.handler(call)
        except StoreError as error:
            return error_response(
                call.home, WooError(error.code, error.message, error.status), allow=call.allow
            )
        except WooError as error:
            authenticated = call.key is not None
            allow = call.allow if authenticated else None
            return error_response(call.home, error, authenticated=authenticated, allow=allow)


def require(body: dict[str, Any], name: str) -> Any:
    if body.get(name) in (None, ""):
        raise WooError(
            "rest_missing_callback_param", f"Missing parameter(s): {name}", 400, {"params": [name]}
        )
    return body[name]
