"""Commerce webhooks (RSA over base64(body)) and I/O Events (two signatures, challenge, de-dup)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ml_connector.adobe_commerce.sandbox.hooks import Hook, KeyPair
from ml_connector.adobe_commerce.webhooks import verify_webhook
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.store.models import InboxMessage
from ml_connector.webhooks import Reply, Verified, WebhookRejected
from tests.adobe_commerce.conftest import Running, store_connection


def _signed(paas: Running, payload: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    keys = paas.sandbox.webhook_keys
    return body, {"x-adobe-commerce-webhook-signature": keys.sign(base64.b64encode(body))}


def test_valid_webhook_is_acknowledged_fast_and_tampered_one_refused(app, paas: Running):
    conn = store_connection(app, paas)
    body, headers = _signed(
        paas,
        {
            "eventName": "observer.sales_order_invoice_save_after",
            "data": {"invoice": {"entity_id": 7, "order_id": 3}},
        },
    )
    calls_before = sum(paas.sandbox.api.calls.values())
    started = time.perf_counter()
    result = verify_webhook(app, conn, body, headers)
    elapsed = time.perf_counter() - started
    assert isinstance(result, Verified)
    assert elapsed < 0.1
    assert (result.topic, result.resource_id) == ("observer.sales_order_invoice_save_after", "7")
    assert json.loads(result.reply.body) == {"op": "success"}
    assert sum(paas.sandbox.api.calls.values()) == calls_before  # no work inline: the shop was not called
    with pytest.raises(WebhookRejected):
        verify_webhook(app, conn, body.replace(b"7", b"8"), headers)
    other = KeyPair()
    with pytest.raises(WebhookRejected):
        verify_webhook(
            app, conn, body, {"x-adobe-commerce-webhook-signature": other.sign(base64.b64encode(body))}
        )


def test_signature_over_raw_bytes_is_accepted_too(app, paas: Running):
    conn = store_connection(app, paas)
    body = b'{"eventName":"observer.customer_save_after","data":{"customer":{"id":4}}}'
    result = verify_webhook(
        app, conn, body, {"x-adobe-commerce-webhook-signature": paas.sandbox.webhook_keys.sign(body)}
    )
    assert isinstance(result, Verified) and result.resource_id == "4"


def test_sandbox_hook_reaches_a_receiver_that_stores_and_acks(app, paas: Running):
    conn = store_connection(app, paas)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            result = verify_webhook(app, conn, body, request.headers)
        except WebhookRejected as exc:
            return Response(str(exc), status_code=exc.status)
        assert isinstance(result, Verified)
        with app.db.session() as session:  # the web app's part: store, answer, process later
            session.add(
                InboxMessage(
                    connection_id=conn.id,
                    dedup_key=result.dedup_key,
                    topic=result.topic,
                    resource_id=result.resource_id,
                    body=body,
                )
            )
        return Response(result.reply.body, media_type=result.reply.content_type)

    with ThreadedServer(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as receiver:
        paas.sandbox.store.hooks.hooks = [
            Hook(
                "observer.sales_order_invoice_save_after",
                f"{receiver.base_url}/hook",
                timeout_ms=2000,
                soft_timeout_ms=200,
            )
        ]
        invoice = paas.sandbox.store.invoice(paas.sandbox.store.place_order([("SIM-001", 1)])["entity_id"])
    delivery = paas.sandbox.store.hooks.deliveries[-1]
    assert (delivery.outcome, delivery.status) == ("success", 200)
    with app.db.session() as session:
        stored = session.scalars(select(InboxMessage)).all()
    assert [(m.topic, m.resource_id) for m in stored] == [
        ("observer.sales_order_invoice_save_after", str(invoice["entity_id"]))
    ]


def test_required_hook_that_times_out_aborts_the_action(paas: Running):
    store = paas.sandbox.store
    store.hooks.hooks = [
        Hook(
            "plugin.magento.sales.api.order_management.place",
            "http://127.0.0.1:9/none",
            timeout_ms=200,
            fallback_error_message="Order validation is unavailable",
        )
    ]
    before = len(store.orders)
    response = httpx.post(
        f"{paas.server.base_url}/_sandbox/orders", json={"items": [{"sku": "SIM-003", "qty": 1}]}
    )
    assert (response.status_code, response.json()["message"]) == (400, "Order validation is unavailable")
    assert len(store.orders) == before


def _io_settings(paas: Running) -> dict[str, str]:
    return {
        "io_events_key_base_url": paas.server.base_url,
        "io_events_client_id": paas.sandbox.ims_project.client_id,
    }


def test_io_events_signature_dedup_and_challenge(app, paas: Running):
    conn = store_connection(app, paas, **_io_settings(paas))
    emitter = paas.sandbox.store.io_events
    envelope = emitter.envelope(
        "observer.sales_order_save_after", {"entity_id": 12, "increment_id": "000000012"}
    )
    body, headers = emitter.signed(envelope)
    first = verify_webhook(app, conn, body, headers)
    redelivered = verify_webhook(app, conn, body, headers)
    assert isinstance(first, Verified) and isinstance(redelivered, Verified)
    assert first.dedup_key == redelivered.dedup_key == f"io-event:{envelope['event_id']}"
    assert (first.topic, first.resource_id) == ("com.adobe.commerce.observer.sales_order_save_after", "12")
    with app.db.session() as session:  # the inbox's unique key turns the redelivery into a no-op
        session.add(InboxMessage(connection_id=conn.id, dedup_key=first.dedup_key, body=body))
    with pytest.raises(Exception, match=r"(?i)unique"), app.db.session() as session:
        session.add(InboxMessage(connection_id=conn.id, dedup_key=redelivered.dedup_key, body=body))
    with app.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboxMessage)) == 1
    with pytest.raises(WebhookRejected):
        verify_webhook(app, conn, body.replace(b"000000012", b"000000013"), headers)
    challenge = verify_webhook(app, conn, b'{"challenge":"abc123"}', {})
    assert isinstance(challenge, Reply) and json.loads(challenge.body) == {"challenge": "abc123"}


def test_unsigned_delivery_is_refused(app, paas: Running):
    conn = store_connection(app, paas)
    with pytest.raises(WebhookRejected, match="no Adobe signature"):
        verify_webhook(app, conn, b'{"eventName":"x"}', {})


def test_hook_answers_exception_or_fails_optionally(paas: Running):
    refuse = Starlette(
        routes=[
            Route(
                "/no",
                lambda _r: Response(b'{"op":"exception","message":"Customer is blocked"}'),
                methods=["POST"],
            ),
            Route("/down", lambda _r: Response(b"", status_code=500), methods=["POST"]),
        ]
    )
    store = paas.sandbox.store
    with ThreadedServer(refuse) as receiver:
        store.hooks.hooks = [
            Hook("observer.customer_save_after", f"{receiver.base_url}/down", required=False)
        ]
        assert (
            store.update_customer(3, lastname="Optional")["lastname"] == "Optional"
        )  # optional: only logged
        assert store.hooks.deliveries[-1].outcome == "failed"
        store.hooks.hooks = [Hook("observer.customer_save_after", f"{receiver.base_url}/no")]
        response = httpx.patch(f"{paas.server.base_url}/_sandbox/customers/3", json={"lastname": "Blocked"})
    assert (response.status_code, response.json()["message"]) == (400, "Customer is blocked")
    assert store.customers[3]["lastname"] == "Optional"


def test_sandbox_emits_signed_io_events(app, paas: Running):
    conn = store_connection(app, paas, **_io_settings(paas))
    results: list[Verified | Reply] = []

    async def receive(request: Request) -> Response:
        results.append(verify_webhook(app, conn, await request.body(), request.headers))
        return Response(b"")

    with ThreadedServer(Starlette(routes=[Route("/events", receive, methods=["POST"])])) as receiver:
        paas.sandbox.store.io_events.url = f"{receiver.base_url}/events"
        order = paas.sandbox.store.place_order([("SIM-005", 1)])
    (result,) = results
    assert isinstance(result, Verified)
    assert (result.topic, result.resource_id) == (
        "com.adobe.commerce.observer.sales_order_save_after",
        str(order["entity_id"]),
    )
