"""Exact's error bodies mapped onto the shared error types, with Exact's message, endpoint and division."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from ml_connector.http.errors import (
    AuthError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    TransientError,
)

SYSTEM = "exact"


class ExactRejectedError(RejectedError):
    """Exact refused the request (4xx); `message` is Exact's own text."""

    def __init__(self, message: str, *, division: int | None, **kwargs: object) -> None:
        super().__init__(message, system=SYSTEM, **kwargs)  # type: ignore[arg-type]
        self.division = division


class WrongDivisionError(ExactRejectedError):
    """The token's user may not access this division (403 Forbidden - WrongDivision)."""


class DailyLimitReachedError(RateLimitedError):
    """The division's daily API budget is used up; nothing more can be sent before the reset."""


class ErrorBudgetExhaustedError(TransientError):
    """Sending would risk Exact's block after 10 errors per endpoint per hour."""


class NeedsReauthorizationError(AuthError):
    """The refresh token is dead; a person must authorize the connection again."""


class TokenCallRefusedError(TransientError):
    """The token endpoint may not be called now (570 s rule or the daily token-call cap)."""


def error_message(response: httpx.Response) -> str:
    """Exact's message from `{"error":{"message":{"value":..}}}` or an OAuth body, plus the Reason header."""
    text = ""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        if isinstance(error, dict):
            message = error.get("message")
            text = str(message.get("value", "")) if isinstance(message, dict) else str(message or "")
        else:
            text = str(body.get("error_description") or error)
    if not text:
        text = response.reason_phrase or f"HTTP {response.status_code}"
    reason = response.headers.get("Reason")
    if reason and reason not in text:
        text = f"{text} (Reason: {reason})"
    return text


def rejected(response: httpx.Response, endpoint: str, division: int | None) -> ExactRejectedError:
    message = error_message(response)
    cls = (
        WrongDivisionError
        if response.status_code == 403 and "WrongDivision" in message
        else ExactRejectedError
    )
    if cls is WrongDivisionError:
        message = (
            f"{message}: the authorized user cannot access division {division}; choose an accessible one "
            "(`ml-connector connections authorize NAME --division N`) or grant access in Exact"
        )
    return cls(message, division=division, endpoint=endpoint, status=response.status_code)


def outcome_unknown(endpoint: str, division: int | None, cause: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"the write to Exact division {division} may or may not have happened ({cause}); "
        "look it up by its external reference before sending it again",
        system=SYSTEM,
        endpoint=endpoint,
    )


def transient(endpoint: str, cause: str, status: int | None = None) -> TransientError:
    return TransientError(
        f"Exact is not reachable right now ({cause})", system=SYSTEM, endpoint=endpoint, status=status
    )


def daily_limit_reached(division: int, reset_ms: int, now: float) -> DailyLimitReachedError:
    resumes = datetime.fromtimestamp(reset_ms / 1000, UTC)
    return DailyLimitReachedError(
        f"daily limit reached for Exact division {division}, resumes at {resumes:%H:%M} UTC",
        system=SYSTEM,
        status=429,
        retry_after=max(0.0, reset_ms / 1000 - now),
    )
