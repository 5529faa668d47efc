"""Prometheus metrics. Record counts and Exact budgets are read from the database at scrape time,
so every process reports the same totals; webhook counters are this web process's own."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, func, select

from ml_connector.store.db import Database
from ml_connector.store.models import Connection, LedgerEntry, RateBudget


class _StoreCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        records = GaugeMetricFamily(
            "ml_connector_records",
            "Ledger records per source connection and state",
            labels=["connection", "state"],
        )
        retries = GaugeMetricFamily(
            "ml_connector_record_retries",
            "Attempts beyond the first, per source connection",
            labels=["connection"],
        )
        budget = GaugeMetricFamily(
            "ml_connector_exact_budget_remaining",
            "Exact API calls left in the current window, per division",
            labels=["division", "window"],
        )
        with self.db.session() as session:
            rows = session.execute(
                select(Connection.name, LedgerEntry.state, func.count(), func.sum(_extra_attempts()))
                .join(Connection, Connection.id == LedgerEntry.source_connection_id)
                .group_by(Connection.name, LedgerEntry.state)
            ).all()
            extra: dict[str, int] = {}
            for name, state, count, extra_attempts in rows:
                records.add_metric([name, state.value], count)
                extra[name] = extra.get(name, 0) + int(extra_attempts or 0)
            for name, value in extra.items():
                retries.add_metric([name], value)
            for row in session.scalars(select(RateBudget).where(RateBudget.scope.startswith("exact:"))):
                division = row.scope.removeprefix("exact:")
                if row.minutely_remaining is not None:
                    budget.add_metric([division, "minutely"], row.minutely_remaining)
                if row.daily_remaining is not None:
                    budget.add_metric([division, "daily"], row.daily_remaining)
        yield from (records, retries, budget)


def _extra_attempts() -> ColumnElement[int]:
    return case((LedgerEntry.attempts > 1, LedgerEntry.attempts - 1), else_=0)


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(db))
        self.webhooks = Counter(
            "ml_connector_webhook_deliveries",
            "Webhook deliveries by system and outcome (accepted, duplicate, rejected, reply)",
            ["system", "outcome"],
            registry=self.registry,
        )
