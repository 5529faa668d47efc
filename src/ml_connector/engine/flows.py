"""The seam between the engine and the flows: what a flow offers, and the registry that finds it.

A flow module registers a factory for the kind of its SOURCE connection:

    register_flow("woocommerce", lambda ctx: WooToExact(ctx))

A connection may name another registered flow in `settings["flow"]` (a variant, or a test flow).

The runtime (schedules, webhooks, workers) and `replay` then call back the flow by connection.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from ml_connector.app import App
from ml_connector.engine.policy import RetryPolicy
from ml_connector.engine.target import Target
from ml_connector.engine.writer import Writer, default_worker_id
from ml_connector.sandbox_kit.clock import Clock, SystemClock
from ml_connector.store.connections import get_connection
from ml_connector.store.models import Connection

# The modules that register the built-in flows when imported, by the connection kind they serve: each
# is imported when a connection of its kind first needs its flow (a process syncing one shop does not
# pay for loading the others).
BUILTIN_FLOW_MODULES = {
    "woocommerce": "ml_connector.pipelines.woocommerce",
    "adobe_commerce": "ml_connector.pipelines.adobe_commerce",
    "exact": "ml_connector.pipelines.exact_events",
}


@dataclass(frozen=True)
class Change:
    """One record a poll found: enough to name it and to order the stream, not the record itself."""

    source_type: str
    source_id: str
    modified_at: datetime  # the stream's cursor field (e.g. date_modified_gmt), timezone-aware UTC
    version: str | None = None  # defaults to modified_at in the inbox key
    # The record as read, when the poll has it: processed in the same pass without reading it again.
    # Never stored (the inbox keeps the name only, and a later attempt reads the source afresh).
    record: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InboxItem:
    """A stored webhook delivery as a flow sees it."""

    id: int
    connection_id: int
    topic: str | None
    resource_id: str | None
    body: bytes
    headers: Mapping[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class WebhookStatus:
    healthy: bool
    detail: str  # e.g. "WooCommerce disabled webhook 12 after 5 failed deliveries"


class Flow(Protocol):
    @property
    def streams(self) -> Sequence[str]:
        """The cursors this flow polls, e.g. ("orders",)."""
        ...

    @property
    def partition(self) -> str:
        """The target's queue partition, e.g. "exact:<division>": one record at a time per key."""
        ...

    @property
    def overlap(self) -> timedelta:
        """How far each poll reaches back before the cursor, for late updates and equal timestamps."""
        ...

    def poll(self, stream: str, since: datetime | None) -> Iterable[Change]:
        """Records of `stream` modified at or after `since` (all of them when None)."""
        ...

    def process(self, source_type: str, source_id: str) -> None:
        """Re-read one source record, map it and hand the writes to the engine (idempotent)."""
        ...

    def handle_inbox(self, message: InboxItem) -> None:
        """Act on one webhook delivery, normally by calling `process` for the record it names."""
        ...

    def webhook_status(self) -> WebhookStatus:
        """Whether deliveries can be relied on; when not, the schedule is the primary way in."""
        ...


@dataclass(frozen=True)
class FlowContext:
    """What a flow factory gets: the app, its source connection, and writers bound to the engine."""

    app: App
    connection: Connection
    clock: Clock = field(default_factory=SystemClock)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    worker_id: str = field(default_factory=default_worker_id)

    def writer(self, target: Target) -> Writer:
        return Writer(self.app.db, target, clock=self.clock, policy=self.policy, worker_id=self.worker_id)


FlowFactory = Callable[[FlowContext], Flow]


class UnknownFlowError(LookupError):
    """No flow is registered for a connection's kind."""


class FlowRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, FlowFactory] = {}
        self._lock = threading.Lock()

    def register(self, kind: str, factory: FlowFactory) -> None:
        with self._lock:
            self._factories[kind] = factory

    def kinds(self) -> list[str]:
        return sorted(set(self._factories) | set(BUILTIN_FLOW_MODULES))

    def has(self, conn: Connection) -> bool:
        return flow_key(conn) in self._factories or flow_key(conn) in BUILTIN_FLOW_MODULES

    def build(self, context: FlowContext) -> Flow:
        kind = flow_key(context.connection)
        if kind not in self._factories and kind in BUILTIN_FLOW_MODULES:
            importlib.import_module(BUILTIN_FLOW_MODULES[kind])  # registers itself
        factory = self._factories.get(kind)
        if factory is None:
            raise UnknownFlowError(
                f"no flow syncs connections of kind '{kind}' (connection '{context.connection.name}'); "
                f"flows are registered for: {', '.join(self.kinds())}"
            )
        return factory(context)


def flow_key(conn: Connection) -> str:
    return str((conn.settings or {}).get("flow") or conn.kind)


registry = FlowRegistry()


def register_flow(kind: str, factory: FlowFactory) -> None:
    registry.register(kind, factory)


def flow_for(app: App, connection: str | int, **context: Any) -> Flow:
    """Build the flow of a source connection, by name or id."""
    with app.db.session() as session:
        if isinstance(connection, int):
            conn = session.get_one(Connection, connection)
        else:
            conn = get_connection(session, connection)
    return registry.build(FlowContext(app=app, connection=conn, **context))


class FlowCache:
    """Flows per source connection, built once per process and rebuilt after `max_age` seconds.

    Building a flow may load credentials and mappings; workers reuse them across records.
    """

    def __init__(self, app: App, max_age: float = 300.0, **context: Any) -> None:
        self.app = app
        self.max_age = max_age
        self._context = context
        self._clock: Clock = context.get("clock") or SystemClock()
        self.policy: RetryPolicy = context.get("policy") or RetryPolicy()
        self._flows: dict[int, tuple[float, Flow]] = {}
        self._lock = threading.Lock()

    def get(self, connection_id: int) -> Flow:
        now = self._clock.time()
        with self._lock:
            cached = self._flows.get(connection_id)
            if cached and now - cached[0] < self.max_age:
                return cached[1]
        flow = flow_for(self.app, connection_id, **self._context)
        with self._lock:
            # The replaced flow is not closed: another thread may still be using it (GC releases it).
            self._flows[connection_id] = (now, flow)
        return flow

    def close(self) -> None:
        """Close every flow (those holding clients offer `close()`)."""
        with self._lock:
            flows, self._flows = list(self._flows.values()), {}
        for _, flow in flows:
            close_flow(flow)


class BatchFlow(Protocol):
    def process_changes(self, changes: Sequence[Change]) -> list[Exception | None]:
        """Process polled changes together (fewer transactions and no second read of the records);
        per change, what went wrong or None. One change's failure leaves the others processed."""
        ...


def process_changes(flow: Flow, changes: Sequence[Change]) -> list[Exception | None]:
    """Process polled changes: together when the flow offers it, else one `process` call each."""
    batched = getattr(flow, "process_changes", None)  # optional: a flow may batch its records
    if callable(batched):
        outcomes: list[Exception | None] = batched(changes)
        return outcomes
    outcomes = []
    for change in changes:
        try:
            flow.process(change.source_type, change.source_id)
        except Exception as exc:  # recorded on its inbox message, retried with backoff
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


def close_flow(flow: Flow) -> None:
    closer = getattr(flow, "close", None)  # optional: a flow holding HTTP clients releases them
    if callable(closer):
        closer()
