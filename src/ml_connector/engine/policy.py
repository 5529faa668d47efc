"""How hard the engine tries: backoff, attempts, leases and waits, per deployment."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml_connector.http.backoff import Backoff


@dataclass(frozen=True)
class RetryPolicy:
    backoff: Backoff = field(
        default_factory=lambda: Backoff(base=30.0, factor=2.0, cap=3600.0, max_attempts=8)
    )
    lease_seconds: float = 300.0  # longer than any single target call may take
    # A call that timed out may still be running at the target: its lookup by reference waits this long.
    settle_seconds: float = 120.0
    auth_wait_seconds: float = 300.0  # how long a record waits for the user to re-authorize
    rate_wait_seconds: float = 60.0  # when a rate limit names no Retry-After
