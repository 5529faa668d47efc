"""What the engine needs from a system it writes to. The Exact client implements it (`exact/target.py`).

Errors are the shared ones from `ml_connector.http.errors`:
RejectedError (definite no), OutcomeUnknownError (a write may have happened), TransientError and
RateLimitedError (nothing happened, try later), AuthError (the connection needs the user).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Target(Protocol):
    def find_by_ref(self, entity: str, external_ref: str) -> str | None:
        """The id of the `entity` carrying `external_ref` in its reference field, or None."""
        ...

    def create(self, entity: str, payload: dict[str, Any]) -> str:
        """Create one `entity` and return its id. Never retried by the client itself."""
        ...

    def update(self, entity: str, target_id: str, payload: dict[str, Any]) -> None: ...

    def get(self, entity: str, target_id: str, select: Sequence[str]) -> dict[str, Any] | None: ...
