"""Adobe order -> Exact SalesOrder; invoice -> SalesInvoice (or SalesEntry); credit memo -> credit note.

Which fields Exact takes (exact-entities.json, exact-online.md §5.2):
- SalesOrderLines have `CostCenter`, `CostUnit`, `VATCode`, `VATAmount` but NO `GLAccount`: the GL
  account of an order line is applied when it is invoiced, so the mapping's GL shows only on invoices;
- SalesInvoiceLines take `GLAccount` (Guid), `CostCenter`, `CostUnit`, `VATCode`, `VATAmountFC`.
  `SalesOrder` on an invoice line is GET-only, so an invoice cannot be linked to the SalesOrder by the
  API: the link is the order increment id in the invoice's Description (and its YourRef prefix);
- booking `sales_entry` (the per-connection alternative, chosen in the mapping document) posts a
  GL-only SalesEntry: `Customer`, `Journal`, lines with `GLAccount`, `AmountFC`, `VATCode`,
  `VATAmountFC`, `CostCenter`, `CostUnit`. GeneralJournalEntries are not used: they carry no
  customer (no receivable) and take VAT only on journals with VAT enabled.
Credit notes carry negative amounts and quantities (SalesInvoices Type 8021; SalesEntries derive
their type from the sign). Every function raises `MappingError` (the sync glue parks the document
with its message) when a line has no valid mapping or the lines do not add up to Magento's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from ml_connector.adobe_commerce.models import CreditMemo, Invoice, Order
from ml_connector.flows.adobe_commerce.context import ShopContext
from ml_connector.flows.adobe_commerce.lines import MappedLines, credit_memo_lines, invoice_lines, order_lines
from ml_connector.flows.adobe_commerce.refs import credit_memo_ref, invoice_ref, order_ref
from ml_connector.flows.exact_documents import (
    CREDIT_NOTE_TYPE,
    SALES_INVOICE_TYPE,
    DocumentHeader,
    DraftLine,
    ExactLookups,
    InvoiceLine,
    SalesInvoiceDraft,
    build_invoice,
    check_your_ref,
    resolve_lines,
    with_present,
)
from ml_connector.flows.gl_mapping import Booking, ExactMasterData, Explanation, MappingDoc
from ml_connector.flows.gl_mapping.validate import journal_problems, resolution_problems
from ml_connector.flows.money import ZERO, json_number, unit_price
from ml_connector.flows.problems import MappingError, Problem

FIX_MAPPING = (
    "correct the GL mapping (`ml-connector mapping export/import`) or Exact's master data, then replay"
)


@dataclass(frozen=True, slots=True)
class SalesOrderDraft:
    your_ref: str
    ordered_by: str
    currency: str
    order_date: date
    description: str
    lines: tuple[InvoiceLine, ...]

    def to_payload(self) -> dict[str, Any]:
        """POST body for salesorder/SalesOrders (lines without GLAccount: SalesOrderLines have none)."""
        return {
            "YourRef": self.your_ref,
            "OrderedBy": self.ordered_by,
            "Currency": self.currency,
            "OrderDate": self.order_date.isoformat(),
            "Description": self.description,
            "SalesOrderLines": [_order_line_payload(line) for line in self.lines],
        }


def _order_line_payload(line: InvoiceLine) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "Item": line.item_id,
        "Description": line.description,
        "Quantity": json_number(line.quantity),
        "UnitPrice": json_number(unit_price(line.amount, line.quantity)),
        "AmountFC": json_number(line.amount),
        "VATCode": line.vat_code,
        "VATAmount": json_number(line.vat_amount),
    }
    return with_present(payload, CostCenter=line.cost_center, CostUnit=line.cost_unit)


@dataclass(frozen=True, slots=True)
class SalesEntryLine:
    gl_account_id: str
    description: str
    quantity: Decimal
    amount: Decimal
    vat_code: str
    vat_amount: Decimal
    cost_center: str | None
    cost_unit: str | None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "GLAccount": self.gl_account_id,
            "Description": self.description,
            "Quantity": json_number(self.quantity),
            "AmountFC": json_number(self.amount),
            "VATCode": self.vat_code,
            "VATAmountFC": json_number(self.vat_amount),
        }
        return with_present(payload, CostCenter=self.cost_center, CostUnit=self.cost_unit)


@dataclass(frozen=True, slots=True)
class SalesEntryDraft:
    your_ref: str
    customer: str  # Account ID
    journal: str
    currency: str
    entry_date: date
    description: str
    lines: tuple[SalesEntryLine, ...]

    def to_payload(self) -> dict[str, Any]:
        """POST body for salesentry/SalesEntries."""
        return {
            "YourRef": self.your_ref,
            "Customer": self.customer,
            "Journal": self.journal,
            "Currency": self.currency,
            "EntryDate": self.entry_date.isoformat(),
            "Description": self.description,
            "SalesEntryLines": [line.to_payload() for line in self.lines],
        }


D = TypeVar("D", SalesOrderDraft, SalesInvoiceDraft, SalesEntryDraft)


@dataclass(frozen=True)
class MappedDocument(Generic[D]):
    """A draft ready to post, with the code-level lines (for totals per GL account) and explanations."""

    external_ref: str
    draft: D
    lines: tuple[DraftLine, ...]
    explanations: tuple[Explanation, ...]


@dataclass(frozen=True)
class MappingInputs:
    """What every document mapping needs besides the Magento records themselves."""

    mapping: MappingDoc
    masterdata: ExactMasterData
    shop: ShopContext
    account_id: str  # the customer's Exact Account (flows.accounts match/create, done by the glue)
    store_key: str | None = None  # distinguishes several Adobe connections in one Exact division
    # Code -> ID resolution; defaults to the master data's. A pipeline that creates Exact items during a
    # pass passes its live view here (e.g. pipelines.lookups.MasterDataView.lookups()).
    lookups: ExactLookups | None = None

    def resolver(self) -> ExactLookups:
        return self.lookups or self.masterdata.lookups()


def map_order(order: Order, inputs: MappingInputs) -> MappedDocument[SalesOrderDraft]:
    record = f"Adobe order {order.increment_id}"
    mapped = order_lines(order, inputs.mapping, inputs.shop, record)
    ref = order_ref(order, inputs.store_key)
    problems = [*_precheck(mapped, inputs, record, journal=False), *_ref_problems(ref, record)]
    resolved, line_problems = resolve_lines(mapped.lines, inputs.resolver(), record)
    problems += line_problems
    problems += _total_problems(mapped.lines, order.grand_total, record, problems)
    if problems:
        raise MappingError(problems)
    draft = SalesOrderDraft(
        your_ref=ref,
        ordered_by=inputs.account_id,
        currency=order.order_currency_code or "",
        order_date=order.created_at.date(),
        description=f"Adobe order {order.increment_id}",
        lines=tuple(resolved),
    )
    return MappedDocument(ref, draft, mapped.lines, mapped.explanations)


@dataclass(frozen=True)
class _Facts:
    """Header facts of an invoice or credit memo."""

    record: str
    ref: str
    description: str
    when: date
    currency: str
    expected_total: Decimal  # Magento's grand total, signed as booked
    credit: bool


def map_invoice(
    invoice: Invoice, order: Order, inputs: MappingInputs
) -> MappedDocument[SalesInvoiceDraft] | MappedDocument[SalesEntryDraft]:
    """An Adobe invoice (partial ones included) as a SalesInvoice, or a SalesEntry (booking sales_entry)."""
    facts = _Facts(
        record=f"Adobe invoice {invoice.increment_id} of order {order.increment_id}",
        ref=invoice_ref(invoice, inputs.store_key),
        description=f"Adobe order {order.increment_id} invoice {invoice.increment_id}",
        when=(invoice.created_at or order.created_at).date(),
        currency=order.order_currency_code or "",
        expected_total=invoice.grand_total,
        credit=False,
    )
    mapped = invoice_lines(invoice, order, inputs.mapping, inputs.shop, facts.record)
    return _book(mapped, inputs, facts)


def map_credit_memo(
    credit_memo: CreditMemo, order: Order, inputs: MappingInputs
) -> MappedDocument[SalesInvoiceDraft] | MappedDocument[SalesEntryDraft]:
    """An Adobe credit memo as a credit note on the same mapping (adjustments included)."""
    facts = _Facts(
        record=f"Adobe credit memo {credit_memo.increment_id} of order {order.increment_id}",
        ref=credit_memo_ref(credit_memo, inputs.store_key),
        description=f"Adobe order {order.increment_id} credit memo {credit_memo.increment_id}",
        when=(credit_memo.created_at or order.created_at).date(),
        currency=order.order_currency_code or "",
        expected_total=-credit_memo.grand_total,
        credit=True,
    )
    return _book(
        credit_memo_lines(credit_memo, order, inputs.mapping, inputs.shop, facts.record), inputs, facts
    )


def _book(
    mapped: MappedLines, inputs: MappingInputs, facts: _Facts
) -> MappedDocument[SalesInvoiceDraft] | MappedDocument[SalesEntryDraft]:
    problems = _precheck(mapped, inputs, facts.record, journal=True)
    if inputs.mapping.booking is Booking.SALES_ENTRY:
        entry = _sales_entry(mapped, inputs, facts, problems)
        return MappedDocument(facts.ref, entry, mapped.lines, mapped.explanations)
    header = DocumentHeader(
        your_ref=facts.ref,
        account_id=inputs.account_id,
        journal=inputs.mapping.journal,
        currency=facts.currency,
        order_date=facts.when,
        description=facts.description,
        type=CREDIT_NOTE_TYPE if facts.credit else SALES_INVOICE_TYPE,
    )
    lookups = inputs.resolver()
    draft = build_invoice(
        header, mapped.lines, lookups, facts.record, expected_total=facts.expected_total, problems=problems
    )
    return MappedDocument(facts.ref, draft, mapped.lines, mapped.explanations)


def _sales_entry(
    mapped: MappedLines, inputs: MappingInputs, facts: _Facts, problems: list[Problem]
) -> SalesEntryDraft:
    problems += _ref_problems(facts.ref, facts.record)
    lines: list[SalesEntryLine] = []
    for line in mapped.lines:
        # An unknown GL account is already a problem from _precheck.
        gl_id = inputs.masterdata.gl_account_id(line.gl_account_code or "")
        if gl_id is not None:
            lines.append(
                SalesEntryLine(
                    gl_account_id=gl_id,
                    description=line.description,
                    quantity=line.quantity,
                    amount=line.amount,
                    vat_code=line.vat_code,
                    vat_amount=line.vat_amount,
                    cost_center=line.cost_center,
                    cost_unit=line.cost_unit,
                )
            )
    problems += _total_problems(mapped.lines, facts.expected_total, facts.record, problems)
    if problems:
        raise MappingError(problems)
    return SalesEntryDraft(
        your_ref=facts.ref,
        customer=inputs.account_id,
        journal=inputs.mapping.journal,
        currency=facts.currency,
        entry_date=facts.when,
        description=facts.description,
        lines=tuple(lines),
    )


def _precheck(mapped: MappedLines, inputs: MappingInputs, record: str, *, journal: bool) -> list[Problem]:
    """The pre-posting check: unmapped lines, and every mapped line against Exact's master data."""
    problems = list(mapped.problems)
    if journal:
        problems += [
            Problem(record, "journal", message, FIX_MAPPING, "gl_mapping")
            for message in journal_problems(inputs.mapping.journal, inputs.masterdata)
        ]
    for explanation in mapped.explanations:
        if explanation.resolution is not None:
            problems += [
                Problem(record, explanation.line.describe(), message, FIX_MAPPING, "gl_mapping")
                for message in resolution_problems(explanation.resolution, inputs.masterdata)
            ]
    return problems


def _ref_problems(ref: str, record: str) -> list[Problem]:
    problem = check_your_ref(ref, record)
    return [problem] if problem else []


def _total_problems(
    lines: tuple[DraftLine, ...], expected: Decimal, record: str, found: list[Problem]
) -> list[Problem]:
    if found:  # lines are incomplete; their sum would only add noise
        return []
    total = sum((line.amount + line.vat_amount for line in lines), ZERO)
    if total == expected:
        return []
    return [
        Problem(
            record,
            "totals",
            f"the lines add up to {total}, Magento's grand total is {expected}",
            "check the document in Adobe Commerce (gift cards, store credit or an extension's fee?); "
            "nothing was posted",
            "amounts",
        )
    ]
