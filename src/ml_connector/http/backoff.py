"""Exponential backoff with full jitter, shared by idempotent HTTP retries and the engine's record retries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5  # seconds before the first retry (upper bound of the jitter)
    factor: float = 2.0
    cap: float = 60.0
    max_attempts: int = 5  # total attempts, the first included

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): uniform in [0, bound]."""
        bound = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        return (rng or random).uniform(bound / 2, bound)

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
