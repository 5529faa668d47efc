"""Magento error bodies (`{"message": "...%1...", "parameters": [...]}`) as the shared error types."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from ml_connector.http.errors import (
    AuthError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    RemoteError,
    TransientError,
)
from ml_connector.http.retry import IDEMPOTENT_METHODS, retry_after_seconds

SYSTEM = "adobe_commerce"
_PLACEHOLDER = re.compile(r"%(\w+)")


class AdobeRejectedError(RejectedError):
    """Magento refused the request for good (4xx other than auth)."""


class AdobeNotFoundError(AdobeRejectedError):
    """The record does not exist (404)."""


class AdobeAuthError(AuthError):
    """Magento or Adobe IMS refused the credentials, or the integration lacks a resource permission."""


def fill_placeholders(message: str, parameters: Any) -> str:
    """Magento's own substitution: %1, %2 ... index a list; %name looks up a dict."""
    if isinstance(parameters, list):
        values = {str(i + 1): str(v) for i, v in enumerate(parameters)}
    elif isinstance(parameters, dict):
        values = {str(k): str(v) for k, v in parameters.items()}
    else:
        return message
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), message)


def magento_message(response: httpx.Response) -> str:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = fill_placeholders(body["message"], body.get("parameters"))
        details = [
            fill_placeholders(str(e.get("message", "")), e.get("parameters"))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        return "; ".join([message, *details]) if details else message
    if isinstance(body, dict) and isinstance(body.get("error_description"), str):  # Adobe IMS
        return str(body["error_description"])
    text = response.text.strip()
    return text[:300] if text else f"HTTP {response.status_code} without a body"


def error_for_response(response: httpx.Response, endpoint: str) -> RemoteError:
    """The exception for a non-2xx answer to `endpoint` (method and path)."""
    status = response.status_code
    message = magento_message(response)
    context: dict[str, Any] = {"system": SYSTEM, "endpoint": endpoint, "status": status}
    method = endpoint.split(" ", 1)[0].upper()
    if status == 401 or status == 403:
        return AdobeAuthError(message, **context)
    if status == 404:
        return AdobeNotFoundError(message, **context)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after_seconds(response), **context)
    if status >= 500:
        if method in IDEMPOTENT_METHODS:
            return TransientError(message, retry_after=retry_after_seconds(response), **context)
        return OutcomeUnknownError(
            f"{message}; the write may have happened: verify before retrying", **context
        )
    return AdobeRejectedError(message, **context)


def error_for_transport(exc: httpx.HTTPError, method: str, endpoint: str) -> RemoteError:
    """Connection problems: nothing was sent (connect) or the outcome of a write is unknown."""
    context: dict[str, Any] = {"system": SYSTEM, "endpoint": endpoint}
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or method.upper() in IDEMPOTENT_METHODS:
        return TransientError(f"Adobe Commerce did not answer ({reason})", **context)
    return OutcomeUnknownError(
        f"the connection failed after the request was sent ({reason}); verify before retrying", **context
    )
