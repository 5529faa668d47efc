"""Reconciliation: the documents Exact should hold for a period against the ones it holds, by YourRef.

Shop-neutral: each flow turns its orders/refunds (or invoices/credit memos) into `ExpectedDocument`s and
the Exact SalesInvoices of the period into `ExactDocument`s; `reconcile` lists documents missing in Exact,
Exact documents with no source, duplicates (one reference posted twice), and total or VAT differences.
Amounts are signed (credit notes negative) and include VAT unless named otherwise.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ml_connector.flows.money import cents


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive date range: a month ("2026-10"), a day ("2026-10-05") or "2026-10-01..2026-10-15"."""

    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        value = text.strip()
        try:
            if ".." in value:
                first, last = value.split("..", 1)
                period = cls(date.fromisoformat(first.strip()), date.fromisoformat(last.strip()))
            elif len(value) == 7:
                year, month = (int(part) for part in value.split("-"))
                period = cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
            else:
                day = date.fromisoformat(value)
                period = cls(day, day)
        except ValueError:
            raise ValueError(
                f"period '{text}' is not a month (2026-10), a date (2026-10-05) "
                "or a range (2026-10-01..2026-10-15)"
            ) from None
        if period.end < period.start:
            raise ValueError(f"period '{text}' ends before it starts")
        return period

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True, slots=True)
class ExpectedDocument:
    ref: str
    kind: str  # "invoice" or "credit_note"
    source: str  # e.g. "WooCommerce order 23"
    total: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class ExactDocument:
    ref: str
    invoice_id: str
    total: Decimal
    vat: Decimal
    invoice_number: int | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ExactDocument:
        """A salesinvoice/SalesInvoices record: AmountFC is the total incl. VAT, VATAmountFC the VAT."""
        number = record.get("InvoiceNumber")
        return cls(
            ref=str(record.get("YourRef") or ""),
            invoice_id=str(record.get("InvoiceID") or ""),
            total=cents(Decimal(str(record.get("AmountFC") or 0))),
            vat=cents(Decimal(str(record.get("VATAmountFC") or 0))),
            invoice_number=int(number) if number is not None else None,
        )


class FindingKind(StrEnum):
    MISSING_IN_EXACT = "missing_in_exact"
    NO_SOURCE = "no_source"
    DUPLICATE_IN_EXACT = "duplicate_in_exact"
    TOTAL_DIFFERENCE = "total_difference"
    VAT_DIFFERENCE = "vat_difference"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    ref: str
    source: str
    expected: Decimal | None
    actual: Decimal | None
    detail: str

    @property
    def difference(self) -> Decimal | None:
        if self.expected is None or self.actual is None:
            return None
        return self.actual - self.expected


CSV_COLUMNS = ("kind", "ref", "source", "expected", "actual", "difference", "detail")


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    period: str
    expected_count: int
    exact_count: int
    matched: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in FindingKind}
        for finding in self.findings:
            counts[finding.kind.value] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "ok": self.ok,
            "expected_documents": self.expected_count,
            "exact_documents": self.exact_count,
            "matched": self.matched,
            "counts": self.counts(),
            "findings": [self._row(finding) for finding in self.findings],
        }

    def to_csv(self) -> str:
        """One row per finding, for the accountant (amounts with a dot, as Decimal text)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for finding in self.findings:
            writer.writerow(
                {key: "" if value is None else value for key, value in self._row(finding).items()}
            )
        return buffer.getvalue()

    @staticmethod
    def _row(finding: Finding) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "kind": finding.kind.value,
            "ref": finding.ref,
            "source": finding.source,
            "expected": text(finding.expected),
            "actual": text(finding.actual),
            "difference": text(finding.difference),
            "detail": finding.detail,
        }


def reconcile(
    period: str, expected: Iterable[ExpectedDocument], actual: Iterable[ExactDocument]
) -> ReconcileReport:
    """Compare by reference. `actual` should hold this connection's Exact documents of the period only
    (YourRef with the connection's prefix)."""
    expected_by_ref = {document.ref: document for document in expected}
    actual_by_ref: dict[str, list[ExactDocument]] = {}
    for document in actual:
        actual_by_ref.setdefault(document.ref, []).append(document)
    findings: list[Finding] = []
    matched = 0
    for ref, wanted in sorted(expected_by_ref.items()):
        found = actual_by_ref.get(ref)
        if not found:
            findings.append(
                Finding(
                    FindingKind.MISSING_IN_EXACT,
                    ref,
                    wanted.source,
                    wanted.total,
                    None,
                    f"no Exact {wanted.kind.replace('_', ' ')} with YourRef {ref}",
                )
            )
            continue
        if len(found) > 1:
            ids = ", ".join(document.invoice_id for document in found)
            findings.append(
                Finding(
                    FindingKind.DUPLICATE_IN_EXACT,
                    ref,
                    wanted.source,
                    wanted.total,
                    sum((document.total for document in found), Decimal(0)),
                    f"{len(found)} Exact documents share YourRef {ref}: {ids}",
                )
            )
            continue
        document = found[0]
        clean = True
        if document.total != wanted.total:
            clean = False
            findings.append(
                Finding(
                    FindingKind.TOTAL_DIFFERENCE,
                    ref,
                    wanted.source,
                    wanted.total,
                    document.total,
                    f"Exact invoice {document.invoice_number or document.invoice_id}",
                )
            )
        if document.vat != wanted.vat:
            clean = False
            findings.append(
                Finding(
                    FindingKind.VAT_DIFFERENCE,
                    ref,
                    wanted.source,
                    wanted.vat,
                    document.vat,
                    f"Exact invoice {document.invoice_number or document.invoice_id}",
                )
            )
        matched += clean
    for ref, documents in sorted(actual_by_ref.items()):
        if ref not in expected_by_ref:
            for document in documents:
                findings.append(
                    Finding(
                        FindingKind.NO_SOURCE,
                        ref,
                        "",
                        None,
                        document.total,
                        f"Exact invoice {document.invoice_number or document.invoice_id} has no "
                        "order or refund in the period",
                    )
                )
    exact_count = sum(len(documents) for documents in actual_by_ref.values())
    return ReconcileReport(period, len(expected_by_ref), exact_count, matched, tuple(findings))
