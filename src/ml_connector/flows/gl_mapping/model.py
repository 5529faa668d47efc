"""The mapping document: rules that send each document line to an Exact GL account and cost center.

Precedence (documented for merchants in `mapping export` output and in the README of the flow):

* A rule applies to a line when its `line` kind equals the line's kind and EVERY criterion it names
  matches (criteria it leaves out match anything).
* Rules are ranked by specificity, compared criterion by criterion in this order:
  `sku` > `product_id` > `category` > `product_type` > `store` > `website`.
  A rule naming `sku` beats every rule that does not; between two rules that both name (or both
  omit) `sku`, the one naming `product_id` wins, and so on. So `sku + store` beats `sku`, which beats
  `category + product_type + store + website`.
* Resolution is per field: each target field (gl_account, cost_center, cost_unit, vat_code, item)
  comes from the most specific applicable rule that SETS it (an explicit `null` counts as set and
  clears the field), else from `defaults.<line kind>`. A website rule that only sets `cost_center`
  therefore combines with a SKU rule that only sets `gl_account`.
* Ties (same specificity, both applicable, both setting the field, e.g. a product in two mapped
  categories) go to the rule written first in the document; `mapping explain` names the loser.
  Two rules with identical criteria that set the same field are rejected at import.
* `vat_code` not set by any rule or default comes from the connection's VAT settings
  (`ml_connector.flows.vat`, shared with the WooCommerce flow) by Magento's own tax rate and percent
  of the line; Magento's VAT amounts are never recomputed.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

TARGET_FIELDS: tuple[str, ...] = ("gl_account", "cost_center", "cost_unit", "vat_code", "item")
# Most specific first; the order IS the precedence (see the module docstring).
CRITERIA: tuple[str, ...] = ("sku", "product_id", "category", "product_type", "store", "website")


class LineKind(enum.StrEnum):
    PRODUCT = "product"
    SHIPPING = "shipping"
    DISCOUNT = "discount"
    PAYMENT_FEE = "payment_fee"
    ADJUSTMENT_POSITIVE = "adjustment_positive"  # credit memo: extra amount refunded
    ADJUSTMENT_NEGATIVE = "adjustment_negative"  # credit memo: fee kept back from the refund


# Lines that exist in every shop and so need a default; payment fees come only from extensions.
REQUIRED_DEFAULTS: tuple[LineKind, ...] = (
    LineKind.PRODUCT,
    LineKind.SHIPPING,
    LineKind.DISCOUNT,
    LineKind.ADJUSTMENT_POSITIVE,
    LineKind.ADJUSTMENT_NEGATIVE,
)
# Criteria a line kind can carry: shipping or an adjustment has no SKU, so such a rule is a mistake.
CRITERIA_BY_KIND: dict[LineKind, frozenset[str]] = {
    LineKind.PRODUCT: frozenset(CRITERIA),
    LineKind.DISCOUNT: frozenset(CRITERIA),
    LineKind.SHIPPING: frozenset({"store", "website"}),
    LineKind.PAYMENT_FEE: frozenset({"store", "website"}),
    LineKind.ADJUSTMENT_POSITIVE: frozenset({"store", "website"}),
    LineKind.ADJUSTMENT_NEGATIVE: frozenset({"store", "website"}),
}


class Booking(enum.StrEnum):
    """How invoices reach Exact's ledger: an item invoice that Exact processes, or a GL-only entry."""

    SALES_INVOICE = "sales_invoice"
    SALES_ENTRY = "sales_entry"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    sku: str | None = None
    product_id: int | None = None
    category: str | None = None  # Magento category id (as text)
    product_type: str | None = None  # simple, configurable, bundle, downloadable, virtual ...
    store: str | None = None  # store view id or code
    website: str | None = None  # website id or code

    def criteria(self) -> dict[str, str | int]:
        return {name: value for name in CRITERIA if (value := getattr(self, name)) is not None}

    def specificity(self) -> tuple[bool, ...]:
        return tuple(getattr(self, name) is not None for name in CRITERIA)

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in self.criteria().items()]
        return " + ".join(parts) if parts else "any line"


class Target(_Strict):
    """Where a line goes. Every field is optional so that rules can set only what they change."""

    gl_account: str | None = None  # Exact GL account code
    cost_center: str | None = None
    cost_unit: str | None = None
    vat_code: str | None = None  # Exact VAT code; else looked up by Magento's tax percent
    # Exact item code: required for lines without a SKU (shipping, discount ...) when Exact needs items;
    # on product lines it replaces the SKU (one generic item for merchants without items per SKU).
    item: str | None = None

    def set_fields(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in TARGET_FIELDS if name in self.model_fields_set}


class Rule(Target):
    name: str = Field(min_length=1)
    line: LineKind = LineKind.PRODUCT
    match: Match = Field(default_factory=Match)


class MappingDoc(_Strict):
    format: int = Field(default=1, ge=1, le=1)  # version of this document format
    booking: Booking = Booking.SALES_INVOICE
    journal: str = Field(min_length=1)  # Exact sales journal code (Journals.Type 20), e.g. "70"
    defaults: dict[LineKind, Target] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    # Source line of each YAML path ("rules.3.gl_account" -> 27), when parsed from text.
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    def line_of(self, path: str) -> int | None:
        """The YAML line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path.rpartition(".")[0]
        return None

    def with_lines(self, lines: dict[str, int]) -> MappingDoc:
        self._lines = dict(lines)
        return self

    def to_plain(self) -> dict[str, Any]:
        """The document as plain data, leaving out what the author left out (explicit nulls stay)."""
        data: dict[str, Any] = {"format": self.format, "booking": self.booking.value, "journal": self.journal}
        data["defaults"] = {kind.value: target.set_fields() for kind, target in self.defaults.items()}
        data["rules"] = [_plain_rule(rule) for rule in self.rules]
        return data


def _plain_rule(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"name": rule.name, "line": rule.line.value}
    if rule.match.criteria():
        data["match"] = rule.match.criteria()
    data.update(rule.set_fields())
    return data
