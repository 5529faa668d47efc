"""Exact webhooks: verify deliveries (HashCode) and manage WebhookSubscriptions.

HashCode = uppercase hex HMAC-SHA256 over the raw bytes of the `Content` object, keyed with the app's
webhook secret (exact-online.md §6.4). The bytes are cut from the raw body, never re-serialised.
An empty POST is Exact's validation ping and is answered 200 without a check. A notification holds
only the key: the record is fetched afterwards (`fetch_notified`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.exact.connection import WEBHOOK_SECRET
from ml_connector.exact.errors import ExactRejectedError
from ml_connector.exact.models import WebhookSubscription
from ml_connector.http.errors import OutcomeUnknownError
from ml_connector.store.connections import NotFoundError, get_credential
from ml_connector.store.models import Connection
from ml_connector.webhooks import Reply, Verified, WebhookRejected

_BODY_RE = re.compile(
    rb'^\s*\{\s*"Content"\s*:\s*(\{.*\})\s*,\s*"HashCode"\s*:\s*"([0-9A-Fa-f]*)"\s*\}\s*$', re.S
)


@dataclass(frozen=True)
class Notification:
    topic: str
    action: str  # "Update" (creates too) or "Delete"
    key: str
    division: int | None
    endpoint: str | None


def signature(content: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest().upper()


def parse_delivery(body: bytes, secret: str) -> tuple[Notification, bytes]:
    """Check the HashCode over the raw `Content` bytes; return the notification and those bytes."""
    match = _BODY_RE.match(body)
    if match is None:
        raise WebhookRejected('not an Exact webhook body ({"Content":..,"HashCode":..})', status=400)
    content, hash_code = match.group(1), match.group(2).decode()
    if not hmac.compare_digest(signature(content, secret), hash_code):
        raise WebhookRejected("HashCode does not match the webhook secret")
    try:
        data = json.loads(content)
        notification = Notification(
            topic=str(data["Topic"]),
            action=str(data["Action"]),
            key=str(data["Key"]),
            division=int(data["Division"]) if data.get("Division") is not None else None,
            endpoint=data.get("ExactOnlineEndpoint"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected(f"signed Exact notification is incomplete: {exc}", status=400) from None
    return notification, content


def verify_webhook(app: App, conn: Connection, body: bytes, headers: Mapping[str, str]) -> Verified | Reply:
    if not body.strip():
        return Reply(status=200)  # Exact's validation POST when a subscription is made
    with app.db.session() as session:
        try:
            secret = get_credential(session, app.vault, conn, WEBHOOK_SECRET).get_secret_value()
        except NotFoundError:
            raise WebhookRejected(
                f"connection '{conn.name}' has no webhook secret; set it from the Exact App Center",
                status=401,
            ) from None
    notification, content = parse_delivery(body, secret)
    if conn.division is not None and notification.division not in (None, conn.division):
        raise WebhookRejected(
            f"notification for division {notification.division}, "
            f"connection '{conn.name}' is on {conn.division}",
            status=400,
        )
    # One event = topic, record, action and the signed content (which holds EventCreatedOn): retries collapse.
    digest = hashlib.sha256(content).hexdigest()[:16]
    return Verified(
        dedup_key=f"{notification.topic}:{notification.key}:{notification.action}:{digest}",
        topic=notification.topic,
        resource_id=notification.key,
    )


def fetch_notified(client: ExactClient, notification: Notification) -> dict[str, Any] | None:
    """The record a notification points at (None when it was deleted or is gone)."""
    if notification.action == "Delete":
        return None
    return client.get(notification.topic, notification.key)


# -- subscriptions --------------------


def list_subscriptions(client: ExactClient) -> list[WebhookSubscription]:
    return [WebhookSubscription.model_validate(r) for r in client.iterate("WebhookSubscriptions")]


def subscribe(client: ExactClient, topic: str, callback_url: str) -> WebhookSubscription:
    """Subscribe (Exact POSTs empty to the callback first; the app must be answering). Idempotent."""
    existing = [s for s in list_subscriptions(client) if s.Topic == topic and s.CallbackURL == callback_url]
    if existing:
        return existing[0]
    try:
        created = client.create("WebhookSubscriptions", {"CallbackURL": callback_url, "Topic": topic})
    except OutcomeUnknownError:
        # Exact answers 500 "Data already exists" for a duplicate: whether new or not, look it up.
        found = [s for s in list_subscriptions(client) if s.Topic == topic and s.CallbackURL == callback_url]
        if found:
            return found[0]
        raise
    except ExactRejectedError as exc:
        raise ExactRejectedError(
            f"Exact did not subscribe {topic}: {exc.message}. Exact first POSTs to {callback_url}; "
            "it must be reachable over HTTPS and answer 200",
            division=client.division,
            endpoint=exc.endpoint,
            status=exc.status,
        ) from exc
    return WebhookSubscription.model_validate(created)


def unsubscribe(client: ExactClient, subscription_id: str) -> None:
    client.delete("WebhookSubscriptions", subscription_id)
