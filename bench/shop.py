"""A connector connected to running sandboxes the way a merchant connects one, plus ways to drive it.

The set-up is the demo's (`ml_connector.demo`): OAuth to Exact, encrypted connections, the shop's
catalogue already in Exact. Before connecting, products without a SKU get one (the demo shows the parking
and the fix; the benchmarks measure the flow on a complete catalogue).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from ml_connector.app import App, open_app
from ml_connector.config import load_settings
from ml_connector.demo.connect import connect_exact
from ml_connector.demo.setup import connect_woocommerce, mirror_catalogue, shop_skus, woo_sync_settings
from ml_connector.engine import audit, processing
from ml_connector.engine.policy import RetryPolicy
from ml_connector.exact.client import ExactClient
from ml_connector.http.backoff import Backoff
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.options import RuntimeOptions
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.store.connections import get_connection
from ml_connector.store.models import InboxMessage, InboxState, LedgerEntry
from ml_connector.woocommerce.client import WooClient

SHOP, BOOKS = "shop", "books"


def open_connector(data_dir: Path, web_port: int | None = None) -> App:
    """A fresh embedded (SQLite) connector in `data_dir`; `web_port` when webhooks are to reach it."""
    overrides: dict[str, Any] = {"data_dir": data_dir}
    if web_port is not None:
        overrides |= {"web_port": web_port, "public_url": f"http://127.0.0.1:{web_port}"}
    return open_app(load_settings(None, **overrides), announce=lambda _message: None)


def complete_catalogue(shop: WooClient, base_url: str) -> int:
    """Give every simple product without a SKU one (through the shop admin); how many were fixed."""
    missing = [p.id for p in shop.products() if not p.sku and p.type == "simple"]
    with httpx.Client(base_url=base_url, timeout=30) as admin:
        for product_id in missing:
            admin.post(
                f"/_sandbox/products/{product_id}", json={"sku": f"RW-FIX-{product_id}"}
            ).raise_for_status()
    return len(missing)


def connect_shop(app: App, exact: dict[str, Any], woo: dict[str, Any], **sync: Any) -> int:
    """Exact authorized, the shop connected with the demo's settings (`sync` overrides them), its catalogue
    completed and mirrored into Exact; the number of items in Exact."""
    connect_exact(app, BOOKS, exact)
    connect_woocommerce(app, SHOP, woo, woo_sync_settings(BOOKS) | sync)
    client = ExactClient.for_connection(app, BOOKS)
    try:
        with WooClient.for_connection(app, SHOP) as shop:
            complete_catalogue(shop, woo["base_url"])
            return mirror_catalogue(client, exact, shop_skus(shop))
    finally:
        client.close()


def shop_connection_id(app: App) -> int:
    with app.db.session() as session:
        return get_connection(session, SHOP).id


def manual_runtime(app: App, real_time: bool = False) -> Runtime:
    """A runtime on a manual clock with a quick retry policy: passes are driven by `drain`, not by time.

    `real_time`: the clock also moves with real time. Needed when the Exact client may wait for a rate
    window (a 429): it sleeps in real time until the runtime's clock passes the window's reset.
    """
    quick = RetryPolicy(
        backoff=Backoff(base=1, factor=2, cap=30, max_attempts=12), rate_wait_seconds=5, settle_seconds=5
    )
    clock = ManualClock(scale=1.0 if real_time else 0.0)
    return Runtime(app, RuntimeOptions(policy=quick, clock=clock))


def drain(
    app: App,
    runtime: Runtime,
    poll: bool = True,
    rounds: int = 200,
    *,
    batched: bool = False,
    settle: float = 0.0,
) -> int:
    """Optionally poll the shop, then run waiting work (new records and due retries) until nothing is left,
    moving the manual clock on when the only work left waits for its retry time; jobs run.

    `batched`: the poll writes what it stores in batches, as `sync --once` does. `settle`: real seconds to
    wait before each move of the clock, so that a call still running at a slow sandbox has finished by
    the time the clock says it has (the engine's `settle_seconds` counts on it)."""
    clock = runtime.clock
    assert isinstance(clock, ManualClock), "drain needs a runtime on a ManualClock"
    if poll:
        processing.poll_connection(
            app.db, runtime.flows, shop_connection_id(app), runtime.now(), inline=batched, clock=clock
        )
    ran = 0
    for _ in range(rounds):
        jobs = processing.waiting_work(app.db, runtime.now())
        if not jobs:
            if not processing.waiting_work(app.db, runtime.now() + timedelta(days=1)):
                return ran
            time.sleep(settle)
            clock.advance(60)
            continue
        for job in jobs:
            runtime.run_job(job.kind, job.id)
            ran += 1
    waiting = processing.waiting_work(app.db, runtime.now() + timedelta(days=1))
    with app.db.read_session() as session:
        rows = [session.get(LedgerEntry, job.id) for job in waiting[:5] if job.kind == "retry"]
        stuck = [
            (
                e.source_type,
                e.source_id,
                e.target_entity,
                e.state.value,
                e.attempts,
                e.lease_until,
                e.last_error,
            )
            for e in rows
            if e is not None
        ]
        trail = [
            f"{event.kind}: {(event.message or '')[:160]}"
            for entry in rows[:1]
            if entry is not None
            for event in audit.timeline(session, str(entry.id))
        ]
        messages = [
            (m.topic, m.resource_id, m.state.value, m.attempts, (m.error or "")[:200])
            for m in session.scalars(
                select(InboxMessage).where(InboxMessage.state != InboxState.DONE).limit(5)
            )
        ]
    raise RuntimeError(
        f"work was still waiting after {rounds} rounds at {runtime.now()}: {waiting[:5]}; ledger {stuck}; "
        f"trail of the first {trail[-12:]}; inbox {messages}"
    )
