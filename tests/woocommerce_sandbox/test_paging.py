"""Paging headers, list filters and strict modified_after, including the official wc-api-python client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.woocommerce.sandbox import WooSandbox, create_app
from woocommerce import API as WooApi

from .conftest import API


@pytest.fixture
def big_store() -> Iterator[tuple[WooSandbox, str]]:
    # wc-api-python stamps OAuth1 requests with the real time, so this store runs on the real time too.
    woo = create_app(seed=3, orders=1000, clock=ManualClock())
    with ThreadedServer(woo.asgi) as server:
        woo.info(server.base_url)
        yield woo, server.base_url
    woo.close()


def test_the_official_client_pages_1000_orders_in_10_calls(big_store: tuple[WooSandbox, str]) -> None:
    woo, base_url = big_store
    credentials = woo.store.read_write
    # Plain-HTTP URL: wc-api-python signs every request with OAuth 1.0a HMAC-SHA256 in the query string.
    api = WooApi(
        url=base_url,
        consumer_key=credentials.consumer_key,
        consumer_secret=credentials.consumer_secret,
        version="wc/v3",
        timeout=30,
    )
    seen: list[int] = []
    calls = 0
    page = 1
    while True:
        response = api.get("orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"})
        calls += 1
        assert response.status_code == 200, response.text
        seen.extend(order["id"] for order in response.json())
        if page >= int(response.headers["X-WP-TotalPages"]):
            break
        page += 1
    assert calls == 10
    assert response.headers["X-WP-Total"] == "1000"
    assert len(seen) == len(set(seen)) == 1000
    assert seen == sorted(seen)


def test_link_header_has_only_prev_and_next(client: httpx.Client) -> None:
    first = client.get(f"{API}/orders", params={"per_page": 15, "page": 1})
    assert first.headers["x-wp-total"] == "40" and first.headers["x-wp-totalpages"] == "3"
    assert first.headers["link"].endswith('rel="next"') and 'rel="prev"' not in first.headers["link"]
    assert "page=2&status%5B0%5D=any&dp=2&context=view" in first.headers["link"]
    middle = client.get(f"{API}/orders", params={"per_page": 15, "page": 2}).headers["link"]
    assert middle.count("rel=") == 2 and 'rel="first"' not in middle and 'rel="last"' not in middle
    beyond = client.get(f"{API}/orders", params={"per_page": 15, "page": 9})
    assert beyond.status_code == 200 and beyond.content == b"[]"
    # as captured: prev points at the last page and lacks dp/context (no item was prepared)
    assert beyond.headers["link"].endswith('orders?per_page=15&page=3&status%5B0%5D=any>; rel="prev"')


def test_default_order_is_newest_first_and_per_page_is_capped(client: httpx.Client) -> None:
    orders = client.get(f"{API}/orders").json()
    assert len(orders) == 10
    created = [o["date_created_gmt"] for o in orders]
    assert created == sorted(created, reverse=True)
    assert client.get(f"{API}/orders", params={"per_page": 101}).json()["code"] == "rest_invalid_param"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_modified_after_is_strict(sandbox: WooSandbox, clock: ManualClock, client: httpx.Client) -> None:
    clock.advance(3600)
    order_id = client.get(f"{API}/orders", params={"orderby": "id", "order": "asc"}).json()[0]["id"]
    changed_at = sandbox.store.now()
    sandbox.store.update_order(order_id, customer_note="changed")

    def ids(cutoff: float, **extra: str) -> list[int]:
        params = {"modified_after": _iso(cutoff), "dates_are_gmt": "true", **extra}
        return [o["id"] for o in client.get(f"{API}/orders", params=params).json()]

    assert ids(changed_at) == []  # strictly after: an order modified AT the cutoff is not returned
    assert ids(changed_at - 1) == [order_id]
    with_z = client.get(f"{API}/orders", params={"modified_after": _iso(changed_at - 1) + "Z"}).json()
    assert [o["id"] for o in with_z] == [order_id]
    # A bare timestamp without dates_are_gmt is store-local time (Europe/Amsterdam, UTC+1 in November):
    # the local wall-clock time of changed_at - 1 finds the order; read as UTC it would be an hour later.
    local_wall_clock = _iso(changed_at - 1 + 3600)
    naive = client.get(f"{API}/orders", params={"modified_after": local_wall_clock}).json()
    assert [o["id"] for o in naive] == [order_id]
    assert ids(changed_at - 1 + 3600) == []


def test_stores_before_5_8_ignore_modified_after(sandbox: WooSandbox, client: httpx.Client) -> None:
    sandbox.store.settings.wc_version = "5.7.1"
    assert client.get(f"{API}/system_status").json()["environment"]["version"] == "5.7.1"
    far_future = {"modified_after": "2099-01-01T00:00:00", "dates_are_gmt": "true"}
    assert client.get(f"{API}/orders", params=far_future).headers["x-wp-total"] == "40"
    sandbox.store.settings.wc_version = "7.9.0"
    assert client.get(f"{API}/orders", params=far_future).headers["x-wp-total"] == "0"


def test_list_filters(sandbox: WooSandbox, client: httpx.Client) -> None:
    processing = client.get(f"{API}/orders", params={"status": "processing", "per_page": 100}).json()
    assert processing and {o["status"] for o in processing} == {"processing"}
    both = client.get(
        f"{API}/orders", params=[("status[]", "processing"), ("status[]", "completed"), ("per_page", "100")]
    ).json()
    assert {o["status"] for o in both} == {"processing", "completed"}
    customer = next(o["customer_id"] for o in both if o["customer_id"])
    mine = client.get(f"{API}/orders", params={"customer": customer}).json()
    assert mine and {o["customer_id"] for o in mine} == {customer}
    guests = client.get(f"{API}/orders", params={"customer": 0, "per_page": 100}).json()
    assert guests and {o["customer_id"] for o in guests} == {0}
    picked = [both[0]["id"], both[1]["id"]]
    included = client.get(f"{API}/orders", params={"include": ",".join(map(str, picked))}).json()
    assert sorted(o["id"] for o in included) == sorted(picked)
    email = next(iter(sandbox.store.customers.values())).email
    found = client.get(f"{API}/customers", params={"email": email}).json()
    assert [c["email"] for c in found] == [email]
    # customers have no modified filter: WordPress ignores the unknown parameter
    everyone = client.get(
        f"{API}/customers", params={"modified_after": "2099-01-01T00:00:00", "per_page": 100}
    )
    assert everyone.headers["x-wp-total"] == str(len(sandbox.store.customers))
    assert client.get(f"{API}/products", params={"sku": "RW-TEA-250"}).json()[0]["sku"] == "RW-TEA-250"


def test_trash_and_delete(sandbox: WooSandbox, client: httpx.Client) -> None:
    order_id = client.get(f"{API}/orders").json()[0]["id"]
    assert client.delete(f"{API}/orders/{order_id}").json()["status"] == "trash"
    assert order_id not in [o["id"] for o in client.get(f"{API}/orders", params={"per_page": 100}).json()]
    assert [o["id"] for o in client.get(f"{API}/orders", params={"status": "trash"}).json()] == [order_id]
    again = client.delete(f"{API}/orders/{order_id}")
    assert (again.status_code, again.json()["code"]) == (410, "woocommerce_rest_already_trashed")
    assert client.delete(f"{API}/orders/{order_id}", params={"force": "true"}).status_code == 200
    assert client.get(f"{API}/orders/{order_id}").status_code == 404


def test_head_answers_like_get_without_a_body(client: httpx.Client) -> None:
    response = client.head(f"{API}/orders", params={"per_page": 5})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-wp-total"] == "40"
