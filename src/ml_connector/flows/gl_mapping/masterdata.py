"""Exact master data the mapping is checked against (loaded from the local cache by the pipelines).

`masterdata refresh` stores Exact's rows as returned by the API (`data` = the raw JSON object) under
the entity names below; codes are trimmed here because Exact pads some of them (`VATCode: "02 "`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ml_connector.flows.exact_documents import ExactLookups
from ml_connector.flows.vat import VatCode, vat_codes_from_exact

# CachedRecord.entity values (Exact's entity names, as in exact-entities.json).
GL_ACCOUNTS = "GLAccounts"
COST_CENTERS = "CostCenters"
COST_UNITS = "CostUnits"
VAT_CODES = "VATCodes"
JOURNALS = "Journals"
ITEMS = "Items"
MASTERDATA_ENTITIES: tuple[str, ...] = (GL_ACCOUNTS, COST_CENTERS, COST_UNITS, VAT_CODES, JOURNALS, ITEMS)

GL_TYPE_REVENUE = 110  # GLAccounts.Type: 20 AR, 22 AP, 24 VAT, 110 revenue, 120 other costs ...
GL_BALANCE_PROFIT_LOSS = "W"  # GLAccounts.BalanceType: B balance sheet, W profit & loss
JOURNAL_TYPE_SALES = 20  # Journals.Type: 10 cash, 12 bank, 20 sales, 21 return invoice, 22 purchase


class CodeRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    code: str
    description: str = ""


class GLAccount(CodeRecord):
    type: int | None = None
    balance_type: str | None = None
    blocked: bool = False


class Journal(CodeRecord):
    type: int | None = None
    blocked: bool = False


class ExactMasterData(BaseModel):
    """Exact master data by (trimmed) code."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    gl_accounts: dict[str, GLAccount] = Field(default_factory=dict)
    cost_centers: dict[str, CodeRecord] = Field(default_factory=dict)
    cost_units: dict[str, CodeRecord] = Field(default_factory=dict)
    vat_codes: dict[str, VatCode] = Field(default_factory=dict)  # shared with the WooCommerce flow
    journals: dict[str, Journal] = Field(default_factory=dict)
    items: dict[str, CodeRecord] = Field(default_factory=dict)

    @classmethod
    def from_exact_rows(cls, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> ExactMasterData:
        """Build from (entity, raw Exact JSON object) pairs."""
        tables: dict[str, dict[str, Any]] = {name: {} for name in MASTERDATA_ENTITIES}
        vat_rows: list[Mapping[str, Any]] = []
        for entity, raw in rows:
            if raw.get("Code") is None:
                continue
            if entity == VAT_CODES:
                vat_rows.append(raw)
            elif entity in tables:
                record = _convert(entity, raw)
                tables[entity][record.code] = record
        return cls(
            gl_accounts=tables[GL_ACCOUNTS],
            cost_centers=tables[COST_CENTERS],
            cost_units=tables[COST_UNITS],
            vat_codes=vat_codes_from_exact(vat_rows),
            journals=tables[JOURNALS],
            items=tables[ITEMS],
        )

    def lookups(self) -> ExactLookups:
        """The code -> ID lookups the shared document drafting (flows.exact_documents) needs."""
        return ExactLookups(item_id=self.item_id, gl_account_id=self.gl_account_id, vat_codes=self.vat_codes)

    def gl_account_id(self, code: str) -> str | None:
        record = self.gl_accounts.get(code)
        return record.id if record else None

    def item_id(self, code: str) -> str | None:
        record = self.items.get(code)
        return record.id if record else None


def _convert(entity: str, raw: Mapping[str, Any]) -> CodeRecord:
    common = {
        "id": str(raw.get("ID", "")),
        "code": str(raw["Code"]).strip(),
        "description": str(raw.get("Description") or ""),
    }
    if entity == GL_ACCOUNTS:
        balance = raw.get("BalanceType")
        return GLAccount(
            **common,
            type=raw.get("Type"),
            balance_type=str(balance).strip() if balance is not None else None,
            blocked=bool(raw.get("IsBlocked")),
        )
    if entity == JOURNALS:
        return Journal(**common, type=raw.get("Type"), blocked=bool(raw.get("IsBlocked")))
    return CodeRecord(**common)
