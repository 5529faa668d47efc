"""Webhook delivery like WooCommerce 7.9: queued, sent later by a worker, payload built at send time.

Mechanics reproduced from core `WC_Webhook` and the captures in `woo-real/`:
- an event queues one action per matching ACTIVE webhook; while an action for (webhook, resource) is still
  queued, further events for it collapse into it;
- the body is the resource's REST v3 JSON as it is when the worker SENDS it (PHP JSON style), `{"id": N}`
  for `deleted`; the signature is base64 HMAC-SHA256 over those exact bytes;
- `X-WC-Webhook-Delivery-ID` is `wp_hash(webhook_id . unix_seconds)`: two deliveries of one webhook in the
  same second share it;
- HTTP 200..302 is success and resets the failure count; any other answer or a transport error counts a
  failure, and a failure while the count is already above the maximum (5) disables the webhook (the 7th
  consecutive failure, count stays 6); re-activating does not reset the count; failed deliveries are not
  retried;
- the ping (`webhook_id=N`, form-encoded, no X-WC headers) is sent on creation; only 200 clears
  `pending_delivery`, and while it is pending every save of the webhook pings again (observed).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ml_connector.http.tls import tls_context
from ml_connector.woocommerce.signature import sign

from .models import Webhook
from .phpjson import php_json
from .render import Renderer
from .store import WooStore

_SKIPPED_ORDER_STATUSES = frozenset({"draft", "auto-draft", "new"})
_DELIVERY_TIMEOUT = 60.0  # MINUTE_IN_SECONDS
_PING_TIMEOUT = 5.0  # wp_safe_remote_post default


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt, kept for tests and the demo to inspect."""

    webhook_id: int
    topic: str
    resource_id: int
    delivery_id: str
    status: int  # HTTP status, 0 when the receiver could not be reached
    body: bytes
    at: float


@dataclass(frozen=True, slots=True)
class _Action:
    webhook_id: int
    resource_id: int
    due: float


def _php_decoded(value: Any) -> Any:
    """json_decode(..., true) then json_encode: empty objects come back as empty arrays."""
    if isinstance(value, dict):
        return {k: _php_decoded(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_php_decoded(v) for v in value]
    return value


class WebhookDispatcher:
    def __init__(
        self, store: WooStore, renderer: Callable[[], Renderer], client: httpx.Client | None = None
    ) -> None:
        self.store = store
        self._renderer = renderer
        self._client = client or httpx.Client(
            timeout=_DELIVERY_TIMEOUT, follow_redirects=False, verify=tls_context()
        )
        self._cond = threading.Condition()
        self._queue: deque[_Action] = deque()
        self._pending: set[tuple[int, int]] = set()
        self._busy = 0
        self._closed = False
        self._paused = False
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self.pings: deque[tuple[int, int]] = deque(maxlen=1000)  # (webhook id, HTTP status)
        self._worker = threading.Thread(target=self._run, name="woo-sandbox-webhooks", daemon=True)
        self._worker.start()
        store.subscribe(self.on_event)

    # -- events ---------------------------------------------------------------------------------------------

    def on_event(self, topic: str, resource_id: int) -> None:
        with self.store.lock:
            if topic.startswith("order.") and not topic.endswith("deleted"):
                order = self.store.get_order(resource_id)
                if order is not None and order.status in _SKIPPED_ORDER_STATUSES:
                    return
            targets = [
                w.id for w in self.store.webhooks.values() if w.topic == topic and w.status == "active"
            ]
        due = time.monotonic() + self.store.settings.webhook_delay
        with self._cond:
            for webhook_id in targets:
                if (webhook_id, resource_id) in self._pending:
                    continue  # Action Scheduler already holds this action: the events collapse
                self._pending.add((webhook_id, resource_id))
                self._queue.append(_Action(webhook_id, resource_id, due))
            self._cond.notify_all()

    def pause(self) -> None:
        """Hold queued deliveries, like a store whose WP-Cron has not run yet (events still collapse)."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery has been sent (True) or `timeout` passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join(timeout=5)
        self._client.close()

    # -- worker ---------------------------------------------------------------------------------------------

    def _next_action(self) -> _Action | None:
        with self._cond:
            while not self._closed:
                if self._queue and not self._paused:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        action = self._queue.popleft()
                        self._pending.discard((action.webhook_id, action.resource_id))
                        self._busy += 1
                        return action
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (action := self._next_action()) is not None:
            try:
                self._deliver(action)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _payload(self, webhook: Webhook, resource_id: int) -> bytes:
        if webhook.event == "deleted":
            return php_json({"id": resource_id})
        renderer = self._renderer()
        store = self.store
        data: dict[str, Any] | None = None
        if webhook.resource == "order":
            order = store.get_order(resource_id)
            data = renderer.order(order) if order else None
            missing = "woocommerce_rest_shop_order_invalid_id", "Invalid ID."
        elif webhook.resource == "customer":
            customer = store.customers.get(resource_id)
            data = renderer.customer(customer) if customer else None
            missing = "woocommerce_rest_invalid_id", "Invalid resource ID."
        elif webhook.resource == "product":
            product = store.catalog.products.get(resource_id)
            data = renderer.product(product) if product else None
            missing = "woocommerce_rest_product_invalid_id", "Invalid ID."
        else:
            coupon = store.catalog.coupons.get(resource_id)
            data = renderer.coupon(coupon) if coupon else None
            missing = "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID."
        if data is None:  # built as the webhook's user: a vanished resource yields the REST error object
            data = {"code": missing[0], "message": missing[1], "data": {"status": 404}}
        return php_json(_php_decoded(data))

    def delivery_id(self, webhook_id: int, unix_seconds: int) -> str:
        """wp_hash(webhook_id . time()) = HMAC-MD5 keyed with the site's auth salt."""
        message = f"{webhook_id}{unix_seconds}".encode()
        return hmac.new(self.store.salt.encode(), message, hashlib.md5).hexdigest()

    def _user_agent(self) -> str:
        settings = self.store.settings
        return f"WooCommerce/{settings.wc_version} Hookshot (WordPress/{settings.wp_version})"

    def _deliver(self, action: _Action) -> None:
        with self.store.lock:
            webhook = self.store.webhooks.get(action.webhook_id)
            if webhook is None:
                return  # deleted meanwhile: Action Scheduler's callback finds no webhook
            body = self._payload(webhook, action.resource_id)
            now = self.store.now()
            delivery_id = self.delivery_id(webhook.id, now)
            headers = {
                "User-Agent": self._user_agent(),
                "Referer": webhook.delivery_url,
                "Content-Type": "application/json",
                "X-WC-Webhook-Source": f"{self._renderer().home}/",
                "X-WC-Webhook-Topic": webhook.topic,
                "X-WC-Webhook-Resource": webhook.resource,
                "X-WC-Webhook-Event": webhook.event,
                "X-WC-Webhook-Signature": sign(body, webhook.secret),
                "X-WC-Webhook-ID": str(webhook.id),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            url, topic = webhook.delivery_url, webhook.topic
        try:
            status = self._client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = 0  # "failed": intval() of it is 0, a failure
        self.deliveries.append(
            Delivery(action.webhook_id, topic, action.resource_id, delivery_id, status, body, time.time())
        )
        self._record_result(action.webhook_id, status)

    def _record_result(self, webhook_id: int, status: int) -> None:
        with self.store.lock:
            webhook = self.store.webhooks.get(webhook_id)
            if webhook is None:
                return
            if 200 <= status < 303:
                webhook.failure_count = 0
            elif webhook.failure_count > self.store.settings.max_webhook_failures:
                webhook.status = "disabled"
            else:
                webhook.failure_count += 1
        self.after_save(webhook)

    # -- ping -----------------------------------------------------------------------------------------------

    def after_save(self, webhook: Webhook) -> None:
        """WooCommerce pings again on every save while the first ping has not been answered with 200."""
        if webhook.pending_delivery:
            self.ping(webhook)

    def ping(self, webhook: Webhook) -> int:
        try:
            status = self._client.post(
                webhook.delivery_url,
                content=f"webhook_id={webhook.id}".encode(),
                headers={
                    "User-Agent": self._user_agent(),
                    "Referer": webhook.delivery_url,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=_PING_TIMEOUT,
            ).status_code
        except httpx.HTTPError:
            status = 0
        with self.store.lock:
            webhook.pending_delivery = status != 200
        self.pings.append((webhook.id, status))
        return status
