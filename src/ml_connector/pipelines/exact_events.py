"""Exact webhooks for an Exact connection: an Account edited in Exact goes back to the shops at once.

A notification carries only the record's key. The flows of the shops that write to this Exact
connection re-read the Account (one call) and update their linked customer, Exact being the source of
truth; the sync endpoint by Timestamp remains the safety net on every pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from ml_connector.engine.flows import Change, FlowCache, FlowContext, InboxItem, WebhookStatus, register_flow
from ml_connector.store.models import Connection, ConnectionKind

ACCOUNT_TOPIC = "Accounts"
SHOP_KINDS = (ConnectionKind.WOOCOMMERCE, ConnectionKind.ADOBE_COMMERCE)


class ExactEvents:
    """The Flow of an Exact connection: it reads nothing on a schedule, it reacts to Exact's webhooks."""

    streams: Sequence[str] = ()
    overlap = timedelta(0)

    def __init__(self, ctx: FlowContext) -> None:
        self.app, self.name = ctx.app, ctx.connection.name
        self.partition = f"exact:{ctx.connection.division}"
        self.shop_flows = FlowCache(ctx.app, clock=ctx.clock, policy=ctx.policy, worker_id=ctx.worker_id)

    def poll(self, stream: str, since: datetime | None) -> Iterable[Change]:
        return ()

    def process(self, source_type: str, source_id: str) -> None:
        if source_type != ACCOUNT_TOPIC:
            return  # other topics are read by the shops' passes through the sync endpoints
        for shop_id in self._shops():
            self.shop_flows.get(shop_id).process("exact_account", source_id)

    def handle_inbox(self, message: InboxItem) -> None:
        if message.topic and message.resource_id:
            self.process(message.topic, message.resource_id)

    def webhook_status(self) -> WebhookStatus:
        return WebhookStatus(True, "Exact webhooks are signals; shop passes read Accounts by Timestamp too")

    def _shops(self) -> list[int]:
        with self.app.db.session() as session:
            rows = session.scalars(select(Connection).where(Connection.kind.in_(SHOP_KINDS)))
            return [c.id for c in rows if ((c.settings or {}).get("sync") or {}).get("target") == self.name]


register_flow("exact", ExactEvents)
