"""In-memory views of the Exact master-data cache that the pure flows resolve codes against."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml_connector.flows.accounts import ExactAccountRef
from ml_connector.flows.exact_documents import ExactLookups
from ml_connector.flows.vat import vat_codes_from_exact
from ml_connector.pipelines.masterdata import (
    cached_record,
    cached_records,
    cached_rows,
    cached_with_email,
    normal_email,
    remember,
)
from ml_connector.store.db import Database

ACCOUNTS = "Accounts"


@dataclass
class MasterDataView:
    """Codes to ids for Items and GL accounts, and VAT codes, in memory (one load per sync pass); Accounts
    stay in the database cache and are read by id or e-mail when needed, so that memory does not grow
    with the number of customers."""

    db: Database
    connection_id: int
    items: dict[str, str] = field(default_factory=dict)
    gl_accounts: dict[str, str] = field(default_factory=dict)
    vat_rows: list[dict[str, Any]] = field(default_factory=list)
    _lookups: ExactLookups | None = None

    @classmethod
    def load(cls, db: Database, connection_id: int) -> MasterDataView:
        view = cls(db, connection_id)
        with db.read_session() as session:
            for row in cached_rows(session, connection_id, "Items"):
                if row.code:
                    view.items[row.code] = row.remote_id
            for row in cached_rows(session, connection_id, "GLAccounts"):
                if row.code:
                    view.gl_accounts[row.code] = row.remote_id
            view.vat_rows = [row.data for row in cached_rows(session, connection_id, "VATCodes")]
        return view

    def account(self, account_id: str) -> dict[str, Any] | None:
        """The cached Account (as Exact returned it, or as we wrote it)."""
        with self.db.read_session() as session:
            return cached_record(session, self.connection_id, ACCOUNTS, account_id)

    def accounts(self, account_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """`account` for several ids, in one query: the cached ones, by id."""
        if not account_ids:
            return {}
        with self.db.read_session() as session:
            return cached_records(session, self.connection_id, ACCOUNTS, account_ids)

    def add_account(self, data: dict[str, Any]) -> None:
        """An Account we created or changed: cached at once, so that matching finds it."""
        self.add_accounts([data])

    def add_accounts(self, rows: Sequence[dict[str, Any]]) -> None:
        remember(self.db, self.connection_id, ACCOUNTS, rows)

    def candidates(self, email: str | None) -> list[ExactAccountRef]:
        return self.candidates_of([email]).get(normal_email(email), [])

    def candidates_of(self, emails: Iterable[str | None]) -> dict[str, list[ExactAccountRef]]:
        """The cached Accounts with each of `emails` (by normalised e-mail), in one query."""
        wanted = {normal_email(email) for email in emails} - {""}
        found: dict[str, list[ExactAccountRef]] = {email: [] for email in wanted}
        if not wanted:
            return found
        with self.db.read_session() as session:
            rows = cached_with_email(session, self.connection_id, ACCOUNTS, wanted)
        for data in rows:
            email = normal_email(data.get("Email"))
            found.setdefault(email, []).append(
                ExactAccountRef(
                    id=str(data["ID"]),
                    code=str(data.get("Code") or "").strip(),
                    email=email,
                    status=str(data.get("Status") or "C"),
                    blocked=bool(data.get("Blocked")),
                )
            )
        return found

    def add_item(self, code: str, item_id: str) -> None:
        self.items[code.strip()] = item_id

    def lookups(self) -> ExactLookups:
        """Built once per view (every document of a pass maps against it); items added later show."""
        if self._lookups is None:
            self._lookups = ExactLookups(
                item_id=lambda code: self.items.get(code.strip()),
                gl_account_id=lambda code: self.gl_accounts.get(code.strip()),
                vat_codes=vat_codes_from_exact(self.vat_rows),
            )
        return self._lookups
