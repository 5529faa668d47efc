from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from ml_connector.http import oauth1
from ml_connector.http.oauth1 import OAuth1Signer, strip_oauth_params
from ml_connector.secrets import secret
from tests.woocommerce.woo_captures import WOO_REAL

REAL_KEY = "ck_596ccb6e0a7b1eda0a08e9cdb41bc99f2bb6464b"
REAL_SECRET = "cs_5fcf3beec9a72ae1cf6987edf7fb2dcb509f2bac"


def _captured_request(name: str) -> str:
    first = (WOO_REAL / name).read_text().splitlines()[0]
    assert first.startswith("# request: GET ")
    return first.removeprefix("# request: GET ")


@pytest.mark.parametrize(
    "name", ["oauth1-http-orders-page.headers.txt", "error-oauth1-nonce-replay.headers.txt"]
)
def test_reproduces_the_signature_the_real_store_accepted(name: str) -> None:
    """Same nonce and timestamp as a captured request => the byte-identical oauth_signature."""
    captured = _captured_request(name)
    params = dict(parse_qsl(urlsplit(captured).query))
    plain = strip_oauth_params(captured)
    signer = OAuth1Signer(
        REAL_KEY,
        secret(REAL_SECRET),
        signature_method="HMAC-SHA1",
        placement="query",
        clock=lambda: float(params["oauth_timestamp"]),
        nonce=lambda: params["oauth_nonce"],
    )
    request = httpx.Request("GET", plain)
    signer.sign(request)
    assert request.url.params["oauth_signature"] == params["oauth_signature"]


def _verify_with_oauthlib(
    request: httpx.Request, client_secret: str, token_secret: str | None = None
) -> bool:
    headers = dict(request.headers)
    query = request.url.query.decode()
    everything = dict(
        oauthlib_signature.collect_parameters(uri_query=query, headers=headers, exclude_oauth_signature=False)
    )
    oauth_request = OAuthlibRequest(str(request.url), http_method=request.method, headers=headers)
    oauth_request.params = oauthlib_signature.collect_parameters(uri_query=query, headers=headers)
    oauth_request.signature = everything["oauth_signature"]
    method = everything["oauth_signature_method"]
    if method == "HMAC-SHA256":
        return bool(oauthlib_signature.verify_hmac_sha256(oauth_request, client_secret, token_secret))
    return bool(oauthlib_signature.verify_hmac_sha1(oauth_request, client_secret, token_secret))


@pytest.mark.parametrize("placement", ["query", "header"])
@pytest.mark.parametrize("method", ["HMAC-SHA256", "HMAC-SHA1"])
def test_signature_verifies_with_oauthlib(
    placement: oauth1.Placement, method: oauth1.SignatureMethod
) -> None:
    signer = OAuth1Signer(REAL_KEY, secret(REAL_SECRET), signature_method=method, placement=placement)
    request = httpx.Request(
        "GET",
        "http://127.0.0.1:8080/wp-json/wc/v3/orders",
        params={"per_page": 100, "status[0]": "any", "modified_after": "2026-11-23T12:55:15", "q": "a b+c~"},
    )
    signer.sign(request)
    assert _verify_with_oauthlib(request, REAL_SECRET)
    assert not _verify_with_oauthlib(request, REAL_SECRET + "x")
    if placement == "header":
        assert request.headers["Authorization"].startswith("OAuth ")
        assert "realm" not in request.headers["Authorization"]
        assert "oauth_signature" not in request.url.params


def test_token_three_legged_signature_verifies_with_oauthlib() -> None:
    signer = OAuth1Signer(
        "consumer", secret("consumer-secret-1"), token="tok", token_secret=secret("token-secret-1")
    )
    request = httpx.Request("POST", "https://magento.example/rest/V1/orders", json={"a": 1})
    signer.sign(request)
    assert _verify_with_oauthlib(request, "consumer-secret-1", "token-secret-1")
    assert not _verify_with_oauthlib(request, "consumer-secret-1", "other")
    assert request.content == b'{"a":1}'  # the body is left alone


def test_resigning_drops_stale_oauth_params_and_uses_a_fresh_nonce() -> None:
    signer = OAuth1Signer(REAL_KEY, secret(REAL_SECRET), placement="query")
    request = httpx.Request("GET", "http://127.0.0.1:8080/wp-json/wc/v3/orders?page=2")
    signer.sign(request)
    first_nonce = request.url.params["oauth_nonce"]
    again = httpx.Request("GET", request.url)
    signer.sign(again)
    assert again.url.params.get_list("oauth_signature") == [again.url.params["oauth_signature"]]
    assert again.url.params["oauth_nonce"] != first_nonce
    assert _verify_with_oauthlib(again, REAL_SECRET)


def test_strip_oauth_params_from_the_echoed_link() -> None:
    link = (
        "http://127.0.0.1:8080/wp-json/wc/v3/orders?per_page=2&page=2&oauth_nonce=1&oauth_timestamp=2"
        "&oauth_version=1.0&oauth_signature_method=HMAC-SHA1&oauth_consumer_key=ck&oauth_signature=RJPx"
        "&status%5B0%5D=any&dp=2&context=view"
    )
    stripped = strip_oauth_params(link)
    assert list(stripped.params.keys()) == ["per_page", "page", "status[0]", "dp", "context"]


def test_repr_hides_the_secret() -> None:
    signer = OAuth1Signer(REAL_KEY, secret(REAL_SECRET))
    assert REAL_SECRET not in repr(signer)
