"""The issue's fault-injected run, small: ~150 orders with refunds, webhooks live then disabled, under
5xx, slow responses past the client timeout, drops, commit-then-drop and 429s on the Exact sandbox.

The scenario and its checks are `bench.fault_run`'s (the 2,000-order run); here on in-process sandboxes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.fault_run import CLIENT_TIMEOUT, Shop, drive
from bench.sandboxes import exact_with_documents
from bench.shop import connect_shop, manual_runtime, open_connector

from ml_connector.app import App
from ml_connector.exact import connection as exact_connection
from ml_connector.exact.sandbox import create_app as create_exact
from ml_connector.runtime.web import create_web_app
from ml_connector.sandbox_kit.serve import ThreadedServer, free_port
from ml_connector.woocommerce.sandbox import create_app as create_woo


@pytest.fixture
def sandboxes() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    exact = create_exact(seed=5, rate_limits=False)
    woo = create_woo(seed=5, orders=150, customers=40, products=30)
    with ThreadedServer(exact_with_documents(exact)) as exact_server, ThreadedServer(woo.asgi) as woo_server:
        yield exact.info(exact_server.base_url), woo.info(woo_server.base_url)
    exact.close()
    woo.close()


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[App]:
    port = free_port()
    app = open_connector(tmp_path, web_port=port)
    with ThreadedServer(create_web_app(app), port=port):
        yield app
    app.close()


@pytest.mark.slow
@pytest.mark.parametrize("batched", [False, True], ids=["jobs", "batched"])
def test_faults_lose_nothing_and_double_nothing(
    connector: App,
    sandboxes: tuple[dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    batched: bool,
) -> None:
    monkeypatch.setattr(exact_connection, "DEFAULT_TIMEOUT", CLIENT_TIMEOUT)  # slow answers outlast it
    exact, woo = sandboxes
    connect_shop(connector, exact, woo)
    shop = Shop(connector, woo)
    runtime = manual_runtime(connector, real_time=True)
    try:
        outcome = drive(connector, runtime, exact, shop, live=8, refunds=4, slow_responses=2, batched=batched)
    finally:
        runtime.flows.close()
        shop.close()

    assert sum(outcome.faults_fired.values()) > 20, outcome.faults_fired
    assert outcome.invoiceable > 100 and outcome.refunds > 8
    assert outcome.webhook_deliveries_while_disabled == 0
    assert not outcome.missing, outcome.missing
    assert not outcome.unexpected, outcome.unexpected
    assert outcome.duplicates == 0
    assert outcome.duplicate_account_codes == 0
    assert not outcome.amount_differences, outcome.amount_differences
    assert not outcome.failed_records, outcome.failed_records
    assert outcome.reconcile_ok, outcome.reconcile_findings
