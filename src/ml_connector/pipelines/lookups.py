"""In-memory views of the Exact master-data cache that the pure flows resolve codes against."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ml_connector.flows.accounts import ExactAccountRef
from ml_connector.flows.exact_documents import ExactLookups
from ml_connector.flows.vat import vat_codes_from_exact
from ml_connector.pipelines.masterdata import cached_rows
from ml_connector.store.db import Database


@dataclass
class MasterDataView:
    """Codes to ids for Items and GL accounts, VAT codes, and Accounts by e-mail: one load per sync pass."""

    items: dict[str, str] = field(default_factory=dict)
    gl_accounts: dict[str, str] = field(default_factory=dict)
    vat_rows: list[dict[str, Any]] = field(default_factory=list)
    accounts_by_email: dict[str, list[ExactAccountRef]] = field(default_factory=lambda: defaultdict(list))
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lookups: ExactLookups | None = None

    @classmethod
    def load(cls, db: Database, connection_id: int) -> MasterDataView:
        view = cls()
        with db.session() as session:
            for row in cached_rows(session, connection_id, "Items"):
                if row.code:
                    view.items[row.code] = row.remote_id
            for row in cached_rows(session, connection_id, "GLAccounts"):
                if row.code:
                    view.gl_accounts[row.code] = row.remote_id
            view.vat_rows = [row.data for row in cached_rows(session, connection_id, "VATCodes")]
            for row in cached_rows(session, connection_id, "Accounts"):
                view.add_account(row.data)
        return view

    def add_account(self, data: dict[str, Any]) -> None:
        account_id = str(data["ID"])
        self.accounts[account_id] = data
        email = str(data.get("Email") or "").strip().lower()
        if email:
            ref = ExactAccountRef(
                id=account_id,
                code=str(data.get("Code") or "").strip(),
                email=email,
                status=str(data.get("Status") or "C"),
                blocked=bool(data.get("Blocked")),
            )
            self.accounts_by_email[email] = [r for r in self.accounts_by_email[email] if r.id != account_id]
            self.accounts_by_email[email].append(ref)

    def add_item(self, code: str, item_id: str) -> None:
        self.items[code.strip()] = item_id

    def candidates(self, email: str | None) -> list[ExactAccountRef]:
        return list(self.accounts_by_email.get((email or "").strip().lower(), ()))

    def lookups(self) -> ExactLookups:
        """Built once per view (every document of a pass maps against it); items added later show."""
        if self._lookups is None:
            self._lookups = ExactLookups(
                item_id=lambda code: self.items.get(code.strip()),
                gl_account_id=lambda code: self.gl_accounts.get(code.strip()),
                vat_codes=vat_codes_from_exact(self.vat_rows),
            )
        return self._lookups
