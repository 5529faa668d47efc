"""Adobe Commerce to Exact Online: the flow the engine runs for an Adobe Commerce connection.

Reads orders, invoices, credit memos and customers through the Adobe client (REST by `updated_at`;
webhooks and I/O Events only trigger `process`), maps them with `flows.adobe_commerce` on the GL
mapping document of the connection, and hands every write to the engine's `Writer`:

- an order becomes one SalesOrder (YourRef = increment id); a change before delivery or invoicing
  updates it where Exact allows, a cancellation deletes it while still open (else it is reported);
- each invoice (partial ones included) becomes a SalesInvoice on the mapped GL accounts and cost
  centers, then processed so that Exact books the revenue journal; with `booking: sales_entry` in the
  mapping it becomes a SalesEntry (GL-only, booked at once) instead;
- each credit memo becomes a credit note on the same mapping, adjustments included;
- customers become Accounts (stored link, then e-mail, then create); Exact's later edits of a linked
  Account flow back to the Adobe customer, Exact being the source of truth (no ping-pong: the link
  keeps the hash of the master data last synced). Invoices are never written back to Adobe.

Master data first: every pass refreshes the Exact cache before it reads a document, and a document is
checked against the mapping and the master data before anything is posted; a line without a valid
mapping parks the document (failed, with the line and the rule to add) until `replay`.

Steady state costs one Exact POST per SalesOrder, SalesEntry or Account, and two per SalesInvoice or
credit note (create, then process: Exact has no way to do both in one call).

Connection settings: `settings["sync"]` = {"target": <Exact connection>, "store_key", "vat",
"account_code"} (`pipelines.adobe_settings`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ml_connector.adobe_commerce.client import (
    CREDIT_MEMOS,
    CUSTOMERS,
    INVOICES,
    ORDERS,
    PRODUCTS,
    AdobeClient,
    Resource,
)
from ml_connector.adobe_commerce.models import CreditMemo, Customer, Invoice, MagentoModel, Order
from ml_connector.adobe_commerce.paging import Watermark
from ml_connector.adobe_commerce.search import Filter, SearchCriteria
from ml_connector.engine.flows import Change, FlowContext, InboxItem, WebhookStatus, register_flow
from ml_connector.engine.intent import SourceRecord, UpdateRule, WriteIntent
from ml_connector.engine.target import Target
from ml_connector.exact.client import ExactClient
from ml_connector.flows.accounts import MasterData, match_account
from ml_connector.flows.adobe_commerce import (
    ExactOrderState,
    MappedDocument,
    MappingInputs,
    OrderAction,
    ShopContext,
    credit_memo_ref,
    decide_order_change,
    invoice_ref,
    map_credit_memo,
    map_invoice,
    map_order,
    order_ref,
)
from ml_connector.flows.gl_mapping import Booking, ExactMasterData
from ml_connector.pipelines import adobe_customers as customers
from ml_connector.pipelines.adobe_settings import parse_sync_settings
from ml_connector.pipelines.adobe_target import PROCESSING, AdobeExactTarget
from ml_connector.pipelines.exact_flow import (
    ACCOUNTS,
    CUSTOMER,
    EXACT_ACCOUNT,
    ExactTargetFlow,
    ShopCustomer,
    guest_account_code,
)
from ml_connector.pipelines.gl_mappings import MappingCache, StoredMapping, load_masterdata
from ml_connector.store.connections import get_connection

ORDER, INVOICE, CREDIT_MEMO = "order", "invoice", "credit_memo"
GUEST = "guest"
SALES_ORDERS, SALES_INVOICES, SALES_ENTRIES = "SalesOrders", "SalesInvoices", "SalesEntries"
CANCELLED_MARK = "order_cancelled"  # LinkHashes type: the SalesOrder a cancellation was settled for
# Entities refreshed before each pass: new Accounts and Items matter for matching, GL accounts for the
# pre-posting check (an account blocked since the last pass); the small lists are read on the first pass.
PASS_REFRESH = ("Items", "Accounts", "GLAccounts")
# Synchronous "before" plugins (e.g. order placement) fire before Magento saves the record: nothing to
# read yet; the save's own event or the next poll brings it.
BEFORE_SAVE = "plugin."
RECENT = 4096  # records a poll read, kept for `process` (invoices need their order) to save Adobe calls

M = TypeVar("M", bound=MagentoModel)


class _Recent:
    """A bounded, thread-safe cache of the records the last polls read, by entity id."""

    def __init__(self, size: int = RECENT) -> None:
        self._items: OrderedDict[int, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: int, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: int) -> Any:
        with self._lock:
            return self._items.get(key)

    def drop(self, key: int) -> None:
        with self._lock:
            self._items.pop(key, None)


class AdobeToExact(ExactTargetFlow):
    """The engine's Flow for one Adobe Commerce connection."""

    streams: Sequence[str] = ("orders", "invoices", "credit_memos", "customers", "exact_accounts")
    pass_refresh = PASS_REFRESH

    def __init__(self, ctx: FlowContext) -> None:
        target_name, self.settings = parse_sync_settings(ctx.connection.settings, ctx.connection.name)
        super().__init__(ctx, target_name)
        self.adobe = AdobeClient.for_stored(self.app, ctx.connection, clock=ctx.clock)
        self.mappings = MappingCache()
        self._orders, self._invoices, self._credit_memos = _Recent(), _Recent(), _Recent()
        self._masterdata: ExactMasterData | None = None
        self._shop: ShopContext | None = None

    def exact_target(self, client: ExactClient) -> Target:
        return AdobeExactTarget(client)

    # -- the Flow protocol ------------------------------------------------------------------------

    def poll(self, stream: str, since: datetime | None) -> Iterable[Change]:
        if stream == "orders":
            self.refresh_master_data()
            self._shop = None  # categories and store views are read again for this pass
            return self._poll(ORDERS, ORDER, since, self._orders)
        if stream == "invoices":
            return self._poll(INVOICES, INVOICE, since, self._invoices)
        if stream == "credit_memos":
            return self._poll(CREDIT_MEMOS, CREDIT_MEMO, since, self._credit_memos)
        if stream == "customers":
            return self._poll(CUSTOMERS, CUSTOMER, since, None)
        if stream == "exact_accounts":
            return self._poll_exact_accounts()
        raise ValueError(f"Adobe Commerce flow has no stream '{stream}' (streams: {', '.join(self.streams)})")

    def process(self, source_type: str, source_id: str) -> None:
        if source_type == ORDER:
            self.process_order(self._order(int(source_id)))
        elif source_type == INVOICE:
            self.process_invoice(_take(self._invoices, int(source_id), self.adobe.invoice))
        elif source_type == CREDIT_MEMO:
            self.process_credit_memo(_take(self._credit_memos, int(source_id), self.adobe.credit_memo))
        elif source_type == CUSTOMER:
            self.process_customer(int(source_id))
        elif source_type == EXACT_ACCOUNT:
            self.account_changed_in_exact(source_id)
        elif source_type == GUEST:
            # a guest's Account is written for an order: retrying it means processing their orders again
            criteria = SearchCriteria().where(Filter("customer_email", source_id))
            for order in self.adobe.iterate(ORDERS, criteria):
                self.process_order(order)
        else:
            raise ValueError(f"Adobe Commerce flow cannot process '{source_type}' records")

    def handle_inbox(self, message: InboxItem) -> None:
        """Commerce webhooks (`observer.sales_order_invoice_save_after`, ...) and I/O Events
        (`com.adobe.commerce.observer...`) name the record; it is read again over REST."""
        topic, resource_id = (message.topic or "").lower(), message.resource_id
        if not resource_id or not resource_id.isdigit() or topic.startswith(BEFORE_SAVE):
            return
        source_type = _source_type_of(topic)
        if source_type is None:
            return
        # a delivery means the record changed: never map it from what an earlier poll read
        cached = {ORDER: self._orders, INVOICE: self._invoices, CREDIT_MEMO: self._credit_memos}.get(
            source_type
        )
        if cached is not None:
            cached.drop(int(resource_id))
        self.process(source_type, resource_id)

    def webhook_status(self) -> WebhookStatus:
        return WebhookStatus(
            True, "Adobe deliveries are triggers only; every pass polls by updated_at as the safety net"
        )

    # -- reading ----------------------------------------------------------------------------------

    def _poll(
        self, resource: Resource[M], source_type: str, since: datetime | None, keep: _Recent | None
    ) -> Iterator[Change]:
        # The engine's cursor already reaches back by `overlap`: no second overlap here.
        start = Watermark.starting_at(since) if since is not None else Watermark()
        for record in self.adobe.changes(resource, start, overlap=timedelta(0)):
            key = int(getattr(record, resource.id_field))
            if keep is not None:
                keep.put(key, record)
            modified = getattr(record, "updated_at", None) or getattr(record, "created_at", None)
            if modified is None:
                raise ValueError(f"Adobe {resource.label} {key} has no updated_at: it cannot be polled")
            yield Change(source_type, str(key), modified, modified.isoformat())

    def _order(self, entity_id: int) -> Order:
        order: Order | None = self._orders.get(entity_id)
        if order is None:
            order = self.adobe.order(entity_id)
            self._orders.put(entity_id, order)
        return order

    def _versioned(self, source_type: str, source_id: str | int, moment: datetime | None) -> SourceRecord:
        return self._source(source_type, source_id, moment.isoformat() if moment else None)

    # -- orders -----------------------------------------------------------------------------------

    def process_order(self, order: Order) -> None:
        source = self._versioned(ORDER, order.entity_id, order.updated_at)
        if order.state == "canceled":
            self._order_cancelled(source, order)
            return
        account_id = self._account_for_order(order)
        mapped: list[MappedDocument[Any]] = []

        def draft() -> MappedDocument[Any]:
            if not mapped:
                mapped.append(map_order(order, self._inputs(account_id)))
            return mapped[0]

        def may_update(target: Target, entity: str, target_id: str) -> bool:
            current = target.get(entity, target_id, ["Status", "OrderedBy"])
            state = None
            if current is not None:
                ordered_by = current.get("OrderedBy")
                state = ExactOrderState(
                    target_id, current.get("Status"), ordered_by and str(ordered_by), None
                )
            decision = decide_order_change(order, draft().draft, state)
            if decision.action is not OrderAction.UPDATE:  # the engine records the refusal; this says why
                self._note(source, "update_refused", f"order {order.increment_id}: {decision.reason}")
            return decision.action is OrderAction.UPDATE

        self.writer.write(
            WriteIntent(
                source=source,
                target_connection_id=self.target_id,
                entity=SALES_ORDERS,
                external_ref=order_ref(order, self.settings.store_key),
                payload=lambda: draft().draft.to_payload(),
                update=may_update,
            )
        )

    def _order_cancelled(self, source: SourceRecord, order: Order) -> None:
        posted = self.writer.link(source, SALES_ORDERS)
        if posted is None:
            self.writer.skip(source, f"order {order.increment_id} was cancelled before it reached Exact")
            return
        if self.links.get(CANCELLED_MARK, source.id) == posted:
            return  # settled on an earlier pass
        current = self.exact.get(SALES_ORDERS, posted, ("Status", "OrderedBy"))
        state = None
        if current is not None:
            state = ExactOrderState(posted, current.get("Status"), str(current.get("OrderedBy") or ""), None)
        decision = decide_order_change(order, None, state)
        if decision.action is OrderAction.DELETE:
            self.exact.delete(SALES_ORDERS, posted)
            self._note(source, "cancelled", f"SalesOrder {posted} deleted: {decision.reason}")
        elif decision.action is OrderAction.REPORT:
            self._note(source, "changed_after_posting", f"order {order.increment_id}: {decision.reason}")
        self.links.set(CANCELLED_MARK, source.id, posted)

    # -- invoices and credit memos ----------------------------------------------------------------

    def process_invoice(self, invoice: Invoice) -> None:
        order = self._order(invoice.order_id)
        self._book(
            self._versioned(INVOICE, invoice.entity_id, invoice.updated_at or invoice.created_at),
            invoice_ref(invoice, self.settings.store_key),
            order,
            lambda inputs: map_invoice(invoice, order, inputs),
        )

    def process_credit_memo(self, credit_memo: CreditMemo) -> None:
        order = self._order(credit_memo.order_id)
        self._book(
            self._versioned(
                CREDIT_MEMO, credit_memo.entity_id, credit_memo.updated_at or credit_memo.created_at
            ),
            credit_memo_ref(credit_memo, self.settings.store_key),
            order,
            lambda inputs: map_credit_memo(credit_memo, order, inputs),
        )

    def _book(
        self,
        source: SourceRecord,
        ref: str,
        order: Order,
        build: Callable[[MappingInputs], MappedDocument[Any]],
    ) -> None:
        """A SalesInvoice (then processed) or a SalesEntry, as the mapping's `booking` says."""
        try:
            stored: StoredMapping | None = self._mapping()
        except LookupError as exc:  # no mapping imported yet: park until `mapping import` and replay
            stored, missing = None, exc
        entity = SALES_ENTRIES if stored and stored.doc.booking is Booking.SALES_ENTRY else SALES_INVOICES
        account_id = self._account_for_order(order)

        def payload() -> dict[str, Any]:
            if stored is None:
                raise missing
            body: dict[str, Any] = build(self._inputs(account_id, stored)).draft.to_payload()
            return body

        result = self.writer.write(
            WriteIntent(
                source=source,
                target_connection_id=self.target_id,
                entity=entity,
                external_ref=ref,
                payload=payload,
                update=UpdateRule.NEVER,
            )
        )
        if entity == SALES_INVOICES and result.target_id is not None:
            self.writer.write(
                WriteIntent(
                    source=source,
                    target_connection_id=self.target_id,
                    entity=PROCESSING,
                    external_ref=result.target_id,
                    payload={"InvoiceID": result.target_id},
                    update=UpdateRule.NEVER,
                )
            )

    def _mapping(self) -> StoredMapping:
        with self.app.db.session() as session:
            conn = get_connection(session, self.name)
            return self.mappings.current(session, self.app.vault, conn)

    def _inputs(self, account_id: str, stored: StoredMapping | None = None) -> MappingInputs:
        return MappingInputs(
            mapping=(stored or self._mapping()).doc,
            masterdata=self.masterdata(),
            shop=self.shop(),
            account_id=account_id,
            store_key=self.settings.store_key,
        )

    # -- accounts ---------------------------------------------------------------------------------

    def _account_for_order(self, order: Order) -> str:
        view = self.view()
        email = order.customer_email.strip().lower()
        if order.customer_id is None or order.customer_is_guest:
            match = match_account(linked_account_id=None, email=email, candidates=view.candidates(email))
            if match.account_id is not None:
                return match.account_id
            code = guest_account_code(email, self.settings.account_code.prefix)
            return self._create_account(self._source(GUEST, email), customers.account_for_order(order, code))
        source = self._source(CUSTOMER, order.customer_id)
        match = match_account(
            linked_account_id=self.writer.link(source, ACCOUNTS),
            email=email,
            candidates=view.candidates(email),
        )
        if match.account_id is not None:
            return match.account_id
        draft = customers.account_for_order(order, self.settings.customer_code(order.customer_id))
        return self._create_account(source, draft)

    def process_customer(self, customer_id: int) -> None:
        customer = Customer.model_validate(self.adobe.get(f"/V1/customers/{customer_id}"))
        code = self.settings.customer_code(customer.id)
        shop_customer = ShopCustomer(
            source=self._versioned(CUSTOMER, customer.id, customer.updated_at),
            email=customer.email,
            master_data=customers.master_data_from_customer(customer),
            draft=lambda: customers.account_for_customer(customer, code),
        )
        failure = self.sync_customers([shop_customer]).get(shop_customer.source.id)
        if failure is not None:
            raise failure

    def shop_master_data(self, customer_id: str) -> MasterData:
        customer = Customer.model_validate(self.adobe.get(f"/V1/customers/{customer_id}"))
        return customers.master_data_from_customer(customer)

    def update_shop_customer(self, customer_id: str, account: dict[str, Any]) -> None:
        raw = self.adobe.get(f"/V1/customers/{customer_id}")
        body = customers.customer_update_payload(account, Customer.model_validate(raw), raw)
        self.adobe.request("PUT", f"/V1/customers/{customer_id}", json=body)

    # -- master data ------------------------------------------------------------------------------

    def refresh_master_data(self) -> None:
        super().refresh_master_data()
        self._masterdata = None

    def masterdata(self) -> ExactMasterData:
        if self._masterdata is None:
            if not self._refreshed:
                self.refresh_master_data()
            with self.app.db.session() as session:
                self._masterdata = load_masterdata(session, self.target_id)
        return self._masterdata

    def shop(self) -> ShopContext:
        """Product categories and store views the mapping may match on (two Adobe calls a pass)."""
        if self._shop is None:
            self._shop = ShopContext.build(
                products=self.adobe.iterate(PRODUCTS, page_size=300),
                stores=self.adobe.store_configs(),
                vat=self.settings.vat_mapping(),
            )
        return self._shop

    def close(self) -> None:
        self.adobe.close()
        super().close()


def _take(cache: _Recent, entity_id: int, read: Callable[[int], M]) -> M:
    """The record the last poll read (once: a retry reads it again), else one Adobe call."""
    cached: M | None = cache.get(entity_id)
    if cached is None:
        return read(entity_id)
    cache.drop(entity_id)
    return cached


def _source_type_of(topic: str) -> str | None:
    """The record a Commerce webhook or I/O event is about, by its event name."""
    for marker, source_type in (
        ("creditmemo", CREDIT_MEMO),
        ("invoice", INVOICE),
        ("customer", CUSTOMER),
        ("order", ORDER),
    ):
        if marker in topic:
            return source_type
    return None


register_flow("adobe_commerce", AdobeToExact)
