"""Receiver side of Adobe Commerce's two push channels. Verification only: the web app stores the delivery in
the inbox and answers; the engine re-reads the record over REST later (polling stays the safety net).

- Adobe Commerce Webhooks (synchronous, Commerce waits for the answer up to the hook's timeout):
  `x-adobe-commerce-webhook-signature` = base64 RSA-SHA256 (PKCS#1 v1.5) with the merchant's key pair.
  Adobe's examples verify over base64(raw body); the module's source is not public, so the raw bytes are
  tried as well and the variant that matched is logged. Answer: `{"op":"success"}`.
- Adobe I/O Events (asynchronous, at-least-once): CloudEvents envelope, RSA-SHA256 signatures over the raw
  body in `x-adobe-digital-signature-1` / `-2` (either may verify), public keys published by Adobe at the
  relative paths in `x-adobe-public-key1-path` / `-2-path`. De-duplicated on `event_id`; a registration
  challenge is echoed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ml_connector.app import App
from ml_connector.store.models import Connection
from ml_connector.webhooks import Reply, Verified, WebhookRejected

COMMERCE_SIGNATURE = "x-adobe-commerce-webhook-signature"
IO_SIGNATURES = ("x-adobe-digital-signature-1", "x-adobe-digital-signature-2")
IO_KEY_PATHS = ("x-adobe-public-key1-path", "x-adobe-public-key2-path")
IO_KEY_BASE_URL = "https://static.adobeioevents.com"
SUCCESS = Reply(200, b'{"op":"success"}', "application/json")

log = structlog.get_logger(__name__)


def exception_reply(message: str) -> Reply:
    """What a synchronous hook answers when the connector must refuse the action in Commerce."""
    return Reply(200, json.dumps({"op": "exception", "message": message}).encode(), "application/json")


def challenge_reply(challenge: str) -> Reply:
    """I/O Events registration: echo the challenge (also for a GET `?challenge=` the web app receives)."""
    return Reply(200, json.dumps({"challenge": challenge}).encode(), "application/json")


def verify_webhook(app: App, conn: Connection, body: bytes, headers: Mapping[str, str]) -> Verified | Reply:
    lowered = {k.lower(): v for k, v in headers.items()}
    settings = dict(conn.settings or {})
    if COMMERCE_SIGNATURE in lowered:
        return _verify_commerce_webhook(conn, settings, body, lowered[COMMERCE_SIGNATURE])
    payload = _json(body)
    if any(name in lowered for name in IO_SIGNATURES):
        return _verify_io_event(conn, settings, body, payload, lowered)
    if isinstance(payload.get("challenge"), str) and "event_id" not in payload:
        return challenge_reply(payload["challenge"])
    raise WebhookRejected(
        f"delivery for connection '{conn.name}' carries no Adobe signature header "
        f"({COMMERCE_SIGNATURE} or {IO_SIGNATURES[0]}); enable webhook signing in Commerce"
    )


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookRejected("the delivery body is not JSON", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("the delivery body is not a JSON object", status=400)
    return payload


def _public_key(pem: str, what: str) -> rsa.RSAPublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise WebhookRejected(
            f"{what} is not a PEM public key; paste the key Commerce shows", status=500
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected(f"{what} is not an RSA key", status=500)
    return key


def _rsa_sha256_ok(key: rsa.RSAPublicKey, signature_b64: str, data: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _verify_commerce_webhook(
    conn: Connection, settings: dict[str, Any], body: bytes, signature: str
) -> Verified:
    pem = settings.get("webhook_public_key_pem")
    if not pem:
        raise WebhookRejected(
            f"connection '{conn.name}' has no webhook_public_key_pem setting; copy the public key from "
            "Stores > Configuration > Adobe Services > Webhooks"
        )
    key = _public_key(pem, f"webhook_public_key_pem of connection '{conn.name}'")
    if _rsa_sha256_ok(key, signature, base64.b64encode(body)):
        signed = "base64(body)"
    elif _rsa_sha256_ok(key, signature, body):
        signed = "raw body"
    else:
        raise WebhookRejected(
            f"webhook signature does not verify with the public key of connection '{conn.name}'"
        )
    payload = _json(body)
    topic = payload.get("eventName") if isinstance(payload.get("eventName"), str) else None
    log.info("adobe webhook verified", connection=conn.name, topic=topic, signed_over=signed)
    # Commerce sends no delivery id: the body itself identifies the event.
    return Verified(
        dedup_key=f"commerce-webhook:{hashlib.sha256(body).hexdigest()}",
        topic=topic,
        resource_id=_resource_id(payload.get("data", payload)),
        reply=SUCCESS,
    )


def _verify_io_event(
    conn: Connection, settings: dict[str, Any], body: bytes, payload: dict[str, Any], headers: dict[str, str]
) -> Verified:
    keys = _io_event_keys(settings, headers)
    if not any(
        _rsa_sha256_ok(key, headers[name], body) for name in IO_SIGNATURES if name in headers for key in keys
    ):
        raise WebhookRejected(f"I/O Events signature does not verify for connection '{conn.name}'")
    expected_client = settings.get("io_events_client_id") or settings.get("client_id")
    recipient = payload.get("recipient_client_id")
    if expected_client and recipient != expected_client:
        raise WebhookRejected(
            f"I/O event is addressed to client {recipient!r}, "
            f"not to connection '{conn.name}' ({expected_client})",
            status=403,
        )
    event_id = payload.get("event_id") or payload.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookRejected("I/O event without event_id", status=400)
    data = payload.get("data")
    value = data.get("value") if isinstance(data, dict) else None
    return Verified(
        dedup_key=f"io-event:{event_id}",
        topic=payload.get("type") if isinstance(payload.get("type"), str) else None,
        resource_id=_resource_id(value) if isinstance(value, dict) else None,
        reply=Reply(200),
    )


def _io_event_keys(settings: dict[str, Any], headers: dict[str, str]) -> list[rsa.RSAPublicKey]:
    """Configured keys first (tests, air-gapped set-ups), else Adobe's published keys by header path."""
    configured = settings.get("io_events_public_key_pem")
    if configured:
        return [_public_key(configured, "io_events_public_key_pem")]
    base = str(settings.get("io_events_key_base_url") or IO_KEY_BASE_URL).rstrip("/")
    keys = []
    for name in IO_KEY_PATHS:
        path = headers.get(name)
        # Only a relative path on the configured host: never let a sender choose where we fetch from.
        if path and path.startswith("/") and not path.startswith("//") and ".." not in path:
            keys.append(_public_key(_published_key(f"{base}{path}"), f"I/O Events key {path}"))
    if not keys:
        raise WebhookRejected("I/O event without x-adobe-public-key1-path / -2-path headers")
    return keys


_key_cache: dict[str, str] = {}
_key_lock = threading.Lock()


def _published_key(url: str) -> str:
    with _key_lock:
        if url in _key_cache:
            return _key_cache[url]
    try:
        response = httpx.get(url, timeout=5.0)
    except httpx.HTTPError as exc:
        raise WebhookRejected(f"cannot fetch the I/O Events public key {url}: {exc}", status=503) from None
    if response.status_code != 200:
        raise WebhookRejected(f"I/O Events public key {url} answered HTTP {response.status_code}", status=503)
    with _key_lock:
        _key_cache[url] = response.text
    return response.text


def _resource_id(data: Any) -> str | None:
    """The id of the first entity in a payload: {"order": {"entity_id": 7}} -> "7"."""
    if not isinstance(data, dict):
        return None
    for field in ("entity_id", "increment_id", "id", "sku"):
        if isinstance(data.get(field), str | int):
            return str(data[field])
    for value in data.values():
        if isinstance(value, dict):
            found = _resource_id(value)
            if found:
                return found
    return None
