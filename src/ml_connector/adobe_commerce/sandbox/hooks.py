"""The sandbox's push side: Adobe Commerce Webhooks (synchronous, RSA-signed, with hard timeouts and
required/optional semantics) and an Adobe I/O Events emitter (CloudEvents envelope, two signatures)."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ml_connector.sandbox_kit.clock import Clock, utc_datetime


class KeyPair:
    """An RSA-2048 key pair like the one Commerce generates (Stores > Configuration > Adobe Services)."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self._private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._private.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class Hook:
    """One <hook> of webhooks.xml: `event` like observer.sales_order_invoice_save_after."""

    event: str
    url: str
    timeout_ms: int = 0  # hard timeout; 0 = none
    soft_timeout_ms: int = 0  # only logged
    required: bool = True
    fallback_error_message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    event: str
    url: str
    status: int | None
    outcome: str  # success | exception | failed | timeout
    duration_ms: float
    soft_timeout_exceeded: bool = False
    message: str | None = None


class HookRefused(Exception):
    """A required hook failed or answered {"op":"exception"}: Commerce aborts the action with this message."""


class WebhookEmitter:
    def __init__(self, keys: KeyPair) -> None:
        self.keys = keys
        self.hooks: list[Hook] = []
        self.deliveries: list[Delivery] = []

    def fire(self, event: str, data: dict[str, Any]) -> None:
        """Call every hook subscribed to `event` in turn; raise HookRefused when a required one says no."""
        for hook in [h for h in self.hooks if h.event == event]:
            delivery = self._call(hook, json.dumps({"eventName": event, "data": data}).encode())
            self.deliveries.append(delivery)
            if delivery.outcome != "success" and hook.required:
                raise HookRefused(
                    delivery.message
                    if delivery.outcome == "exception" and delivery.message
                    else hook.fallback_error_message or "Cannot perform the operation due to an error."
                )

    def _call(self, hook: Hook, body: bytes) -> Delivery:
        headers = {"Content-Type": "application/json", **hook.headers}
        # Commerce signs base64(body), PKCS#1 v1.5 + SHA-256, and sends the signature base64 encoded.
        headers["x-adobe-commerce-webhook-signature"] = self.keys.sign(base64.b64encode(body))
        timeout = hook.timeout_ms / 1000 if hook.timeout_ms else None
        started = time.perf_counter()
        try:
            response = httpx.post(hook.url, content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return Delivery(hook.event, hook.url, None, "timeout", _ms(started), message="hard timeout")
        except httpx.HTTPError as exc:
            return Delivery(hook.event, hook.url, None, "failed", _ms(started), message=str(exc))
        elapsed = _ms(started)
        soft = bool(hook.soft_timeout_ms) and elapsed > hook.soft_timeout_ms
        if not response.is_success:
            return Delivery(hook.event, hook.url, response.status_code, "failed", elapsed, soft)
        try:
            operations = response.json()
        except ValueError:
            return Delivery(hook.event, hook.url, response.status_code, "failed", elapsed, soft, "not JSON")
        for op in operations if isinstance(operations, list) else [operations]:
            if isinstance(op, dict) and op.get("op") == "exception":
                message = op.get("message")
                return Delivery(hook.event, hook.url, 200, "exception", elapsed, soft, message)
        return Delivery(hook.event, hook.url, response.status_code, "success", elapsed, soft)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class IoEventsEmitter:
    """Posts CloudEvents envelopes to a registered webhook URL, signed twice (key 1 and key 2)."""

    def __init__(self, clock: Clock, client_id: str) -> None:
        self.clock = clock
        self.client_id = client_id
        self.url: str | None = None
        self.sent: list[dict[str, Any]] = []

    @functools.cached_property
    def keys(self) -> tuple[KeyPair, KeyPair]:
        return KeyPair(), KeyPair()  # made on first use: RSA key generation is slow and often unneeded

    def envelope(self, event: str, value: dict[str, Any]) -> dict[str, Any]:
        event_id = str(uuid.uuid4())
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "urn:uuid:ml-connector-sandbox",
            "type": f"com.adobe.commerce.{event}",
            "datacontenttype": "application/json",
            "time": utc_datetime(self.clock).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "eventid": event_id,
            "event_id": event_id,
            "recipient_client_id": self.client_id,
            "recipientclientid": self.client_id,
            "data": {
                "key": str(uuid.uuid4()),
                "value": value,
                "source": "sandbox.Stage",
                "_metadata": {
                    "commerceEdition": "Adobe Commerce",
                    "commerceVersion": "2.4.9",
                    "eventsClientVersion": "1.12.1",
                    "storeId": "1",
                    "websiteId": "1",
                    "storeGroupId": "1",
                },
            },
        }

    def signed(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(envelope).encode()
        return body, {
            "Content-Type": "application/json",
            "x-adobe-digital-signature-1": self.keys[0].sign(body),
            "x-adobe-digital-signature-2": self.keys[1].sign(body),
            "x-adobe-public-key1-path": "/_sandbox/io-events/keys/1.pem",
            "x-adobe-public-key2-path": "/_sandbox/io-events/keys/2.pem",
        }

    def emit(self, event: str, value: dict[str, Any]) -> None:
        if not self.url:
            return
        envelope = self.envelope(event, value)
        body, headers = self.signed(envelope)
        self.sent.append(envelope)
        with contextlib.suppress(httpx.HTTPError):  # asynchronous: a failed delivery never affects the shop
            httpx.post(self.url, content=body, headers=headers, timeout=5.0)
