"""Authentication as the captured WooCommerce 7.9.0 store answered it (bodies compared byte for byte)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from ml_connector.woocommerce.sandbox import WooSandbox

from .captures import CAPTURE_HOST, RO_KEY, RW_KEY, header, raw, request_url
from .conftest import API, CAPTURE_HOST_HEADER


@pytest.fixture
def captured_keys(sandbox: WooSandbox) -> None:
    """The captured store's throwaway keys, so its recorded signed requests replay unchanged."""
    sandbox.store.add_key("read_write", *RW_KEY)
    sandbox.store.add_key("read", *RO_KEY)


@pytest.fixture
def replay(served: str, captured_keys: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, headers=CAPTURE_HOST_HEADER) as c:
        yield c


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_captured_oauth1_request_is_accepted_and_echoed_into_link(replay: httpx.Client) -> None:
    response = replay.get(_path(request_url("oauth1-http-orders-page.headers.txt")))
    assert response.status_code == 200
    assert len(response.json()) == 2
    # Same Link as the real store: every oauth_* parameter echoed, the signature without its trailing "=".
    assert response.headers["link"] == header("oauth1-http-orders-page.headers.txt", "Link")


@pytest.mark.parametrize(
    "capture",
    [
        "error-oauth1-bad-signature",
        "error-oauth1-unknown-key",
        "error-oauth1-old-timestamp",
        "error-oauth1-missing-params",
    ],
)
def test_captured_oauth1_failures_get_the_real_bodies(replay: httpx.Client, capture: str) -> None:
    response = replay.get(_path(request_url(f"{capture}.headers.txt")))
    assert response.status_code == 401
    assert response.content == raw(f"{capture}.json")
    assert "www-authenticate" not in response.headers


def test_replayed_nonce_is_rejected(replay: httpx.Client) -> None:
    url = _path(request_url("error-oauth1-nonce-replay.headers.txt"))
    assert replay.get(url).status_code == 200
    second = replay.get(url)
    assert second.status_code == 401
    assert second.content == raw("error-oauth1-nonce-replay.json")


def test_oauth1_hmac_sha256_in_the_authorization_header(sandbox: WooSandbox, served: str) -> None:
    credentials = sandbox.store.read_write
    signer = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        timestamp=str(sandbox.store.now()),
        nonce="n0nce123",
    )
    url = f"{CAPTURE_HOST}{API}/orders?per_page=3&status=processing,completed"
    _, headers, _ = signer.sign(url)
    with httpx.Client(base_url=served, headers=CAPTURE_HOST_HEADER) as c:
        response = c.get(f"{API}/orders?per_page=3&status=processing,completed", headers=headers)
        assert response.status_code == 200, response.text
        assert {o["status"] for o in response.json()} <= {"processing", "completed"}
        tampered = c.get(f"{API}/orders?per_page=4&status=processing,completed", headers=headers)
        assert tampered.status_code == 401
        assert tampered.json()["message"] == "Invalid signature - provided signature does not match."


@pytest.mark.parametrize(
    ("auth", "capture"),
    [
        (RW_KEY[0], "error-wrong-secret"),
        ("ck_0000000000000000000000000000000000000000", "error-unknown-key"),
        (None, "error-no-auth"),
    ],
)
def test_basic_auth_failures_get_the_real_bodies(
    replay: httpx.Client, auth: str | None, capture: str
) -> None:
    credentials = (auth, "cs_wrong") if auth else None
    response = replay.get(f"{API}/orders", auth=credentials)
    assert response.status_code == 401
    assert response.content == raw(f"{capture}.json")


def test_query_string_credentials_work_and_win_over_basic(replay: httpx.Client) -> None:
    params = {"consumer_key": RW_KEY[0], "consumer_secret": RW_KEY[1], "per_page": "1"}
    assert replay.get(f"{API}/orders", params=params, auth=("ck_unknown", "cs_unknown")).status_code == 200
    wrong = replay.get(f"{API}/orders", params={**params, "consumer_secret": "cs_wrong"}, auth=RW_KEY)
    assert wrong.content == raw("error-wrong-secret.json")


def test_read_only_key_can_read_but_not_write(replay: httpx.Client) -> None:
    assert replay.get(f"{API}/orders", auth=RO_KEY).status_code == 200
    order_id = replay.get(f"{API}/orders", auth=RO_KEY).json()[0]["id"]
    response = replay.put(f"{API}/orders/{order_id}", json={"status": "completed"}, auth=RO_KEY)
    assert response.status_code == 401
    assert response.content == raw("error-readonly-key-write.json")


def test_write_only_key_cannot_read(sandbox: WooSandbox, replay: httpx.Client) -> None:
    key = sandbox.store.add_key("write")
    response = replay.get(f"{API}/orders", auth=(key.consumer_key, key.consumer_secret))
    assert response.status_code == 401
    assert response.json()["message"] == "The API key provided does not have read permissions."


def test_other_rest_errors_get_the_real_bodies(replay: httpx.Client) -> None:
    missing = replay.get(f"{API}/orders/99999", auth=RW_KEY)
    assert (missing.status_code, missing.content) == (404, raw("error-order-not-found.json"))
    bad_date = replay.get(f"{API}/orders", params={"modified_after": "yesterday"}, auth=RW_KEY)
    assert (bad_date.status_code, bad_date.content) == (400, raw("error-modified-after-invalid.json"))


def test_a_real_plain_http_store_ignores_basic_and_query_credentials(
    sandbox: WooSandbox, replay: httpx.Client
) -> None:
    sandbox.store.settings.basic_over_http = False
    basic = replay.get(f"{API}/orders", auth=RW_KEY)
    assert basic.content == raw("error-http-basic.json")
    query = replay.get(f"{API}/orders", params={"consumer_key": RW_KEY[0], "consumer_secret": RW_KEY[1]})
    assert query.content == raw("error-http-querystring-auth.json")


def test_a_host_that_strips_authorization_breaks_basic_but_not_query_auth(
    sandbox: WooSandbox, replay: httpx.Client
) -> None:
    sandbox.store.settings.strip_authorization = True
    assert replay.get(f"{API}/orders", auth=RW_KEY).json()["code"] == "woocommerce_rest_cannot_view"
    params = {"consumer_key": RW_KEY[0], "consumer_secret": RW_KEY[1]}
    assert replay.get(f"{API}/orders", params=params).status_code == 200


def test_anonymous_permission_errors_name_the_action(anonymous: httpx.Client) -> None:
    assert anonymous.get(f"{API}/orders/1").json()["message"] == "Sorry, you cannot view this resource."
    created = anonymous.post(f"{API}/orders", json={})
    assert (created.status_code, created.json()["code"]) == (401, "woocommerce_rest_cannot_create")
    assert anonymous.delete(f"{API}/orders/1").json()["code"] == "woocommerce_rest_cannot_delete"
    assert anonymous.get("/wp-json/").status_code == 200  # the index is public (permalink detection)
