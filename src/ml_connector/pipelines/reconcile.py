"""`ml-connector reconcile NAME --period 2026-10`: a shop's orders and refunds of a period against Exact.

Reads what the pure comparison (`flows.reconcile`, `flows.woocommerce.reconcile`) needs, and no more:

- WooCommerce: the orders created in the period, plus the older orders changed since it began (creating a
  refund changes its order, so every order with a refund in the period is among them); refunds only for
  orders that have any. Orders are handled one at a time, so memory stays flat however big the month.
- Exact: one bulk read of the SalesInvoices (credit notes included) whose `YourRef` carries the shop's
  prefix and whose `OrderDate` falls in the period: the flow writes the order's (or refund's) shop date
  there. 1000 rows a page, so a month of up to 1000 documents costs one Exact call. The comparison needs
  header totals only (`AmountFC`, `VATAmountFC`), so no lines are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ml_connector.app import App
from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.flows.reconcile import (
    ExactDocument,
    ExpectedDocument,
    FindingKind,
    Period,
    ReconcileReport,
    reconcile,
)
from ml_connector.flows.woocommerce.reconcile import expected_documents
from ml_connector.flows.woocommerce.refs import ref_prefix
from ml_connector.flows.woocommerce.settings import WooExactSettings
from ml_connector.pipelines.woocommerce import sync_settings
from ml_connector.store.connections import get_connection
from ml_connector.store.models import ConnectionKind
from ml_connector.woocommerce.client import WooClient, gmt
from ml_connector.woocommerce.models import Order

INVOICES = "SalesInvoices"
# What ExactDocument.from_record reads; the bulk endpoint requires a $select anyway.
EXACT_FIELDS = ("InvoiceID", "InvoiceNumber", "YourRef", "AmountFC", "VATAmountFC")
# Period dates are the shop's local dates; shops run from UTC-12 to UTC+14, so a day either side of the
# period in UTC holds every order of it. Orders of the margins are dropped by their local date.
TIMEZONE_MARGIN = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)  # WooCommerce date filters are strict, with 1 s resolution

FINDING_TITLES = {
    FindingKind.MISSING_IN_EXACT: "missing in Exact",
    FindingKind.NO_SOURCE: "no order or refund",
    FindingKind.DUPLICATE_IN_EXACT: "duplicate in Exact",
    FindingKind.TOTAL_DIFFERENCE: "total differs",
    FindingKind.VAT_DIFFERENCE: "VAT differs",
}


def run_reconcile(app: App, name: str, period: str) -> ReconcileReport:
    """Reconcile the shop connection `name` with its Exact division for `period` (a month "2026-10", a
    day "2026-10-05" or a range "2026-10-01..2026-10-15")."""
    span = Period.parse(period)
    with app.db.session() as session:
        conn = get_connection(session, name)
        kind, raw_settings = conn.kind, dict(conn.settings or {})
    if kind == ConnectionKind.ADOBE_COMMERCE:
        from ml_connector.pipelines.adobe_reconcile import run_adobe_reconcile  # it builds on this module

        return run_adobe_reconcile(app, name, period)
    if kind != ConnectionKind.WOOCOMMERCE:
        raise ValueError(
            f"connection '{name}' is a {kind} connection: reconcile takes a shop connection (WooCommerce "
            "or Adobe Commerce), which names its Exact connection in settings.sync.target"
        )
    target, settings = sync_settings(raw_settings, name)
    with closing(WooClient.for_connection(app, name)) as woo:
        expected = woocommerce_expected(woo, settings, span)
    exact = ExactClient.for_connection(app, target)
    try:
        actual = exact_documents(exact, ref_prefix(settings.store_key), span)
    finally:
        exact.close()
    return reconcile(str(span), expected, actual)


# -- WooCommerce ------------------------------------------------------------------------------------------


def woocommerce_expected(woo: WooClient, settings: WooExactSettings, span: Period) -> list[ExpectedDocument]:
    """The invoices and credit notes the shop's orders and refunds of `span` should have in Exact."""
    expected: list[ExpectedDocument] = []
    for order in period_orders(woo, span):
        refunds = list(woo.refunds(order.id)) if order.refunds else []
        expected.extend(expected_documents([order], {order.id: refunds}, settings, span))
    return expected


def period_orders(woo: WooClient, span: Period) -> Iterator[Order]:
    """Each order created in the period, then each older order changed since the period began."""
    start = _utc_midnight(span.start) - TIMEZONE_MARGIN
    end = _utc_midnight(span.end + timedelta(days=1)) + TIMEZONE_MARGIN
    created = woo.orders(after=gmt(start - ONE_SECOND), before=gmt(end), dates_are_gmt="true")
    # On stores older than WooCommerce 5.8 (no modified filter) this reads every older order: slow, but no
    # refund is missed.
    older_changed = woo.changed_orders(
        start, overlap=ONE_SECOND, full_rescan=True, params={"before": gmt(start)}
    )
    seen: set[int] = set()
    for order in chain(created, older_changed):
        if order.id not in seen:  # paging over a live store can repeat a row
            seen.add(order.id)
            yield order


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


# -- Exact --------------------------------------------------------------------------------------------------


def exact_documents(exact: ExactClient, prefix: str, span: Period) -> list[ExactDocument]:
    """The SalesInvoices and credit notes of `span` whose YourRef starts with `prefix` (bulk: 1000 a call)."""
    query = odata.all_of(
        f"startswith(YourRef,{odata.literal(prefix)})",
        odata.compare("OrderDate", "ge", span.start),
        odata.compare("OrderDate", "lt", span.end + timedelta(days=1)),
    )
    return [
        ExactDocument.from_record(row)
        for row in exact.bulk(INVOICES, EXACT_FIELDS, query)
        # Exact compares text case-insensitively: keep this shop's references only, not "wc-shop1-".
        if str(row.get("YourRef") or "").startswith(prefix)
    ]


# -- output -------------------------------------------------------------------------------------------------


def render_report(report: ReconcileReport) -> RenderableType:
    """A summary line and, when anything disagrees, one table row per finding."""
    summary = Text.assemble(
        (f"Period {report.period}: ", "bold"),
        f"{report.expected_count} documents expected, {report.exact_count} in Exact, "
        f"{report.matched} agree. ",
        ("Everything agrees.", "bold green") if report.ok else (_problem_counts(report), "bold red"),
    )
    if report.ok:
        return summary
    table = Table("problem", "reference", "source", "expected", "in Exact", "difference", "detail")
    for finding in report.findings:
        table.add_row(
            FINDING_TITLES[finding.kind],
            finding.ref,
            finding.source,
            _amount(finding.expected),
            _amount(finding.actual),
            _amount(finding.difference),
            finding.detail,
        )
    return Group(summary, table)


def _problem_counts(report: ReconcileReport) -> str:
    parts = (
        f"{count} {FINDING_TITLES[FindingKind(kind)]}" for kind, count in report.counts().items() if count
    )
    return "Disagreements: " + ", ".join(parts) + "."


def _amount(value: Decimal | None) -> Text:
    return Text("" if value is None else f"{value:.2f}", justify="right")
