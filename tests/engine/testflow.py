"""A minimal flow to prove the engine: orders of a JSON-file "shop" become an Account and a SalesInvoice.

The shop is a file so that worker processes see the same source. Every order names a customer; the
customer's Account is written first (updates allowed), and the invoice refers to it through the
ledger link, as the real flows do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ml_connector.engine.flows import Change, FlowContext, InboxItem, WebhookStatus, register_flow
from ml_connector.engine.intent import SourceRecord, UpdateRule, WriteIntent
from ml_connector.engine.target import Target
from ml_connector.store.models import Connection

FLOW = "test-shop"
# Puts the external reference into a payload where the target keeps it (Exact: `exact.refs`).
ApplyRef = Callable[[str, dict[str, Any], str], dict[str, Any]]


def your_ref(_entity: str, payload: dict[str, Any], ref: str) -> dict[str, Any]:
    return {**payload, "YourRef": ref}


class ShopFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def orders(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        return data

    def put(self, order_id: str, **fields: Any) -> None:
        orders = self.orders()
        order = orders.setdefault(order_id, {"customer": "c1", "amount": 10, "status": "processing"})
        order.update(fields)
        order.setdefault("modified", datetime(2026, 1, 1, tzinfo=UTC).isoformat())
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(orders))
        tmp.replace(self.path)


@dataclass
class ShopFlow:
    ctx: FlowContext
    target: Target
    target_connection: Connection
    apply_ref: ApplyRef
    streams: tuple[str, ...] = ("orders",)
    overlap: timedelta = timedelta(seconds=1)
    partition: str = field(init=False)

    def __post_init__(self) -> None:
        self.shop = ShopFile(Path(self.ctx.connection.settings["shop_file"]))
        self.writer = self.ctx.writer(self.target)
        self.partition = f"exact:{self.target_connection.division}"

    def poll(self, stream: str, since: datetime | None) -> Iterator[Change]:
        for order_id, order in sorted(self.shop.orders().items(), key=lambda item: item[1]["modified"]):
            modified = datetime.fromisoformat(order["modified"])
            if since is None or modified >= since:
                yield Change("order", order_id, modified, order["modified"])

    def process(self, source_type: str, source_id: str) -> None:
        order = self.shop.orders()[source_id]
        source = SourceRecord(self.ctx.connection.id, source_type, source_id, order["modified"])
        if order["status"] == "cancelled":
            self.writer.skip(source, "order is cancelled: nothing to invoice")
            return
        customer = SourceRecord(self.ctx.connection.id, "customer", order["customer"], None)
        account = {"Name": order["customer"], "Status": "C"}
        self.writer.write(self._intent(customer, "Accounts", f"C-{order['customer']}", account, True))
        self.writer.write(
            self._intent(source, "SalesInvoices", f"WC-{source_id}", self._invoice(order), False)
        )

    def _invoice(self, order: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        def build() -> dict[str, Any]:
            customer = SourceRecord(self.ctx.connection.id, "customer", order["customer"])
            account = self.writer.link(customer, "Accounts")
            if account is None:
                raise ValueError(f"customer {order['customer']} has no Account in the target yet")
            line = {"Item": order.get("item", "item-1"), "Quantity": 1, "UnitPrice": order["amount"]}
            return {"InvoiceTo": account, "OrderedBy": account, "SalesInvoiceLines": [line]}

        return build

    def _intent(
        self, source: SourceRecord, entity: str, ref: str, payload: Any, updatable: bool
    ) -> WriteIntent:
        def with_ref() -> dict[str, Any]:
            return self.apply_ref(entity, payload() if callable(payload) else payload, ref)

        return WriteIntent(
            source=source,
            target_connection_id=self.target_connection.id,
            entity=entity,
            external_ref=ref,
            payload=with_ref,
            update=UpdateRule.ALWAYS if updatable else UpdateRule.NEVER,
        )

    def handle_inbox(self, message: InboxItem) -> None:
        self.process("order", str(json.loads(message.body)["id"]))

    def webhook_status(self) -> WebhookStatus:
        healthy = bool(self.ctx.connection.settings.get("webhooks_healthy"))
        return WebhookStatus(healthy, "test setting webhooks_healthy")


def register(
    make_target: Callable[[FlowContext, Connection], Target], apply_ref: ApplyRef = your_ref
) -> None:
    """Register the test flow; `make_target` builds the target for the flow's target connection."""

    def factory(ctx: FlowContext) -> ShopFlow:
        with ctx.app.db.session() as session:
            target_conn = session.get_one(Connection, ctx.connection.settings["target_connection_id"])
        return ShopFlow(ctx, make_target(ctx, target_conn), target_conn, apply_ref)

    register_flow(FLOW, factory)
