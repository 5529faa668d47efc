"""Our WooCommerce webhook subscriptions: keep them in place, report their health, verify deliveries.

WooCommerce never returns a webhook's secret, so a subscription whose secret we cannot know is always
written again with ours. It disables a webhook on the 7th consecutive failed delivery, does not retry,
and re-activating does not reset the failure count (shared/woo-real/webhook-auto-disable-observation.log):
the engine polls with modified_after while any subscription is not healthy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from pydantic import SecretStr

from ml_connector.app import App
from ml_connector.store.connections import get_credential
from ml_connector.store.models import Connection
from ml_connector.webhooks import Reply, Verified, WebhookRejected
from ml_connector.woocommerce import signature
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.models import Webhook

log = structlog.get_logger(__name__)

TOPICS: tuple[str, ...] = (
    "order.created",
    "order.updated",
    "order.deleted",
    "customer.created",
    "customer.updated",
)
WEBHOOK_SECRET = "webhook_secret"
NAME_PREFIX = "ml-connector"
_PING = re.compile(rb"^webhook_id=\d+$")


class HookState(StrEnum):
    HEALTHY = "healthy"
    DISABLED = "disabled"  # auto-disabled after failed deliveries (or by hand)
    PAUSED = "paused"
    MISSING = "missing"


@dataclass(frozen=True)
class WebhookHealth:
    states: dict[str, HookState]
    webhook_ids: dict[str, int] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(state is HookState.HEALTHY for state in self.states.values())

    def describe(self) -> str:
        return ", ".join(f"{topic}: {state.value}" for topic, state in self.states.items())


@dataclass(frozen=True)
class EnsureResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # secret/URL rewritten and (re)activated
    reactivated: list[str] = field(default_factory=list)  # were disabled or paused
    removed_duplicates: list[int] = field(default_factory=list)


def _ours(hooks: list[Webhook], delivery_url: str, topics: tuple[str, ...]) -> dict[str, list[Webhook]]:
    by_topic: dict[str, list[Webhook]] = {topic: [] for topic in topics}
    for hook in hooks:
        if hook.delivery_url == delivery_url and hook.topic in by_topic:
            by_topic[hook.topic].append(hook)
    return by_topic


def _pick(candidates: list[Webhook]) -> Webhook:
    """Keep an active one if there is one, else the oldest."""
    return sorted(candidates, key=lambda hook: (hook.status != "active", hook.id))[0]


def delivery_url_for(app: App, conn: Connection) -> str | None:
    """Where the store must deliver: setting `webhook_url`, else the web app's route for this connection
    (<public_url>/webhooks/woocommerce/<connection name>, see ml_connector.runtime.web)."""
    configured = (conn.settings or {}).get("webhook_url")
    if configured:
        return str(configured)
    if app.settings.public_url:
        return f"{app.settings.public_url.rstrip('/')}/webhooks/woocommerce/{conn.name}"
    return None


def ensure_webhooks(
    client: WooClient, delivery_url: str, webhook_secret: SecretStr, topics: tuple[str, ...] = TOPICS
) -> EnsureResult:
    """Make exactly one active subscription per topic point at `delivery_url`, signed with our secret."""
    result = EnsureResult()
    existing = _ours(list(client.webhooks(status="all")), delivery_url, topics)
    secret_value = webhook_secret.get_secret_value()
    for topic, candidates in existing.items():
        fields = {"status": "active", "delivery_url": delivery_url, "secret": secret_value}
        if not candidates:
            client.create_webhook({"name": f"{NAME_PREFIX} {topic}", "topic": topic, **fields})
            result.created.append(topic)
            continue
        keep = _pick(candidates)
        for duplicate in candidates:
            if duplicate.id != keep.id:
                client.delete_webhook(duplicate.id)
                result.removed_duplicates.append(duplicate.id)
        # Always rewrite: the store cannot tell us which secret an existing subscription has.
        client.update_webhook(keep.id, fields)
        result.updated.append(topic)
        if keep.status != "active":
            result.reactivated.append(topic)
    log.info(
        "woocommerce.webhooks_ensured",
        store=client.name,
        created=result.created,
        reactivated=result.reactivated,
        removed_duplicates=result.removed_duplicates,
    )
    return result


def webhook_health(client: WooClient, delivery_url: str, topics: tuple[str, ...] = TOPICS) -> WebhookHealth:
    """healthy / disabled / paused / missing per topic, for the engine (which polls while unhealthy)."""
    existing = _ours(list(client.webhooks(status="all")), delivery_url, topics)
    states: dict[str, HookState] = {}
    ids: dict[str, int] = {}
    for topic, candidates in existing.items():
        if not candidates:
            states[topic] = HookState.MISSING
            continue
        hook = _pick(candidates)
        ids[topic] = hook.id
        states[topic] = {"active": HookState.HEALTHY, "paused": HookState.PAUSED}.get(
            hook.status, HookState.DISABLED
        )
    return WebhookHealth(states, ids)


def reactivate_disabled(client: WooClient, delivery_url: str, topics: tuple[str, ...] = TOPICS) -> list[int]:
    """Set our disabled subscriptions active again (GET /webhooks?status=disabled); returns their ids.

    WooCommerce keeps the failure count, so one more failed delivery disables a hook again.
    """
    reactivated = []
    for hook in client.webhooks(status="disabled"):
        if hook.delivery_url == delivery_url and hook.topic in topics:
            client.update_webhook(hook.id, {"status": "active"})
            reactivated.append(hook.id)
    if reactivated:
        log.warning("woocommerce.webhooks_reactivated", store=client.name, webhook_ids=reactivated)
    return reactivated


def _for_connection(app: App, conn: Connection) -> tuple[WooClient, str] | None:
    url = delivery_url_for(app, conn)
    if url is None:
        log.warning("woocommerce.no_delivery_url", connection=conn.name, fix="set public_url in the config")
        return None
    return WooClient.for_connection_row(app, conn), url


def ensure_connection_webhooks(app: App, conn: Connection) -> EnsureResult | None:
    """ensure_webhooks for a stored connection (None when no delivery URL is configured)."""
    found = _for_connection(app, conn)
    if found is None:
        return None
    client, url = found
    with client:
        return ensure_webhooks(client, url, _webhook_secret(app, conn))


def connection_webhook_health(app: App, conn: Connection) -> WebhookHealth:
    """webhook_health for a stored connection; every topic is missing when no delivery URL is configured."""
    found = _for_connection(app, conn)
    if found is None:
        return WebhookHealth(dict.fromkeys(TOPICS, HookState.MISSING))
    client, url = found
    with client:
        return webhook_health(client, url)


# -- deliveries ------------------------------------------------------------------------------------------


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _webhook_secret(app: App, conn: Connection) -> SecretStr:
    with app.db.session() as session:
        return get_credential(session, app.vault, conn, WEBHOOK_SECRET)


def dedup_key(resource: str, body: bytes, payload: Any) -> tuple[str, str | None]:
    """(key, resource id) identifying the EVENT: resource + id + date_modified_gmt + a digest of the body.

    Never the Delivery-ID: WooCommerce derives it from webhook id and the second, so it repeats. Nor the
    time alone: it has whole seconds, and a refund in the second of the previous change is a new state.
    The created and updated deliveries of one request carry the same body: one event.
    """
    if isinstance(payload, dict) and payload.get("id") is not None:
        resource_id = str(payload["id"])
        modified = payload.get("date_modified_gmt") or payload.get("date_created_gmt")
        if modified:
            return f"{resource}:{resource_id}:{modified}:{hashlib.sha256(body).hexdigest()[:16]}", resource_id
        return f"{resource}:{resource_id}:sha256:{hashlib.sha256(body).hexdigest()}", resource_id
    return f"{resource}:sha256:{hashlib.sha256(body).hexdigest()}", None


def verify_webhook(app: App, conn: Connection, body: bytes, headers: Mapping[str, str]) -> Verified | Reply:
    """Authenticate one delivery to our endpoint; answer the creation ping with exactly 200."""
    fields = _lower(headers)
    topic = fields.get("x-wc-webhook-topic")
    if topic is None and _PING.match(body.strip()):
        # The ping carries no signature and no X-WC-* headers; only a 200 clears its pending state.
        return Reply(200)
    provided = fields.get("x-wc-webhook-signature")
    if not provided:
        raise WebhookRejected("WooCommerce delivery without X-WC-Webhook-Signature", status=401)
    if not signature.verify(body, provided, _webhook_secret(app, conn)):
        raise WebhookRejected(
            f"X-WC-Webhook-Signature does not match for connection '{conn.name}': the webhook was created "
            f"with another secret (run `ml-connector webhooks ensure {conn.name}` to re-register ours)",
            status=401,
        )
    if not topic:
        raise WebhookRejected("signed WooCommerce delivery without X-WC-Webhook-Topic", status=400)
    resource = fields.get("x-wc-webhook-resource") or topic.split(".", 1)[0]
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookRejected(f"signed {topic} delivery whose body is not JSON", status=400) from None
    key, resource_id = dedup_key(resource, body, payload)
    return Verified(dedup_key=key, topic=topic, resource_id=resource_id)
