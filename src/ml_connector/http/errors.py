"""Error types every client raises, so the engine can decide without knowing the system.

- RejectedError: the remote said no for good (validation, 4xx): do not retry until something changes.
- TransientError: nothing was done and a later try may work (5xx on a read, 429, connection refused).
- OutcomeUnknownError: a write may or may not have happened (timeout, reset, 5xx after sending).
- AuthError: credentials are wrong or expired; the connection needs the user's attention.
"""

from __future__ import annotations


class RemoteError(Exception):
    """Base of every error a foreign system caused. Carries enough context to act on."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        endpoint: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.endpoint = endpoint
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        where = f" ({self.system} {self.endpoint}" if self.endpoint else f" ({self.system}"
        status = f", HTTP {self.status})" if self.status else ")"
        return f"{self.message}{where}{status}"


class RejectedError(RemoteError):
    """A definite refusal: the request was understood and will fail again as it is."""


class TransientError(RemoteError):
    """Nothing happened remotely; the same request may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    """The remote's rate limit is exhausted; `retry_after` says how long to wait (seconds)."""


class OutcomeUnknownError(RemoteError):
    """A write was sent but its outcome is not known: verify before sending it again."""


class AuthError(RemoteError):
    """Authentication or authorization failed; the message says what the user must do."""
