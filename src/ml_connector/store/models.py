"""Tables. Secrets are stored as vault ciphertext only (columns named `*_ciphertext`)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass a timezone-aware UTC value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class ConnectionKind(enum.StrEnum):
    EXACT = "exact"
    WOOCOMMERCE = "woocommerce"
    ADOBE_COMMERCE = "adobe_commerce"


class ConnectionStatus(enum.StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTHORIZATION = "needs_reauthorization"
    DISABLED = "disabled"


class LedgerState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"


class InboxState(enum.StrEnum):
    NEW = "new"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings (no native enum type): the same migration works on SQLite and PostgreSQL.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Connection(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[ConnectionKind] = mapped_column(_enum(ConnectionKind, "connection_kind"))
    base_url: Mapped[str | None] = mapped_column(String(500))
    region: Mapped[str | None] = mapped_column(String(8))
    division: Mapped[int | None] = mapped_column(BigInteger)
    store_code: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[ConnectionStatus] = mapped_column(
        _enum(ConnectionStatus, "connection_status"), default=ConnectionStatus.ACTIVE
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Non-secret, kind-specific settings (auth mode, statuses to sync, schedule, target connection ...).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Credential(Base):
    """One secret of a connection (client secret, consumer key, webhook secret ...)."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("connection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    value_ciphertext: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthToken(Base):
    """The current OAuth token pair of a connection; the row is the lock for refreshes."""

    __tablename__ = "oauth_tokens"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    access_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    refresh_token_ciphertext: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(32))
    access_expires_at: Mapped[datetime | None] = mapped_column()
    refresh_issued_at: Mapped[datetime | None] = mapped_column()
    last_token_call_at: Mapped[datetime | None] = mapped_column()
    token_calls_day: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD (UTC)
    token_calls_today: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RateBudget(Base):
    """Last known Exact rate-limit window per division, shared by every process."""

    __tablename__ = "rate_budgets"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. "exact:<division>"
    minutely_limit: Mapped[int | None] = mapped_column(Integer)
    minutely_remaining: Mapped[int | None] = mapped_column(Integer)
    minutely_reset_ms: Mapped[int | None] = mapped_column(BigInteger)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    daily_remaining: Mapped[int | None] = mapped_column(Integer)
    daily_reset_ms: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LedgerEntry(Base):
    """One intended write to a target system, and the link to what it created there."""

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("source_connection_id", "source_type", "source_id", "target_entity"),
        Index("ix_ledger_state_next", "state", "next_attempt_at"),
        Index("ix_ledger_target_ref", "target_connection_id", "target_entity", "external_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    source_type: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[str] = mapped_column(String(100))
    source_version: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    target_connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    target_entity: Mapped[str] = mapped_column(String(50))
    external_ref: Mapped[str] = mapped_column(String(100))
    target_id: Mapped[str | None] = mapped_column(String(100))
    # Hash of what we last wrote, to recognise our own change when it echoes back (no ping-pong).
    written_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[LedgerState] = mapped_column(
        _enum(LedgerState, "ledger_state"), default=LedgerState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Append-only timeline of a record: fetched, mapped, attempts, lookups, state changes, replays."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_record", "record_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_key: Mapped[str] = mapped_column(String(200))  # "<connection>:<source type>:<source id>"
    ledger_id: Mapped[int | None] = mapped_column(ForeignKey("ledger.id", ondelete="SET NULL"))
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # "schedule", "webhook", "cli:replay", "worker:<id>"
    kind: Mapped[str] = mapped_column(String(50))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column()


class SyncCursor(Base):
    """Incremental read position per connection and stream, with the ids seen at the boundary."""

    __tablename__ = "sync_cursors"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(100))
    boundary_ids: Mapped[dict[str, Any] | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxMessage(Base):
    """A verified webhook delivery, stored before it is acknowledged and processed later."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("connection_id", "dedup_key"),
        Index("ix_inbox_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(100))
    resource_id: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any] | None] = mapped_column()
    state: Mapped[InboxState] = mapped_column(_enum(InboxState, "inbox_state"), default=InboxState.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()


class Mapping(Base):
    """A version of a connection's mapping document (GL/cost center/VAT rules), encrypted."""

    __tablename__ = "mappings"
    __table_args__ = (UniqueConstraint("connection_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50), default="gl")
    version: Mapped[int] = mapped_column(Integer)
    document_ciphertext: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CachedRecord(Base):
    """Local copy of a target's master data (Exact items, GL accounts, VAT codes ...)."""

    __tablename__ = "cached_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "entity", "remote_id"),
        Index("ix_cached_code", "connection_id", "entity", "code"),
        Index("ix_cached_email", "connection_id", "entity", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(50))
    remote_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))  # lower-case, for matching Accounts by e-mail
    remote_timestamp: Mapped[int | None] = mapped_column(BigInteger)  # Exact sync Timestamp
    data: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Tables whose columns hold vault ciphertext: `keys rotate` re-encrypts exactly these.
ENCRYPTED_COLUMNS: tuple[tuple[type[Base], str], ...] = (
    (Credential, "value_ciphertext"),
    (OAuthToken, "access_token_ciphertext"),
    (OAuthToken, "refresh_token_ciphertext"),
    (Mapping, "document_ciphertext"),
)
