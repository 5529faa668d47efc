"""Exact master data in the local cache (`CachedRecord`): read in bulk once, then incrementally.

Entities with a sync endpoint (Items, Accounts, GLAccounts) are read through it by `Timestamp gt N` (1000
rows a call; the first run starts at 1) and their deletions through `sync/Deleted`; the small lists
without one (VAT codes, journals, cost centers ...) are read whole. The cursors live in `SyncCursor` under
`exact:<entity>`, so a refresh costs one call per entity when nothing changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ml_connector.engine.upsert import upsert
from ml_connector.exact.client import ExactClient
from ml_connector.exact.odata import Query
from ml_connector.store.db import Database
from ml_connector.store.models import CachedRecord, SyncCursor


@dataclass(frozen=True)
class CacheSpec:
    entity: str
    select: tuple[str, ...]
    code_field: str = "Code"
    incremental: bool = False  # read through the sync endpoint by Timestamp


SPECS: dict[str, CacheSpec] = {
    spec.entity: spec
    for spec in (
        CacheSpec(
            "Items",
            ("ID", "Code", "Description", "IsSalesItem", "SalesVatCode", "GLRevenue", "Unit", "Timestamp"),
            incremental=True,
        ),
        CacheSpec(
            "Accounts",
            (
                "ID",
                "Code",
                "Name",
                "Email",
                "Phone",
                "AddressLine1",
                "AddressLine2",
                "Postcode",
                "City",
                "State",
                "Country",
                "VATNumber",
                "Status",
                "Blocked",
                "Timestamp",
            ),
            incremental=True,
        ),
        CacheSpec(
            "GLAccounts",
            ("ID", "Code", "Description", "Type", "BalanceType", "BalanceSide", "IsBlocked", "Timestamp"),
            incremental=True,
        ),
        CacheSpec("VATCodes", ("ID", "Code", "Description", "Percentage", "Type", "IsBlocked", "Charged")),
        CacheSpec("Journals", ("ID", "Code", "Description", "Type", "IsBlocked")),
        CacheSpec("CostCenters", ("ID", "Code", "Description", "Active")),
        CacheSpec("CostUnits", ("ID", "Code", "Description")),
        CacheSpec("PaymentConditions", ("ID", "Code", "Description", "PaymentDays")),
    )
}
ALL_ENTITIES: tuple[str, ...] = tuple(SPECS)
_IN_CHUNK = 500  # ids per IN (...) list


def _cursor_stream(entity: str) -> str:
    return f"exact:{entity}"


def _code(row: dict[str, Any], spec: CacheSpec) -> str | None:
    value = row.get(spec.code_field)
    return str(value).strip() if value is not None else None  # Exact pads some codes ("02 ")


def _upsert(session: Session, connection_id: int, spec: CacheSpec, rows: Iterable[dict[str, Any]]) -> None:
    """Insert or update cached rows in one executemany, loading none (the cache may hold many thousands)."""
    now = datetime.now(UTC)
    values: dict[str, dict[str, Any]] = {}  # by id: a row named twice (paged reads may overlap) once
    for row in rows:
        data = {k: v for k, v in row.items() if k != "__metadata"}
        timestamp = data.get("Timestamp")
        values[str(data["ID"])] = {
            "connection_id": connection_id,
            "entity": spec.entity,
            "remote_id": str(data["ID"]),
            "code": _code(data, spec),
            "email": normal_email(data.get("Email")) or None if "Email" in spec.select else None,
            "remote_timestamp": int(timestamp) if timestamp is not None else None,
            "data": data,
            "updated_at": now,
        }
    if values:
        statement = upsert(
            session,
            CachedRecord,
            ["connection_id", "entity", "remote_id"],
            ["code", "email", "remote_timestamp", "data", "updated_at"],
        )
        session.execute(statement, list(values.values()))


def normal_email(value: Any) -> str:
    """E-mail addresses as matched: trimmed, lower-case."""
    return str(value or "").strip().lower()[:254]


def _cursor(session: Session, connection_id: int, entity: str) -> SyncCursor:
    stream = _cursor_stream(entity)
    cursor = session.get(SyncCursor, (connection_id, stream))
    if cursor is None:
        cursor = SyncCursor(connection_id=connection_id, stream=stream, value=None)
        session.add(cursor)
    return cursor


def _refresh_incremental(
    db: Database, client: ExactClient, connection_id: int, spec: CacheSpec, full: bool, deletions: bool
) -> list[dict[str, Any]]:
    with db.session() as session:
        cursor = _cursor(session, connection_id, spec.entity)
        since = 1 if full or cursor.value is None else int(cursor.value)
    rows = list(client.sync(spec.entity, since, spec.select))
    deleted = [d.EntityKey for d in client.deleted(since, spec.entity)] if deletions and since > 1 else []
    with db.session() as session:
        cursor = _cursor(session, connection_id, spec.entity)
        if full:
            session.execute(
                delete(CachedRecord).where(
                    CachedRecord.connection_id == connection_id, CachedRecord.entity == spec.entity
                )
            )
        _upsert(session, connection_id, spec, rows)
        if deleted:
            session.execute(
                delete(CachedRecord).where(
                    CachedRecord.connection_id == connection_id,
                    CachedRecord.entity == spec.entity,
                    CachedRecord.remote_id.in_([str(key) for key in deleted]),
                )
            )
        newest = max((int(r["Timestamp"]) for r in rows if r.get("Timestamp") is not None), default=since)
        cursor.value = str(max(newest, since))
    return rows


def _refresh_whole(
    db: Database, client: ExactClient, connection_id: int, spec: CacheSpec
) -> list[dict[str, Any]]:
    rows = list(client.iterate(spec.entity, Query(select=spec.select)))
    with db.session() as session:
        session.execute(
            delete(CachedRecord).where(
                CachedRecord.connection_id == connection_id, CachedRecord.entity == spec.entity
            )
        )
        _upsert(session, connection_id, spec, rows)
        _cursor(session, connection_id, spec.entity).value = str(len(rows))  # its updated_at dates the read
    return rows


def stale(
    db: Database, connection_id: int, max_age: timedelta, entities: Sequence[str] = ALL_ENTITIES
) -> list[str]:
    """The `entities` not read within `max_age` (or never): what a pass must read in full."""
    now = datetime.now(UTC)
    with db.read_session() as session:
        read_at = {
            row.stream: row.updated_at
            for row in session.scalars(select(SyncCursor).where(SyncCursor.connection_id == connection_id))
        }
    return [e for e in entities if (when := read_at.get(_cursor_stream(e))) is None or now - when > max_age]


def refresh(
    db: Database,
    client: ExactClient,
    connection_id: int,
    entities: Sequence[str] = ALL_ENTITIES,
    *,
    full: bool = False,
    deletions: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Bring the cache of `entities` up to date; returns the rows read (new or changed) per entity.

    `deletions=False` skips the `sync/Deleted` call: a sync pass saves it, a scheduled refresh does it.
    """
    unknown = [e for e in entities if e not in SPECS]
    if unknown:
        raise ValueError(f"not a cached Exact entity: {', '.join(unknown)} (known: {', '.join(SPECS)})")
    changed: dict[str, list[dict[str, Any]]] = {}
    for entity in entities:
        spec = SPECS[entity]
        if spec.incremental:
            changed[entity] = _refresh_incremental(db, client, connection_id, spec, full, deletions)
        else:
            changed[entity] = _refresh_whole(db, client, connection_id, spec)
    return changed


def cached_rows(session: Session, connection_id: int, entity: str) -> list[CachedRecord]:
    return list(
        session.scalars(
            select(CachedRecord).where(
                CachedRecord.connection_id == connection_id, CachedRecord.entity == entity
            )
        )
    )


def remember(db: Database, connection_id: int, entity: str, rows: Sequence[dict[str, Any]]) -> None:
    """Put records we created or changed ourselves into the cache at once (the next sync read confirms)."""
    if rows:
        with db.session() as session:
            _upsert(session, connection_id, SPECS[entity], rows)


def cached_record(session: Session, connection_id: int, entity: str, remote_id: str) -> dict[str, Any] | None:
    data: dict[str, Any] | None = session.scalar(
        select(CachedRecord.data).where(
            CachedRecord.connection_id == connection_id,
            CachedRecord.entity == entity,
            CachedRecord.remote_id == remote_id,
        )
    )
    return data


def cached_records(
    session: Session, connection_id: int, entity: str, remote_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """`cached_record` for several ids: the cached ones, by id."""
    found: dict[str, dict[str, Any]] = {}
    wanted = list(remote_ids)
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = session.execute(
            select(CachedRecord.remote_id, CachedRecord.data).where(
                CachedRecord.connection_id == connection_id,
                CachedRecord.entity == entity,
                CachedRecord.remote_id.in_(wanted[start : start + _IN_CHUNK]),
            )
        )
        found.update((remote_id, data) for remote_id, data in rows)
    return found


def cached_with_email(
    session: Session, connection_id: int, entity: str, emails: Collection[str]
) -> list[dict[str, Any]]:
    """The cached rows whose e-mail is one of `emails` (as `normal_email` spells them)."""
    rows: list[dict[str, Any]] = []
    wanted = list(emails)
    for start in range(0, len(wanted), _IN_CHUNK):
        rows += session.scalars(
            select(CachedRecord.data).where(
                CachedRecord.connection_id == connection_id,
                CachedRecord.entity == entity,
                CachedRecord.email.in_(wanted[start : start + _IN_CHUNK]),
            )
        )
    return rows
