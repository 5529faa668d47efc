"""WooCommerce to Exact Online: the flow the engine runs for a WooCommerce connection.

Reads orders and customers through the WooCommerce client, maps them with `flows.woocommerce`, resolves
codes against the Exact master-data cache and hands every write to the engine's `Writer`:

- an order becomes one SalesInvoice (one POST with its lines), to the customer's Account;
- each refund on an order becomes one credit note, exactly once per refund id;
- a customer becomes an Account (stored link, then e-mail, then create), and Exact's later edits of a
  linked Account flow back to the WooCommerce customer (Exact is the source of truth).

In steady state an order costs one Exact call: accounts and items are resolved from the cache, which a
sync pass refreshes incrementally (one `sync/...` call per entity) before it processes anything.

Connection settings: the WooCommerce connection's `settings["sync"]` holds `target` (the Exact connection
name) and the `WooExactSettings` fields (store_key, journal, vat rules, ...).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import ValidationError

from ml_connector.engine.flows import Change, FlowContext, InboxItem, WebhookStatus, register_flow
from ml_connector.engine.intent import SourceRecord, UpdateRule, WriteIntent
from ml_connector.flows.accounts import AccountDraft, ExactAccountRef, MasterData
from ml_connector.flows.problems import MappingError
from ml_connector.flows.woocommerce import customers as customer_flow
from ml_connector.flows.woocommerce import invoices
from ml_connector.flows.woocommerce.refs import order_ref, refund_ref
from ml_connector.flows.woocommerce.selection import (
    CANCELLED_STATUSES,
    OrderAction,
    decide_deleted,
    decide_order,
)
from ml_connector.flows.woocommerce.settings import WooExactSettings, parse_settings
from ml_connector.pipelines.exact_flow import (
    ACCOUNTS,
    CUSTOMER,
    EXACT_ACCOUNT,
    AccountKey,
    ExactTargetFlow,
    NewAccounts,
    Note,
    ShopCustomer,
    guest_account_code,
)
from ml_connector.pipelines.masterdata import normal_email
from ml_connector.store.connections import get_connection
from ml_connector.woocommerce.client import WooClient
from ml_connector.woocommerce.models import Customer, Order, Refund
from ml_connector.woocommerce.webhooks import (
    HookState,
    connection_webhook_health,
    ensure_connection_webhooks,
)

ORDER, REFUND, GUEST = "order", "refund", "guest"
SKIPPED = "skipped"
INVOICES = "SalesInvoices"
RECENT_ORDERS = 512  # orders a poll read, kept for `process` (the runtime's jobs) not to read them again


@dataclass
class _BatchAccounts:
    """What a batch of orders knows about Accounts, read once: the customers' stored links, the cached
    Exact Accounts with the batch's e-mails, and the Accounts the batch will create."""

    linked: dict[AccountKey, str]
    by_email: dict[str, list[ExactAccountRef]]
    new: NewAccounts = field(default_factory=NewAccounts)


@dataclass(frozen=True)
class _Refunds:
    """The refunds of a batch of orders: those credited already, and the rest as they are being read."""

    credited: dict[tuple[str, str], str]
    reading: Future[dict[tuple[int, int], Refund | Exception]] | None


def _order_version(order: Order) -> str:
    """date_modified_gmt has whole seconds: a status change or refund in the same second is a new
    version all the same."""
    refunds = ",".join(str(refund.id) for refund in order.refunds)
    return f"{order.date_modified_gmt.isoformat()}|{order.status}|{refunds}"


class SyncSettingsError(ValueError):
    """The connection's sync settings are missing or wrong; the message names the setting and the fix."""


def sync_settings(raw: dict[str, Any] | None, connection: str) -> tuple[str, WooExactSettings]:
    section = dict((raw or {}).get("sync") or {})
    target = section.pop("target", None)
    if not target:
        raise SyncSettingsError(
            f"WooCommerce connection '{connection}' has no sync target: set settings.sync.target to the name "
            "of the Exact connection to write to"
        )
    try:
        return str(target), parse_settings(section, connection)
    except (MappingError, ValidationError) as exc:
        raise SyncSettingsError(str(exc)) from None


class WooToExact(ExactTargetFlow):
    """The engine's Flow for one WooCommerce connection."""

    streams: Sequence[str] = ("orders", "customers", "exact_accounts")

    def __init__(self, ctx: FlowContext) -> None:
        target_name, self.settings = sync_settings(ctx.connection.settings, ctx.connection.name)
        # What invoices and Accounts resolve against (journals, payment conditions are taken as set); GL
        # accounts only when a setting names one.
        gl_accounts = ("GLAccounts",) if self.settings.uses_gl_accounts else ()
        self.master_data = ("Items", "Accounts", "VATCodes", *gl_accounts)
        super().__init__(ctx, target_name)
        self.mapping = invoices.FlowContext.of(self.settings)
        self.woo = WooClient.for_connection(self.app, self.name)
        self._recent: OrderedDict[int, Order] = OrderedDict()
        self._lock = threading.Lock()
        self._refund_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="woo-refunds")

    # -- the Flow protocol ------------------------------------------------------------------------

    def poll(self, stream: str, since: datetime | None) -> Iterable[Change]:
        if stream == "orders":
            self.refresh_master_data()
            return self._poll_orders(since)
        if stream == "customers":
            return (
                Change(CUSTOMER, str(c.id), c.changed_at, c.changed_at.isoformat(), record=c)
                for c in self.woo.changed_customers(since, overlap=self.overlap)
            )
        if stream == "exact_accounts":
            return self._poll_exact_accounts()
        raise ValueError(f"WooCommerce flow has no stream '{stream}' (streams: {', '.join(self.streams)})")

    def process(self, source_type: str, source_id: str) -> None:
        if source_type == ORDER:
            self.process_order(self._order(int(source_id)))
        elif source_type == "order_deleted":
            self._order_deleted(int(source_id))
        elif source_type == CUSTOMER:
            self.process_customer(self.woo.customer(int(source_id)))
        elif source_type == EXACT_ACCOUNT:
            self.account_changed_in_exact(source_id)
        elif source_type == REFUND:
            order_id, _, _refund = source_id.partition(":")
            self.process_order(self.woo.order(int(order_id)))
        elif source_type == GUEST:
            self._retry_guest(source_id)
        else:
            raise ValueError(f"WooCommerce flow cannot process '{source_type}' records")

    def handle_inbox(self, message: InboxItem) -> None:
        topic = message.topic or ""
        resource_id = message.resource_id
        if not resource_id:
            return
        if topic == "order.deleted":
            self.process("order_deleted", resource_id)
        elif topic.startswith("order."):
            with self._lock:  # a delivery means the order changed: never map what an earlier poll read
                self._recent.pop(int(resource_id), None)
            self.process(ORDER, resource_id)
        elif topic.startswith("customer."):
            self.process(CUSTOMER, resource_id)

    def webhook_status(self) -> WebhookStatus:
        """The store's subscriptions; disabled ones (WooCommerce gives up after failed deliveries) are
        re-activated here, while this cycle still reports unhealthy so that the poll covers the gap."""
        with self.app.db.session() as session:
            conn = get_connection(session, self.name)
        health = connection_webhook_health(self.app, conn)
        if any(state is HookState.DISABLED for state in health.states.values()):
            result = ensure_connection_webhooks(self.app, conn)
            reactivated = ", ".join(result.reactivated) if result else "none"
            self._note(
                self._source("webhooks", self.name), "webhooks_reactivated", f"re-activated: {reactivated}"
            )
        return WebhookStatus(health.healthy, health.describe())

    # -- orders -----------------------------------------------------------------------------------

    def _poll_orders(self, since: datetime | None) -> Iterator[Change]:
        for order in self.woo.changed_orders(since, overlap=self.overlap):
            self._remember(order)
            modified = order.date_modified_gmt
            yield Change(ORDER, str(order.id), modified, _order_version(order), record=order)

    def _remember(self, order: Order) -> None:
        with self._lock:
            self._recent[order.id] = order
            self._recent.move_to_end(order.id)
            while len(self._recent) > RECENT_ORDERS:
                self._recent.popitem(last=False)

    def _order(self, order_id: int) -> Order:
        with self._lock:
            order = self._recent.pop(order_id, None)
        return order if order is not None else self.woo.order(order_id)

    def process_changes(self, changes: Sequence[Change]) -> list[Exception | None]:
        """Polled orders together (`process_orders`); customers (as polled) and the rest one by one."""
        outcomes: list[Exception | None] = [None] * len(changes)
        orders = [(i, c.record) for i, c in enumerate(changes) if isinstance(c.record, Order)]
        with self._lock:  # at hand already: the runtime's cache need not keep them
            for _, order in orders:
                self._recent.pop(order.id, None)
        failures = self.process_orders([order for _, order in orders])
        for index, order in orders:
            outcomes[index] = failures.get(order.id)
        # as the poll read them: no second read
        customers = [(i, c.record) for i, c in enumerate(changes) if isinstance(c.record, Customer)]
        customer_failures = self.process_customers([customer for _, customer in customers])
        for index, customer in customers:
            outcomes[index] = customer_failures.get(str(customer.id))
        for index, change in enumerate(changes):
            if isinstance(change.record, Order | Customer):
                continue
            try:
                self.process(change.source_type, change.source_id)
            except Exception as exc:  # recorded on its inbox message, retried with backoff
                outcomes[index] = exc
        return outcomes

    def process_order(self, order: Order) -> None:
        failure = self.process_orders([order]).get(order.id)
        if failure is not None:
            raise failure

    def process_orders(self, orders: Sequence[Order]) -> dict[int, Exception]:
        """Invoices (then credit notes) for orders, as batches; what went wrong, by order id.

        The batch's ledger links are read in one query per entity, and the Accounts it needs are
        created together before its invoices.
        """
        sources = [self._source(ORDER, o.id, o.date_modified_gmt.isoformat()) for o in orders]
        posted = self.writer.links(sources, INVOICES)
        accounts = _BatchAccounts(
            linked=self.writer.links([self._source(CUSTOMER, o.customer_id) for o in orders], ACCOUNTS),
            by_email=self.view().candidates_of(o.billing.email for o in orders),
        )
        failures: dict[int, Exception] = {}
        wanted: list[tuple[Order, SourceRecord, str | AccountKey]] = []
        left_out: list[Note] = []  # skipped, ignored, changed after posting: recorded together
        for order, source in zip(orders, sources, strict=True):
            try:
                note = self._left_out(order, source, posted.get((ORDER, source.id)))
                if note is None:
                    wanted.append((order, source, self._account_for_order(order, accounts)))
                else:
                    left_out.append(note)
            except MappingError as exc:
                self._park(source, INVOICES, order_ref(self.settings.store_key, order.id), exc)
            except Exception as exc:  # this order waits for its retry; the batch goes on
                failures[order.id] = exc
        self.writer.skip_many([(n.source, n.message) for n in left_out if n.kind == SKIPPED])
        self._notes([n for n in left_out if n.kind != SKIPPED])
        created = self._create_accounts(accounts.new)
        planned: list[tuple[Order, str, WriteIntent]] = []
        for order, source, account in wanted:
            account_id = created[account] if isinstance(account, tuple) else account
            try:
                if isinstance(account_id, Exception):
                    raise account_id
                self._create_missing_items(order)
            except Exception as exc:
                failures[order.id] = exc
                continue
            intent = WriteIntent(
                source=source,
                target_connection_id=self.target_id,
                entity=INVOICES,
                external_ref=order_ref(self.settings.store_key, order.id),
                payload=partial(self._invoice, order, account_id),
                update=UpdateRule.NEVER,
            )
            planned.append((order, account_id, intent))
        refunds = self._refunds_to_credit([order for order, _, _ in planned])
        results = self.writer.write_many([intent for _, _, intent in planned])
        credited = [
            (order, account_id)
            for (order, account_id, _), result in zip(planned, results, strict=True)
            if result.target_id is not None and order.refunds
        ]
        failures.update(self._credit_refunds(credited, refunds))
        return failures

    def _left_out(self, order: Order, source: SourceRecord, posted_id: str | None) -> Note | None:
        """None when the order gets (or already has) an invoice; else why not, for its audit trail."""
        if posted_id is None:
            decision = decide_order(order, self.settings, None)
            if decision.action == OrderAction.SKIP:
                return Note(source, SKIPPED, decision.reason)
            if decision.action == OrderAction.IGNORE:
                return Note(source, "ignored", decision.reason)
        elif order.status in CANCELLED_STATUSES:
            return Note(
                source,
                "changed_after_posting",
                f"order {order.id} was {order.status} after its invoice {posted_id} was posted: "
                "credit it in Exact or refund it in WooCommerce",
            )
        return None

    def _refund_source(self, order_id: int, refund_id: int) -> SourceRecord:
        return self._source(REFUND, f"{order_id}:{refund_id}")

    def _refunds_to_credit(self, orders: Sequence[Order]) -> _Refunds:
        """The refunds of `orders` not credited yet, read from the shop on a thread of their own while the
        orders' invoices are sent (the refunds' line items come only with the refund itself)."""
        sources = {
            (order.id, summary.id): self._refund_source(order.id, summary.id)
            for order in orders
            for summary in order.refunds
        }
        credited = self.writer.links(list(sources.values()), INVOICES)
        wanted = [key for key, source in sources.items() if (REFUND, source.id) not in credited]
        if not wanted:
            return _Refunds(credited, None)
        reading = self._refund_reader.submit(copy_context().run, self._read_refunds, wanted)
        return _Refunds(credited, reading)

    def _read_refunds(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Refund | Exception]:
        read: dict[tuple[int, int], Refund | Exception] = {}
        for order_id, refund_id in wanted:
            try:
                read[(order_id, refund_id)] = self.woo.refund(order_id, refund_id)
            except Exception as exc:  # the order's refunds are credited when it is retried
                read[(order_id, refund_id)] = exc
        return read

    def _credit_refunds(self, orders: Sequence[tuple[Order, str]], refunds: _Refunds) -> dict[int, Exception]:
        """A credit note per refund not credited yet, as one batch; what went wrong, by order id."""
        read = refunds.reading.result() if refunds.reading is not None else {}
        failures: dict[int, Exception] = {}
        intents = []
        for order, account_id in orders:
            try:
                for summary in order.refunds:
                    source = self._refund_source(order.id, summary.id)
                    if (REFUND, source.id) in refunds.credited:
                        continue
                    key = (order.id, summary.id)
                    refund = read[key] if key in read else self.woo.refund(*key)
                    if isinstance(refund, Exception):
                        raise refund
                    intents.append(
                        WriteIntent(
                            source=source,
                            target_connection_id=self.target_id,
                            entity=INVOICES,
                            external_ref=refund_ref(self.settings.store_key, order.id, refund.id),
                            payload=partial(self._credit_note, order, refund, account_id),
                            update=UpdateRule.NEVER,
                        )
                    )
            except Exception as exc:  # its refunds are credited when the order is retried
                failures[order.id] = exc
        self.writer.write_many(intents)
        return failures

    def _invoice(self, order: Order, account_id: str) -> dict[str, Any]:
        lookups = self.view().lookups()
        return invoices.map_order(order, self.mapping, lookups, account_id).to_payload()

    def _credit_note(self, order: Order, refund: Refund, account_id: str) -> dict[str, Any]:
        lookups = self.view().lookups()
        return invoices.map_refund(order, refund, self.mapping, lookups, account_id).to_payload()

    def _order_deleted(self, order_id: int) -> None:
        source = self._source(ORDER, order_id)
        decision = decide_deleted(order_id, posted=self.writer.link(source, INVOICES) is not None)
        if decision.action == OrderAction.SKIP:
            self.writer.skip(source, decision.reason)
        else:
            self._note(source, "changed_after_posting", decision.reason)

    def _create_missing_items(self, order: Order) -> None:
        view = self.view()
        gl_code = self.settings.new_item_revenue_gl
        for missing in invoices.items_to_create(order, self.mapping, view.lookups()):
            revenue_gl = view.gl_accounts.get(gl_code or "")
            if revenue_gl is None:
                raise SyncSettingsError(
                    f"new_item_revenue_gl '{gl_code}' is not a GL account in Exact: set an existing revenue "
                    "account code (see `ml-connector masterdata refresh`)"
                )
            draft = replace(missing, revenue_gl_account_id=revenue_gl)
            source = self._source("item", draft.code)
            result = self.writer.write(
                WriteIntent(
                    source=source,
                    target_connection_id=self.target_id,
                    entity="Items",
                    external_ref=draft.code,
                    payload=draft.to_payload(),
                    update=UpdateRule.NEVER,
                )
            )
            if result.target_id:
                view.add_item(draft.code, result.target_id)

    # -- accounts ---------------------------------------------------------------------------------

    def _account_for_order(self, order: Order, accounts: _BatchAccounts) -> str | AccountKey:
        """The order's Account id, or the key of the Account to create for it (added to `accounts.new`)."""
        email = normal_email(order.billing.email)
        candidates = accounts.by_email.get(email, [])
        new = accounts.new
        if order.is_guest:
            decision = customer_flow.order_account_decision(
                order, self.settings, linked_account_id=None, candidates=candidates
            )
            if decision.account_id is not None:
                return decision.account_id
            pending = new.with_email(email)
            if pending is not None:
                return pending
            draft = customer_flow.account_for_order(order, self.settings)
            code = guest_account_code(email, self.settings.account_code.prefix)
            return new.add(self._source(GUEST, email), replace(draft, code=code))
        source = self._source(CUSTOMER, order.customer_id)
        decision = customer_flow.order_account_decision(
            order,
            self.settings,
            linked_account_id=accounts.linked.get((CUSTOMER, source.id)),
            candidates=candidates,
        )
        if decision.account_id is not None:
            return decision.account_id
        if (CUSTOMER, source.id) in new.drafts:
            return (CUSTOMER, source.id)
        pending = new.with_email(email)
        if pending is not None:
            return pending
        draft = customer_flow.account_for_order(order, self.settings)
        return new.add(source, replace(draft, code=self._customer_code(order.customer_id)))

    def _retry_guest(self, email: str) -> None:
        """A guest's Account is written for their orders: retrying it means processing them again. When
        none needs it any more (refunded or cancelled meanwhile), the write begun for them is finished
        anyway (looked up by its Code first), so that no attempt stays open for ever."""
        orders = [o for o in self.woo.orders(search=email) if normal_email(o.billing.email) == email]
        for order in orders:
            self.process_order(order)
        source = self._source(GUEST, email)
        if orders and self.writer.link(source, ACCOUNTS) is None:
            draft = customer_flow.account_for_order(orders[-1], self.settings)
            code = guest_account_code(email, self.settings.account_code.prefix)
            self._create_account(source, replace(draft, code=code))

    def _customer_code(self, customer_id: int) -> str:
        return self.settings.account_code.code_for(customer_id) or str(customer_id)

    def process_customer(self, customer: Customer) -> None:
        failure = self.process_customers([customer]).get(str(customer.id))
        if failure is not None:
            raise failure

    def process_customers(self, customers: Sequence[Customer]) -> dict[str, Exception]:
        """Customers to Accounts as one batch (`sync_customers`); what went wrong, by customer id."""
        return self.sync_customers(
            [
                ShopCustomer(
                    source=self._source(CUSTOMER, c.id, c.changed_at.isoformat()),
                    email=customer_flow.customer_email(c),
                    master_data=customer_flow.master_data_from_customer(c),
                    draft=partial(self._customer_account, c),
                )
                for c in customers
            ]
        )

    def _customer_account(self, customer: Customer) -> AccountDraft:
        draft = customer_flow.account_for_customer(customer, self.settings)
        return replace(draft, code=self._customer_code(customer.id))

    def shop_master_data(self, customer_id: str) -> MasterData:
        return customer_flow.master_data_from_customer(self.woo.customer(int(customer_id)))

    def update_shop_customer(self, customer_id: str, account: dict[str, Any]) -> None:
        customer = self.woo.customer(int(customer_id))
        self.woo.put(f"customers/{customer_id}", customer_flow.customer_update_payload(account, customer))

    def close(self) -> None:
        self._refund_reader.shutdown(wait=True)
        self.woo.close()
        super().close()


register_flow("woocommerce", WooToExact)
