"""What every shop-to-Exact flow shares: the Exact side.

A subclass reads its shop and maps its documents; this base owns the Exact connection (client, engine
writer, partition), the master-data cache and its per-pass refresh, customer Accounts (create, and the
Exact-to-shop direction of master data with no ping-pong), and audit notes.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from ml_connector.engine.audit import event_row, record_events
from ml_connector.engine.flows import Change, FlowContext
from ml_connector.engine.intent import SourceRecord, UpdateRule, WriteIntent
from ml_connector.engine.target import Target
from ml_connector.engine.writer import Writer
from ml_connector.exact.client import ExactClient
from ml_connector.exact.target import ExactTarget
from ml_connector.flows.accounts import (
    AccountDraft,
    MasterData,
    SyncAction,
    decide_master_data_sync,
    match_account,
)
from ml_connector.flows.accounts import master_data_from_account as exact_master_data
from ml_connector.flows.problems import MappingError
from ml_connector.pipelines import masterdata
from ml_connector.pipelines.links import LinkHashes, source_of
from ml_connector.pipelines.lookups import MasterDataView
from ml_connector.store.connections import get_connection

CUSTOMER, EXACT_ACCOUNT, ACCOUNTS = "customer", "exact_account", "Accounts"
# Entities refreshed before each pass: new Accounts and Items matter for matching; the rest rarely move.
PASS_REFRESH = ("Items", "Accounts")
MASTER_DATA_MAX_AGE = timedelta(hours=1)  # VAT codes, journals, GL accounts ... are re-read this often


class Note(NamedTuple):
    """An audit event of a record that changes no ledger state: `kind` ("ignored", "conflict" ...) and
    what happened, in words."""

    source: SourceRecord
    kind: str
    message: str


@dataclass(frozen=True)
class ShopCustomer:
    """A shop customer as the Account sync needs it (see `ExactTargetFlow.sync_customers`)."""

    source: SourceRecord
    email: str | None
    master_data: MasterData
    draft: Callable[[], AccountDraft]  # the Account to create (Code set) when no link or e-mail matches


class RecordWaiting(RuntimeError):
    """The record depends on a write that is not done yet (e.g. its customer's Account); retried later."""


def guest_account_code(email: str, prefix: str) -> str:
    """A deterministic, numeric Account Code for a guest (Exact codes are numeric, at most 18 digits):
    the same e-mail always gives the same code, so an Account created before a timeout is found again."""
    digits = str(int(hashlib.sha256(email.strip().lower().encode()).hexdigest(), 16))[:12]
    return f"{prefix}9{digits}"


AccountKey = tuple[str, str]  # (source type, source id) of the record an Account is created for


class NewAccounts:
    """The Accounts a batch of documents needs created, once each: by source record, and by e-mail, so
    that a guest with the e-mail of an Account created in the same batch shares it (as it would have,
    one document at a time)."""

    def __init__(self) -> None:
        self.drafts: dict[AccountKey, tuple[SourceRecord, AccountDraft]] = {}
        self._by_email: dict[str, AccountKey] = {}

    def add(self, source: SourceRecord, draft: AccountDraft) -> AccountKey:
        key = (source.type, source.id)
        self.drafts.setdefault(key, (source, draft))
        email = (draft.data.email or "").strip().lower()
        if email:
            self._by_email.setdefault(email, key)
        return key

    def with_email(self, email: str | None) -> AccountKey | None:
        return self._by_email.get((email or "").strip().lower())


class ExactTargetFlow(ABC):
    """Base of the engine Flows that write to one Exact connection (see the module docstring)."""

    overlap = timedelta(seconds=2)
    pass_refresh: tuple[str, ...] = PASS_REFRESH
    # The cached entities the flow resolves against; each costs a full read per MASTER_DATA_MAX_AGE.
    master_data: tuple[str, ...] = masterdata.ALL_ENTITIES

    def __init__(self, ctx: FlowContext, target_name: str) -> None:
        self.app, self.ctx = ctx.app, ctx
        self.connection_id, self.name = ctx.connection.id, ctx.connection.name
        with self.app.db.session() as session:
            target = get_connection(session, target_name)
            self.target_id, division = target.id, target.division
        self.partition = f"exact:{division}"
        self.exact = ExactClient.for_connection(self.app, target_name, clock=ctx.clock)
        self.writer: Writer = ctx.writer(self.exact_target(self.exact))
        self.links = LinkHashes(self.app.db, self.connection_id)
        self._view: MasterDataView | None = None
        self._refreshed = False
        self._accounts_read = False  # Accounts read since the `exact_accounts` stream last took them
        self._changed_accounts: list[dict[str, Any]] = []  # changed in Exact, for the exact_accounts stream
        self._fresh_accounts: set[str] = set()  # read by this pass: no need to read them again

    def exact_target(self, client: ExactClient) -> Target:
        """The engine's view of Exact; a flow with Exact writes of its own extends it."""
        return ExactTarget(client)

    def _source(self, source_type: str, source_id: str | int, version: str | None = None) -> SourceRecord:
        return SourceRecord(self.connection_id, source_type, str(source_id), version)

    # -- master data ------------------------------------------------------------------------------

    def refresh_master_data(self) -> None:
        """Before a pass: Items and Accounts by Timestamp (one call each), plus whatever was not read within
        the hour (in full, with deletions). Accounts changed in Exact are kept for `exact_accounts`."""
        slow = masterdata.stale(self.app.db, self.target_id, MASTER_DATA_MAX_AGE, self.master_data)
        entities = [*self.pass_refresh, *(e for e in slow if e not in self.pass_refresh)]
        changed = masterdata.refresh(self.app.db, self.exact, self.target_id, entities, deletions=bool(slow))
        if self._refreshed:
            self._changed_accounts.extend(changed["Accounts"])
        self._refreshed = self._accounts_read = True
        self._view = None

    def view(self) -> MasterDataView:
        if self._view is None:
            if not self._refreshed:
                self.refresh_master_data()
            self._view = MasterDataView.load(self.app.db, self.target_id)
        return self._view

    # -- customer Accounts ------------------------------------------------------------------------

    def _create_account(self, source: SourceRecord, draft: AccountDraft) -> str:
        """Write one Account through the engine and link it (see `_create_accounts`)."""
        batch = NewAccounts()
        key = batch.add(source, draft)
        created = self._create_accounts(batch)[key]
        if isinstance(created, RecordWaiting):
            raise created
        return created

    def _create_accounts(self, batch: NewAccounts) -> dict[AccountKey, str | RecordWaiting]:
        """Write the batch's Accounts through the engine together (each Code is its external reference)
        and link them; per Account, its id or why it is not written yet."""
        for source, draft in batch.drafts.values():
            if not draft.code:
                raise ValueError(
                    f"the Account for {source.type} {source.id} needs a Code: it is its reference"
                )
        pairs = list(batch.drafts.items())
        payloads = [draft.to_payload() for _, (_, draft) in pairs]
        results = self.writer.write_many(
            [
                WriteIntent(
                    source=source,
                    target_connection_id=self.target_id,
                    entity=ACCOUNTS,
                    external_ref=str(draft.code),
                    payload=payload,
                    update=UpdateRule.NEVER,
                )
                for (_, (source, draft)), payload in zip(pairs, payloads, strict=True)
            ]
        )
        created: dict[AccountKey, str | RecordWaiting] = {}
        fingerprints, cached = [], []
        for (key, (source, draft)), payload, result in zip(pairs, payloads, results, strict=True):
            if result.target_id is None:
                created[key] = RecordWaiting(
                    f"the Exact Account for {source.type} {source.id} is not written yet ({result.note}); "
                    f"see `ml-connector audit {self.name}:{source.type}:{source.id}`"
                )
                continue
            cached.append({**payload, "ID": result.target_id})
            fingerprints.append((source.type, source.id, draft.data.fingerprint()))
            created[key] = result.target_id
        self.view().add_accounts(cached)
        self.links.set_many(fingerprints)
        return created

    def sync_customers(self, customers: Sequence[ShopCustomer]) -> dict[str, Exception]:
        """Shop customers to Accounts, as one batch: by stored link, then e-mail, else a new Account; a
        matched Account and its customer are brought in line (`sync_master_data_many`). What went wrong,
        by source id; the rest of the batch goes on."""
        linked = self.writer.links([c.source for c in customers], ACCOUNTS)
        by_email = self.view().candidates_of(c.email for c in customers)
        new, keys = NewAccounts(), dict[str, AccountKey]()
        later: list[tuple[ShopCustomer, AccountKey]] = []  # share the e-mail of an Account being created
        matched: dict[str, list[ShopCustomer]] = {}
        failures: dict[str, Exception] = {}
        for customer in customers:
            source = customer.source
            try:
                match = match_account(
                    linked_account_id=linked.get((source.type, source.id)),
                    email=customer.email,
                    candidates=by_email.get(masterdata.normal_email(customer.email), []),
                )
                if match.account_id is not None:
                    matched.setdefault(match.account_id, []).append(customer)
                elif (pending := new.with_email(customer.email)) is not None:
                    later.append((customer, pending))
                else:
                    keys[source.id] = new.add(source, customer.draft())
            except Exception as exc:
                failures[source.id] = exc
        created = self._create_accounts(new)
        failures.update(
            (ident, result) for ident, key in keys.items() if isinstance(result := created[key], Exception)
        )
        accounts = self.view().accounts(list(matched))
        failures.update(
            self.sync_master_data_many(
                [
                    (customer.source, customer.master_data, accounts[account_id])
                    for account_id, group in matched.items()
                    if account_id in accounts  # not cached (deleted in Exact?): the next read says
                    for customer in group
                ]
            )
        )
        # Matched by e-mail to the Account an earlier customer of the batch got; if that one is not written
        # yet, they wait for it rather than get an Account of their own.
        ready = []
        for customer, key in later:
            if isinstance(created[key], Exception):
                failures[customer.source.id] = RecordWaiting(
                    f"{customer.source.type} {customer.source.id} shares its e-mail with {key[0]} {key[1]}, "
                    "whose Exact Account is not written yet; it is matched to that Account once it is"
                )
            else:
                ready.append(customer)
        if ready:
            failures.update(self.sync_customers(ready))
        return failures

    def sync_master_data(self, source: SourceRecord, shop: MasterData, account_id: str) -> None:
        """Bring a linked customer and its Account in line (see `sync_master_data_many`)."""
        account = self.view().account(account_id)
        if account is None:
            raise RecordWaiting(
                f"Exact Account {account_id} is not in the master-data cache yet: it is read on the next "
                "pass (or run `ml-connector masterdata refresh`)"
            )
        failure = self.sync_master_data_many([(source, shop, account)]).get(source.id)
        if failure is not None:
            raise failure

    def sync_master_data_many(
        self, pairs: Sequence[tuple[SourceRecord, MasterData, dict[str, Any]]]
    ) -> dict[str, Exception]:
        """Linked customers and their (cached) Accounts in line: Exact wins conflicts, our own writes
        echoing back are recognised. The link hashes are read and written once for the batch; what went
        wrong, by source id."""
        hashes = self.links.get_many([(source.type, source.id) for source, _, _ in pairs])
        notes: list[Note] = []
        synced: list[tuple[str, str, str]] = []
        failures: dict[str, Exception] = {}
        for source, shop, account in pairs:
            account_id = str(account["ID"])
            try:
                sync = decide_master_data_sync(
                    hashes.get((source.type, source.id)), shop, exact_master_data(account)
                )
                if sync.conflict:
                    notes.append(Note(source, "conflict", f"edited on both sides; {sync.reason}"))
                if sync.action == SyncAction.UPDATE_SHOP:
                    self.update_shop_customer(source.id, account)
                    message = f"customer {source.id} updated from Exact Account {account_id}"
                    notes.append(Note(source, "shop_updated", message))
                elif sync.action == SyncAction.UPDATE_EXACT:
                    payload = AccountDraft(shop).update_payload()
                    self.exact.update(ACCOUNTS, account_id, payload)
                    self.view().add_account({**account, **payload})
                    message = f"Exact Account {account_id} updated from customer {source.id}"
                    notes.append(Note(source, "exact_updated", message))
            except Exception as exc:  # this customer is tried again; the others are in line
                failures[source.id] = exc
                continue
            synced.append((source.type, source.id, sync.link_hash))
        self._notes(notes)
        self.links.set_many(synced)
        return failures

    @abstractmethod
    def update_shop_customer(self, customer_id: str, account: dict[str, Any]) -> None:
        """Write the Account's master data to the shop's customer."""

    @abstractmethod
    def shop_master_data(self, customer_id: str) -> MasterData:
        """The shop customer's master data, read fresh."""

    def _customer_of(self, account_id: str) -> str | None:
        return source_of(self.app.db, self.connection_id, CUSTOMER, ACCOUNTS, account_id)

    def _poll_exact_accounts(self) -> Iterator[Change]:
        """Accounts changed in Exact (read by this pass's master-data refresh) that belong to a customer."""
        if not self._accounts_read:  # no pass refreshed the cache since this stream last ran
            self.refresh_master_data()
        changed, self._changed_accounts, self._accounts_read = self._changed_accounts, [], False
        self._fresh_accounts = {str(account["ID"]) for account in changed}
        now = datetime.now(UTC)
        for account in changed:
            account_id = str(account["ID"])
            if self._customer_of(account_id) is not None:
                yield Change(EXACT_ACCOUNT, account_id, now, str(account.get("Timestamp")))

    def account_changed_in_exact(self, account_id: str) -> None:
        customer_id = self._customer_of(account_id)
        if customer_id is None:
            return
        if account_id not in self._fresh_accounts or self.view().account(account_id) is None:
            # a webhook names the key only: read the Account itself (one call) and keep it in the cache
            fields = [f for f in masterdata.SPECS[ACCOUNTS].select if f != "Timestamp"]  # sync endpoints only
            account = self.exact.get(ACCOUNTS, account_id, fields)
            if account is None:
                return
            self.view().add_account(account)
        self.sync_master_data(
            self._source(CUSTOMER, customer_id), self.shop_master_data(customer_id), account_id
        )

    # -- audit ------------------------------------------------------------------------------------

    def _note(self, source: SourceRecord, kind: str, message: str) -> None:
        """An audit event of the record that changes no ledger state (ignored, conflict, ...)."""
        self._notes([Note(source, kind, message)])

    def _notes(self, notes: Sequence[Note]) -> None:
        """`_note` for several records, in one transaction."""
        if not notes:
            return
        now = datetime.now(UTC)
        rows = [
            event_row(
                record_key=self.writer.key_of(n.source.connection_id, n.source.type, n.source.id),
                kind=n.kind,
                at=now,
                connection_id=n.source.connection_id,
                message=n.message,
                detail={"version": n.source.version},
            )
            for n in notes
        ]
        with self.app.db.session() as session:
            record_events(session, rows)

    def _park(self, source: SourceRecord, entity: str, ref: str, error: MappingError) -> None:
        """A record that cannot be mapped yet: a failed ledger entry with the reason, replayable."""

        def unmappable() -> dict[str, Any]:
            raise error

        self.writer.write(
            WriteIntent(
                source=source,
                target_connection_id=self.target_id,
                entity=entity,
                external_ref=ref,
                payload=unmappable,
            )
        )

    def close(self) -> None:
        self.exact.close()
