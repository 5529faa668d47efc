"""Retries for idempotent requests only. Writes are never retried here: the engine verifies first."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from ml_connector.http.backoff import Backoff

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def _certificate_error(exc: Exception) -> bool:
    """A TLS certificate the client refuses will be refused again: retrying only delays the fix."""
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def send_idempotent(
    send: Callable[[], httpx.Response],
    method: str,
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Call `send` and retry transport errors and retryable statuses when `method` is idempotent.

    The last response (or exception) is returned (or raised) as it is, for the caller to interpret.
    """
    attempt = 1
    while True:
        try:
            response = send()
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            if (
                method.upper() not in IDEMPOTENT_METHODS
                or backoff.exhausted(attempt)
                or _certificate_error(exc)
            ):
                raise
            sleep(backoff.delay(attempt))
        else:
            if (
                method.upper() not in IDEMPOTENT_METHODS
                or response.status_code not in RETRYABLE_STATUS
                or backoff.exhausted(attempt)
            ):
                return response
            response.close()
            sleep(retry_after_seconds(response) or backoff.delay(attempt))
        attempt += 1
