"""Webhook to invoice latency: an order placed in the shop until its SalesInvoice exists in Exact.

The connector runs as the product runs: `ml-connector run` (scheduler, DBOS workers and the web app in one
process) on a data dir this script prepared (connections, catalogue, a first sync, webhooks subscribed).
Orders placed through the shop's checkout fire signed `order.created` webhooks to the web app; the worker
writes the invoice. Orders are placed one at a time, below the runtime's per-division rate (no rate
pressure); the clock runs from just before the checkout call until the invoice is seen in the division.

    python -m bench.webhook_latency [--samples 25] [--spacing 2.2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, main
from bench.sandboxes import ShopSize, exact_documents, sandbox_processes
from bench.shop import SHOP, connect_shop, open_connector
from ml_connector.runtime.commands import sync_once
from ml_connector.sandbox_kit.serve import free_port
from ml_connector.store.connections import get_connection
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.webhooks import ensure_connection_webhooks

START_TIMEOUT = 60.0
INVOICE_TIMEOUT = 60.0


def _wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`ml-connector run` exited with {process.returncode}")
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("`ml-connector run` did not serve within a minute")


def _invoiced_after(exact: dict[str, Any], ref: str, started: float) -> float:
    while time.perf_counter() - started < INVOICE_TIMEOUT:
        if ref in exact_documents(exact):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"no invoice {ref} within {INVOICE_TIMEOUT:.0f} s")


def _place_and_time(
    woo: dict[str, Any],
    exact: dict[str, Any],
    samples: int,
    spacing: float,
    customers: list[int],
    skus: list[str],
) -> list[float]:
    pick = random.Random(3)
    latencies = []
    with httpx.Client(base_url=woo["base_url"], timeout=30) as admin:
        for _ in range(samples):
            body = {
                "line_items": [{"sku": pick.choice(skus), "quantity": 1}],
                "customer_id": pick.choice(customers),
                "status": "processing",
            }
            started = time.perf_counter()
            order = admin.post("/_sandbox/orders", json=body)
            order.raise_for_status()
            latency = _invoiced_after(exact, f"WC-SHOP1-{order.json()['id']}", started)
            latencies.append(latency)
            time.sleep(max(0.0, spacing - latency))
    return latencies


def measure(args: argparse.Namespace) -> list[Figure]:
    with sandbox_processes(ShopSize(args.orders, 20, 20)) as boxes, tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp), free_port()
        app = open_connector(data_dir, web_port=port)
        connect_shop(app, boxes.exact, boxes.woo)
        sync_once(app, SHOP, since=None, progress=False)  # the backlog is done: only new orders follow
        with WooClient.for_connection(app, SHOP) as shop:
            customers = [c.id for c in shop.customers()]
            skus = [p.sku for p in shop.products() if p.sku and p.type == "simple"]
        env = os.environ | {
            "ML_CONNECTOR_DATA_DIR": str(data_dir),
            "ML_CONNECTOR_WEB_PORT": str(port),
            "ML_CONNECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ML_CONNECTOR_LOG_LEVEL": "WARNING",
        }
        with open(data_dir / "run.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ml_connector", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                _wait_until_serving(f"http://127.0.0.1:{port}", process)
                with app.db.session() as session:
                    shop_row = get_connection(session, SHOP)
                ensure_connection_webhooks(app, shop_row)
                latencies = _place_and_time(
                    boxes.woo, boxes.exact, args.samples, args.spacing, customers, skus
                )
            finally:
                process.terminate()
                process.wait(timeout=60)
                app.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(f"latencies (s): {[round(x, 3) for x in latencies]}", flush=True)
    samples = f"{len(latencies)} orders, one per {args.spacing:g} s"
    return [
        Figure("webhook -> invoice p50", p50, "s", 1.0, note=samples),
        Figure(
            "webhook -> invoice p99",
            p99,
            "s",
            5.0,
            note=f"max of {len(latencies)}" if len(latencies) < 100 else "",
        ),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", type=int, default=25, help="orders placed, one at a time")
    parser.add_argument(
        "--spacing",
        type=float,
        default=2.2,
        help="seconds between orders (the runtime writes 30 records a minute per division)",
    )
    parser.add_argument("--orders", type=int, default=20, help="orders already in the shop (synced first)")


if __name__ == "__main__":
    main("Webhook to invoice latency", add_arguments, measure)
