"""The issue's done-when run: a shop synced into Exact under injected faults, with nothing lost or doubled.

Faults on the Exact sandbox's API: 5xx on writes and reads, 429s, dropped connections, writes that are
committed but whose answer is dropped, and responses slower than the client's timeout (the write lands
after the client gave up). The Exact client's timeout is 30 s; the run shortens it (module setting
`ml_connector.exact.connection.DEFAULT_TIMEOUT`) so that a slow response can outlast it in seconds.

The run: the seeded backlog under faults; then live orders and refunds delivered by webhook; then the
shop's webhooks disabled while more orders and refunds arrive (only the poll finds them) and re-activated;
then the faults cleared and a last pass. It ends checking, against the shop: exactly one invoice per
invoiceable order and one credit note per refund (amounts equal), no other document, no duplicate
Account, no record failed or lost, and `reconcile` green.

    python -m bench.fault_run [--orders 2000] [--live 40] [--refunds 20]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.report import Figure, main
from bench.sandboxes import ShopSize, exact_account_codes, exact_calls, exact_documents, sandbox_processes
from bench.shop import SHOP, connect_shop, drain, manual_runtime, open_connector
from ml_connector.app import App
from ml_connector.exact import connection as exact_connection
from ml_connector.pipelines.reconcile import run_reconcile
from ml_connector.runtime.core import Runtime
from ml_connector.runtime.web import create_web_app
from ml_connector.sandbox_kit.serve import ThreadedServer, free_port
from ml_connector.store.connections import get_connection
from ml_connector.store.models import LedgerEntry, LedgerState
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.models import Order
from ml_connector.woocommerce.webhooks import ensure_connection_webhooks

INVOICED_STATUSES = ("processing", "completed", "refunded")
CLIENT_TIMEOUT = httpx.Timeout(1.0, connect=5.0)
SLOW_SECONDS = 1.6  # longer than CLIENT_TIMEOUT
SETTLE = SLOW_SECONDS + 0.4  # real time before the manual clock moves on: a slow write has landed by then


RATE_LIMITED = 0.03  # share of API calls refused with a 429 (Exact's headers, see bench.sandboxes)


def fault_rules(slow_responses: int) -> list[dict[str, Any]]:
    api = "/api/v1/"
    return [
        {"kind": "commit_then_drop", "path": api, "method": "POST", "probability": 0.08},
        {
            "kind": "slow",
            "path": api,
            "method": "POST",
            "probability": 0.02,
            "delay": SLOW_SECONDS,
            "count": slow_responses,
        },
        {"kind": "error", "path": api, "method": "POST", "probability": 0.08, "status": 503},
        {"kind": "error", "path": api, "method": "POST", "probability": 0.03, "status": 500},
        {"kind": "drop", "path": api, "method": "POST", "probability": 0.04},
        {"kind": "error", "path": api, "method": "GET", "probability": 0.03, "status": 502},
    ]


@dataclass
class Outcome:
    orders: int = 0
    invoiceable: int = 0
    refunds: int = 0
    invoices: int = 0
    credit_notes: int = 0
    duplicates: int = 0
    duplicated: list[str] = field(default_factory=list)  # references written more than once
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    amount_differences: list[str] = field(default_factory=list)
    duplicate_account_codes: int = 0
    failed_records: list[str] = field(default_factory=list)
    unsettled_under_faults: int = 0
    faults_fired: dict[str, int] = field(default_factory=dict)
    exact_calls: int = 0
    webhook_deliveries_while_disabled: int = 0
    reconcile_ok: bool = False
    reconcile_findings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return len(self.missing)

    @property
    def ok(self) -> bool:
        return (
            not (
                self.missing
                or self.unexpected
                or self.duplicates
                or self.amount_differences
                or self.duplicate_account_codes
                or self.failed_records
            )
            and self.reconcile_ok
        )


class Shop:
    """The shop's admin (checkout, refunds) over the sandbox's `/_sandbox` API."""

    def __init__(self, app: App, woo: dict[str, Any], seed: int = 9) -> None:
        self.app = app
        self.admin = httpx.Client(base_url=woo["base_url"], timeout=60)
        self.pick = random.Random(seed)
        with WooClient.for_connection(app, SHOP) as client:
            self.customers = [c.id for c in client.customers()]
            self.skus = [p.sku for p in client.products() if p.sku and p.type == "simple"]

    def place_orders(self, count: int) -> list[int]:
        ids = []
        for index in range(count):
            lines = [{"sku": s, "quantity": self.pick.randint(1, 3)} for s in self.pick.sample(self.skus, 2)]
            body: dict[str, Any] = {"line_items": lines, "status": "processing"}
            if index % 4 == 3:  # a guest
                body["billing"] = {
                    "first_name": "Gast",
                    "last_name": f"Nr {index}",
                    "country": "NL",
                    "email": f"guest-{self.pick.randrange(10**6)}@example.nl",
                }
            else:
                body["customer_id"] = self.pick.choice(self.customers)
            response = self.admin.post("/_sandbox/orders", json=body)
            response.raise_for_status()
            ids.append(int(response.json()["id"]))
        return ids

    def refund_some(self, candidates: list[Order], count: int) -> int:
        """Line refunds (where the shop takes one) and amount-only refunds on orders in an invoiced status."""
        made = 0
        for order in self.pick.sample(candidates, min(count, len(candidates))):
            amount = str(min(Decimal("5.00"), order.total / 4).quantize(Decimal("0.01")))
            attempts: list[dict[str, Any]] = [{"amount": amount, "reason": "coulance"}]
            if made % 2 == 0 and order.line_items:
                attempts.insert(0, {"lines": [[order.line_items[0].id, 1]], "reason": "kapot"})
            for body in attempts:
                response = self.admin.post(f"/_sandbox/orders/{order.id}/refunds", json=body)
                if response.status_code == 200:
                    made += 1
                    break
            else:
                raise RuntimeError(f"the shop refused a refund on order {order.id}: {response.text}")
        return made

    def wait_for_webhooks(self) -> None:
        self.admin.post("/_sandbox/webhooks/wait", json={"timeout": 60}).raise_for_status()

    def deliveries(self) -> int:
        return len(self.admin.get("/_sandbox/webhooks/deliveries").json())

    def set_webhooks(self, status: str) -> None:
        with WooClient.for_connection(self.app, SHOP) as client:
            for hook in client.webhooks(status="all"):
                client.update_webhook(hook.id, {"status": status})

    def orders(self) -> list[Order]:
        with WooClient.for_connection(self.app, SHOP) as client:
            return list(client.orders(status="any"))

    def close(self) -> None:
        self.admin.close()


def _refund_candidates(shop: Shop) -> list[Order]:
    return [o for o in shop.orders() if o.status in ("processing", "completed") and o.total > Decimal("1")]


def _ledger(app: App) -> list[LedgerEntry]:
    with app.db.session() as session:
        return list(session.scalars(select(LedgerEntry)))


def _ensure_webhooks(app: App) -> None:
    with app.db.session() as session:
        shop_row = get_connection(session, SHOP)
    ensure_connection_webhooks(app, shop_row)


def drive(
    app: App,
    runtime: Runtime,
    exact: dict[str, Any],
    shop: Shop,
    live: int,
    refunds: int,
    slow_responses: int,
    *,
    batched: bool = False,
) -> Outcome:
    """The scenario, on a connected shop whose webhooks reach `app`'s web app; then the checks.

    `batched`: polls write what they store in batches (as `sync --once`), else the runtime's jobs write
    every record on its own (as `run`); webhook deliveries are jobs either way."""
    outcome = Outcome()
    started, calls = time.perf_counter(), exact_calls(exact)
    faults = f"{exact['base_url']}/_sandbox/faults"
    rate_limits = f"{exact['base_url']}/_bench/rate-limits"
    httpx.post(faults, json=fault_rules(slow_responses), timeout=30).raise_for_status()
    httpx.post(rate_limits, json={"probability": RATE_LIMITED}, timeout=30).raise_for_status()
    _ensure_webhooks(app)
    drain(app, runtime, batched=batched, settle=SETTLE)  # the backlog
    shop.place_orders(live)  # live, by webhook
    shop.refund_some(_refund_candidates(shop), refunds)
    shop.wait_for_webhooks()
    drain(app, runtime, poll=False, settle=SETTLE)
    shop.set_webhooks("disabled")  # the receiver is "down": only the poll sees these
    before = shop.deliveries()
    shop.place_orders(live)
    shop.refund_some(_refund_candidates(shop), refunds)
    shop.wait_for_webhooks()
    outcome.webhook_deliveries_while_disabled = shop.deliveries() - before
    drain(app, runtime, batched=batched, settle=SETTLE)
    _ensure_webhooks(app)  # the receiver is healthy again: re-activated
    outcome.unsettled_under_faults = sum(e.state != LedgerState.SENT for e in _ledger(app))
    fired = httpx.get(faults, timeout=30).json()["rules"]
    outcome.faults_fired = {
        f"{r['kind']} {r['method']}" + (f" {r['status']}" if r["kind"] == "error" else ""): r["fired"]
        for r in fired
    }
    outcome.faults_fired["429 (Exact headers)"] = httpx.get(rate_limits, timeout=30).json()["fired"]
    httpx.delete(faults, timeout=30).raise_for_status()
    httpx.post(rate_limits, json={"probability": 0}, timeout=30).raise_for_status()
    drain(app, runtime, batched=batched, settle=SETTLE)  # the last scheduled pass, faults gone
    outcome.exact_calls = exact_calls(exact) - calls
    outcome.seconds = time.perf_counter() - started
    check(app, exact, shop.orders(), outcome)
    return outcome


def check(app: App, exact: dict[str, Any], orders: list[Order], outcome: Outcome) -> None:
    documents = exact_documents(exact)
    expected: dict[str, Decimal] = {}
    for order in orders:
        if order.status not in INVOICED_STATUSES:
            continue
        expected[f"WC-SHOP1-{order.id}"] = order.total
        for refund in order.refunds:
            expected[f"WC-SHOP1-{order.id}-R{refund.id}"] = refund.total
    outcome.orders = len(orders)
    outcome.invoiceable = sum(o.status in INVOICED_STATUSES for o in orders)
    outcome.refunds = len(expected) - outcome.invoiceable
    outcome.missing = sorted(set(expected) - set(documents))
    outcome.unexpected = sorted(set(documents) - set(expected))
    outcome.duplicates = sum(len(rows) - 1 for rows in documents.values())
    outcome.duplicated = sorted(ref for ref, rows in documents.items() if len(rows) > 1)
    rows = [row for ref in documents for row in documents[ref]]
    outcome.invoices = sum(row["type"] == 8020 for row in rows)
    outcome.credit_notes = sum(row["type"] == 8021 for row in rows)
    outcome.amount_differences = [
        f"{ref}: Exact {documents[ref][0]['amount']} shop {amount}"
        for ref, amount in expected.items()
        if ref in documents and Decimal(documents[ref][0]["amount"]) != amount
    ]
    codes = Counter(exact_account_codes(exact))
    outcome.duplicate_account_codes = sum(n - 1 for n in codes.values())
    outcome.failed_records = [
        f"{e.source_type}:{e.source_id} {e.state.value}: {(e.last_error or '')[:120]}"
        for e in _ledger(app)
        if e.state != LedgerState.SENT and e.state != LedgerState.SKIPPED
    ]
    first = min(o.date_created_gmt for o in orders).date()
    report = run_reconcile(app, SHOP, f"{first.isoformat()}..{datetime.now(UTC).date().isoformat()}")
    outcome.reconcile_ok = bool(report.ok)
    outcome.reconcile_findings = [str(f) for f in report.findings[:10]]


def run(orders: int, live: int, refunds: int, slow_responses: int, batched: bool) -> Outcome:
    """The whole run on fresh sandboxes in their own processes and a fresh embedded connector."""
    exact_connection.DEFAULT_TIMEOUT = CLIENT_TIMEOUT
    size = ShopSize(orders, max(60, orders // 10), 40)
    with sandbox_processes(size) as boxes, tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        app = open_connector(Path(data_dir), web_port=port)
        try:
            with ThreadedServer(create_web_app(app), port=port):
                connect_shop(app, boxes.exact, boxes.woo)
                shop = Shop(app, boxes.woo)
                runtime = manual_runtime(app, real_time=True)
                try:
                    return drive(
                        app, runtime, boxes.exact, shop, live, refunds, slow_responses, batched=batched
                    )
                finally:
                    runtime.flows.close()
                    shop.close()
        finally:
            app.close()


def figures(outcome: Outcome, mode: str) -> list[Figure]:
    print(f"faults fired: {outcome.faults_fired}")
    print(
        f"not sent while faults were on (settled after they were cleared): {outcome.unsettled_under_faults}"
    )
    for name in (
        "missing",
        "unexpected",
        "duplicated",
        "amount_differences",
        "failed_records",
        "reconcile_findings",
    ):
        values = getattr(outcome, name)
        if values:
            print(f"{name}: {values[:10]}")
    return [
        Figure(f"orders in the shop ({mode})", outcome.orders, "", note=f"{outcome.invoiceable} invoiceable"),
        Figure(f"invoices ({mode})", outcome.invoices, "", note=f"expected {outcome.invoiceable}"),
        Figure(
            f"credit notes ({mode})", outcome.credit_notes, "", note=f"expected {outcome.refunds} (refunds)"
        ),
        Figure(f"lost (no document) ({mode})", outcome.lost, "", 0),
        Figure(f"duplicates ({mode})", outcome.duplicates, "", 0),
        Figure(f"unexpected documents ({mode})", len(outcome.unexpected), "", 0),
        Figure(f"amount differences ({mode})", len(outcome.amount_differences), "", 0),
        Figure(f"records not sent at the end ({mode})", len(outcome.failed_records), "", 0),
        Figure(f"reconcile green ({mode})", 1.0 if outcome.reconcile_ok else 0.0, "", 1, "higher"),
        Figure(
            f"webhook deliveries while disabled ({mode})", outcome.webhook_deliveries_while_disabled, "", 0
        ),
        Figure(f"faults fired ({mode})", sum(outcome.faults_fired.values()), ""),
        Figure(f"Exact calls ({mode})", outcome.exact_calls, "", note=f"{outcome.seconds:.0f} s"),
    ]


def measure(args: argparse.Namespace) -> list[Figure]:
    outcome = run(args.orders, args.live, args.refunds, args.slow, args.batched)
    return figures(outcome, "batched" if args.batched else "jobs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=2000, help="seeded orders (with refunds)")
    parser.add_argument("--live", type=int, default=40, help="orders placed live, and again while disabled")
    parser.add_argument("--refunds", type=int, default=20, help="refunds made live, and again while disabled")
    parser.add_argument("--slow", type=int, default=8, help="responses slower than the client timeout")
    parser.add_argument(
        "--batched",
        action="store_true",
        help="polls write in batches, as `sync --once` (else per-record jobs)",
    )


if __name__ == "__main__":
    main("Fault-injected run", add_arguments, measure)
