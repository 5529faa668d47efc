"""What a system package's webhook verifier returns to the web app (shared by all three systems).

Each system package provides
    verify_webhook(app: App, conn: Connection, body: bytes, headers: Mapping[str, str]) -> Verified | Reply
which reads the connection's secret or public key itself, verifies the signature over the raw bytes, and
raises WebhookRejected on a bad signature or malformed delivery. The web app stores a `Verified` delivery
in the inbox (unique on `dedup_key`) and then answers with its `reply`; a bare `Reply` (a ping, a
validation request, a challenge) is answered without storing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class WebhookRejected(Exception):
    """The delivery is not authentic or not understood; answer 401/400 and store nothing."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verified:
    dedup_key: str  # identifies the EVENT (not the delivery attempt): the inbox is unique on it
    topic: str | None
    resource_id: str | None
    reply: Reply = field(default_factory=Reply)
