"""Fault injection as ASGI middleware, configured by options or over `/_sandbox/faults`.

Kinds:
- `error`: answer `status` (default 503) without calling the app (nothing is written).
- `slow`: wait `delay` seconds, then call the app normally.
- `rate_limit`: answer 429 with `Retry-After: delay` without calling the app.
- `drop`: close the connection before the app runs (nothing is written, the client sees a broken response).
- `commit_then_drop`: run the app (the write happens), then close the connection instead of answering.
- `unauthorized`: answer 401 without calling the app.

A connection is "dropped" by starting a response and then failing: the server closes the socket mid-response,
which a client sees as a protocol error, exactly like a reset after the request was sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["error", "slow", "rate_limit", "drop", "commit_then_drop", "unauthorized"]
ADMIN_PATH = "/_sandbox/faults"


class DroppedConnection(Exception):
    """Raised after a response has started, to make the server close the connection."""


@dataclass
class FaultRule:
    kind: FaultKind
    path: str = ".*"  # regular expression matched against the request path (search)
    method: str | None = None  # None: every method
    probability: float = 1.0
    count: int | None = None  # how many times it may fire; None: unlimited
    status: int = 503
    delay: float = 0.0
    fired: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path) is not None


class FaultInjector:
    """Holds the rules; thread-safe, shared by the middleware and the admin endpoint."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.matches(method, path) and self._rng.random() < rule.probability:
                    rule.fired += 1
                    return rule
        return None


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": payload})


async def _drop(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    raise DroppedConnection("sandbox fault: connection dropped")


async def _read_all(receive: Receive) -> list[Message]:
    messages = [await receive()]
    while messages[-1].get("type") == "http.request" and messages[-1].get("more_body"):
        messages.append(await receive())
    return messages


def _replay(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive


class FaultMiddleware:
    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == ADMIN_PATH:
            await self._admin(scope, receive, send)
            return
        rule = self.injector.pick(scope["method"], path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "slow":
            # Read the request first: a client that gives up during the delay must not cancel the write.
            buffered = await _read_all(receive)
            await asyncio.sleep(rule.delay)
            await self.app(scope, _replay(buffered), send)
        elif rule.kind == "error":
            await _send_json(send, rule.status, {"error": "sandbox fault: injected server error"}, [])
        elif rule.kind == "unauthorized":
            await _send_json(send, 401, {"error": "sandbox fault: unauthorized"}, [])
        elif rule.kind == "rate_limit":
            retry = str(max(1, int(rule.delay))).encode()
            await _send_json(
                send, 429, {"error": "sandbox fault: too many requests"}, [(b"retry-after", retry)]
            )
        elif rule.kind == "drop":
            await _drop(send)
        else:  # commit_then_drop: let the app do its work, swallow its answer, then drop

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            try:
                spec = json.loads(body or b"{}")
                rules = spec if isinstance(spec, list) else [spec]
                for item in rules:
                    self.injector.add(FaultRule(**item))
            except (TypeError, ValueError) as exc:
                await _send_json(send, 400, {"error": f"bad fault rule: {exc}"}, [])
                return
        elif method == "DELETE":
            self.injector.clear()
        await _send_json(send, 200, {"rules": [asdict(r) for r in self.injector.rules()]}, [])
