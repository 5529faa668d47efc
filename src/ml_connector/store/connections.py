"""Connections and their encrypted credentials."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ml_connector.store.models import Connection, ConnectionKind, ConnectionStatus, Credential
from ml_connector.vault import Vault

_NAMES: dict[tuple[str, int], str] = {}  # (database URL, connection id) -> name: audit keys name it often


class NotFoundError(LookupError):
    """A named record does not exist; the message says how to list what does."""


def get_connection(session: Session, name: str) -> Connection:
    conn = session.scalar(select(Connection).where(Connection.name == name))
    if conn is None:
        raise NotFoundError(f"no connection named '{name}' (see `ml-connector connections list`)")
    return conn


def list_connections(session: Session, kind: ConnectionKind | None = None) -> list[Connection]:
    query = select(Connection).order_by(Connection.name)
    if kind is not None:
        query = query.where(Connection.kind == kind)
    return list(session.scalars(query))


def add_connection(
    session: Session,
    vault: Vault,
    *,
    name: str,
    kind: ConnectionKind,
    credentials: dict[str, str],
    **fields: Any,
) -> Connection:
    if session.scalar(select(Connection.id).where(Connection.name == name)) is not None:
        raise ValueError(
            f"a connection named '{name}' already exists; choose another name or remove it first"
        )
    conn = Connection(name=name, kind=kind, **fields)
    session.add(conn)
    session.flush()
    for cred_name, value in credentials.items():
        set_credential(session, vault, conn, cred_name, value)
    return conn


def _database(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


def connection_name(session: Session, connection_id: int) -> str | None:
    """The name of a connection by id, cached (names never change; a removed one is forgotten)."""
    key = (_database(session), connection_id)
    name = _NAMES.get(key)
    if name is None:
        name = session.scalar(select(Connection.name).where(Connection.id == connection_id))
        if name is not None:
            _NAMES[key] = name
    return name


def remove_connection(session: Session, name: str) -> None:
    conn = get_connection(session, name)
    _NAMES.pop((_database(session), conn.id), None)
    session.delete(conn)


def set_status(session: Session, conn: Connection, status: ConnectionStatus, reason: str | None) -> None:
    conn.status = status
    conn.status_reason = reason


def set_credential(session: Session, vault: Vault, conn: Connection, name: str, value: str) -> None:
    ciphertext = vault.encrypt(value)
    row = session.scalar(
        select(Credential).where(Credential.connection_id == conn.id, Credential.name == name)
    )
    if row is None:
        session.add(
            Credential(
                connection_id=conn.id, name=name, value_ciphertext=ciphertext, key_id=vault.primary_key_id
            )
        )
    else:
        row.value_ciphertext = ciphertext
        row.key_id = vault.primary_key_id


def get_credential(session: Session, vault: Vault, conn: Connection, name: str) -> SecretStr:
    row = session.scalar(
        select(Credential).where(Credential.connection_id == conn.id, Credential.name == name)
    )
    if row is None:
        raise NotFoundError(
            f"connection '{conn.name}' has no credential '{name}'; "
            f"set it with `ml-connector connections add` or re-authorize"
        )
    return vault.decrypt(row.value_ciphertext, f"credential '{name}' of connection '{conn.name}'")


def credential_names(session: Session, conn: Connection) -> list[str]:
    return list(
        session.scalars(
            select(Credential.name).where(Credential.connection_id == conn.id).order_by(Credential.name)
        )
    )


def delete_credential(session: Session, conn: Connection, name: str) -> None:
    session.execute(delete(Credential).where(Credential.connection_id == conn.id, Credential.name == name))
