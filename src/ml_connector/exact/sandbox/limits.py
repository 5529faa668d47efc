"""Exact's API limits per app and division (exact-online.md §2).

- minutely window aligned to the clock minute, daily window resetting at 00:00 UTC;
- the six `X-RateLimit-*` headers on every answer, resets as epoch milliseconds;
- a refused call gets 429 with only the exhausted window's headers (a missing header means unknown);
- 10 errors (400/401/403/404) per endpoint per hour block that endpoint for an hour. No source shows the
  status of that block, so it is configurable (default 429).
With limits disabled nothing is refused and no rate-limit headers are sent.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from ml_connector.sandbox_kit.clock import Clock

MINUTE = 60
DAY = 86400
HOUR = 3600
COUNTED_ERRORS = frozenset({400, 401, 403, 404})

Scope = tuple[str, int]  # (client_id, division)


@dataclass
class LimitSettings:
    enabled: bool = True
    minutely_limit: int = 60
    daily_limit: int = 5000
    error_limit: int = 10  # errors per endpoint per hour before the block
    error_block_seconds: float = HOUR
    error_block_status: int = 429


@dataclass
class _Usage:
    minute: int = -1
    minute_used: int = 0
    day: int = -1
    day_used: int = 0


@dataclass
class Admission:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    message: str = ""


class RateLimiter:
    def __init__(self, clock: Clock, settings: LimitSettings) -> None:
        self.clock = clock
        self.settings = settings
        self._lock = threading.Lock()
        self._usage: dict[Scope, _Usage] = {}
        self._errors: dict[tuple[Scope, str], deque[float]] = {}
        self._blocked_until: dict[tuple[Scope, str], float] = {}
        self.refused = 0  # 429 answers for exhausted windows

    def admit(self, scope: Scope, endpoint: str) -> Admission:
        """Count one call, or refuse it (429 / error block) without counting."""
        settings = self.settings
        if not settings.enabled:
            return Admission(True)
        now = self.clock.time()
        with self._lock:
            until = self._blocked_until.get((scope, endpoint))
            if until is not None and now < until:
                return Admission(
                    False,
                    status=settings.error_block_status,
                    message=f"Too many errors on {endpoint}: blocked for this app and division until "
                    f"{int(until * 1000)} (epoch ms).",
                )
            usage = self._usage.setdefault(scope, _Usage())
            minute, day = int(now // MINUTE), int(now // DAY)
            if usage.minute != minute:
                usage.minute, usage.minute_used = minute, 0
            if usage.day != day:
                usage.day, usage.day_used = day, 0
            daily = self._daily_headers(usage, day)
            minutely = self._minutely_headers(usage, minute)
            if usage.day_used >= settings.daily_limit:
                self.refused += 1
                return Admission(False, daily, 429, "API rate limit exceeded: daily limit reached.")
            if usage.minute_used >= settings.minutely_limit:
                self.refused += 1
                return Admission(False, minutely, 429, "API rate limit exceeded: minutely limit reached.")
            usage.minute_used += 1
            usage.day_used += 1
            return Admission(
                True, {**self._daily_headers(usage, day), **self._minutely_headers(usage, minute)}
            )

    def record_status(self, scope: Scope, endpoint: str, status: int) -> None:
        """Feed the answer's status into the errors-per-endpoint-per-hour budget."""
        if status not in COUNTED_ERRORS or not self.settings.enabled:
            return
        now = self.clock.time()
        with self._lock:
            errors = self._errors.setdefault((scope, endpoint), deque())
            errors.append(now)
            while errors and errors[0] <= now - HOUR:
                errors.popleft()
            if len(errors) >= self.settings.error_limit:
                self._blocked_until[(scope, endpoint)] = now + self.settings.error_block_seconds
                errors.clear()

    def _daily_headers(self, usage: _Usage, day: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.settings.daily_limit),
            "X-RateLimit-Remaining": str(max(0, self.settings.daily_limit - usage.day_used)),
            "X-RateLimit-Reset": str((day + 1) * DAY * 1000),
        }

    def _minutely_headers(self, usage: _Usage, minute: int) -> dict[str, str]:
        return {
            "X-RateLimit-Minutely-Limit": str(self.settings.minutely_limit),
            "X-RateLimit-Minutely-Remaining": str(max(0, self.settings.minutely_limit - usage.minute_used)),
            "X-RateLimit-Minutely-Reset": str((minute + 1) * MINUTE * 1000),
        }
