from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ml_connector.runtime.web import create_web_app
from ml_connector.store.models import InboxMessage, LedgerEntry, LedgerState, RateBudget
from ml_connector.woocommerce.signature import sign
from tests.engine.testflow import ShopFile
from tests.runtime.conftest import make_app
from tests.runtime.world import WEBHOOK_SECRET, add_shop

BODY = b'{"id": 42, "date_modified_gmt": "2026-03-01T10:00:00", "status": "processing"}'


def woo_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-Delivery-ID": "7",
        "Content-Type": "application/json",
    }


@pytest.fixture
def web(db, secret_key, tmp_path: Path):
    app = make_app(db, tmp_path / "data", secret_key)
    add_shop(app, "shop", ShopFile(tmp_path / "shop.json").path, exact_id=0)
    stored: list[int] = []
    client = TestClient(create_web_app(app, on_stored=lambda: stored.append(1), max_body_bytes=1000))
    return app, client, stored


def inbox_count(app) -> int:
    with app.db.session() as session:
        return session.scalar(select(func.count()).select_from(InboxMessage)) or 0


def test_a_verified_delivery_is_stored_once(web):
    app, client, stored = web
    headers = {**woo_headers(BODY), "Authorization": "Basic c2VjcmV0OnNlY3JldA=="}
    first = client.post("/webhooks/woocommerce/shop", content=BODY, headers=headers)
    again = client.post("/webhooks/woocommerce/shop", content=BODY, headers=woo_headers(BODY))
    assert (first.status_code, again.status_code) == (200, 200)
    assert inbox_count(app) == 1 and stored == [1]
    with app.db.session() as session:
        message = session.scalars(select(InboxMessage)).one()
    assert message.body == BODY and message.topic == "order.updated"
    assert "authorization" not in message.headers and message.headers["x-wc-webhook-delivery-id"] == "7"
    metrics = client.get("/metrics").text
    assert 'ml_connector_webhook_deliveries_total{outcome="accepted",system="woocommerce"} 1.0' in metrics
    assert 'ml_connector_webhook_deliveries_total{outcome="duplicate",system="woocommerce"} 1.0' in metrics


def test_a_bad_signature_is_refused_and_nothing_is_stored(web):
    app, client, stored = web
    response = client.post(
        "/webhooks/woocommerce/shop", content=BODY, headers=woo_headers(BODY, "wrong-secret")
    )
    assert response.status_code == 401 and "does not match" in response.text
    assert inbox_count(app) == 0 and stored == []
    assert 'outcome="rejected",system="woocommerce"} 1.0' in client.get("/metrics").text


def test_unknown_receivers_connections_and_large_bodies(web):
    app, client, _ = web
    assert client.post("/webhooks/shopify/shop", content=BODY).status_code == 404
    assert client.post("/webhooks/woocommerce/nobody", content=BODY).status_code == 404
    assert (
        client.post("/webhooks/exact/shop", content=BODY).status_code == 404
    )  # shop is not an Exact connection
    big = b"{" + b" " * 2000 + b"}"
    assert client.post("/webhooks/woocommerce/shop", content=big, headers=woo_headers(big)).status_code == 413
    assert inbox_count(app) == 0


def test_health_and_budget_metrics(web):
    app, client, _ = web
    with app.db.session() as session:
        session.add(RateBudget(scope="exact:123", minutely_remaining=41, daily_remaining=4800))
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics").text
    assert 'ml_connector_exact_budget_remaining{division="123",window="minutely"} 41.0' in metrics
    assert 'ml_connector_exact_budget_remaining{division="123",window="daily"} 4800.0' in metrics


def test_oauth_callback_needs_code_and_state(web):
    _, client, _ = web
    assert client.get("/oauth/exact/callback").status_code == 400
    refused = client.get("/oauth/exact/callback", params={"error": "access_denied", "state": "books"})
    assert refused.status_code == 400 and "access_denied" in refused.text


def test_metrics_count_records_per_state_and_retries(web):
    app, client, _ = web
    with app.db.session() as session:
        for n, (state, attempts) in enumerate(
            [(LedgerState.SENT, 1), (LedgerState.SENT, 3), (LedgerState.DEAD, 8)]
        ):
            session.add(
                LedgerEntry(
                    source_connection_id=1,
                    source_type="order",
                    source_id=str(n),
                    target_connection_id=1,
                    target_entity="SalesInvoices",
                    external_ref=f"WC-{n}",
                    state=state,
                    attempts=attempts,
                )
            )
    metrics = client.get("/metrics").text
    assert 'ml_connector_records{connection="shop",state="sent"} 2.0' in metrics
    assert 'ml_connector_records{connection="shop",state="dead"} 1.0' in metrics
    assert 'ml_connector_record_retries{connection="shop"} 9.0' in metrics


def test_io_events_registration_challenge_is_echoed(app) -> None:
    from fastapi.testclient import TestClient

    from ml_connector.runtime.web import create_web_app
    from ml_connector.store.connections import add_connection
    from ml_connector.store.models import ConnectionKind

    with app.db.session() as session:
        add_connection(session, app.vault, name="magento", kind=ConnectionKind.ADOBE_COMMERCE, credentials={})
    client = TestClient(create_web_app(app))
    answer = client.get("/webhooks/adobe-commerce/magento", params={"challenge": "abc123"})
    assert answer.status_code == 200 and answer.json() == {"challenge": "abc123"}
    assert client.get("/webhooks/adobe-commerce/nope", params={"challenge": "x"}).status_code == 404
    assert client.get("/webhooks/adobe-commerce/magento").status_code == 400
