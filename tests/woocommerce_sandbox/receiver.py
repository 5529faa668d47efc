"""A webhook receiver for tests: records every request raw and answers with a status the test chooses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.types import Receive, Scope, Send

from ml_connector.sandbox_kit.serve import ThreadedServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self.lock:
            self.requests.append(Received(scope["path"], headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def deliveries(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if "x-wc-webhook-topic" in r.headers]

    def pings(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if "x-wc-webhook-topic" not in r.headers]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with ThreadedServer(receiver) as server:
        receiver.base_url = server.base_url
        yield receiver
