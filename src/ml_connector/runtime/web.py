"""The web app: webhook receivers, the Exact OAuth callback, health and metrics.

A webhook is verified over its raw bytes by its system's `verify_webhook`, stored in the inbox
(unique per event) and answered at once; processing happens later in a worker. A bad signature is
answered 401 and nothing is stored.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Protocol

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ml_connector.app import App
from ml_connector.engine import inbox
from ml_connector.runtime.metrics import Metrics
from ml_connector.sandbox_kit.clock import Clock, SystemClock, utc_datetime
from ml_connector.secrets import redactor
from ml_connector.store.connections import NotFoundError, get_connection
from ml_connector.store.models import Connection, ConnectionKind
from ml_connector.webhooks import Reply, Verified, WebhookRejected

log = structlog.get_logger(__name__)

# URL segment -> (connection kind, module providing verify_webhook)
SYSTEMS: dict[str, tuple[ConnectionKind, str]] = {
    "woocommerce": (ConnectionKind.WOOCOMMERCE, "ml_connector.woocommerce.webhooks"),
    "exact": (ConnectionKind.EXACT, "ml_connector.exact.webhooks"),
    "adobe-commerce": (ConnectionKind.ADOBE_COMMERCE, "ml_connector.adobe_commerce.webhooks"),
}


class Verifier(Protocol):
    def __call__(
        self, app: App, conn: Connection, body: bytes, headers: Mapping[str, str]
    ) -> Verified | Reply: ...


def _verifier(module: str) -> Verifier:
    verify: Verifier = importlib.import_module(module).verify_webhook
    return verify


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _reply(reply: Reply) -> Response:
    return Response(
        reply.body, status_code=reply.status, media_type=reply.content_type, headers=reply.headers
    )


def create_web_app(
    app: App,
    *,
    on_stored: Callable[[], None] | None = None,
    max_body_bytes: int = 1024 * 1024,
    clock: Clock | None = None,
) -> FastAPI:
    """The ASGI app. `on_stored` is called after a new delivery is stored (to wake the workers)."""
    clock = clock or SystemClock()
    metrics = Metrics(app.db)
    web = FastAPI(title="ml-connector", docs_url=None, redoc_url=None, openapi_url=None)

    def store(conn: Connection, verified: Verified, body: bytes, headers: dict[str, str]) -> int | None:
        with app.db.locked_session() as session:
            return inbox.store_delivery(session, conn.id, verified, body, headers, utc_datetime(clock))

    def lookup(name: str, kind: ConnectionKind) -> Connection | None:
        with app.db.session() as session:
            try:
                conn = get_connection(session, name)
            except NotFoundError:
                return None
        return conn if conn.kind == kind else None

    @web.post("/webhooks/{system}/{connection}")
    async def receive(system: str, connection: str, request: Request) -> Response:
        if system not in SYSTEMS:
            return PlainTextResponse(f"no webhook receiver for '{system}'", status_code=404)
        kind, module = SYSTEMS[system]
        conn = await run_in_threadpool(lookup, connection, kind)
        if conn is None:
            return PlainTextResponse(f"no {system} connection named '{connection}'", status_code=404)
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            metrics.webhooks.labels(system, "rejected").inc()
            return PlainTextResponse(f"body larger than {max_body_bytes} bytes", status_code=413)
        headers = dict(request.headers)
        try:
            outcome = await run_in_threadpool(_verifier(module), app, conn, body, headers)
        except WebhookRejected as exc:
            metrics.webhooks.labels(system, "rejected").inc()
            log.warning("webhook rejected", connection=connection, reason=str(exc))
            return PlainTextResponse(str(exc), status_code=exc.status)
        if isinstance(outcome, Reply):
            metrics.webhooks.labels(system, "reply").inc()
            return _reply(outcome)
        stored = await run_in_threadpool(store, conn, outcome, body, headers)
        metrics.webhooks.labels(system, "accepted" if stored else "duplicate").inc()
        if stored and on_stored:
            on_stored()
        return _reply(outcome.reply)

    @web.get("/webhooks/adobe-commerce/{connection}")
    async def io_events_challenge(connection: str, request: Request) -> Response:
        """Adobe I/O Events registers a webhook with a GET carrying `?challenge=`: echo it."""
        challenge = request.query_params.get("challenge")
        if not challenge:
            return PlainTextResponse("expected ?challenge=", status_code=400)
        if await run_in_threadpool(lookup, connection, ConnectionKind.ADOBE_COMMERCE) is None:
            return PlainTextResponse(f"no adobe-commerce connection named '{connection}'", status_code=404)
        reply = importlib.import_module("ml_connector.adobe_commerce.webhooks").challenge_reply(challenge)
        return _reply(reply)

    @web.get("/oauth/exact/callback")
    async def exact_callback(request: Request) -> Response:
        params = request.query_params
        name, code = params.get("state"), params.get("code")
        if params.get("error"):
            detail = params.get("error_description") or params["error"]
            return PlainTextResponse(f"Exact refused the authorization: {detail}", status_code=400)
        if not name or not code:
            return PlainTextResponse("missing 'code' or 'state' (the connection name)", status_code=400)
        authorize = importlib.import_module("ml_connector.exact.authorize").authorize_with_code
        try:
            division = await run_in_threadpool(authorize, app, name, code)
        except Exception as exc:
            reason = redactor.redact(str(exc))
            log.warning("exact authorization failed", connection=name, error=reason)
            return PlainTextResponse(f"authorization of '{name}' failed: {reason}", status_code=400)
        return PlainTextResponse(
            f"connection '{name}' is authorized (division {division}); you can close this page"
        )

    @web.get("/healthz")
    async def healthz() -> Response:
        def probe() -> None:
            with app.db.session() as session:
                session.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(probe)
        except Exception as exc:
            return JSONResponse({"status": "unhealthy", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok"})

    @web.get("/metrics")
    async def metrics_endpoint() -> Response:
        payload = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return web
