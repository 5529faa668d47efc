"""Exact Online document drafts in Exact's own field names: SalesInvoices (invoices and credit notes),
their embedded SalesInvoiceLines, and Items to create.

Field choices (reference exact-online.md §5.2 and exact-entities.json):
- a line needs `Item` (Guid); `GLAccount` is optional and overrides the item's revenue account;
- the shop's amounts are carried as they are: `AmountFC` (excl. VAT) and `VATAmountFC` are writable on
  SalesInvoiceLines, next to `Quantity`, `UnitPrice` and `VATCode`, so Exact has nothing to recompute;
- `Type` 8020 is an invoice, 8021 a credit note (amounts and quantities negative);
- `YourRef` is the deterministic external reference that makes a POST verifiable (§5.3).
Drafts are built from `DraftLine`s that still carry codes; `build_invoice` resolves the codes through the
lookups and collects every problem before anything is posted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ml_connector.flows.money import ZERO, cents, index_of_largest, json_number, unit_price
from ml_connector.flows.problems import MappingError, Problem
from ml_connector.flows.vat import VatCode, check_code

SALES_INVOICE_TYPE = 8020
CREDIT_NOTE_TYPE = 8021
# Exact publishes no length for YourRef in the reference pack; refs are kept short and checked against this
# conservative bound instead of being truncated (a truncated ref would break verify-before-retry).
YOUR_REF_MAX_LENGTH = 30

ItemResolver = Callable[[str], str | None]  # Item Code -> Item ID (Guid), from the master-data cache
GLAccountResolver = Callable[[str], str | None]  # GL account Code -> GLAccount ID (Guid)


def with_present(payload: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """`payload` plus the optional fields that have a value (Exact keeps its default for absent ones)."""
    payload.update({key: value for key, value in optional.items() if value is not None})
    return payload


@dataclass(frozen=True, slots=True)
class ExactLookups:
    """Exact master data the mapping needs, read from the local cache by the sync glue. Codes are looked
    up trimmed (Exact pads some codes with spaces): key the cache by `code.strip()`."""

    item_id: ItemResolver
    gl_account_id: GLAccountResolver
    vat_codes: Mapping[str, VatCode]


@dataclass(frozen=True, slots=True)
class DraftLine:
    """A document line before codes are resolved to Exact IDs. Amounts are signed and in cents."""

    where: str  # names the source line in problems, e.g. "line 2 'RealWoo T-shirt - L'"
    item_code: str
    description: str
    quantity: Decimal
    amount: Decimal  # excluding VAT
    vat_code: str
    vat_amount: Decimal
    gl_account_code: str | None = None
    cost_center: str | None = None
    cost_unit: str | None = None
    tax_group: str = ""  # lines whose VAT must add up to one shop tax total (e.g. one tax rate)
    creatable: bool = False  # a product line whose item may be created from it when missing


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    item_id: str
    description: str
    quantity: Decimal
    amount: Decimal
    vat_code: str
    vat_amount: Decimal
    gl_account_id: str | None = None
    cost_center: str | None = None
    cost_unit: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "Item": self.item_id,
            "Description": self.description,
            "Quantity": json_number(self.quantity),
            "UnitPrice": json_number(unit_price(self.amount, self.quantity)),
            "AmountFC": json_number(self.amount),
            "VATCode": self.vat_code,
            "VATAmountFC": json_number(self.vat_amount),
        }
        return with_present(
            payload, GLAccount=self.gl_account_id, CostCenter=self.cost_center, CostUnit=self.cost_unit
        )


@dataclass(frozen=True, slots=True)
class SalesInvoiceDraft:
    """One SalesInvoice (or credit note) with its lines, ready for one POST."""

    your_ref: str
    ordered_by: str  # Account ID
    invoice_to: str  # Account ID
    journal: str
    currency: str
    order_date: date
    description: str
    lines: tuple[InvoiceLine, ...]
    type: int = SALES_INVOICE_TYPE
    payment_condition: str | None = None
    remarks: str | None = None

    @property
    def amount_excl_vat(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def vat_amount(self) -> Decimal:
        return sum((line.vat_amount for line in self.lines), ZERO)

    @property
    def amount_incl_vat(self) -> Decimal:
        return self.amount_excl_vat + self.vat_amount

    def to_payload(self) -> dict[str, Any]:
        """The POST body for salesinvoice/SalesInvoices (JSON-ready; dates as ISO yyyy-mm-dd)."""
        payload: dict[str, Any] = {
            "Type": self.type,
            "YourRef": self.your_ref,
            "OrderedBy": self.ordered_by,
            "InvoiceTo": self.invoice_to,
            "Journal": self.journal,
            "Currency": self.currency,
            "OrderDate": self.order_date.isoformat(),
            "Description": self.description,
            "SalesInvoiceLines": [line.to_payload() for line in self.lines],
        }
        if self.payment_condition is not None:
            payload["PaymentCondition"] = self.payment_condition
        if self.remarks:
            payload["Remarks"] = self.remarks
        return payload


@dataclass(frozen=True, slots=True)
class ItemDraft:
    """An Exact Item to create when the connection allows it (mandatory: Code, Description)."""

    code: str
    description: str
    sales_vat_code: str | None = None
    revenue_gl_account_id: str | None = None  # GLRevenue: Exact books an item's sales there

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"Code": self.code, "Description": self.description, "IsSalesItem": True}
        if self.sales_vat_code is not None:
            payload["SalesVatCode"] = self.sales_vat_code
        if self.revenue_gl_account_id is not None:
            payload["GLRevenue"] = self.revenue_gl_account_id
        return payload


def check_your_ref(ref: str, record: str) -> Problem | None:
    if not ref or len(ref) > YOUR_REF_MAX_LENGTH:
        return Problem(
            record,
            "YourRef",
            f"external reference '{ref}' is {len(ref)} characters (limit {YOUR_REF_MAX_LENGTH})",
            "shorten the connection's store key",
            kind="settings",
        )
    return None


def balance_vat(
    lines: Sequence[DraftLine], targets: Mapping[str, Decimal], record: str
) -> tuple[list[DraftLine], list[Problem]]:
    """Make each tax group's line VAT add up to the shop's own total for it (per-line VAT is rounded
    separately, the shop's tax total once). The cent goes to the group's largest line; a difference
    larger than the rounding of its lines is a problem, never silently absorbed."""
    balanced = list(lines)
    problems: list[Problem] = []
    for group, target in targets.items():
        members = [index for index, line in enumerate(balanced) if line.tax_group == group]
        current = sum((balanced[index].vat_amount for index in members), ZERO)
        difference = target - current
        if difference == 0:
            continue
        tolerance = Decimal("0.005") * (len(members) + 1)
        if not members or abs(difference) > tolerance:
            problems.append(
                Problem(
                    record,
                    f"tax {group}",
                    f"the lines carry {current} VAT but the shop's tax total is {target}",
                    "check the order's tax lines in the shop (a plugin may have edited them), then replay",
                    kind="amounts",
                )
            )
            continue
        largest = members[index_of_largest([balanced[index].amount for index in members])]
        balanced[largest] = replace(balanced[largest], vat_amount=balanced[largest].vat_amount + difference)
    return balanced, problems


def missing_item_drafts(lines: Iterable[DraftLine], item_id: ItemResolver) -> list[ItemDraft]:
    """Items Exact lacks for the creatable lines, each once in line order, described by their first line;
    the default VAT code is that of the first line that carries VAT."""
    drafts: dict[str, ItemDraft] = {}
    for line in lines:
        if not line.creatable or item_id(line.item_code) is not None:
            continue
        known = drafts.get(line.item_code)
        if known is None:
            drafts[line.item_code] = ItemDraft(
                line.item_code, line.description, line.vat_code if line.vat_amount else None
            )
        elif known.sales_vat_code is None and line.vat_amount:
            drafts[line.item_code] = replace(known, sales_vat_code=line.vat_code)
    return list(drafts.values())


def resolve_lines(
    lines: Sequence[DraftLine], lookups: ExactLookups, record: str
) -> tuple[list[InvoiceLine], list[Problem]]:
    resolved: list[InvoiceLine] = []
    problems: list[Problem] = []
    for line in lines:
        item_id = lookups.item_id(line.item_code)
        if item_id is None:
            problems.append(
                Problem(
                    record,
                    line.where,
                    f"Exact has no item with code '{line.item_code}'",
                    f"create item '{line.item_code}' in Exact (or allow item creation for this connection), "
                    "then replay",
                    kind="missing_item",
                )
            )
        gl_account_id = None
        if line.gl_account_code is not None:
            gl_account_id = lookups.gl_account_id(line.gl_account_code)
            if gl_account_id is None:
                problems.append(
                    Problem(
                        record,
                        line.where,
                        f"Exact has no GL account with code '{line.gl_account_code}'",
                        "correct the GL account code in the connection settings or create it in Exact",
                        kind="missing_gl_account",
                    )
                )
        vat_problem = check_code(line.vat_code, lookups.vat_codes, record, line.where, "the VAT mapping")
        if vat_problem:
            problems.append(vat_problem)
        if item_id is not None:
            resolved.append(
                InvoiceLine(
                    item_id=item_id,
                    description=line.description,
                    quantity=line.quantity,
                    amount=cents(line.amount),
                    vat_code=line.vat_code,
                    vat_amount=cents(line.vat_amount),
                    gl_account_id=gl_account_id,
                    cost_center=line.cost_center,
                    cost_unit=line.cost_unit,
                )
            )
    return resolved, problems


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    your_ref: str
    account_id: str
    journal: str
    currency: str
    order_date: date
    description: str
    type: int = SALES_INVOICE_TYPE
    payment_condition: str | None = None
    remarks: str | None = None


def build_invoice(
    header: DocumentHeader,
    lines: Sequence[DraftLine],
    lookups: ExactLookups,
    record: str,
    *,
    expected_total: Decimal,
    problems: Iterable[Problem] = (),
) -> SalesInvoiceDraft:
    """Resolve the lines and assemble the draft; raise MappingError with every problem found, including a
    total that differs from the shop's (`expected_total`, VAT included, signed) by even one cent."""
    found = list(problems)
    ref_problem = check_your_ref(header.your_ref, record)
    if ref_problem:
        found.append(ref_problem)
    if not lines and not found:
        found.append(
            Problem(record, "", "the document has no lines", "check the record in the shop", kind="amounts")
        )
    resolved, line_problems = resolve_lines(lines, lookups, record)
    found.extend(line_problems)
    draft = SalesInvoiceDraft(
        your_ref=header.your_ref,
        ordered_by=header.account_id,
        invoice_to=header.account_id,
        journal=header.journal,
        currency=header.currency,
        order_date=header.order_date,
        description=header.description,
        lines=tuple(resolved),
        type=header.type,
        payment_condition=header.payment_condition,
        remarks=header.remarks,
    )
    if not found and draft.amount_incl_vat != expected_total:
        found.append(
            Problem(
                record,
                "totals",
                f"the lines add up to {draft.amount_incl_vat}, the shop's total is {expected_total}",
                "report this order to the connector's maintainers; nothing was posted",
                kind="amounts",
            )
        )
    if found:
        raise MappingError(found)
    return draft
