"""The engine's view of Exact: find by external reference, create, update, get.

Each method is one Exact call at most; the engine decides what to do with the errors
(RejectedError: fix and replay; OutcomeUnknownError: `find_by_ref` before trying again;
TransientError: later).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ml_connector.exact import odata
from ml_connector.exact.client import ExactClient
from ml_connector.exact.entities import entity_set
from ml_connector.exact.errors import outcome_unknown
from ml_connector.exact.rate import endpoint_of
from ml_connector.exact.refs import ref_field


class ExactTarget:
    """Implements `ml_connector.engine.target.Target` for one Exact division."""

    def __init__(self, client: ExactClient) -> None:
        self.client = client

    def find_by_ref(self, entity: str, external_ref: str) -> str | None:
        spec = ref_field(entity)
        query = odata.Query(filter=spec.lookup_filter(external_ref), select=(spec.lookup_key,), top=1)
        row = self.client.first(spec.lookup_entity, query)
        return str(row[spec.lookup_key]) if row else None

    def create(self, entity: str, payload: dict[str, Any]) -> str:
        key = entity_set(entity).key
        created = self.client.create(entity, payload)
        if not created.get(key):  # written, but the answer does not say as what
            raise outcome_unknown(
                endpoint_of(entity_set(entity).path), self.client.division, f"the answer carries no {key}"
            )
        return str(created[key])

    def update(self, entity: str, target_id: str, payload: dict[str, Any]) -> None:
        self.client.update(entity, target_id, payload)

    def get(self, entity: str, target_id: str, select: Sequence[str]) -> dict[str, Any] | None:
        return self.client.get(entity, target_id, select)
