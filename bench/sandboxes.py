"""The Exact and WooCommerce sandboxes in processes of their own, so that a benchmark measures the connector.

Each child builds its sandbox with the options a benchmark needs (the Exact sandbox without rate limits,
which `ml-connector sandbox exact` cannot do), serves it on loopback and sends its info line back. The
Exact child also serves `/_bench/documents`: the division's sales documents, read without an API call so
that checking the outcome does not change the call counts being measured.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.exact.sandbox import create_app as create_exact
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.woocommerce.sandbox import create_app as create_woo

START_TIMEOUT = 120.0  # a large shop takes a while to generate
RATE_LIMIT = 100_000  # the minutely limit the injected 429s announce: the sandbox runs without limits


class ExactRateLimits:
    """429s as Exact sends them: with `X-RateLimit-Minutely-*` headers, the window reset a second ahead.

    The fault kit's `rate_limit` answers with Retry-After only; the Exact client (rightly, for Exact)
    then assumes the minute used up until the next clock minute. `POST /_bench/rate-limits
    {"probability": p}` sets how often an API call is refused.
    """

    def __init__(self, app: ASGIApp, seed: int) -> None:
        self.app = app
        self.probability = 0.0
        self.fired = 0
        self._random = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/api/v1/") and self._random.random() < self.probability:
            self.fired += 1
            reset = int(time.time() * 1000) + 1000
            headers = {
                "X-RateLimit-Minutely-Limit": str(RATE_LIMIT),
                "X-RateLimit-Minutely-Remaining": "0",
                "X-RateLimit-Minutely-Reset": str(reset),
            }
            await JSONResponse({"error": {"message": {"value": "Too many requests"}}}, 429, headers)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)

    async def configure(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            self.probability = float((await request.json())["probability"])
        return JSONResponse({"probability": self.probability, "fired": self.fired})


def exact_with_documents(sandbox: ExactSandbox) -> ASGIApp:
    """The sandbox's app plus `GET /_bench/documents?division=N` and `/_bench/account-codes?division=N`
    (outside its fault middleware)."""

    async def documents(request: Request) -> JSONResponse:
        division = sandbox.state.division(int(request.query_params["division"]))
        with sandbox.state.lock:
            rows = [
                {"ref": row.get("YourRef"), "type": row.get("Type"), "amount": str(row.get("AmountFC"))}
                for row in division.table("SalesInvoices").values()
            ]
        return JSONResponse(rows)

    async def account_codes(request: Request) -> JSONResponse:
        division = sandbox.state.division(int(request.query_params["division"]))
        with sandbox.state.lock:
            return JSONResponse([row.get("Code") for row in division.table("Accounts").values()])

    limits = ExactRateLimits(sandbox.asgi, seed=1)
    routes = [
        Route("/_bench/documents", documents),
        Route("/_bench/account-codes", account_codes),
        Route("/_bench/rate-limits", limits.configure, methods=["GET", "POST"]),
    ]
    return Starlette(routes=[*routes, Mount("/", app=limits)])


def _serve_exact(queue: Any, seed: int) -> None:
    sandbox = create_exact(seed=seed, rate_limits=False)
    server = ThreadedServer(exact_with_documents(sandbox)).start()
    queue.put(sandbox.info(server.base_url))
    threading.Event().wait()


def _serve_woo(queue: Any, seed: int, orders: int, customers: int | None, products: int | None) -> None:
    sandbox = create_woo(seed=seed, orders=orders, customers=customers, products=products)
    server = ThreadedServer(sandbox.asgi).start()
    queue.put(sandbox.info(server.base_url))
    threading.Event().wait()


@dataclass(frozen=True)
class ShopSize:
    orders: int
    customers: int | None = None
    products: int | None = None


@dataclass(frozen=True)
class Sandboxes:
    exact: dict[str, Any]
    woo: dict[str, Any]
    exact_pid: int
    woo_pid: int


@contextmanager
def sandbox_processes(shop: ShopSize, seed: int = 11) -> Iterator[Sandboxes]:
    """Both sandboxes in child processes (spawned: nothing of this process is shared), stopped on exit."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    children = [
        context.Process(target=_serve_exact, args=(queue, seed), name="exact-sandbox", daemon=True),
        context.Process(
            target=_serve_woo,
            args=(queue, seed, shop.orders, shop.customers, shop.products),
            name="woo-sandbox",
            daemon=True,
        ),
    ]
    for child in children:
        child.start()
    try:
        infos = [queue.get(timeout=START_TIMEOUT) for _ in children]
        exact = next(i for i in infos if "division" in i)
        woo = next(i for i in infos if "division" not in i)
        yield Sandboxes(exact, woo, children[0].pid or 0, children[1].pid or 0)
    finally:
        for child in children:
            child.terminate()
            child.join(timeout=10)


def exact_calls(exact: dict[str, Any]) -> int:
    """API calls the Exact sandbox counted for the division (OAuth and `/_sandbox` calls are not counted)."""
    stats = httpx.get(f"{exact['base_url']}/_sandbox/stats", timeout=30).json()
    calls: int = stats["divisions"][str(exact["division"])]["api_calls"]
    return calls


def exact_documents(exact: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The division's sales invoices and credit notes by YourRef."""
    response = httpx.get(
        f"{exact['base_url']}/_bench/documents", params={"division": exact["division"]}, timeout=60
    )
    response.raise_for_status()
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in response.json():
        by_ref.setdefault(str(row["ref"]), []).append(row)
    return by_ref


def exact_account_codes(exact: dict[str, Any]) -> list[str]:
    response = httpx.get(
        f"{exact['base_url']}/_bench/account-codes", params={"division": exact["division"]}, timeout=60
    )
    response.raise_for_status()
    return [str(code) for code in response.json()]
