"""Every sandbox answer the client uses matches Adobe's published 2.4.9 admin schema (strictly)."""

from __future__ import annotations

import httpx
import pytest

from ml_connector.adobe_commerce.client import AdobeClient
from tests.adobe_commerce.conftest import Running, store_connection
from tests.adobe_commerce.openapi import validate

PATHS = [
    ("/V1/orders", "/V1/orders", [("searchCriteria[pageSize]", "40")]),
    ("/V1/orders/5", "/V1/orders/{id}", None),
    ("/V1/invoices", "/V1/invoices", [("searchCriteria[pageSize]", "60")]),
    ("/V1/invoices/2", "/V1/invoices/{id}", None),
    ("/V1/creditmemos", "/V1/creditmemos", None),
    ("/V1/creditmemo/1", "/V1/creditmemo/{id}", None),
    ("/V1/customers/search", "/V1/customers/search", [("searchCriteria[pageSize]", "50")]),
    ("/V1/products", "/V1/products", None),
    ("/V1/categories/list", "/V1/categories/list", None),
    ("/V1/store/storeConfigs", "/V1/store/storeConfigs", None),
]


@pytest.mark.parametrize(("path", "pattern", "params"), PATHS)
def test_sandbox_answers_match_the_published_schema(app, paas: Running, admin_spec, path, pattern, params):
    paas.sandbox.store.refund(3, adjustment_positive=1.5, adjustment_negative=0.25)
    store_connection(app, paas)
    with AdobeClient.for_connection(app, "shop") as client:
        body = client.get(path, params)
    assert body
    validate(admin_spec, path, 200, body, path_pattern=pattern)


def test_unauthenticated_answer_is_magentos(paas: Running):
    response = httpx.get(f"{paas.server.base_url}/rest/V1/orders")
    assert response.status_code == 401
    assert response.json() == {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Sales::actions_view"},
    }
    # Not validated against the spec: it types `parameters` as a list of objects, while Magento sends the
    # named placeholders as one object (as asserted above) and positional ones as a list of strings.


ACCS_PATHS = [p for p in PATHS if p[0] != "/V1/store/storeConfigs"]


@pytest.fixture(scope="session")
def accs_spec():
    from tests.adobe_commerce.openapi import ACCS_SPEC, load

    return load(ACCS_SPEC)


@pytest.mark.parametrize(("path", "pattern", "params"), ACCS_PATHS[:6])
def test_saas_answers_match_the_accs_schema(app, saas: Running, accs_spec, path, pattern, params):
    saas.sandbox.store.refund(3, adjustment_positive=1)
    store_connection(app, saas)
    with AdobeClient.for_connection(app, "shop") as client:
        body = client.get(path, params)
    validate(accs_spec, path, 200, body, path_pattern=pattern)
