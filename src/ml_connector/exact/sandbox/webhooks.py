"""Webhook delivery as Exact does it (exact-online.md §6).

- subscribing POSTs an empty body to the callback first; anything but 2xx fails the subscription with
  500 "Invalid: Post to callback URL endpoint returns {status} {reason}";
- each change to a subscribed topic sends `{"Content":{...},"HashCode":"..."}` where HashCode is the
  uppercase hex HMAC-SHA256 of the raw Content JSON with the app's webhook secret; creates and updates
  arrive as Action "Update", removals as "Delete";
- deliveries run on a background thread, in order, and are retried with exponential backoff on a
  non-2xx answer or a connection error (Exact: 10 tries over about 34 hours; here the delays are short
  and configurable).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from ml_connector.http.tls import tls_context

from .formats import ExactError

MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Notification:
    callback_url: str
    content: dict[str, object]


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    notification: Notification = field(compare=False)
    attempt: int = field(default=0, compare=False)


def signed_body(content: dict[str, object], secret: SecretStr) -> bytes:
    """The exact bytes Exact posts: compact Content JSON, signed over those raw bytes."""
    raw = json.dumps(content, separators=(",", ":")).encode()
    digest = hmac.new(secret.get_secret_value().encode(), raw, hashlib.sha256).hexdigest().upper()
    return b'{"Content":' + raw + b',"HashCode":"' + digest.encode() + b'"}'


async def validate_callback(url: str, timeout: float = 10.0) -> None:
    """The empty validation POST Exact sends when a subscription is created."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, content=b"")
    except httpx.HTTPError:
        raise ExactError(
            500,
            "Invalid: Post to callback URL endpoint returns 500 An error occurred while sending the request.",
        ) from None
    if not 200 <= response.status_code < 300:
        raise ExactError(
            500,
            f"Invalid: Post to callback URL endpoint returns {response.status_code} {response.reason_phrase}",
        )


class WebhookDispatcher:
    """Delivers notifications from one thread; `wait_idle()` lets tests wait for delivery."""

    def __init__(self, secret: SecretStr, retry_base: float = 0.5, timeout: float = 10.0) -> None:
        self.secret = secret
        self.retry_base = retry_base
        self.timeout = timeout
        self.stats: Counter[str] = Counter()
        self._queue: list[_Pending] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def send(self, notifications: list[Notification]) -> None:
        if not notifications:
            return
        with self._condition:
            now = time.monotonic()
            for notification in notifications:
                heapq.heappush(self._queue, _Pending(now, next(self._sequence), notification))
            self.stats["queued"] += len(notifications)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="exact-sandbox-webhooks", daemon=True)
                self._thread.start()
            self._condition.notify()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is queued or in flight (retries scheduled later count as queued)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.05))
        return True

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _next(self) -> _Pending | None:
        with self._condition:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._busy += 1
                        return heapq.heappop(self._queue)
                    self._condition.wait(wait)
                else:
                    self._condition.wait()
        return None

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, verify=tls_context()) as client:
            while (pending := self._next()) is not None:
                delivered = self._deliver(client, pending.notification)
                with self._condition:
                    self._busy -= 1
                    if delivered:
                        self.stats["delivered"] += 1
                    elif pending.attempt + 1 >= MAX_ATTEMPTS:
                        self.stats["abandoned"] += 1
                    else:
                        self.stats["retried"] += 1
                        pending.attempt += 1
                        pending.due = time.monotonic() + self.retry_base * 2 ** (pending.attempt - 1)
                        heapq.heappush(self._queue, pending)
                    self._condition.notify_all()

    def _deliver(self, client: httpx.Client, notification: Notification) -> bool:
        body = signed_body(notification.content, self.secret)
        try:
            response = client.post(
                notification.callback_url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 300
