"""What a flow hands the engine: one intended write to a target, and the rule for later changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ml_connector.engine.target import Target

Payload = dict[str, Any]
PayloadBuilder = Callable[[], Payload]
# Decides, given the target and the id of what we created, whether that record may still be changed.
UpdateCheck = Callable[[Target, str, str], bool]


@dataclass(frozen=True)
class SourceRecord:
    """The record read from the source system, identified the same way for its whole life."""

    connection_id: int
    type: str  # e.g. "order", "customer"
    id: str
    version: str | None = None  # e.g. date_modified_gmt; a change of version means "look again"


class UpdateRule(StrEnum):
    NEVER = "never"  # a change after posting is reported, never written (posted invoices)
    ALWAYS = "always"  # the target accepts updates (PUT on accounts)


def update_when(field: str, *allowed: Any) -> UpdateCheck:
    """An update check reading one field of the created record, e.g. an invoice `Status` still a draft."""

    def check(target: Target, entity: str, target_id: str) -> bool:
        current = target.get(entity, target_id, [field])
        return current is not None and current.get(field) in allowed

    return check


@dataclass(frozen=True)
class WriteIntent:
    source: SourceRecord
    target_connection_id: int
    entity: str  # target entity, e.g. "SalesInvoices"
    external_ref: str  # deterministic, written into the entity's searchable reference field
    payload: Payload | PayloadBuilder  # a builder defers mapping until a write is really needed
    update: UpdateRule | UpdateCheck = UpdateRule.NEVER

    def build_payload(self) -> Payload:
        return self.payload() if callable(self.payload) else dict(self.payload)


def payload_digest(payload: Mapping[str, Any]) -> str:
    """A stable digest of a payload: equal content, equal digest (key order and spacing ignored)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RecordKey:
    """A source record as users name it: "<connection>:<source type>:<source id>"."""

    connection: str
    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.connection}:{self.type}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> RecordKey:
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"'{text}' is not a record: use <connection>:<source type>:<source id> "
                "(e.g. shop:order:1042) or a ledger id (see `ml-connector failed list`)"
            )
        return cls(*parts)
