"""OAuth1 interoperability: our signer against oauthlib's verifier, oauthlib's signer against the sandbox."""

from __future__ import annotations

import string
import time

import httpx
import pytest
from oauthlib.oauth1 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_HMAC_SHA256,
    Client,
    RequestValidator,
    ResourceEndpoint,
)
from pydantic import SecretStr

from ml_connector.adobe_commerce.client import ORDERS, AdobeClient
from ml_connector.adobe_commerce.search import Filter, SearchCriteria
from ml_connector.http.oauth1 import OAuth1Signer
from tests.adobe_commerce.conftest import Running

KEYS = {
    "consumer_key": "c" * 32,
    "consumer_secret": "s" * 32,
    "access_token": "t" * 32,
    "access_token_secret": "u" * 32,
}
QUERY = (
    SearchCriteria()
    .where(Filter("updated_at", "2025-01-01 00:00:00", "gteq"))
    .order_by("updated_at")
    .page(100)
)


class Validator(RequestValidator):  # type: ignore[misc]
    enforce_ssl = False
    safe_characters = set(string.ascii_letters + string.digits)
    nonce_length = (20, 64)

    @property
    def allowed_signature_methods(self):
        return (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)

    def check_client_key(self, key):
        return True

    def check_access_token(self, token):
        return True

    def validate_client_key(self, key, request):
        return key == KEYS["consumer_key"]

    def validate_access_token(self, key, token, request):
        return token == KEYS["access_token"]

    def validate_timestamp_and_nonce(self, *args, **kwargs):
        return True

    def validate_realms(self, *args, **kwargs):
        return True

    def get_client_secret(self, key, request):
        return KEYS["consumer_secret"]

    def get_access_token_secret(self, key, token, request):
        return KEYS["access_token_secret"]

    @property
    def dummy_client(self):
        return "dummy"

    @property
    def dummy_access_token(self):
        return "dummy"


@pytest.mark.parametrize("method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_our_signature_verifies_under_oauthlib(method):
    signer = OAuth1Signer(
        KEYS["consumer_key"],
        SecretStr(KEYS["consumer_secret"]),
        token=KEYS["access_token"],
        token_secret=SecretStr(KEYS["access_token_secret"]),
        signature_method=method,
    )
    url = httpx.URL("https://shop.example.com/rest/default/V1/orders").copy_merge_params(dict(QUERY.params()))
    request = httpx.Request("GET", url)
    signer.sign(request)
    valid, _ = ResourceEndpoint(Validator()).validate_protected_resource_request(
        str(request.url), http_method="GET", headers={"Authorization": request.headers["Authorization"]}
    )
    assert valid
    tampered = str(request.url).replace("gteq", "lteq")  # the query string is part of the signature
    valid, _ = ResourceEndpoint(Validator()).validate_protected_resource_request(
        tampered, http_method="GET", headers={"Authorization": request.headers["Authorization"]}
    )
    assert not valid


def _oauthlib_get(running: Running, method: str, url: str) -> httpx.Response:
    info = running.info
    client = Client(
        info["consumer_key"],
        client_secret=info["consumer_secret"],
        resource_owner_key=info["access_token"],
        resource_owner_secret=info["access_token_secret"],
        signature_method=method,
    )
    uri, headers, _ = client.sign(url, http_method="GET")
    return httpx.get(uri, headers=headers)


@pytest.mark.parametrize("method", [SIGNATURE_HMAC_SHA256, SIGNATURE_HMAC_SHA1])
def test_sandbox_accepts_oauthlib_signatures_with_search_criteria(paas: Running, method):
    url = str(httpx.URL(f"{paas.server.base_url}/rest/default/V1/orders", params=QUERY.params()))
    response = _oauthlib_get(paas, method, url)
    assert response.status_code == 200, response.text
    assert response.json()["total_count"] == 40


def test_sandbox_rejects_replayed_nonce_and_bad_signature(paas: Running):
    info = paas.info
    client = Client(
        info["consumer_key"],
        client_secret=info["consumer_secret"],
        resource_owner_key=info["access_token"],
        resource_owner_secret=info["access_token_secret"],
        signature_method=SIGNATURE_HMAC_SHA256,
    )
    uri, headers, _ = client.sign(f"{paas.server.base_url}/rest/V1/orders/1", http_method="GET")
    assert httpx.get(uri, headers=headers).status_code == 200
    replay = httpx.get(uri, headers=headers)
    assert replay.status_code == 401
    assert replay.json() == {
        "message": "The nonce is already being used by the consumer with ID %1",
        "parameters": ["1"],
    }
    wrong = Client(
        info["consumer_key"],
        client_secret="x" * 32,
        resource_owner_key=info["access_token"],
        resource_owner_secret=info["access_token_secret"],
        signature_method=SIGNATURE_HMAC_SHA256,
    )
    uri, headers, _ = wrong.sign(f"{paas.server.base_url}/rest/V1/orders/1", http_method="GET")
    refused = httpx.get(uri, headers=headers)
    assert (refused.status_code, refused.json()["message"]) == (
        401,
        "The signature is invalid. Verify and try again.",
    )


@pytest.mark.parametrize("offset", [-3 * 3600, 3600])
def test_sandbox_rejects_stale_and_future_timestamps(paas: Running, offset):
    info = paas.info
    client = Client(
        info["consumer_key"],
        client_secret=info["consumer_secret"],
        resource_owner_key=info["access_token"],
        resource_owner_secret=info["access_token_secret"],
        signature_method=SIGNATURE_HMAC_SHA256,
        timestamp=str(int(time.time()) + offset),
    )
    uri, headers, _ = client.sign(f"{paas.server.base_url}/rest/V1/orders/1", http_method="GET")
    response = httpx.get(uri, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == "Incorrect timestamp value in the oauth_timestamp parameter"


def test_client_reads_with_sha1_option(app, paas: Running):
    from tests.adobe_commerce.conftest import store_connection

    store_connection(app, paas, signature_method="HMAC-SHA1")
    with AdobeClient.for_connection(app, "shop") as client:
        assert client.search(ORDERS, SearchCriteria().page(5)).total_count == 40
