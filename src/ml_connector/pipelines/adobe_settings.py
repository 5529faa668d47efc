"""Sync settings of an Adobe Commerce connection (`Connection.settings["sync"]`).

    {"target": "books", "store_key": "MAG1",
     "vat": {"rules": [{"percent": 21, "vat_code": "2"}, {"percent": 9, "vat_code": "1"}]},
     "account_code": {"mode": "prefix_id", "prefix": "5"}}

Where each line is booked (GL account, cost center, journal, SalesInvoice or SalesEntry) is the GL
mapping document's job (`ml-connector mapping import`), not these settings'.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ml_connector.flows.accounts import AccountCodePolicy
from ml_connector.flows.problems import MappingError, problems_from_validation
from ml_connector.flows.vat import VatMapping, VatSettings


class AdobeSyncSettingsError(ValueError):
    """The connection's sync settings are missing or wrong; the message names the setting and the fix."""


class AdobeSyncSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    store_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{1,8}$",
        description="a short key put before every YourRef when several shops post into one division",
    )
    vat: VatSettings = Field(
        description='the VAT mapping: {"rules": [{"percent": 21, "vat_code": "2"}, ...]}'
    )
    account_code: AccountCodePolicy = Field(
        default_factory=lambda: AccountCodePolicy(mode="prefix_id", prefix="5"),
        description='how new Accounts are numbered: {"mode": "prefix_id", "prefix": "5"}',
    )

    def vat_mapping(self) -> VatMapping:
        return VatMapping(self.vat)

    def customer_code(self, customer_id: int) -> str:
        return self.account_code.code_for(customer_id) or str(customer_id)


def parse_sync_settings(raw: dict[str, Any] | None, connection: str) -> tuple[str, AdobeSyncSettings]:
    """(Exact connection name, settings) from a connection's settings; errors name the setting."""
    section = dict((raw or {}).get("sync") or {})
    target = section.pop("target", None)
    if not target:
        raise AdobeSyncSettingsError(
            f"Adobe Commerce connection '{connection}' has no sync target: set settings.sync.target to the "
            "name of the Exact connection to write to"
        )
    try:
        return str(target), AdobeSyncSettings.model_validate(section)
    except ValidationError as exc:
        record = f"sync settings of connection '{connection}'"
        raise AdobeSyncSettingsError(
            str(MappingError(problems_from_validation(exc, AdobeSyncSettings, record)))
        ) from None
