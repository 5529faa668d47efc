"""Check a mapping document against Exact master data; nothing is applied while a problem exists.

Account rules: product, shipping and payment-fee lines are revenue and must go to a revenue account
(GLAccounts.Type 110). Discounts and credit-memo adjustments may go to any profit-and-loss account
(BalanceType W), e.g. a "discounts granted" account, but never to a balance-sheet account
(receivables, VAT ...). Blocked accounts and VAT codes are refused. Adjustments carry no VAT split in
Magento, so they are booked without VAT and need a 0% VAT code.
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_connector.flows.gl_mapping.masterdata import (
    GL_BALANCE_PROFIT_LOSS,
    GL_TYPE_REVENUE,
    JOURNAL_TYPE_SALES,
    ExactMasterData,
)
from ml_connector.flows.gl_mapping.model import REQUIRED_DEFAULTS, Booking, LineKind, MappingDoc, Target
from ml_connector.flows.gl_mapping.problems import MappingProblem
from ml_connector.flows.gl_mapping.resolve import Resolution

REVENUE_KINDS = frozenset({LineKind.PRODUCT, LineKind.SHIPPING, LineKind.PAYMENT_FEE})
ADJUSTMENT_KINDS = frozenset({LineKind.ADJUSTMENT_POSITIVE, LineKind.ADJUSTMENT_NEGATIVE})


def validate_against_masterdata(doc: MappingDoc, masterdata: ExactMasterData) -> list[MappingProblem]:
    """Every problem of the document against Exact's master data, each with its YAML line."""
    found: list[tuple[str, str]] = []
    for kind in REQUIRED_DEFAULTS:
        default = doc.defaults.get(kind)
        if default is None or default.gl_account is None:
            path = f"defaults.{kind}" if default is not None else "defaults"
            found.append((path, f"no default GL account for {kind} lines: set defaults.{kind}.gl_account"))
    if doc.booking is Booking.SALES_INVOICE:
        # Exact invoice and order lines need an Item; lines without a SKU take it from the mapping.
        for kind, default in doc.defaults.items():
            if kind is not LineKind.PRODUCT and default.item is None:
                message = f"booking sales_invoice needs defaults.{kind}.item (an Exact item code)"
                found.append((f"defaults.{kind}", message))
    found += [("journal", message) for message in journal_problems(doc.journal, masterdata)]
    for path, kind, target in _targets(doc):
        found += [(f"{path}.{name}", message) for name, message in target_problems(kind, target, masterdata)]
    return [MappingProblem(path, doc.line_of(path), message) for path, message in found]


def target_problems(kind: LineKind, target: Target, md: ExactMasterData) -> list[tuple[str, str]]:
    """(field, message) for each field of `target` that Exact cannot take for a `kind` line."""
    problems: list[tuple[str, str]] = []
    if target.gl_account is not None:
        message = _gl_account_problem(kind, target.gl_account, md)
        if message:
            problems.append(("gl_account", message))
    if target.cost_center is not None and target.cost_center not in md.cost_centers:
        problems.append(("cost_center", f"unknown cost center '{target.cost_center}'"))
    if target.cost_unit is not None and target.cost_unit not in md.cost_units:
        problems.append(("cost_unit", f"unknown cost unit '{target.cost_unit}'"))
    if target.vat_code is not None:
        vat = md.vat_codes.get(target.vat_code)
        if vat is None:
            problems.append(("vat_code", f"unknown VAT code '{target.vat_code}'"))
        elif vat.blocked:
            problems.append(("vat_code", f"VAT code '{vat.code}' ({vat.description}) is blocked in Exact"))
        elif kind in ADJUSTMENT_KINDS and vat.percent not in (None, 0):
            problems.append(
                (
                    "vat_code",
                    f"{kind} has no VAT split in Magento and is booked without VAT: use a 0% VAT code, "
                    f"not '{vat.code}' ({vat.percent}%)",
                )
            )
    if target.item is not None and target.item not in md.items:
        problems.append(("item", f"unknown Exact item '{target.item}'"))
    return problems


def journal_problems(code: str, md: ExactMasterData) -> list[str]:
    journal = md.journals.get(code)
    if journal is None:
        return [f"unknown journal '{code}'"]
    if journal.blocked:
        return [f"journal '{code}' is blocked in Exact"]
    if journal.type != JOURNAL_TYPE_SALES:
        return [f"journal '{code}' is not a sales journal (Type {journal.type}; sales: {JOURNAL_TYPE_SALES})"]
    return []


def _gl_account_problem(kind: LineKind, code: str, md: ExactMasterData) -> str | None:
    account = md.gl_accounts.get(code)
    if account is None:
        return f"unknown GL account '{code}' (not in Exact's cache; run `ml-connector masterdata refresh`?)"
    name = f"GL account '{account.code}' ({account.description})"
    if account.blocked:
        return f"{name} is blocked in Exact"
    if kind in REVENUE_KINDS and account.type != GL_TYPE_REVENUE:
        return (
            f"{name} is not a revenue account (Type {account.type}, revenue is {GL_TYPE_REVENUE}); "
            f"{kind} lines need a revenue account"
        )
    if kind not in REVENUE_KINDS and account.balance_type != GL_BALANCE_PROFIT_LOSS:
        return f"{name} is a balance-sheet account; {kind} lines need a profit-and-loss account"
    return None


def _targets(doc: MappingDoc) -> Iterator[tuple[str, LineKind, Target]]:
    for kind, target in doc.defaults.items():
        yield f"defaults.{kind}", kind, target
    for index, rule in enumerate(doc.rules):
        yield f"rules.{index}", rule.line, rule


def resolution_problems(resolution: Resolution, md: ExactMasterData) -> list[str]:
    """Pre-posting check of one resolved line against master data, including that the Exact VAT code
    has the shop's own percentage (a mismatch would make Exact's VAT differ from the shop's)."""
    target = Target(
        gl_account=resolution.gl_account,
        cost_center=resolution.cost_center,
        cost_unit=resolution.cost_unit,
        vat_code=resolution.vat_code,
        item=resolution.item,
    )
    messages = [message for _field, message in target_problems(resolution.line.kind, target, md)]
    vat = md.vat_codes.get(resolution.vat_code)
    exact_percent = vat.percent if vat is not None else None
    shop_percent = resolution.line.tax_percent
    if exact_percent is not None and shop_percent is not None and exact_percent != shop_percent:
        messages.append(
            f"VAT code '{resolution.vat_code}' is {exact_percent}% in Exact but the shop charged "
            f"{shop_percent.normalize()}%"
        )
    return messages
