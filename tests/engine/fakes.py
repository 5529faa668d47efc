"""An in-memory Target with scripted faults, for fast engine tests (moto style: real semantics)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ml_connector.http.errors import OutcomeUnknownError, RejectedError

REF_FIELD = "YourRef"

Fault = Callable[[str, dict[str, Any]], None]  # (operation, payload): raise to fail the call


class FakeTarget:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []  # (operation, entity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.faults: list[tuple[str, Fault]] = []  # (operation, fault) applied once each, in order
        self.rejects_negative_amounts = True  # validation, like Exact's

    def _validate(self, payload: dict[str, Any]) -> None:
        amounts = [payload.get("Amount", 0)] + [
            line["UnitPrice"] for line in payload.get("SalesInvoiceLines", [])
        ]
        if self.rejects_negative_amounts and min(amounts) < 0:
            raise RejectedError("Amount: negative amounts are not allowed", system="fake", status=400)

    def fail_next(self, operation: str, error: Exception, *, after_commit: bool = False) -> None:
        def fault(op: str, payload: dict[str, Any]) -> None:
            if after_commit:
                self._store(payload)
            raise error

        self.faults.append((operation, fault))

    def _fault(self, operation: str, payload: dict[str, Any]) -> None:
        for index, (op, fault) in enumerate(self.faults):
            if op == operation:
                del self.faults[index]
                fault(op, payload)
                return

    def _store(self, payload: dict[str, Any], entity: str = "SalesInvoices") -> str:
        new_id = f"id-{next(self._ids)}"
        self.records.setdefault(entity, {})[new_id] = dict(payload)
        return new_id

    def find_by_ref(self, entity: str, external_ref: str) -> str | None:
        with self._lock:
            self.calls.append(("find", entity))
            self._fault("find", {})
            for record_id, record in self.records.get(entity, {}).items():
                if record.get(REF_FIELD) == external_ref:
                    return record_id
            return None

    def create(self, entity: str, payload: dict[str, Any]) -> str:
        with self._lock:
            self.calls.append(("create", entity))
            self._fault("create", payload)
            self._validate(payload)
            return self._store(payload, entity)

    def update(self, entity: str, target_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(("update", entity))
            self._fault("update", payload)
            self.records[entity][target_id].update(payload)

    def get(self, entity: str, target_id: str, select: Sequence[str]) -> dict[str, Any] | None:
        with self._lock:
            self.calls.append(("get", entity))
            record = self.records.get(entity, {}).get(target_id)
            return None if record is None else {k: record.get(k) for k in select}

    def count(self, entity: str, ref: str) -> int:
        return sum(1 for r in self.records.get(entity, {}).values() if r.get(REF_FIELD) == ref)


def unknown(message: str = "read timeout after sending") -> OutcomeUnknownError:
    return OutcomeUnknownError(message, system="fake", endpoint="/SalesInvoices")
