"""Connection settings of the WooCommerce -> Exact flow, kept in `Connection.settings` (JSON).

Validated once when the connection is loaded (`parse_settings`); mapping functions then read plain
attributes. Errors name the setting and the fix.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ml_connector.flows.accounts import AccountCodePolicy
from ml_connector.flows.exact_documents import ExactLookups
from ml_connector.flows.problems import MappingError, Problem, problems_from_validation
from ml_connector.flows.vat import VatMapping, VatSettings, validate_vat_settings

# Statuses an order can be invoiced in (core statuses of wc_get_order_statuses, woocommerce.md §2.2).
SELECTABLE_STATUSES = frozenset({"pending", "processing", "on-hold", "completed", "refunded"})


class LineTarget(BaseModel):
    """Where a non-product line goes: an Exact Item (mandatory on invoice lines), optionally a GL account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: str = Field(
        min_length=1, description='the Exact Item code to book these lines on, e.g. "VERZEND"'
    )
    gl_account_code: str | None = Field(
        default=None, description="an Exact GL account code that overrides the item's revenue account"
    )


class WooExactSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    store_key: str = Field(
        pattern=r"^[A-Za-z0-9]{1,8}$",
        description='a short key for this shop (1-8 letters or digits), part of every YourRef, e.g. "SHOP1"',
    )
    order_statuses: tuple[str, ...] = Field(
        default=("processing", "completed"),
        min_length=1,
        description=f"a list of statuses to invoice, from {', '.join(sorted(SELECTABLE_STATUSES))}",
    )
    start_date: date | None = Field(
        default=None,
        description="the first order date (yyyy-mm-dd, UTC) to invoice; older orders are ignored",
    )
    journal: str = Field(min_length=1, description='the Exact sales journal code, e.g. "70"')
    payment_condition: str | None = Field(
        default=None, description='an Exact payment condition code, e.g. "14"'
    )
    description: str = Field(
        default="WooCommerce order {number}",
        description="the invoice description; {number} and {id} are replaced by the order's number and id",
    )
    shipping: LineTarget | None = Field(
        default=None, description="the item (and GL account) for shipping lines"
    )
    fees: LineTarget | None = Field(default=None, description="the item (and GL account) for fee lines")
    discount_mode: Literal["net", "separate_lines"] = Field(
        default="net",
        description='"net" (product lines after discount) or "separate_lines" (gross lines + discount lines)',
    )
    discounts: LineTarget | None = Field(
        default=None,
        description="the item (and GL account) for discount lines (discount_mode separate_lines)",
    )
    refund_fallback: LineTarget | None = Field(
        default=None,
        description="the item (and GL account) for refunds without line items (amount-only refunds)",
    )
    vat: VatSettings = Field(description='the VAT mapping: {"rules": [{"rate": "1", "vat_code": "2"}, ...]}')
    guest_policy: Literal["match_or_create", "collective_account"] = Field(
        default="match_or_create",
        description='"match_or_create" (by billing e-mail) or "collective_account" (one for all guests)',
    )
    guest_account_id: str | None = Field(
        default=None,
        description="the Exact Account ID (Guid) that receives all guest orders (collective_account)",
    )
    account_code: AccountCodePolicy = Field(
        default_factory=AccountCodePolicy, description="how new Accounts get their Code"
    )
    allow_item_creation: bool = Field(
        default=False, description="true to create missing Exact Items from the order line (SKU as Code)"
    )
    new_item_revenue_gl: str | None = Field(
        default=None,
        description='the Exact GL account code for the revenue of items created from the shop, e.g. "8000"',
    )

    @field_validator("order_statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [status for status in value if status not in SELECTABLE_STATUSES]
        if unknown:
            raise ValueError(f"cannot invoice orders in status {', '.join(unknown)}")
        return value

    @field_validator("guest_account_id")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"'{value}' is not an Exact Account ID (a Guid)") from None

    @field_validator("description")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(number="1", id=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"only {{number}} and {{id}} can be used, not {error}") from None
        return value

    @property
    def uses_gl_accounts(self) -> bool:
        """Whether any setting names a GL account (then Exact's GL accounts are read to resolve them)."""
        targets = (self.shipping, self.fees, self.discounts, self.refund_fallback)
        return self.allow_item_creation or any(t is not None and t.gl_account_code for t in targets)

    @model_validator(mode="after")
    def _dependent_settings(self) -> WooExactSettings:
        if self.discount_mode == "separate_lines" and self.discounts is None:
            raise ValueError(
                "discount_mode separate_lines needs `discounts` (an item code for discount lines)"
            )
        if self.allow_item_creation and not self.new_item_revenue_gl:
            raise ValueError(
                "allow_item_creation needs `new_item_revenue_gl` (the GL account code for the new items)"
            )
        if self.guest_policy == "collective_account" and not self.guest_account_id:
            raise ValueError(
                "guest_policy collective_account needs `guest_account_id` (the Exact Account ID)"
            )
        return self

    def compiled_vat(self) -> VatMapping:
        return VatMapping(self.vat)


def parse_settings(raw: Mapping[str, Any], connection: str = "connection") -> WooExactSettings:
    """Validate a connection's settings once; MappingError lists each wrong setting with its fix."""
    try:
        return WooExactSettings.model_validate(raw)
    except ValidationError as error:
        raise MappingError(
            problems_from_validation(error, WooExactSettings, f"{connection} settings")
        ) from None


def check_settings(settings: WooExactSettings, lookups: ExactLookups) -> list[Problem]:
    """The settings against Exact's master data (VAT codes, configured items and GL accounts), before
    anything is posted: for `ml-connector ping` and the start of each sync run."""
    record = "connection settings"
    problems = validate_vat_settings(settings.vat, lookups.vat_codes)
    for name in ("shipping", "fees", "discounts", "refund_fallback"):
        target: LineTarget | None = getattr(settings, name)
        if target is None:
            continue
        if lookups.item_id(target.item_code) is None:
            problems.append(
                Problem(
                    record,
                    f"{name}.item_code",
                    f"Exact has no item with code '{target.item_code}'",
                    f"create item '{target.item_code}' in Exact or correct {name}.item_code",
                    kind="settings",
                )
            )
        if target.gl_account_code and lookups.gl_account_id(target.gl_account_code) is None:
            problems.append(
                Problem(
                    record,
                    f"{name}.gl_account_code",
                    f"Exact has no GL account with code '{target.gl_account_code}'",
                    f"correct {name}.gl_account_code or create the GL account in Exact",
                    kind="settings",
                )
            )
    return problems
