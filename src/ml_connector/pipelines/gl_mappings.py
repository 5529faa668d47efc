"""Versioned, encrypted storage of GL mapping documents (the merchant's chart of accounts is sensitive),
and the cached Exact master data they are validated against.

Every import is a new row (never an update): the history keeps who changed what and when. Runs read
the current version each time; the parsed document is cached by (connection, version), so an import
takes effect on the next run without a restart and an unchanged mapping costs one small query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ml_connector.flows.gl_mapping.masterdata import MASTERDATA_ENTITIES, ExactMasterData
from ml_connector.flows.gl_mapping.model import MappingDoc
from ml_connector.flows.gl_mapping.problems import MappingInvalid
from ml_connector.flows.gl_mapping.validate import validate_against_masterdata
from ml_connector.flows.gl_mapping.yaml_io import export_mapping, parse_mapping
from ml_connector.store.models import CachedRecord, Connection, Mapping
from ml_connector.vault import Vault

MAPPING_KIND = "gl"


@dataclass(frozen=True)
class MappingVersion:
    """One stored version, without its (encrypted) content."""

    version: int
    author: str
    comment: str | None
    created_at: datetime


@dataclass(frozen=True)
class StoredMapping:
    version: MappingVersion
    doc: MappingDoc
    text: str  # the YAML as stored (what `mapping export` prints)


class MappingNotFound(LookupError):
    pass


def save_mapping(
    session: Session,
    vault: Vault,
    connection: Connection,
    doc: MappingDoc,
    *,
    author: str,
    comment: str | None = None,
) -> MappingVersion:
    """Store `doc` as the next version. The caller commits; the unique (connection, version) key stops
    two concurrent imports from both becoming the same version."""
    latest = _latest_version(session, connection.id)
    row = Mapping(
        connection_id=connection.id,
        kind=MAPPING_KIND,
        version=(latest or 0) + 1,
        document_ciphertext=vault.encrypt(export_mapping(doc)),
        key_id=vault.primary_key_id,
        author=author,
        comment=comment,
    )
    session.add(row)
    session.flush()
    return _version_of(row)


def import_mapping(
    session: Session,
    vault: Vault,
    connection: Connection,
    text: str,
    masterdata: ExactMasterData,
    *,
    author: str,
    comment: str | None = None,
) -> MappingVersion:
    """`mapping import`: parse, validate against master data, then save; raises MappingInvalid (with
    line numbers) and stores nothing when any problem exists."""
    doc = parse_mapping(text)
    problems = validate_against_masterdata(doc, masterdata)
    if problems:
        raise MappingInvalid(problems)
    return save_mapping(session, vault, connection, doc, author=author, comment=comment)


def mapping_history(session: Session, connection: Connection) -> list[MappingVersion]:
    """All versions, newest first."""
    rows = session.scalars(
        select(Mapping)
        .where(Mapping.connection_id == connection.id, Mapping.kind == MAPPING_KIND)
        .order_by(Mapping.version.desc())
    )
    return [_version_of(row) for row in rows]


def load_mapping(
    session: Session, vault: Vault, connection: Connection, version: int | None = None
) -> StoredMapping:
    """The current version (or the given one); raises MappingNotFound with the command to fix it."""
    query = select(Mapping).where(Mapping.connection_id == connection.id, Mapping.kind == MAPPING_KIND)
    query = query.where(Mapping.version == version) if version is not None else query
    row = session.scalars(query.order_by(Mapping.version.desc()).limit(1)).first()
    if row is None:
        which = f"version {version} of the mapping" if version is not None else "a mapping"
        raise MappingNotFound(
            f"connection '{connection.name}' has no {which}: "
            f"run `ml-connector mapping import {connection.name} map.yaml`"
        )
    what = f"mapping v{row.version} of {connection.name}"
    text = vault.decrypt(row.document_ciphertext, what).get_secret_value()
    return StoredMapping(_version_of(row), parse_mapping(text), text)


class MappingCache:
    """Current mapping per connection, re-read only when a newer version has been stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[tuple[int, int], StoredMapping] = {}

    def current(self, session: Session, vault: Vault, connection: Connection) -> StoredMapping:
        latest = _latest_version(session, connection.id)
        if latest is None:
            return load_mapping(session, vault, connection)  # raises MappingNotFound
        key = (connection.id, latest)
        with self._lock:
            cached = self._docs.get(key)
        if cached is not None:
            return cached
        stored = load_mapping(session, vault, connection, latest)
        with self._lock:
            # Older versions of this connection are never asked for again by runs.
            for old in [k for k in self._docs if k[0] == connection.id]:
                del self._docs[old]
            self._docs[key] = stored
        return stored


def _latest_version(session: Session, connection_id: int) -> int | None:
    query = select(func.max(Mapping.version)).where(
        Mapping.connection_id == connection_id, Mapping.kind == MAPPING_KIND
    )
    return session.scalar(query)


def _version_of(row: Mapping) -> MappingVersion:
    return MappingVersion(row.version, row.author, row.comment, row.created_at)


def load_masterdata(session: Session, exact_connection_id: int) -> ExactMasterData:
    """The cached master data of an Exact connection (empty tables if never refreshed)."""
    rows = session.execute(
        select(CachedRecord.entity, CachedRecord.data).where(
            CachedRecord.connection_id == exact_connection_id,
            CachedRecord.entity.in_(MASTERDATA_ENTITIES),
        )
    )
    return ExactMasterData.from_exact_rows((entity, data) for entity, data in rows)
