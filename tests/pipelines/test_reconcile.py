"""`reconcile` against the real sandboxes: a shop synced by the WooCommerce flow, then broken on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from rich.console import Console

from ml_connector.app import App
from ml_connector.demo import setup
from ml_connector.engine.flows import flow_for
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.exact.sandbox import ExactSandbox
from ml_connector.flows.reconcile import FindingKind, ReconcileReport
from ml_connector.pipelines.reconcile import render_report, run_reconcile
from ml_connector.pipelines.woocommerce import WooToExact
from ml_connector.sandbox_kit.clock import ManualClock
from ml_connector.sandbox_kit.serve import ThreadedServer
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.models import Order
from ml_connector.woocommerce.sandbox import WooSandbox
from ml_connector.woocommerce.sandbox import create_app as create_woo

SHOP, BOOKS, KEY = "shop", "books", "SHOP1"
PERIOD = "2026-10"
# The store's clock stands still on 20 October: its seeded orders run from late August to 18 October, and
# everything the tests create (orders, refunds) is dated inside the period.
STORE_NOW = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)
INVOICED = ("processing", "completed")


@dataclass
class Shop:
    woo: WooSandbox
    exact_info: dict[str, Any]
    exact: ExactClient
    client: WooClient
    flow: WooToExact

    def sync(self, *order_ids: int) -> None:
        """Post invoices and credit notes through the real WooCommerce -> Exact flow."""
        for order_id in order_ids:
            self.flow.process_order(self.client.order(order_id))

    def orders(self) -> list[Order]:
        return list(self.client.orders())

    def exact_calls(self) -> int:
        stats = httpx.get(f"{self.exact_info['base_url']}/_sandbox/stats").json()
        return sum(int(division["api_calls"]) for division in stats["divisions"].values())

    def invoice(self, ref: str) -> dict[str, Any]:
        row = self.exact.first(
            "SalesInvoices", odata.Query(filter=odata.eq("YourRef", ref), select=("InvoiceID", "OrderedBy"))
        )
        assert row is not None, f"no Exact invoice {ref}"
        return row


@pytest.fixture
def shop(
    app: App, exact_client: ExactClient, exact_sandbox: tuple[ExactSandbox, dict[str, Any]]
) -> Iterator[Shop]:
    """A store with 40 orders, connected to Exact, every order synced by the flow."""
    _sandbox, exact_info = exact_sandbox
    woo = create_woo(seed=3, orders=40, clock=ManualClock(start=STORE_NOW.timestamp()))
    with ThreadedServer(woo.asgi) as server:
        setup.connect_woocommerce(app, SHOP, woo.info(server.base_url), setup.woo_sync_settings(BOOKS, KEY))
        client = WooClient.for_connection(app, SHOP)
        _give_every_product_a_sku(client)
        setup.mirror_catalogue(exact_client, exact_info, setup.shop_skus(client))
        flow = flow_for(app, SHOP)
        assert isinstance(flow, WooToExact)
        shop = Shop(woo, exact_info, exact_client, client, flow)
        # A line refund in October, so that the month holds a credit note whatever the seed brings.
        refunded = next(
            o for o in shop.orders() if o.status == "completed" and _local_day(o.date_created).month == 10
        )
        woo.store.create_refund(refunded.id, lines=[(refunded.line_items[0].id, 1)], reason="Damaged")
        shop.sync(*(order.id for order in shop.orders()))
        yield shop
        flow.close()
        client.close()
    woo.close()


def _give_every_product_a_sku(client: WooClient) -> None:
    """The merchant's fix for lines the flow parks: products without a SKU cannot be matched to Items."""
    for product in client.products():
        if not product.sku and product.type != "variable":
            client.update_product(product.id, {"sku": f"WOO-{product.id}"})
        for variation in client.variations(product.id) if product.type == "variable" else ():
            if not variation.sku:
                client.update_variation(product.id, variation.id, {"sku": f"WOO-{variation.id}"})


def _local_day(moment: datetime | None) -> date:
    assert moment is not None
    return moment.date()


def _october_documents(shop: Shop) -> set[str]:
    """The references October should hold, worked out from the store directly (not via the flow)."""
    refs: set[str] = set()
    for order in shop.orders():
        invoiced = order.status in INVOICED or (order.status == "refunded" and order.date_paid_gmt)
        if not invoiced:
            continue
        if _local_day(order.date_created).month == 10:
            refs.add(f"WC-{KEY}-{order.id}")
        for refund in shop.client.refunds(order.id):
            if _local_day(refund.date_created).month == 10:
                refs.add(f"WC-{KEY}-{order.id}-R{refund.id}")
    return refs


def _findings(report: ReconcileReport) -> set[tuple[FindingKind, str]]:
    return {(finding.kind, finding.ref) for finding in report.findings}


def _rendered(report: ReconcileReport) -> str:
    console = Console(record=True, width=240)
    console.print(render_report(report))
    return console.export_text()


def test_a_fully_synced_month_agrees_in_one_exact_call(app: App, shop: Shop) -> None:
    october = _october_documents(shop)
    assert len(october) >= 5 and any("-R" in ref for ref in october)  # invoices and credit notes

    before = shop.exact_calls()
    report = run_reconcile(app, SHOP, PERIOD)

    assert shop.exact_calls() - before == 1  # one bulk page of SalesInvoices, no lines
    assert report.ok, report.to_json()
    assert report.period == "2026-10-01..2026-10-31"
    assert report.expected_count == report.exact_count == report.matched == len(october)
    assert "Everything agrees." in _rendered(report)
    assert report.to_csv().splitlines() == ["kind,ref,source,expected,actual,difference,detail"]

    september = run_reconcile(app, SHOP, "2026-09-01..2026-09-30")
    assert september.ok and september.matched > 0
    assert september.matched + report.matched < len(shop.orders())  # each document in its own month only


def test_every_disagreement_is_listed(app: App, shop: Shop) -> None:
    orders = shop.orders()
    october = [o for o in orders if o.status in INVOICED and _local_day(o.date_created).month == 10]
    store = shop.woo.store

    # An order placed (and paid) after the last sync: no invoice in Exact.
    sku = next(line.sku for order in october for line in order.line_items if line.sku)
    unsynced = store.create_order(
        line_items=[{"sku": sku, "quantity": 2}],
        billing={"first_name": "Ann", "last_name": "Jansen", "email": "ann@example.nl", "country": "NL"},
        set_paid=True,
    )

    # A refund in October with no credit note, on an order from September (found through its modified date).
    september = next(o for o in orders if o.status == "completed" and _local_day(o.date_created).month == 9)
    refund = store.create_refund(september.id, amount="3.00", reason="Goodwill")

    # An accountant raises an invoice line's amount in Exact (VAT kept): the total no longer matches.
    edited = october[0]
    invoice = shop.invoice(f"WC-{KEY}-{edited.id}")
    line = shop.exact.first(
        "SalesInvoiceLines",
        odata.Query(
            filter=odata.eq("InvoiceID", odata.Guid(invoice["InvoiceID"])),
            select=("ID", "AmountFC", "VATAmountFC"),
        ),
    )
    assert line is not None
    raised = Decimal(str(line["AmountFC"])) + Decimal("1.00")
    division, base = shop.exact_info["division"], shop.exact_info["base_url"]
    httpx.put(
        f"{base}/_sandbox/edit/{division}/SalesInvoiceLines/{line['ID']}",
        json={"AmountFC": float(raised), "VATAmountFC": line["VATAmountFC"]},
    ).raise_for_status()

    # Invoices typed into Exact by hand: one with this shop's prefix, one posted twice, two that are not ours.
    item = shop.exact.first("Items", odata.Query(filter=odata.eq("Code", "SHIPPING"), select=("ID",)))
    assert item is not None

    def create_invoice(ref: str, day: str = "2026-10-10") -> None:
        shop.exact.create(
            "SalesInvoices",
            {
                "YourRef": ref,
                "OrderedBy": invoice["OrderedBy"],
                "Journal": "50",
                "OrderDate": day,
                "SalesInvoiceLines": [
                    {"Item": item["ID"], "Quantity": 1, "AmountFC": 10, "VATCode": "2", "VATAmountFC": 2.1}
                ],
            },
        )

    create_invoice(f"WC-{KEY}-999999")
    create_invoice(f"WC-{KEY}-{october[1].id}")
    create_invoice("WC-SHOP2-12")  # another shop in the same division
    create_invoice(f"wc-{KEY.lower()}-12")  # Exact's startswith ignores case; the reference does not
    create_invoice(f"WC-{KEY}-999998", day="2026-11-01")  # another month

    report = run_reconcile(app, SHOP, PERIOD)

    assert not report.ok
    assert _findings(report) == {
        (FindingKind.MISSING_IN_EXACT, f"WC-{KEY}-{unsynced.id}"),
        (FindingKind.MISSING_IN_EXACT, f"WC-{KEY}-{september.id}-R{refund.id}"),
        (FindingKind.TOTAL_DIFFERENCE, f"WC-{KEY}-{edited.id}"),
        (FindingKind.NO_SOURCE, f"WC-{KEY}-999999"),
        (FindingKind.DUPLICATE_IN_EXACT, f"WC-{KEY}-{october[1].id}"),
    }
    difference = next(f for f in report.findings if f.kind == FindingKind.TOTAL_DIFFERENCE)
    assert difference.expected == edited.total and difference.difference == Decimal("1.00")
    missing_refund = next(f for f in report.findings if "-R" in f.ref)
    assert missing_refund.expected == Decimal("-3.00")
    assert missing_refund.source == f"WooCommerce refund {refund.id} of order {september.id}"

    csv_rows = report.to_csv().splitlines()
    assert len(csv_rows) == 1 + len(report.findings)
    assert f"total_difference,WC-{KEY}-{edited.id}," in report.to_csv()
    text = _rendered(report)
    assert "missing in Exact" in text and f"WC-{KEY}-999999" in text and "duplicate in Exact" in text

    # Syncing the new order and the refund fixes those two; the rest needs a person.
    shop.sync(unsynced.id, september.id)
    after = run_reconcile(app, SHOP, PERIOD)
    assert {kind for kind, _ref in _findings(after)} == {
        FindingKind.TOTAL_DIFFERENCE,
        FindingKind.NO_SOURCE,
        FindingKind.DUPLICATE_IN_EXACT,
    }


def test_only_a_shop_connection_and_a_real_period_are_accepted(app: App, exact_client: ExactClient) -> None:
    with pytest.raises(ValueError, match="not a month"):
        run_reconcile(app, BOOKS, "October")
    with pytest.raises(ValueError, match="reconcile takes a shop connection"):
        run_reconcile(app, BOOKS, PERIOD)
