from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx
import structlog

from ml_connector.http.backoff import Backoff
from ml_connector.http.errors import OutcomeUnknownError, RateLimitedError, RemoteError, TransientError
from ml_connector.http.oauth1 import OAuth1Signer
from ml_connector.secrets import secret
from ml_connector.woocommerce.auth import (
    AuthMode,
    BasicAuth,
    InsecureTransportError,
    QueryStringAuth,
    build_auth,
)
from ml_connector.woocommerce.client import InvalidRecordError, WooClient, gmt, site_url
from ml_connector.woocommerce.errors import WooAuthError, WooNotFoundError, WooRejectedError
from tests.woocommerce.fake_store import KEY, READ_KEY, READ_SECRET, SECRET, START, FakeStore, make_order
from tests.woocommerce.woo_captures import WOO_REAL, headers, load

HTTPS = "https://shop.example"
NO_WAIT = Backoff(base=0.0, cap=0.0, max_attempts=4)


def client_for(
    store: FakeStore, *, base: str = HTTPS, mode: AuthMode = "basic", key: str = KEY, sec: str = SECRET
) -> WooClient:
    return WooClient(
        base,
        build_auth(mode, key, secret(sec)),
        auth_mode=mode,
        transport=store.transport(),
        backoff=NO_WAIT,
        sleep=lambda _s: None,
    )


# -- base URL and auth ------------------------------------------------------------------------------------


def test_site_url_normalisation() -> None:
    assert site_url("https://shop.example/") == "https://shop.example"
    assert site_url("https://shop.example/wp/wp-json/wc/v3/") == "https://shop.example/wp"
    with pytest.raises(ValueError, match="http"):
        site_url("shop.example")


def test_urls_are_rest_v3_under_wp_json() -> None:
    store = FakeStore.with_orders(1)
    with client_for(store, base="https://shop.example/sub/") as client:
        assert client.url("orders/1") == "https://shop.example/sub/wp-json/wc/v3/orders/1"


def test_basic_over_plain_http_is_refused_except_loopback() -> None:
    store = FakeStore.with_orders(1)
    with client_for(store, base="http://shop.example") as client, pytest.raises(InsecureTransportError):
        client.order(1)
    with (
        client_for(store, base="http://shop.example", mode="query") as client,
        pytest.raises(InsecureTransportError),
    ):
        client.order(1)
    assert store.requests == []  # nothing left the machine
    with client_for(store, base="http://127.0.0.1:8080") as client:
        assert client.order(1).id == 1


def test_basic_and_query_string_credentials_are_sent_as_woocommerce_reads_them() -> None:
    store = FakeStore.with_orders(1)
    with client_for(store) as client:
        client.order(1)
    assert store.requests[-1].headers["authorization"].startswith("Basic ")
    with client_for(store, mode="query") as client:
        client.order(1)
    params = store.requests[-1].url.params
    assert params["consumer_key"] == KEY
    assert params["consumer_secret"] == SECRET
    assert "authorization" not in store.requests[-1].headers


def test_oauth1_mode_signs_in_the_query_with_hmac_sha256() -> None:
    auth = build_auth("oauth1", KEY, secret(SECRET))
    assert isinstance(auth, OAuth1Signer)
    assert auth.signature_method == "HMAC-SHA256"
    with respx.mock(base_url="http://shop.example") as mock:
        route = mock.get("/wp-json/wc/v3/orders/1").respond(json=load("order-with-refund.json"))
        WooClient("http://shop.example", auth, auth_mode="oauth1").order(1)
    sent = route.calls.last.request.url.params
    assert sent["oauth_signature_method"] == "HMAC-SHA256"
    assert sent["oauth_consumer_key"] == KEY
    assert "consumer_secret" not in sent


def test_reprs_hide_secrets() -> None:
    for auth in (BasicAuth(KEY, secret(SECRET)), QueryStringAuth(KEY, secret(SECRET))):
        assert SECRET not in repr(auth)


# -- errors -----------------------------------------------------------------------------------------------


def _replay(name: str, method: str = "GET") -> RemoteError:
    status, _headers = headers(f"{name}.headers.txt")
    body = (WOO_REAL / f"{name}.json").read_bytes()
    with respx.mock(base_url=HTTPS) as mock:
        mock.route(method=method, path__startswith="/wp-json/").respond(status, content=body)
        client = WooClient(
            HTTPS, build_auth("basic", KEY, secret(SECRET)), auth_mode="basic", backoff=NO_WAIT
        )
        with pytest.raises(RemoteError) as caught:
            client.send(method, "orders/18")
    return caught.value


@pytest.mark.parametrize(
    ("capture", "kind", "words"),
    [
        ("error-unknown-key", WooAuthError, "consumer key is unknown"),
        ("error-no-auth", WooAuthError, "auth_mode=query"),
        ("error-wrong-secret", WooAuthError, "consumer secret does not match"),
        ("error-oauth1-unknown-key", WooAuthError, "does not know this consumer key"),
        ("error-oauth1-bad-signature", WooAuthError, "Site Address"),
        ("error-oauth1-old-timestamp", WooAuthError, "clock"),
        ("error-oauth1-nonce-replay", WooAuthError, "fresh nonce"),
        ("error-oauth1-missing-params", WooAuthError, "OAuth parameters"),
        ("error-order-not-found", WooNotFoundError, "Invalid ID"),
        ("error-modified-after-invalid", WooRejectedError, "modified_after"),
    ],
)
def test_real_error_bodies_become_typed_errors_with_a_fix(capture: str, kind: type, words: str) -> None:
    error = _replay(capture)
    assert type(error) is kind
    assert words in str(error)
    assert error.code == load(f"{capture}.json")["code"]  # type: ignore[attr-defined]
    assert error.status == load(f"{capture}.json")["data"]["status"]


def test_read_only_key_write_is_told_apart_from_capability() -> None:
    error = _replay("error-readonly-key-write", "PUT")
    assert isinstance(error, WooAuthError)
    assert "Read/Write" in str(error)
    with respx.mock(base_url=HTTPS) as mock:
        mock.get(path__startswith="/wp-json/").respond(
            403,
            json={
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 403},
            },
        )
        with pytest.raises(WooAuthError, match="administrator or shop manager"):
            WooClient(HTTPS, build_auth("basic", KEY, secret(SECRET)), auth_mode="basic").get("orders")


def test_basic_over_plain_http_loopback_explains_the_https_rule() -> None:
    with respx.mock(base_url="http://127.0.0.1:8080") as mock:
        mock.get(path__startswith="/wp-json/").respond(
            401, content=(WOO_REAL / "error-http-basic.json").read_bytes()
        )
        client = WooClient(
            "http://127.0.0.1:8080", build_auth("basic", KEY, secret(SECRET)), auth_mode="basic"
        )
        with pytest.raises(WooAuthError, match="plain HTTP"):
            client.get("orders")


def test_a_redirect_is_not_followed_and_names_the_target() -> None:
    with respx.mock(base_url="http://127.0.0.1:8080") as mock:
        mock.get(path__startswith="/wp-json/").respond(
            301, headers={"Location": "https://shop.example/wp-json/"}
        )
        client = WooClient(
            "http://127.0.0.1:8080", build_auth("basic", KEY, secret(SECRET)), auth_mode="basic"
        )
        with pytest.raises(WooRejectedError, match=r"redirects to https://shop\.example/wp-json/"):
            client.get("orders")


def test_get_is_retried_on_429_and_5xx_then_succeeds() -> None:
    with respx.mock(base_url=HTTPS) as mock:
        route = mock.get("/wp-json/wc/v3/orders/22").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "0"}),
                httpx.ReadTimeout("slow"),
                httpx.Response(503),
                httpx.Response(200, json=load("order-with-refund.json")),
            ]
        )
        client = WooClient(
            HTTPS,
            build_auth("basic", KEY, secret(SECRET)),
            auth_mode="basic",
            backoff=NO_WAIT,
            sleep=lambda _s: None,
        )
        assert client.order(22).id == 22
    assert route.call_count == 4


def test_get_gives_up_with_typed_transient_errors() -> None:
    with respx.mock(base_url=HTTPS) as mock:
        mock.get("/wp-json/wc/v3/orders").respond(429, headers={"Retry-After": "7"})
        mock.get("/wp-json/wc/v3/customers").mock(side_effect=httpx.ReadTimeout("slow"))
        client = WooClient(
            HTTPS,
            build_auth("basic", KEY, secret(SECRET)),
            auth_mode="basic",
            backoff=NO_WAIT,
            sleep=lambda _s: None,
        )
        with pytest.raises(RateLimitedError) as limited:
            client.get("orders")
        assert limited.value.retry_after == 7
        with pytest.raises(TransientError):
            client.get("customers")


def test_writes_are_never_retried_and_unknown_outcomes_are_flagged() -> None:
    with respx.mock(base_url=HTTPS) as mock:
        server_error = mock.put("/wp-json/wc/v3/products/10").respond(
            500, json={"code": "x", "message": "boom"}
        )
        timeout = mock.put("/wp-json/wc/v3/products/11").mock(side_effect=httpx.ReadTimeout("slow"))
        refused = mock.put("/wp-json/wc/v3/products/12").mock(side_effect=httpx.ConnectError("refused"))
        client = WooClient(
            HTTPS,
            build_auth("basic", KEY, secret(SECRET)),
            auth_mode="basic",
            backoff=NO_WAIT,
            sleep=lambda _s: None,
        )
        with pytest.raises(OutcomeUnknownError):
            client.update_product(10, {"stock_quantity": 3})
        with pytest.raises(OutcomeUnknownError, match="verify"):
            client.update_product(11, {"stock_quantity": 3})
        with pytest.raises(TransientError):  # never connected: nothing was written
            client.update_product(12, {"stock_quantity": 3})
    assert (server_error.call_count, timeout.call_count, refused.call_count) == (1, 1, 1)


def test_an_unexpected_record_names_the_record_and_the_fix() -> None:
    broken = load("order-with-refund.json") | {"total": "n/a"}
    with respx.mock(base_url=HTTPS) as mock:
        mock.get("/wp-json/wc/v3/orders/22").respond(json=broken)
        client = WooClient(HTTPS, build_auth("basic", KEY, secret(SECRET)), auth_mode="basic")
        with pytest.raises(InvalidRecordError, match=r"order 22 .*total"):
            client.order(22)


# -- paging -----------------------------------------------------------------------------------------------


def _captured_page(name: str) -> httpx.Response:
    status, pairs = headers(f"{name}.headers.txt")
    kept = [
        (k, v) for k, v in pairs if k.lower() in ("link", "x-wp-total", "x-wp-totalpages", "content-type")
    ]
    return httpx.Response(status, headers=kept, content=(WOO_REAL / f"{name}.json").read_bytes())


def test_follows_the_real_link_headers_to_the_last_page() -> None:
    with respx.mock(base_url="https://127.0.0.1:8443") as mock:
        route = mock.get("/wp-json/wc/v3/orders").mock(
            side_effect=[
                _captured_page("orders-page"),
                _captured_page("orders-page-2"),
                _captured_page("orders-page-3-last"),
            ]
        )
        client = WooClient(
            "https://127.0.0.1:8443", build_auth("basic", KEY, secret(SECRET)), auth_mode="basic"
        )
        ids = [order.id for order in client.orders(per_page=2)]
    assert len(ids) == 6
    assert len(set(ids)) == 6
    assert route.call_count == 3
    assert [call.request.url.params["page"] for call in route.calls[1:]] == ["2", "3"]


def test_oauth1_link_echo_is_stripped_and_signed_again() -> None:
    signer = OAuth1Signer(KEY, secret(SECRET), placement="query")
    with respx.mock(base_url="http://127.0.0.1:8080") as mock:
        second = _captured_page("orders-page-3-last")
        route = mock.get("/wp-json/wc/v3/orders").mock(
            side_effect=[_captured_page("oauth1-http-orders-page"), second]
        )
        client = WooClient("http://127.0.0.1:8080", signer, auth_mode="oauth1")
        orders = list(client.orders(per_page=2))
    assert len(orders) == 4
    follow = route.calls[1].request.url.params
    assert follow["page"] == "2"
    assert follow.get_list("oauth_signature") == [follow["oauth_signature"]]
    assert follow["oauth_nonce"] != "158972719279553704511795438574"  # fresh, not the echoed one
    assert follow["oauth_signature_method"] == "HMAC-SHA256"


def test_query_credentials_echoed_in_link_are_not_duplicated() -> None:
    with respx.mock(base_url="https://127.0.0.1:8443") as mock:
        route = mock.get("/wp-json/wc/v3/orders").mock(
            side_effect=[_captured_page("orders-https-querystring-auth"), httpx.Response(200, json=[])]
        )
        client = WooClient(
            "https://127.0.0.1:8443", build_auth("query", KEY, secret(SECRET)), auth_mode="query"
        )
        list(client.orders(per_page=1))
    follow = route.calls[1].request.url.params
    assert follow.get_list("consumer_secret") == [SECRET]
    assert follow["page"] == "2"


def test_link_to_another_host_is_not_followed_with_credentials() -> None:
    first = httpx.Response(
        200,
        json=[make_order(1, START)],
        headers={
            "X-WP-Total": "2",
            "X-WP-TotalPages": "2",
            "Link": '<https://evil.example/wp-json/wc/v3/orders?page=2>; rel="next"',
        },
    )
    with respx.mock(base_url=HTTPS) as mock:
        route = mock.get("/wp-json/wc/v3/orders").mock(
            side_effect=[first, httpx.Response(200, json=[make_order(2, START)])]
        )
        client = WooClient(HTTPS, build_auth("basic", KEY, secret(SECRET)), auth_mode="basic")
        assert [o.id for o in client.orders(per_page=1)] == [1, 2]
    assert route.calls[1].request.url.host == "shop.example"


def test_list_parameters_are_sent_comma_separated() -> None:
    store = FakeStore.with_orders(1)
    with client_for(store) as client:
        list(client.orders(status=["processing", "completed"], include=(1, 2)))
    sent = store.requests[-1].url.params
    assert sent.get_list("status") == ["processing,completed"]
    assert sent["include"] == "1,2"


def test_thousand_orders_page_in_ten_calls_lazily() -> None:
    store = FakeStore.with_orders(1000)
    with client_for(store) as client:
        orders = client.orders()
        first = next(orders)
        assert len(store.requests) == 1  # lazy: one page fetched for the first row
        rest = list(orders)
    assert [first.id, *(o.id for o in rest)] == list(range(1, 1001))
    assert len(store.requests) == 10
    assert all(r.url.params["per_page"] == "100" for r in store.requests)
    assert all(r.url.params["orderby"] == "id" and r.url.params["order"] == "asc" for r in store.requests)


def test_a_row_vanishing_mid_scan_does_not_make_paging_skip_rows() -> None:
    store = FakeStore.with_orders(250)

    def trash_early_orders(s: FakeStore, _resource: str, page: int) -> None:
        if page == 2 and 5 in s.orders:
            del s.orders[5]  # a row we already read disappears: rows slide one place left
            del s.orders[6]

    store.on_list = trash_early_orders
    with client_for(store) as client:
        ids = [order.id for order in client.orders()]
        assert client.last_page_stats.rewinds == 1
    assert ids == list(range(1, 251))  # 5 and 6 were read before they went; none skipped, none twice


# -- incremental ------------------------------------------------------------------------------------------


def test_modified_after_overlaps_is_gmt_and_strict() -> None:
    store = FakeStore.with_orders(30)
    since = START + timedelta(minutes=20)  # order 20's modified time
    with client_for(store) as client:
        ids = [o.id for o in client.changed_orders(since, until=START + timedelta(minutes=25, seconds=1))]
    sent = store.requests[-1].url.params
    assert sent["modified_after"] == gmt(since - timedelta(seconds=1))
    assert sent["dates_are_gmt"] == "true"
    assert ids == [20, 21, 22, 23, 24, 25]  # 20 again thanks to the overlap: the caller de-duplicates


def test_naive_datetimes_are_refused_for_filters() -> None:
    with pytest.raises(ValueError, match="naive"):
        gmt(START.replace(tzinfo=None))


def test_old_woocommerce_falls_back_with_a_warning() -> None:
    store = FakeStore.with_orders(30)
    store.version = "5.7.2"
    store.orders[3]["date_modified_gmt"] = "2026-11-30T00:00:00"  # an old order changed recently
    since = START + timedelta(minutes=20)
    with client_for(store) as client, structlog.testing.capture_logs() as logs:
        assert not client.supports_modified_after()
        quick = [o.id for o in client.changed_orders(since)]
        full = [o.id for o in client.changed_orders(since, full_rescan=True)]
    assert quick == list(range(20, 31))  # `after`: new orders only
    assert full == [3, *range(20, 31)]  # the full re-scan finds the changed old order
    assert "after" in store.requests[-2].url.params
    assert "modified_after" not in store.requests[-1].url.params
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert any("older than 5.8" in entry["message"] for entry in warnings)


def test_customers_are_compared_locally() -> None:
    store = FakeStore()
    for n, customer in enumerate(load("customers.json"), start=1):
        store.customers[n] = customer | {"id": n}
    store.customers[2]["date_modified_gmt"] = "2026-12-01T10:00:00"
    with client_for(store) as client:
        changed = [c.id for c in client.changed_customers(START + timedelta(days=29))]
    assert changed == [2]
    assert "modified_after" not in store.requests[-1].url.params
    assert store.requests[-1].url.params["role"] == "all"


def test_version_from_system_status() -> None:
    store = FakeStore()
    with client_for(store) as client:
        assert client.woocommerce_version() == "7.9.0"
        assert client.supports_modified_after()


def test_read_only_key_reads() -> None:
    store = FakeStore.with_orders(3)
    with client_for(store, key=READ_KEY, sec=READ_SECRET) as client:
        assert len(list(client.orders())) == 3
        with pytest.raises(WooAuthError, match="Read/Write"):
            client.update_webhook(1, {"status": "active"})


@pytest.mark.parametrize(
    ("args", "supported"), [({"modified_after": {}, "after": {}}, True), ({"after": {}}, False)]
)
def test_version_from_the_route_index_when_system_status_is_forbidden(
    args: dict[str, object], supported: bool
) -> None:
    with respx.mock(base_url=HTTPS) as mock:
        mock.get("/wp-json/wc/v3/system_status").respond(
            403,
            json={
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 403},
            },
        )
        mock.get("/wp-json/wc/v3").respond(
            json={
                "namespace": "wc/v3",
                "routes": {"/wc/v3/orders": {"endpoints": [{"methods": ["GET"], "args": args}]}},
            }
        )
        client = WooClient(HTTPS, build_auth("basic", KEY, secret(SECRET)), auth_mode="basic")
        assert client.supports_modified_after() is supported
