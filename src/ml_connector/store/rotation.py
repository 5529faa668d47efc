"""`keys rotate`: re-encrypt every stored secret under a new primary key in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select

from ml_connector.store.db import Database
from ml_connector.store.models import ENCRYPTED_COLUMNS
from ml_connector.vault import Vault, VaultError, write_key_file


@dataclass(frozen=True)
class RotationResult:
    new_key_id: str
    reencrypted: int
    retired_keys: int


def rotate_keys(db: Database, vault: Vault, *, retire_old: bool = False) -> RotationResult:
    """Add a new primary key (key file) or adopt the environment's first key, then re-encrypt everything.

    Order matters for never losing a credential: rows are re-encrypted inside a transaction, the key file
    (new key first, old keys kept) is written before the commit, and old keys are dropped only after it.
    """
    new_vault = vault.with_new_primary() if vault.source.path is not None else vault
    count = 0
    with db.locked_session() as session:
        for model, column in ENCRYPTED_COLUMNS:
            for row in session.scalars(select(model)):
                stored = getattr(row, column)
                if stored is None:
                    continue
                what = f"{model.__tablename__}.{column} (row {inspect(row).identity})"
                try:
                    setattr(row, column, new_vault.rotate_token(stored, what))
                except VaultError as exc:
                    raise VaultError(f"{exc}; nothing was changed") from None
                row.key_id = new_vault.primary_key_id  # type: ignore[attr-defined]  # every encrypted table has one
                count += 1
        if vault.source.path is not None:
            write_key_file(vault.source.path, new_vault.keys)
    retired = 0
    if retire_old and vault.source.path is not None:
        write_key_file(vault.source.path, new_vault.keys[:1])
        retired = len(new_vault.keys) - 1
    return RotationResult(new_vault.primary_key_id, count, retired)
