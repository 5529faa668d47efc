"""Exact API calls per order: a fresh store, then steady state (new orders of known customers).

Fresh store, as the issue states the scenario: 200 orders, 60 new customers, 40 items (already in
Exact), synced into an empty division; its figure is the calls over the store's 200 orders (not every
order is invoiced: some are pending, cancelled or failed, and refunds add credit notes), with the calls
per invoiced order beside it. Who counts as a new customer depends on the guest policy:
- by default the flow creates one Account per distinct guest e-mail, so the store has 20 registered
  customers whose orders come with 40 guest e-mails (seed 11): 60 new Accounts;
- a merchant may book all guests on one existing collective Account instead: the store has 60
  registered customers, and its guests add no Account.
The Accounts created are counted and printed, so the scenario is checked on every run. The demo's store
(60 registered customers plus their guests: 99 new Accounts by default) is measured as well, without a
target. Steady state: after the first sync, a second batch of new orders placed by the registered
customers (Accounts linked) on SKU'd products. Calls are the Exact sandbox's own count for the division,
set-up (OAuth, catalogue) excluded.

    python -m bench.calls_per_order [--orders 200] [--customers 60] [--guest-store-customers 20]
        [--products 40] [--steady 200]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, main
from bench.sandboxes import ShopSize, exact_account_codes, exact_calls, exact_documents, sandbox_processes
from bench.shop import BOOKS, SHOP, connect_shop, drain, manual_runtime, open_connector
from ml_connector.app import App
from ml_connector.exact.client import ExactClient
from ml_connector.exact.odata import Query
from ml_connector.flows.woocommerce.selection import OrderAction, decide_order
from ml_connector.pipelines.woocommerce import sync_settings
from ml_connector.store.connections import get_connection
from ml_connector.woocommerce.client import WooClient

INVOICE, CREDIT_NOTE = 8020, 8021


@dataclass
class Pass:
    calls: int
    invoices: int
    credit_notes: int
    accounts: int  # Accounts created

    @property
    def other(self) -> int:
        """Calls that wrote no document and no Account: master-data reads."""
        return self.calls - self.invoices - self.credit_notes - self.accounts

    @property
    def per_invoice(self) -> float:
        return self.calls / max(self.invoices, 1)

    @property
    def per_document(self) -> float:
        return self.calls / max(self.invoices + self.credit_notes, 1)


def _counts(exact: dict[str, Any]) -> tuple[int, int]:
    rows = [row for rows in exact_documents(exact).values() for row in rows]
    return sum(r["type"] == INVOICE for r in rows), sum(r["type"] == CREDIT_NOTE for r in rows)


def _accounts(exact: dict[str, Any]) -> int:
    return len(exact_account_codes(exact))


def _measured_pass(app: App, exact: dict[str, Any], runtime: Any) -> Pass:
    calls, (invoices, credits), accounts = exact_calls(exact), _counts(exact), _accounts(exact)
    drain(app, runtime)
    after_invoices, after_credits = _counts(exact)
    return Pass(
        exact_calls(exact) - calls,
        after_invoices - invoices,
        after_credits - credits,
        _accounts(exact) - accounts,
    )


def _use_collective_account(app: App) -> str:
    """The merchant's choice: every guest order on one existing Exact Account."""
    client = ExactClient.for_connection(app, BOOKS)
    try:
        account = client.first("Accounts", Query(select=("ID",)))
    finally:
        client.close()
    assert account is not None, "the Exact sandbox has no Account to book guests on"
    with app.db.session() as session:
        conn = get_connection(session, SHOP)
        settings = dict(conn.settings or {})
        sync = dict(settings["sync"]) | {
            "guest_policy": "collective_account",
            "guest_account_id": account["ID"],
        }
        conn.settings = settings | {"sync": sync}
    return str(account["ID"])


def _guests(app: App) -> tuple[int, int]:
    """Guest orders and distinct guest e-mails among the orders the flow invoices."""
    settings = sync_settings(app_settings(app), SHOP)[1]
    with WooClient.for_connection(app, SHOP) as shop:
        guests = [
            o
            for o in shop.orders(status="any")
            if o.is_guest and decide_order(o, settings, None).action == OrderAction.POST
        ]
    return len(guests), len({(o.billing.email or "").strip().lower() for o in guests})


def app_settings(app: App) -> dict[str, Any]:
    with app.db.session() as session:
        return dict(get_connection(session, SHOP).settings or {})


def _place_orders(app: App, woo: dict[str, Any], count: int) -> None:
    """New orders by registered customers on SKU'd simple products, as the shop's checkout would."""
    with WooClient.for_connection(app, SHOP) as shop:
        customers = [c.id for c in shop.customers()]
        skus = [p.sku for p in shop.products() if p.sku and p.type == "simple"]
    pick = random.Random(5)
    with httpx.Client(base_url=woo["base_url"], timeout=30) as admin:
        for _ in range(count):
            lines = [
                {"sku": sku, "quantity": pick.randint(1, 3)} for sku in pick.sample(skus, pick.randint(1, 3))
            ]
            body = {"line_items": lines, "customer_id": pick.choice(customers), "status": "processing"}
            admin.post("/_sandbox/orders", json=body).raise_for_status()


def _run(args: argparse.Namespace, customers: int, collective: bool) -> tuple[Pass, Pass, tuple[int, int]]:
    size = ShopSize(args.orders, customers, args.products)
    with sandbox_processes(size) as boxes, tempfile.TemporaryDirectory() as data_dir:
        app = open_connector(Path(data_dir))
        try:
            connect_shop(app, boxes.exact, boxes.woo)
            if collective:
                _use_collective_account(app)
            guests = _guests(app)
            runtime = manual_runtime(app)
            fresh = _measured_pass(app, boxes.exact, runtime)
            _place_orders(app, boxes.woo, args.steady)
            steady = _measured_pass(app, boxes.exact, runtime)
            runtime.flows.close()
        finally:
            app.close()
    return fresh, steady, guests


def measure(args: argparse.Namespace) -> list[Figure]:
    figures: list[Figure] = []
    runs = (
        ("match_or_create", args.guest_store_customers, False, 1.4),
        ("collective_account", args.customers, True, 1.4),
        ("match_or_create, demo store", args.customers, False, None),
    )
    for label, customers, collective, target in runs:
        fresh, steady, (guest_orders, guest_emails) = _run(args, customers, collective)
        store = (
            f"{customers} registered customers, {guest_orders} guest orders, {guest_emails} guest e-mails; "
            f"{fresh.accounts} new Accounts"
        )
        print(f"{label}: fresh {fresh}, steady {steady}; {store}", flush=True)
        if target is not None:
            figures.append(
                Figure(
                    f"calls/order steady ({label})",
                    steady.per_invoice,
                    "calls",
                    1.02,
                    note=f"{steady.calls} calls: {steady.invoices} invoices, {steady.accounts} Accounts, "
                    f"{steady.other} reads",
                )
            )
        figures += [
            Figure(
                f"calls/order fresh store ({label})",
                fresh.calls / args.orders,
                "calls",
                target,
                note=f"{fresh.calls} calls for {args.orders} orders: {fresh.invoices} invoices, "
                f"{fresh.credit_notes} credit notes, {fresh.accounts} Accounts, {fresh.other} reads; "
                f"{store}",
            ),
            Figure(f"calls per invoiced order, fresh ({label})", fresh.per_invoice, "calls"),
        ]
    return figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=200, help="seeded orders of the fresh store")
    parser.add_argument(
        "--customers",
        type=int,
        default=60,
        help="registered customers (collective guest Account; demo store)",
    )
    parser.add_argument(
        "--guest-store-customers",
        type=int,
        default=20,
        help="registered customers of the store whose guests get Accounts of their own",
    )
    parser.add_argument("--products", type=int, default=40, help="products (items already in Exact)")
    parser.add_argument("--steady", type=int, default=200, help="new orders of known customers afterwards")


if __name__ == "__main__":
    main("Exact calls per order", add_arguments, measure)
