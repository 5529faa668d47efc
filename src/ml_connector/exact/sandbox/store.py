"""In-memory tables per division: rows by key, equality indexes, and the sync rowversion (Timestamp).

Every write takes a new Timestamp from the division's counter (a SQL rowversion in Exact), so `sync`
readers see changes in a strictly increasing order. Each table keeps an append-only change log of
(timestamp, key) so that `Timestamp gt N` is a binary search, not a scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .odata import normalize
from .schema import EntitySpec

# Properties the flows look records up by: indexed so that `YourRef eq '...'` and `Code eq '...'` stay O(1).
INDEXED = {
    "Accounts": ("Code", "Email", "SearchCode", "Name"),
    "Contacts": ("Account", "Email"),
    "Items": ("Code",),
    "GLAccounts": ("Code",),
    "CostCenters": ("Code",),
    "CostUnits": ("Code",),
    "Journals": ("Code",),
    "VATCodes": ("Code",),
    "PaymentConditions": ("Code",),
    "SalesInvoices": ("YourRef", "OrderNumber", "InvoiceNumber", "OrderedBy"),
    "SalesInvoiceLines": ("InvoiceID",),
    "SalesOrders": ("YourRef", "OrderNumber", "OrderedBy"),
    "SalesOrderLines": ("OrderID",),
    "SalesEntries": ("YourRef", "EntryNumber"),
    "SalesEntryLines": ("EntryID",),
    "GeneralJournalEntries": ("EntryNumber",),
    "GeneralJournalEntryLines": ("EntryID",),
    "TransactionLines": ("EntryID", "GLAccount", "InvoiceNumber"),
    "WebhookSubscriptions": ("Topic",),
}


@dataclass
class Table:
    spec: EntitySpec
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    timestamps: dict[str, int] = field(default_factory=dict)
    changes: list[tuple[int, str]] = field(default_factory=list)  # append-only (timestamp, key)
    indexes: dict[str, dict[Any, set[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = {name: {} for name in (self.spec.key, *INDEXED.get(self.spec.name, ()))}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.rows.get(key.lower())

    def put(self, row: dict[str, Any], timestamp: int) -> None:
        """Insert or replace a whole row (indexes follow)."""
        key = str(row[self.spec.key]).lower()
        old = self.rows.get(key)
        if old is not None:
            self._unindex(key, old)
        self.rows[key] = row
        self._index(key, row)
        self.touch(key, timestamp)

    def touch(self, key: str, timestamp: int) -> None:
        self.timestamps[key] = timestamp
        self.changes.append((timestamp, key))

    def remove(self, key: str) -> dict[str, Any] | None:
        row = self.rows.pop(key.lower(), None)
        if row is not None:
            self._unindex(key.lower(), row)
            self.timestamps.pop(key.lower(), None)
        return row

    def lookup(self, name: str, value: Any) -> set[str] | None:
        """Keys whose `name` equals `value` (normalized), or None when the property is not indexed."""
        index = self.indexes.get(name)
        if index is None:
            return None
        return index.get(normalize(value), set())

    def changed_since(self, timestamp: int) -> Iterator[tuple[int, dict[str, Any]]]:
        """(timestamp, row) changed after `timestamp`, in Timestamp order, each row at its latest version."""
        start = bisect.bisect_right(self.changes, (timestamp, "\uffff"))
        for stamp, key in self.changes[start:]:
            if self.timestamps.get(key) == stamp:
                yield stamp, self.rows[key]

    def values(self) -> Iterable[dict[str, Any]]:
        return self.rows.values()

    def _index(self, key: str, row: dict[str, Any]) -> None:
        for name, index in self.indexes.items():
            value = row.get(name)
            if value is not None:
                index.setdefault(normalize(value), set()).add(key)

    def _unindex(self, key: str, row: dict[str, Any]) -> None:
        for name, index in self.indexes.items():
            value = row.get(name)
            if value is not None:
                keys = index.get(normalize(value))
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[normalize(value)]


@dataclass
class DeletedRecord:
    timestamp: int
    row: dict[str, Any]
    deleted_at: float  # epoch seconds (2-month retention)


@dataclass
class Division:
    """One Exact administration: its tables, numbering sequences and deletion log."""

    number: int
    description: str
    tables: dict[str, Table]
    rowversion: int = 1000
    deleted: list[DeletedRecord] = field(default_factory=list)
    sequences: dict[str, int] = field(
        default_factory=dict
    )  # last number used per numbering (OrderNumber, ...)
    api_calls: int = 0

    def next_timestamp(self) -> int:
        self.rowversion += 1
        return self.rowversion

    def next_number(self, sequence: str) -> int:
        self.sequences[sequence] = self.sequences.get(sequence, 0) + 1
        return self.sequences[sequence]

    def saw_number(self, sequence: str, number: int) -> None:
        """A caller chose its own number: later automatic numbers continue above it."""
        self.sequences[sequence] = max(self.sequences.get(sequence, 0), number)

    def table(self, entity: str) -> Table:
        return self.tables[entity]

    def counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.tables.items()}
