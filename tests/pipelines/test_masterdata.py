"""Exact master data cache: one full read, then only what changed (and what was deleted)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.pipelines import masterdata
from ml_connector.store.connections import get_connection


def _calls(info: dict[str, Any]) -> int:
    stats = httpx.get(f"{info['base_url']}/_sandbox/stats").json()
    return sum(d["api_calls"] for d in stats["divisions"].values())


def _conn_id(app: App) -> int:
    with app.db.session() as session:
        return get_connection(session, "books").id


def test_first_refresh_reads_everything_then_only_changes(
    app: App, exact_client: ExactClient, exact_sandbox: tuple[ExactSandbox, dict[str, Any]]
) -> None:
    _sandbox, info = exact_sandbox
    conn_id = _conn_id(app)
    counts = {k: len(v) for k, v in masterdata.refresh(app.db, exact_client, conn_id).items()}
    assert counts["Items"] > 0 and counts["GLAccounts"] > 0 and counts["VATCodes"] > 0
    with app.db.session() as session:
        items = masterdata.cached_rows(session, conn_id, "Items")
        assert {r.code for r in items} and all(r.remote_timestamp for r in items)

    before = _calls(info)
    again = masterdata.refresh(app.db, exact_client, conn_id, ["Items", "Accounts"])
    assert again == {"Items": [], "Accounts": []}
    # one sync call and one sync/Deleted call per incremental entity, nothing more
    assert _calls(info) - before == 4

    item = items[0]
    edit = httpx.put(
        f"{info['base_url']}/_sandbox/edit/{info['division']}/Items/{item.remote_id}",
        json={"Description": "Renamed in Exact"},
    )
    assert edit.status_code < 300, edit.text
    assert [r["ID"] for r in masterdata.refresh(app.db, exact_client, conn_id, ["Items"])["Items"]] == [
        item.remote_id
    ]
    with app.db.session() as session:
        renamed = [
            r for r in masterdata.cached_rows(session, conn_id, "Items") if r.remote_id == item.remote_id
        ]
        assert renamed[0].data["Description"] == "Renamed in Exact"

    gone = httpx.delete(f"{info['base_url']}/_sandbox/edit/{info['division']}/Items/{item.remote_id}")
    assert gone.status_code < 300, gone.text
    masterdata.refresh(app.db, exact_client, conn_id, ["Items"])
    with app.db.session() as session:
        assert item.remote_id not in {r.remote_id for r in masterdata.cached_rows(session, conn_id, "Items")}


def test_unknown_entity_is_refused_with_the_known_list(app: App, exact_client: ExactClient) -> None:
    with pytest.raises(ValueError, match=r"Bananas .*known: Items"):
        masterdata.refresh(app.db, exact_client, _conn_id(app), ["Bananas"])
