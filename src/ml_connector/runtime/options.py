"""Knobs of a running process; defaults suit production, tests shrink the times."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from ml_connector.engine.policy import RetryPolicy
from ml_connector.sandbox_kit.clock import Clock, SystemClock

EXACT_CALLS_PER_MINUTE = 60  # Exact's documented minutely limit per division


@dataclass(frozen=True)
class RuntimeOptions:
    tick_seconds: float = 5.0  # how often due polls, new inbox messages and retries are picked up
    # Records per partition (division) and period: each record costs one or two Exact calls,
    # and the Exact client's rate governor stays the final guard against 429s.
    partition_limit: int = EXACT_CALLS_PER_MINUTE // 2
    partition_period: float = 60.0
    worker_concurrency: int = 8  # records in flight in one process (different partitions)
    queue_polling_seconds: float = 1.0
    shutdown_grace_seconds: int = 30  # SIGTERM: let in-flight records finish this long
    dbos_schema: str = "dbos"  # PostgreSQL schema of the DBOS system tables
    executor_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    clock: Clock = field(default_factory=SystemClock)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_body_bytes: int = 1024 * 1024  # webhook bodies larger than this are refused (413)
