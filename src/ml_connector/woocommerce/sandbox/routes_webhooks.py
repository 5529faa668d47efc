"""`/webhooks`: the secret is write-only, create pings the delivery URL, delete needs force=true."""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Route

from .errors import WooError
from .models import Webhook
from .params import paging_headers
from .rest import Call, Endpoint, Pipeline, require

if TYPE_CHECKING:
    from .webhooks import WebhookDispatcher

_RESOURCES = ("coupon", "customer", "order", "product")
_EVENTS = ("created", "updated", "deleted", "restored")
_STATUSES = ("active", "paused", "disabled")
_PASSWORD_CHARS = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"


def _valid_topic(topic: str) -> bool:
    resource, _, event = topic.partition(".")
    if resource == "action":
        return bool(event)
    return resource in _RESOURCES and event in _EVENTS


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WooError(
            "woocommerce_rest_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            400,
        )


def _dispatcher(call: Call) -> WebhookDispatcher:
    dispatcher: WebhookDispatcher = call.request.app.state.dispatcher
    return dispatcher


def _webhook(call: Call, status: int = 404) -> Webhook:
    webhook = call.store.webhooks.get(int(call.path["id"]))
    if webhook is None:
        raise WooError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", status)
    return webhook


def list_webhooks(call: Call) -> Response:
    q = call.query
    page, per_page = q.page_and_size()
    status = q.choice("status", "all", ("all", *_STATUSES))
    descending = q.choice("order", "desc", ("asc", "desc")) == "desc"
    orderby = q.choice("orderby", "date", ("date", "id", "title"))
    with call.store.lock:
        rows = [w for w in call.store.webhooks.values() if status == "all" or w.status == status]
        rows.sort(
            key=lambda w: (
                (w.name, w.id) if orderby == "title" else (w.created if orderby == "date" else 0, w.id)
            ),
            reverse=descending,
        )
        offset = q.integer("offset", None, minimum=0)
        start = offset if offset is not None else (page - 1) * per_page
        body = [call.renderer.webhook(w) for w in rows[start : start + per_page]]
    headers = paging_headers(f"{call.api}/webhooks", q.pairs, page=page, per_page=per_page, total=len(rows))
    return call.reply(200, body, headers)


def get_webhook(call: Call) -> Response:
    return call.reply(200, call.renderer.webhook(_webhook(call)))


def create_webhook(call: Call) -> Response:
    body = call.body
    topic = str(require(body, "topic"))
    if not _valid_topic(topic):
        raise WooError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.", 400)
    url = str(require(body, "delivery_url"))
    _check_url(url)
    status = str(body.get("status") or "active")
    if status not in _STATUSES:
        raise WooError("rest_invalid_param", "Invalid parameter(s): status", 400)
    # Without a secret WooCommerce generates one (wp_generate_password(50, true, true)) and never shows it.
    secret = str(body.get("secret") or "".join(random.SystemRandom().choices(_PASSWORD_CHARS, k=50)))
    webhook = call.store.create_webhook(
        topic=topic, delivery_url=url, secret=secret, name=body.get("name"), status=status
    )
    if webhook.status == "active":
        _dispatcher(call).ping(
            webhook
        )  # synchronous, before answering; its result does not change the answer
    return call.reply(201, call.renderer.webhook(webhook), {"Location": f"{call.api}/webhooks/{webhook.id}"})


def update_webhook(call: Call) -> Response:
    body = call.body
    with call.store.lock:
        webhook = _webhook(call, status=400)
        if "topic" in body:
            if not _valid_topic(str(body["topic"])):
                raise WooError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is invalid.", 400)
            webhook.topic = str(body["topic"])
        if "delivery_url" in body:
            _check_url(str(body["delivery_url"]))
            webhook.delivery_url = str(body["delivery_url"])
        if "status" in body:
            if body["status"] not in _STATUSES:
                raise WooError("rest_invalid_param", "Invalid parameter(s): status", 400)
            webhook.status = str(body["status"])  # re-activating leaves failure_count alone (observed)
        if body.get("secret"):
            webhook.secret = str(body["secret"])
        if body.get("name"):
            webhook.name = str(body["name"])
        webhook.modified = call.store.now()
    _dispatcher(call).after_save(webhook)
    return call.reply(200, call.renderer.webhook(webhook))


def delete_webhook(call: Call) -> Response:
    if not call.query.boolean("force", False):
        raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
    with call.store.lock:
        webhook = _webhook(call)
        del call.store.webhooks[webhook.id]
    return call.reply(200, call.renderer.webhook(webhook))


def routes(pipeline: Pipeline) -> list[Route]:
    edit = Endpoint("edit", update_webhook, exclusive=False)
    return [
        pipeline.route(
            "/webhooks",
            {
                "GET": Endpoint("list", list_webhooks, lambda call: call.query.page_and_size() and None),
                "POST": Endpoint("create", create_webhook, exclusive=False),
            },
        ),
        pipeline.route(
            "/webhooks/{id:int}",
            {
                "GET": Endpoint("view", get_webhook),
                "PUT": edit,
                "PATCH": edit,
                "POST": edit,
                "DELETE": Endpoint("delete", delete_webhook),
            },
        ),
    ]
