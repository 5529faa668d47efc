"""Paging stops on total_count although Magento repeats the last page; incremental reads with overlap."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from ml_connector.adobe_commerce.client import ORDERS, AdobeClient
from ml_connector.adobe_commerce.paging import IncrementalRead, RawPage, Watermark
from ml_connector.adobe_commerce.sandbox import create_app
from ml_connector.adobe_commerce.search import Filter, SearchCriteria
from ml_connector.sandbox_kit.serve import ThreadedServer
from tests.adobe_commerce.conftest import Running, store_connection


def test_1050_orders_at_page_size_100_take_11_calls_and_come_once(app):
    sandbox = create_app(seed=3, orders=1050)
    with ThreadedServer(sandbox.asgi) as server:
        store_connection(app, Running(sandbox, server))
        with AdobeClient.for_connection(app, "shop") as client:
            ids = [order.entity_id for order in client.iterate(ORDERS, page_size=100)]
            # The sandbox, like Magento, answers a page past the end with the last page again:
            past_end = client.search_raw(ORDERS, SearchCriteria().page(100, 12))[0]
    assert sandbox.api.calls["GET /V1/orders"] == 12  # 11 pages + the explicit past-the-end probe
    assert sorted(ids) == list(range(1, 1051))
    assert [o["entity_id"] for o in past_end] == list(range(1001, 1051))


def test_empty_page_toggle(app, paas: Running):
    store_connection(app, paas)
    with AdobeClient.for_connection(app, "shop") as client:
        assert len(client.search_raw(ORDERS, SearchCriteria().page(10, 9))[0]) == 10  # last page again
        httpx.post(
            f"{paas.server.base_url}/_sandbox/settings", json={"empty_page_past_end": True}
        ).raise_for_status()
        items, total = client.search_raw(ORDERS, SearchCriteria().page(10, 9))
        assert (items, total) == ([], 40)
        assert len(list(client.iterate(ORDERS, page_size=10))) == 40


def test_filter_groups_or_inside_and_across_with_camel_case(app, paas: Running):
    store_connection(app, paas)
    with AdobeClient.for_connection(app, "shop") as client:
        criteria = (
            SearchCriteria()
            .where(Filter("entity_id", [1, 2, 3, 30], "in"), Filter("entity_id", 40))
            .where(Filter("entity_id", 3, "gteq"))
        )
        assert sorted(o.entity_id for o in client.iterate(ORDERS, criteria)) == [3, 30, 40]
        one = client.get("/V1/orders/1", [("fields", "entity_id,items[sku]")])
        assert one.keys() == {"entity_id", "items"} and one["items"][0].keys() == {"sku"}
        body = client.get(
            "/V1/orders",
            [
                ("searchCriteria[filterGroups][0][filters][0][field]", "entity_id"),
                ("searchCriteria[filterGroups][0][filters][0][value]", "5"),
                ("searchCriteria[filterGroups][0][filters][0][conditionType]", "lteq"),
                ("searchCriteria[sortOrders][0][field]", "entity_id"),
                ("searchCriteria[sortOrders][0][direction]", "DESC"),
                ("searchCriteria[pageSize]", "2"),
                ("fields", "items[entity_id,increment_id],total_count"),
            ],
        )
    assert body == {
        "items": [
            {"entity_id": 5, "increment_id": "000000005"},
            {"entity_id": 4, "increment_id": "000000004"},
        ],
        "total_count": 5,
    }


def test_incremental_read_delivers_changes_once_with_overlap(app, paas: Running):
    store_connection(app, paas)
    with AdobeClient.for_connection(app, "shop") as client:
        first = client.changes(ORDERS, Watermark(), page_size=7)
        assert len([o.entity_id for o in first]) == 40
        again = client.changes(ORDERS, first.watermark, page_size=7, overlap=timedelta(minutes=5))
        assert list(again) == []  # the overlap re-reads the boundary, de-dup hands nothing out twice
        paas.sandbox.store.invoice(paas.sandbox.store.place_order([("SIM-002", 1)])["entity_id"])
        changed = client.changes(ORDERS, again.watermark, page_size=7)
        assert [o.entity_id for o in changed] == [41]
        assert (changed.watermark.updated_at or "") > (first.watermark.updated_at or "~")


def test_page_size_is_bounded():
    with pytest.raises(ValueError, match=r"1\.\.300"):
        SearchCriteria().page(301)


def test_incremental_read_misses_nothing_when_records_are_saved_during_the_read(app, paas: Running):
    store_connection(app, paas)
    store = paas.sandbox.store
    with AdobeClient.for_connection(app, "shop") as client:
        calls = 0

        def fetch(criteria: SearchCriteria) -> RawPage:
            nonlocal calls
            calls += 1
            if calls == 2:  # the first page is read; order 1 is saved again and moves to the end
                store.refund(1)
            return client.search_raw(ORDERS, criteria)

        read = IncrementalRead(fetch, Watermark(), page_size=7)
        ids = [item["entity_id"] for item in read]
    assert sorted(set(ids)) == list(range(1, 41))  # nothing pushed out of reach by the shift
    assert ids.count(1) == 2  # and the new version of order 1 comes too
