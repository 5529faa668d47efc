"""Client behaviour: URL building, errors with placeholders, GET retries, writes sent once, bearer hint,
IMS tokens cached in the vault and renewed on 401, ping."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from ml_connector.adobe_commerce.client import ORDERS, AdobeClient
from ml_connector.adobe_commerce.config import AdobeConfig, AdobeConfigError
from ml_connector.adobe_commerce.errors import AdobeAuthError, AdobeNotFoundError, fill_placeholders
from ml_connector.adobe_commerce.ping import run_checks
from ml_connector.adobe_commerce.search import SearchCriteria
from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import OutcomeUnknownError
from ml_connector.sandbox_kit.faults import FaultRule
from ml_connector.store.models import OAuthToken
from tests.adobe_commerce.conftest import Running, store_connection


def test_urls_for_paas_and_saas():
    paas = AdobeConfig.from_connection("p", "https://shop.example.com/", "nl", {})
    assert paas.api_root == "https://shop.example.com/rest/nl"
    saas = AdobeConfig.from_connection(
        "s",
        "https://na1.api.commerce.adobe.com",
        "nl",
        {"deployment": "saas", "tenant": "T1", "client_id": "c", "org_id": "o"},
    )
    assert saas.api_root == "https://na1.api.commerce.adobe.com/T1"
    assert saas.default_headers()["Store"] == "nl"
    with pytest.raises(AdobeConfigError, match="https"):
        AdobeConfig.from_connection("p", "http://shop.example.com", None, {})


def test_placeholders_are_filled():
    assert (
        fill_placeholders(
            "No such entity with %fieldName = %fieldValue", {"fieldName": "id", "fieldValue": 9}
        )
        == "No such entity with id = 9"
    )
    assert (
        fill_placeholders("Signature method %1 is not supported", ["RSA"])
        == "Signature method RSA is not supported"
    )


def test_errors_retries_and_writes(app, paas: Running):
    store_connection(app, paas)
    faults = paas.sandbox.faults
    with AdobeClient.for_connection(app, "shop") as client:
        slept: list[float] = []
        client._backoff, client._sleep = Backoff(base=0.01, max_attempts=4), slept.append
        with pytest.raises(AdobeNotFoundError, match="doesn't exist"):
            client.order(9999)
        faults.add(FaultRule(kind="rate_limit", path="/V1/orders$", count=1, delay=0))
        faults.add(FaultRule(kind="error", path="/V1/orders$", count=1, status=503))
        assert client.search(ORDERS, SearchCriteria().page(1)).total_count == 40  # two retries, then success
        assert slept[0] == 1.0  # the 429's Retry-After, then a backoff delay for the 503
        assert len(slept) == 2
        faults.add(FaultRule(kind="commit_then_drop", path="/invoice$", method="POST", count=1))
        open_order = paas.sandbox.store.place_order([("SIM-004", 2)])["entity_id"]
        invoices_before = len(paas.sandbox.store.invoices)
        with pytest.raises(OutcomeUnknownError):
            client.request("POST", f"/V1/order/{open_order}/invoice", json={"capture": True})
        assert len(paas.sandbox.store.invoices) == invoices_before + 1  # written once, never re-sent


def test_bearer_mode_is_refused_by_default_and_ping_explains(app, paas: Running):
    conn = store_connection(app, paas, auth_mode="bearer")
    with AdobeClient.for_connection(app, "shop") as client, pytest.raises(AdobeAuthError, match=r"2\.4\.4"):
        client.search(ORDERS, SearchCriteria().page(1))
    checks = {c.name: c for c in run_checks(app, conn)}
    assert not checks["authentication"].ok
    assert "auth_mode=oauth1" in (checks["authentication"].fix or "")
    httpx.post(f"{paas.server.base_url}/_sandbox/settings", json={"bearer_enabled": True}).raise_for_status()
    with AdobeClient.for_connection(app, "shop") as client:
        assert client.search(ORDERS, SearchCriteria().page(1)).total_count == 40


def test_ping_reports_every_check(app, paas: Running):
    conn = store_connection(app, paas)
    paas.sandbox.api.toggles.denied_resources = ("Magento_Sales::sales_creditmemo",)
    checks = {c.name: c for c in run_checks(app, conn)}
    assert checks["authentication"].ok and "HMAC-SHA256" in checks["authentication"].detail
    assert checks["store code"].ok and checks["read /V1/orders"].ok
    assert (
        not checks["read /V1/creditmemos"].ok
        and "Magento_Sales::sales_creditmemo" in checks["read /V1/creditmemos"].detail
    )
    assert checks["magento version"].detail == "Magento/2.4 (Community)"


def test_saas_ims_token_is_cached_in_the_vault_and_renewed_on_401(app, saas: Running):
    store_connection(app, saas)
    issuer = saas.sandbox.api.ims
    with AdobeClient.for_connection(app, "shop") as client:
        assert client.search(ORDERS, SearchCriteria().page(1)).total_count == 5
    with AdobeClient.for_connection(app, "shop") as client:  # a new client (process) reuses the stored token
        client.search(ORDERS, SearchCriteria().page(1))
    assert issuer.issued == 1
    with app.db.session() as session:
        row = session.scalars(select(OAuthToken)).one()
        assert row.access_token_ciphertext and row.access_token_ciphertext.startswith("v1:")
        assert row.refresh_token_ciphertext is None
    issuer.revoke_all()
    with AdobeClient.for_connection(app, "shop") as client:
        assert client.search(ORDERS, SearchCriteria().page(1)).total_count == 5
    assert issuer.issued == 2


def test_ims_token_is_renewed_at_23_hours(app):
    from ml_connector.adobe_commerce.sandbox import create_app
    from ml_connector.sandbox_kit.clock import ManualClock
    from ml_connector.sandbox_kit.serve import ThreadedServer
    from ml_connector.store.connections import get_connection

    clock = ManualClock()
    sandbox = create_app(mode="saas", orders=2, clock=clock)
    with ThreadedServer(sandbox.asgi) as server:
        store_connection(app, Running(sandbox, server))
        with app.db.session() as session:
            conn = get_connection(session, "shop")

        def read() -> int:
            with AdobeClient.for_stored(app, conn, clock=clock) as client:
                return client.search(ORDERS, SearchCriteria().page(1)).total_count

        assert read() == 2
        clock.advance(22 * 3600)
        assert read() == 2 and sandbox.api.ims.issued == 1
        clock.advance(3600 + 1)  # 23 h: renewed before the 24 h token runs out
        assert read() == 2 and sandbox.api.ims.issued == 2


def test_malformed_record_names_the_record(app, paas: Running):
    store_connection(app, paas)
    del paas.sandbox.store.orders[2]["customer_email"]
    with AdobeClient.for_connection(app, "shop") as client, pytest.raises(Exception, match="order 000000002"):
        client.order(2)


def test_ping_for_saas(app, saas: Running):
    conn = store_connection(app, saas)
    checks = {c.name: c for c in run_checks(app, conn)}
    assert all(c.ok for c in checks.values()), checks
    assert "IMS" in checks["authentication"].detail
