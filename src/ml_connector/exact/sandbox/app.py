"""The ASGI application: OAuth endpoints, the REST API, and the `/_sandbox` helpers for tests and the demo."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ml_connector.sandbox_kit.clock import Clock, ManualClock
from ml_connector.sandbox_kit.faults import FaultInjector, FaultMiddleware

from .api import RestApi, _json_body
from .formats import ExactError, error_response, json_response, oauth_error
from .ledger import ledger_totals
from .limits import LimitSettings
from .oauth import OAuthError
from .schema import entities
from .state import SandboxState, registration

GENERIC_ERROR = "A problem has occurred. The cause of this issue will be investigated as soon as possible."
_ADMIN_ENTITIES = {name.lower(): name for name, spec in entities().items() if "PUT" in spec.methods}


@dataclass
class ExactSandbox:
    """A running Exact Online simulator: `.asgi` to serve, `.state` for tests, `.info()` for the CLI line."""

    asgi: ASGIApp
    state: SandboxState
    faults: FaultInjector

    def info(self, base_url: str) -> dict[str, Any]:
        app = self.state.app
        return {
            "base_url": base_url,
            "client_id": app.client_id,
            "client_secret": app.client_secret.get_secret_value(),
            "redirect_uri": app.redirect_uri,
            "division": self.state.current_division,
            "webhook_secret": app.webhook_secret.get_secret_value(),
        }

    def close(self) -> None:
        self.state.webhooks.close()


def create_app(
    *,
    seed: int = 0,
    clock: Clock | None = None,
    minutely_limit: int = 60,
    daily_limit: int = 5000,
    rate_limits: bool = True,
    faults: FaultInjector | None = None,
    webhook_retry_base: float = 0.5,
) -> ExactSandbox:
    """Build a seeded sandbox. The default clock runs at real speed; /_sandbox/clock moves it on."""
    state = SandboxState(
        seed=seed,
        clock=clock or ManualClock(scale=1.0),
        app=registration(seed),
        limits=LimitSettings(enabled=rate_limits, minutely_limit=minutely_limit, daily_limit=daily_limit),
        webhook_retry_base=webhook_retry_base,
    )
    injector = faults or FaultInjector(seed=seed)
    api = RestApi(state)
    admin = _Admin(state)
    routes = [
        Route("/api/oauth2/auth", _authorize(state), methods=["GET"]),
        Route("/api/oauth2/token", _token(state), methods=["POST"]),
        Route("/api/v1/{path:path}", api.handle, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/_sandbox/info", admin.info, methods=["GET"]),
        Route("/_sandbox/stats", admin.stats, methods=["GET"]),
        Route("/_sandbox/clock", admin.clock, methods=["GET", "POST"]),
        Route("/_sandbox/rate-limits", admin.rate_limits, methods=["GET", "POST"]),
        Route("/_sandbox/maintenance", admin.maintenance, methods=["GET", "POST"]),
        Route("/_sandbox/webhooks/wait", admin.wait_for_webhooks, methods=["POST"]),
        Route("/_sandbox/ledger/{division:int}", admin.ledger, methods=["GET"]),
        Route("/_sandbox/edit/{division:int}/{entity}/{key}", admin.edit, methods=["PUT", "DELETE"]),
        Route("/_sandbox/create/{division:int}/{entity}", admin.create, methods=["POST"]),
    ]
    starlette = Starlette(routes=routes, exception_handlers={ExactError: _refused, Exception: _unexpected})
    return ExactSandbox(FaultMiddleware(starlette, injector), state, injector)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExactError)
    return exc.response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A sandbox bug answers like Exact's own failures do (exact-samples/error_generic.json)."""
    return error_response(500, GENERIC_ERROR)


def _authorize(state: SandboxState) -> Any:
    async def authorize(request: Request) -> Response:
        try:
            location = state.oauth.authorize(dict(request.query_params))
        except OAuthError as error:
            return json_response(error.result.body, error.result.status)
        return RedirectResponse(location, status_code=302)

    return authorize


def _token(state: SandboxState) -> Any:
    async def token(request: Request) -> Response:
        if "authorization" in request.headers:
            # django-exact: "exact fails/returns 401 if we send an auth header here"
            return oauth_error(
                401, "invalid_request", "Do not send an Authorization header to the token endpoint."
            )
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        result = state.oauth.token(form)
        return json_response(result.body, result.status, result.headers)

    return token


class _Admin:
    """Helpers outside Exact's API: never rate limited, never counted as API calls."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def info(self, request: Request) -> Response:
        app = self.state.app
        return json_response(
            {
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "division": self.state.current_division,
                "divisions": sorted(self.state.accessible),
                "forbidden_division": self.state.forbidden_division,
            }
        )

    async def stats(self, request: Request) -> Response:
        return json_response(self.state.stats())

    async def clock(self, request: Request) -> Response:
        clock = self.state.clock
        if request.method == "POST":
            body = await _json_body(request)
            if not isinstance(clock, ManualClock):
                return error_response(409, "This sandbox runs on a clock that cannot be moved.")
            if not isinstance(body, dict) or not isinstance(body.get("advance"), int | float):
                return error_response(400, 'Send {"advance": seconds}.')
            clock.advance(float(body["advance"]))
        return json_response({"time": clock.time()})

    async def rate_limits(self, request: Request) -> Response:
        settings = self.state.limiter.settings
        if request.method == "POST":
            body = await _json_body(request)
            known = {f.name: f.type for f in fields(LimitSettings)}
            if not isinstance(body, dict) or set(body) - set(known):
                return error_response(400, f"Unknown setting; known: {', '.join(known)}.")
            for name, value in body.items():
                setattr(settings, name, value)
        return json_response(asdict(settings))

    async def maintenance(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
                return error_response(400, 'Send {"enabled": true|false}.')
            self.state.maintenance = body["enabled"]
        return json_response({"enabled": self.state.maintenance})

    async def wait_for_webhooks(self, request: Request) -> Response:
        """Block until every queued notification is delivered (or given up), at most `timeout` seconds."""
        body = await _json_body(request) or {}
        timeout = float(body.get("timeout", 10)) if isinstance(body, dict) else 10.0
        webhooks = self.state.webhooks
        idle = await asyncio.to_thread(webhooks.wait_idle, timeout)
        return json_response({"idle": idle, **webhooks.stats})

    async def ledger(self, request: Request) -> Response:
        """Booked totals per GL account, cost center and cost unit (what a revenue journal adds up to)."""
        division = self.state.divisions.get(request.path_params["division"])
        if division is None:
            return error_response(404, "Unknown division.")
        with self.state.lock:
            lines = list(division.table("TransactionLines").values())
        return json_response(
            {"entries": len({line["EntryID"] for line in lines}), "totals": ledger_totals(lines)}
        )

    async def edit(self, request: Request) -> Response:
        """Change or delete a record as a person in Exact's web UI would (webhooks fire, Timestamp moves)."""
        division = request.path_params["division"]
        entity = _ADMIN_ENTITIES.get(str(request.path_params["entity"]).lower())
        key = str(request.path_params["key"])
        if entity is None or division not in self.state.divisions:
            return error_response(404, "Unknown division or entity.")
        self.state.seen_at(str(request.base_url))
        user = self.state.web_user
        if request.method == "DELETE":
            self.state.write(division, lambda books: books.delete(entity, key), user=user)
        else:
            body = await _json_body(request)
            self.state.write(division, lambda books: books.update(entity, key, body), user=user)
        return Response(status_code=204)

    async def create(self, request: Request) -> Response:
        """Create a record as a person in Exact's web UI would (e.g. an item the shop does not know yet)."""
        division = request.path_params["division"]
        tables = self.state.divisions[division].tables if division in self.state.divisions else {}
        entity = {name.lower(): name for name in tables}.get(str(request.path_params["entity"]).lower())
        if entity is None:
            return error_response(404, "Unknown division or entity.")
        self.state.seen_at(str(request.base_url))
        body = await _json_body(request)
        row = self.state.write(division, lambda books: books.create(entity, body), user=self.state.web_user)
        return json_response({"d": row}, 201)
