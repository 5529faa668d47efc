"""Idempotent retries: GETs are retried with backoff, writes never."""

from __future__ import annotations

import random

import httpx
import pytest

from ml_connector.http.backoff import Backoff
from ml_connector.http.retry import send_idempotent


class Scripted:
    """Answers from a script: an int is a status, an exception is raised."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self) -> httpx.Response:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        headers = {"Retry-After": "7"} if step == 429 else {}
        return httpx.Response(step, headers=headers)


def test_get_is_retried_until_success_with_growing_waits() -> None:
    send = Scripted(503, httpx.ConnectError("refused"), 502, 200)
    waits: list[float] = []
    response = send_idempotent(send, "GET", Backoff(base=1, factor=2, max_attempts=5), sleep=waits.append)
    assert response.status_code == 200 and send.calls == 4
    assert [0.5 <= waits[0] <= 1, 1 <= waits[1] <= 2, 2 <= waits[2] <= 4] == [True] * 3


def test_retry_after_is_honoured() -> None:
    waits: list[float] = []
    send_idempotent(Scripted(429, 200), "GET", Backoff(), sleep=waits.append)
    assert waits == [7.0]


def test_attempts_are_bounded_and_the_last_answer_returned() -> None:
    send = Scripted(500, 500, 500)
    response = send_idempotent(send, "GET", Backoff(max_attempts=3), sleep=lambda _s: None)
    assert response.status_code == 500 and send.calls == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_writes_are_never_retried(method: str) -> None:
    send = Scripted(503)
    assert send_idempotent(send, method, Backoff(), sleep=lambda _s: None).status_code == 503
    timeout = Scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        send_idempotent(timeout, method, Backoff(), sleep=lambda _s: None)
    assert send.calls == timeout.calls == 1


def test_backoff_is_capped_and_jittered() -> None:
    backoff = Backoff(base=1, factor=10, cap=30)
    rng = random.Random(1)
    delays = {round(backoff.delay(5, rng), 3) for _ in range(20)}
    assert all(15 <= d <= 30 for d in delays) and len(delays) > 1
